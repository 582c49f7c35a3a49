"""The scenario library (scenarios/*.toml): every file loads, says what it is, and runs.

Parametrized over a glob of the folder, so a file added to the library is covered
without touching this test. Then the checks a user would make of particular files: the
six preset files are exactly their presets, the hierarchy family is what its names say,
and the shock scenarios schedule what they promise.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from sim import TrustModel
from sim.model.scenario import PRESETS, Scenario
from sim.model.scenario_files import describe_file, load_scenario

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "scenarios"
FILES = sorted(LIBRARY.glob("*.toml"))
SWITCHES = ("coach", "sponsor", "peer_coaching")
STEPS = 10


def ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def run(scenario: Scenario, steps: int, seed: int = 1) -> TrustModel:
    model = TrustModel(scenario, rng=seed)
    for _ in range(steps):
        model.step()
    return model


def assert_state_in_bounds(model: TrustModel) -> None:
    trust = np.asarray(model.trust, dtype=float)
    skill = np.asarray(model.skill, dtype=float)
    assert trust.size > 0
    assert skill.size > 0
    for name, values in (("trust", trust), ("skill", skill)):
        assert not np.isnan(values).any(), f"NaN in {name}"
        assert values.min() >= 0.0, f"{name} below 0: {values.min()}"
        assert values.max() <= 1.0, f"{name} above 1: {values.max()}"


def test_library_is_not_empty() -> None:
    assert len(FILES) >= 17, [p.name for p in FILES]


def test_library_has_the_files_the_experiments_and_readme_name() -> None:
    """experiments/*.toml and README.md refer to library files by name."""
    names = {p.stem for p in FILES}
    expected = {*PRESETS, "breach_shock", "hierarchy_3", "distrusted_management"}
    referenced = set()
    for text_file in [*sorted((ROOT / "experiments").glob("*.toml")), ROOT / "README.md"]:
        if text_file.exists():
            text = text_file.read_text(encoding="utf-8")
            referenced |= set(re.findall(r"scenarios/(\w+)\.toml", text))
    missing = (expected | referenced) - names
    assert not missing, f"named but not in scenarios/: {sorted(missing)}"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_file_loads_describes_itself_and_runs(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem

    description = describe_file(path)
    assert description, f"{path.name}: no comment block at the top"
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line.startswith("#"), f"{path.name}: does not start with a comment"
    assert first_line.rstrip().endswith("."), f"{path.name}: first line is not one sentence"
    assert scenario.description == description

    model = run(scenario, STEPS)
    table = model.datacollector.get_model_vars_dataframe()
    assert len(table) == STEPS + 1
    assert_state_in_bounds(model)


def has_events(path: Path) -> bool:
    """Whether a file schedules events (a file that does not load is kept, to fail below)."""
    try:
        return bool(load_scenario(path).events)
    except ValueError:
        return True


EVENT_FILES = [p for p in FILES if has_events(p)]


@pytest.mark.parametrize("path", EVENT_FILES, ids=ids(EVENT_FILES))
def test_scheduled_events_happen_without_breaking_bounds(path: Path) -> None:
    """Run just past the last event, so the event code itself is exercised."""
    scenario = load_scenario(path)
    last = max(e.at for e in scenario.events)
    assert last <= scenario.steps, f"{path.name}: an event after the horizon never happens"
    model = run(scenario, last + 2)
    assert len(model.datacollector.get_model_vars_dataframe()) == last + 3
    assert_state_in_bounds(model)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_file_is_exactly_its_preset(name: str) -> None:
    path = LIBRARY / f"{name}.toml"
    assert path.exists(), f"no library file for preset {name}"
    scenario = load_scenario(path)
    assert {k: getattr(scenario, k) for k in SWITCHES} == PRESETS[name]
    # Defaults otherwise: every parameter as in a bare Scenario with the preset's switches.
    assert scenario.parameters() == Scenario().with_(**PRESETS[name]).parameters()
    assert scenario.events == ()


@pytest.mark.parametrize("levels", [1, 2, 3, 4])
def test_hierarchy_family(levels: int) -> None:
    scenario = load_scenario(LIBRARY / f"hierarchy_{levels}.toml")
    assert scenario.levels == levels
    assert scenario.members == 48
    assert {k: getattr(scenario, k) for k in SWITCHES} == PRESETS["top_down_internal"]
    # The family differs only in levels, so the comparison is about hierarchy alone.
    base = load_scenario(LIBRARY / "hierarchy_1.toml")
    assert scenario.parameters() == base.with_(levels=levels).parameters()


def test_breach_shock_has_a_coach_breach_at_week_52() -> None:
    scenario = load_scenario(LIBRARY / "breach_shock.toml")
    breaches = [e for e in scenario.events if e.type == "breach"]
    assert [(e.at, e.role) for e in breaches] == [(52, "coach")]
    assert {k: getattr(scenario, k) for k in SWITCHES} == PRESETS["top_down_internal"]
    assert scenario.coach != "none", "a coach breach needs a coach"


def test_breach_shock_lowers_trust_in_the_coach_against_its_reference() -> None:
    """Same seed, same draws until week 52: the breach can only make trust lower."""
    shock = run(load_scenario(LIBRARY / "breach_shock.toml"), 53)
    reference = run(load_scenario(LIBRARY / "top_down_internal.toml"), 53)
    a = shock.datacollector.get_model_vars_dataframe()["trust_in_coach"]
    b = reference.datacollector.get_model_vars_dataframe()["trust_in_coach"]
    assert np.allclose(a.iloc[:52], b.iloc[:52]), "runs differ before the breach"
    assert a.iloc[52] < b.iloc[52]


def test_distrusted_management_distrusts_management() -> None:
    scenario = load_scenario(LIBRARY / "distrusted_management.toml")
    assert scenario.management_trust_scale < 0.5
    assert scenario.sponsor != "none", "the point is a sponsor nobody trusts"


def test_distrusted_management_peer_led_differs_only_in_regime() -> None:
    path = LIBRARY / "distrusted_management_peer_led.toml"
    if not path.exists():
        pytest.skip("optional file")
    scenario = load_scenario(path)
    base = load_scenario(LIBRARY / "distrusted_management.toml")
    assert {k: getattr(scenario, k) for k in SWITCHES} == PRESETS["peer_led"]
    assert scenario.parameters() == base.with_(**PRESETS["peer_led"]).parameters()


@pytest.mark.parametrize(
    ("name", "preset_name", "checks"),
    [
        ("low_trust_team", "top_down_internal", {"propensity_mean": lambda v: v <= 0.3}),
        ("external_coach_low_trust", "top_down_external", {"propensity_mean": lambda v: v <= 0.35}),
        ("high_turnover", "top_down_internal", {"turnover_rate": lambda v: v >= 0.01}),
    ],
)
def test_variant_sets_what_its_name_says(name: str, preset_name: str, checks: dict) -> None:
    scenario = load_scenario(LIBRARY / f"{name}.toml")
    assert {k: getattr(scenario, k) for k in SWITCHES} == PRESETS[preset_name]
    for key, ok in checks.items():
        assert ok(getattr(scenario, key)), f"{name}: {key} = {getattr(scenario, key)}"
