"""docs/ODD.md stays in step with the code.

The parameter table is generated (docs/gen_tables.py), so it must equal
sim.model.scenario.parameter_table(); every parameter must also be described in the text,
every measured column and summary key named, and every `sim.x.y` object the ODD cites
must exist.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from sim.model.measures import MEASURES, SUMMARY_KEYS, TEAM_COLUMNS
from sim.model.scenario import EVENT_TYPES, PRESETS, parameter_table, parameters
from sim.model.trust_model import STREAMS

ROOT = Path(__file__).resolve().parent.parent
ODD = ROOT / "docs" / "ODD.md"
GENERATOR = ROOT / "docs" / "gen_tables.py"
START = "<!-- parameter-table:start -->"
END = "<!-- parameter-table:end -->"


@pytest.fixture(scope="module")
def odd() -> str:
    return ODD.read_text(encoding="utf-8")


def split_at_markers(text: str) -> tuple[str, str, str]:
    """(before, table, after): the markers must each be alone on one line, once, in order."""
    lines = text.splitlines()
    starts = [n for n, line in enumerate(lines) if line.strip() == START]
    ends = [n for n, line in enumerate(lines) if line.strip() == END]
    assert len(starts) == 1, f"docs/ODD.md needs exactly one line {START}"
    assert len(ends) == 1, f"docs/ODD.md needs exactly one line {END}"
    assert starts[0] < ends[0], f"{START} must come before {END}"
    before = "\n".join(lines[: starts[0]])
    table = "\n".join(lines[starts[0] + 1 : ends[0]])
    after = "\n".join(lines[ends[0] + 1 :])
    return before, table, after


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_tables", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parameter_table_is_generated_from_the_scenario(odd: str) -> None:
    _, table, _ = split_at_markers(odd)
    assert table.strip() == parameter_table().strip(), (
        "the parameter table in docs/ODD.md is stale: run .venv/bin/python docs/gen_tables.py"
    )


def test_every_parameter_is_in_the_table(odd: str) -> None:
    _, table, _ = split_at_markers(odd)
    missing = [key for key in parameters() if f"| `{key}` |" not in table]
    assert not missing, f"parameters missing from the ODD's table: {missing}"


def test_every_parameter_is_described_in_the_text(odd: str) -> None:
    before, _, after = split_at_markers(odd)
    prose = before + after
    missing = [key for key in parameters() if f"`{key}`" not in prose]
    assert not missing, f"parameters in the table but never described in docs/ODD.md: {missing}"


def test_every_measure_is_defined(odd: str) -> None:
    before, _, after = split_at_markers(odd)
    prose = before + after
    missing = [name for name in MEASURES if f"`{name}`" not in prose]
    assert not missing, f"measures of sim.model.measures.MEASURES not in docs/ODD.md: {missing}"
    rows = [name for name in MEASURES if f"| `{name}` |" not in prose]
    assert not rows, f"measures without a row in the ODD's column table: {rows}"


def test_team_columns_and_summary_keys_are_named(odd: str) -> None:
    plain = [k for k in SUMMARY_KEYS if k not in MEASURES and not k.endswith("_avg")]
    missing = [k for k in (*TEAM_COLUMNS, *plain) if f"`{k}`" not in odd]
    assert not missing, f"team columns or summary keys not in docs/ODD.md: {missing}"
    assert "_avg" in odd


def test_presets_events_and_streams_are_documented(odd: str) -> None:
    missing = [name for name in (*PRESETS, *EVENT_TYPES) if f"`{name}`" not in odd]
    assert not missing, f"presets or event types not in docs/ODD.md: {missing}"
    streams = [name for name in STREAMS if f"| {name} |" not in odd]
    assert not streams, (
        f"random streams of sim.model.trust_model.STREAMS not in the ODD's table: {streams}"
    )


def test_preset_table_matches_the_presets(odd: str) -> None:
    for name, switches in PRESETS.items():
        row = next((line for line in odd.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"preset {name} has no row in docs/ODD.md"
        cells = [c.strip() for c in row.strip("|").split("|")]
        expected = [
            f'"{switches["coach"]}"',
            f'"{switches["sponsor"]}"',
            str(switches["peer_coaching"]).lower(),
        ]
        assert cells[1:] == expected, f"preset {name}: ODD says {cells[1:]}, code {expected}"


def resolve(dotted: str) -> object:
    """Import the longest module prefix of a dotted name, then follow attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


def test_cited_code_objects_exist(odd: str) -> None:
    cited = set(re.findall(r"`(sim(?:\.\w+)+)(?:\(\))?`", odd))
    assert len(cited) > 20, "the ODD should name the functions that implement each formula"
    missing = []
    for dotted in sorted(cited):
        try:
            resolve(dotted)
        except (ModuleNotFoundError, AttributeError):
            missing.append(dotted)
    assert not missing, f"docs/ODD.md cites code that does not exist: {missing}"


def test_cited_model_methods_exist(odd: str) -> None:
    from sim.model.trust_model import TrustModel

    cited = set(re.findall(r"`TrustModel\.(\w+)`", odd))
    assert cited, "the ODD should name TrustModel's methods"
    missing = [name for name in sorted(cited) if not hasattr(TrustModel, name)]
    assert not missing, f"docs/ODD.md cites TrustModel methods that do not exist: {missing}"


def test_generator_rewrites_only_the_table(tmp_path: Path, odd: str) -> None:
    gen = load_generator()
    assert gen.render(odd) == odd, "the generator is not a fixed point on the current ODD"
    before, _, after = split_at_markers(odd)
    stale = f"{before}\n{START}\n| stale | table |\n{END}\n{after}\n"
    path = tmp_path / "ODD.md"
    path.write_text(stale, encoding="utf-8")
    assert gen.main(["--check", "--path", str(path)]) == 1
    assert path.read_text(encoding="utf-8") == stale
    assert gen.main(["--path", str(path)]) == 0
    new_before, table, new_after = split_at_markers(path.read_text(encoding="utf-8"))
    assert table.strip() == parameter_table().strip()
    assert (new_before, new_after.strip()) == (before, after.strip())
    assert gen.main(["--check", "--path", str(path)]) == 0


def test_generator_refuses_missing_markers() -> None:
    gen = load_generator()
    with pytest.raises(ValueError, match="parameter-table"):
        gen.render("no markers here\n")
    with pytest.raises(ValueError, match="parameter-table"):
        gen.render(f"{END}\n{START}\n")
