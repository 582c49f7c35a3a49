"""Loading and validating scenarios (sim/model/scenario.py) against docs/ODD.md and STYLE.md.

Every error test asserts on what a user reads: one line per problem that names the
file, the key, the value and what is allowed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from sim.model.events import EVENT_TYPES
from sim.model.scenario import (
    PRESETS,
    Scenario,
    ScenarioError,
    parameter_table,
    parameters,
    scenario_from_dict,
)
from sim.model.scenario_files import load_scenario

# A spot-check of docs/ODD.md's defaults.
MODEL_DEFAULTS = {
    "steps": 104,
    "members": 12,
    "levels": 1,
    "topics": 3,
    "trust_gain": 0.08,
    "trust_loss": 0.16,
    "coach_capacity": 4,
    "bond_threshold": 0.5,
    "power_distance": 0.8,
    "sponsorship_strength": 0.3,
    "hierarchy_attenuation": 0.7,
    "need_rate": 0.5,
    "trust_decay": 0.01,
    "beta_forgetting": 0.98,
    "competence_target": 0.6,
    "coach": "none",
    "sponsor": "none",
    "peer_coaching": False,
    "trust_rule": "asymmetric",
    "coach_selection": "most_trusted",
}

# docs/ODD.md, "Named presets": (coach, sponsor, peer_coaching).
MODEL_PRESETS = {
    "no_coaching": ("none", "none", False),
    "top_down_internal": ("internal", "top", False),
    "top_down_external": ("external", "top", False),
    "manager_sponsored": ("internal", "manager", False),
    "peer_led": ("none", "none", True),
    "hybrid": ("internal", "top", True),
}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _errors(path: Path) -> list[str]:
    """The lines of the ScenarioError that loading `path` raises."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    lines = info.value.lines
    assert str(info.value) == "\n".join(lines)
    for line in lines:
        assert "\n" not in line
    return lines


def _one_error(path: Path) -> str:
    lines = _errors(path)
    assert len(lines) == 1, lines
    return lines[0]


# --- defaults and values ----------------------------------------------------------------


@pytest.mark.parametrize(("key", "expected"), MODEL_DEFAULTS.items())
def test_defaults_match_model_md(key: str, expected: object) -> None:
    assert getattr(Scenario(), key) == expected


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path / "plain.toml", ""))
    for key, expected in MODEL_DEFAULTS.items():
        assert getattr(scenario, key) == expected, key
    assert scenario.name == "plain"
    assert scenario.events == ()


def test_file_values_are_read(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "mine.toml",
        "# Half the gain.\n# Second line.\ntrust_gain = 0.04\nmembers = 30\ncoach = 'external'\n",
    )
    scenario = load_scenario(path)
    assert scenario.trust_gain == 0.04
    assert scenario.members == 30
    assert scenario.coach == "external"
    assert scenario.name == "mine"
    assert scenario.description == "Half the gain. Second line."


def test_an_integer_is_accepted_where_a_number_belongs(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path / "s.toml", "trust_gain = 1\n"))
    assert scenario.trust_gain == 1.0


def test_events_are_read(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "s.toml",
        '[[events]]\ntype = "breach"\nat = 10\n\n'
        '[[events]]\ntype = "turnover_wave"\nat = 20\nfraction = 0.25\n',
    )
    events = load_scenario(path).events
    assert [(e.type, e.at) for e in events] == [("breach", 10), ("turnover_wave", 20)]
    assert events[0].role == "coach"
    assert events[1].fraction == 0.25


def test_scenario_is_frozen() -> None:
    scenario = Scenario()
    with pytest.raises(ValidationError):
        scenario.trust_gain = 0.5  # type: ignore[misc]
    assert scenario.trust_gain == 0.08


def test_load_overrides_win(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.toml", "trust_gain = 0.04\n")
    assert load_scenario(path, trust_gain=0.02).trust_gain == 0.02


# --- presets and extends ------------------------------------------------------------------


def test_presets_are_model_md_presets() -> None:
    assert set(PRESETS) == set(MODEL_PRESETS)


@pytest.mark.parametrize("name", MODEL_PRESETS)
def test_preset_sets_the_three_switches(tmp_path: Path, name: str) -> None:
    scenario = load_scenario(_write(tmp_path / "s.toml", f'preset = "{name}"\n'))
    assert (scenario.coach, scenario.sponsor, scenario.peer_coaching) == MODEL_PRESETS[name]
    # Nothing else moves.
    assert scenario.trust_gain == 0.08
    assert scenario.members == 12


def test_file_values_override_the_preset(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "s.toml", 'preset = "hybrid"\npeer_coaching = false\nsponsor = "manager"\n'
    )
    scenario = load_scenario(path)
    assert scenario.coach == "internal"  # from the preset
    assert scenario.sponsor == "manager"  # the file wins
    assert scenario.peer_coaching is False  # the file wins


def test_extends_inherits_and_the_child_wins(tmp_path: Path) -> None:
    _write(
        tmp_path / "parent.toml",
        'preset = "top_down_internal"\ntrust_gain = 0.05\ntrust_loss = 0.2\nmembers = 20\n',
    )
    child = _write(tmp_path / "child.toml", 'extends = "parent.toml"\ntrust_gain = 0.07\n')
    scenario = load_scenario(child)
    assert scenario.trust_gain == 0.07  # child wins
    assert scenario.trust_loss == 0.2  # inherited
    assert scenario.members == 20  # inherited
    assert (scenario.coach, scenario.sponsor) == ("internal", "top")  # inherited preset
    assert scenario.name == "child"


def test_extends_is_relative_to_the_child_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "base" / "parent.toml", "members = 40\n")
    child = _write(tmp_path / "sub" / "child.toml", 'extends = "../base/parent.toml"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_scenario(child).members == 40


def test_extends_chains_two_deep(tmp_path: Path) -> None:
    _write(
        tmp_path / "a" / "grandparent.toml",
        "members = 30\ntrust_gain = 0.01\ntrust_loss = 0.02\nsteps = 50\n",
    )
    # The parent's own `extends` is relative to the parent's folder, not the child's.
    _write(
        tmp_path / "b" / "parent.toml",
        'extends = "../a/grandparent.toml"\ntrust_gain = 0.03\ntrust_loss = 0.04\n',
    )
    child = _write(
        tmp_path / "c" / "child.toml", 'extends = "../b/parent.toml"\ntrust_loss = 0.05\n'
    )
    scenario = load_scenario(child)
    assert scenario.members == 30  # from the grandparent
    assert scenario.steps == 50  # from the grandparent
    assert scenario.trust_gain == 0.03  # the parent overrides the grandparent
    assert scenario.trust_loss == 0.05  # the child overrides both
    assert scenario.name == "child"


# --- errors: one line, naming file, key, value and what is allowed --------------------------


def test_unknown_key_suggests_the_close_name(tmp_path: Path) -> None:
    path = _write(tmp_path / "typo.toml", "trust_gian = 0.1\n")
    line = _one_error(path)
    assert str(path) in line
    assert "trust_gian" in line
    assert '"trust_gain"' in line
    assert "did you mean" in line


def test_unknown_key_names_the_value(tmp_path: Path) -> None:
    # STYLE.md: the message names the file, the key, *the value* and what is allowed.
    path = _write(tmp_path / "typo.toml", "trust_gian = 0.123\n")
    line = _one_error(path)
    assert "0.123" in line


def test_string_for_a_number(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.toml", 'trust_gain = "high"\n')
    line = _one_error(path)
    assert str(path) in line
    assert "trust_gain" in line
    assert '"high"' in line
    assert "number" in line
    assert "0.0" in line
    assert "1.0" in line


def test_fraction_for_an_integer(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.toml", "members = 4.5\n")
    line = _one_error(path)
    assert str(path) in line
    assert "members" in line
    assert "4.5" in line
    assert "integer" in line


def test_number_for_a_bool(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.toml", "peer_coaching = 1\n")
    line = _one_error(path)
    assert str(path) in line
    assert "peer_coaching" in line
    assert "= 1" in line
    assert "true or false" in line


def test_unknown_choice(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.toml", 'coach = "outside"\n')
    line = _one_error(path)
    assert str(path) in line
    assert "coach" in line
    assert '"outside"' in line
    for choice in ("none", "internal", "external"):
        assert f'"{choice}"' in line


@pytest.mark.parametrize("value", ["1.5", "-0.1"])
def test_value_out_of_range(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path / "s.toml", f"trust_gain = {value}\n")
    line = _one_error(path)
    assert str(path) in line
    assert "trust_gain" in line
    assert value in line
    assert "0.0" in line
    assert "1.0" in line


def test_integer_out_of_range(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.toml", "members = 1\n")
    line = _one_error(path)
    assert "members = 1 " in line
    assert "2" in line
    assert "100000" in line


def test_unknown_preset_suggests_the_close_name(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.toml", 'preset = "peer_lead"\n')
    line = _one_error(path)
    assert str(path) in line
    assert "preset" in line
    assert '"peer_lead"' in line
    assert 'did you mean "peer_led"' in line
    for name in MODEL_PRESETS:
        assert name in line


@pytest.mark.parametrize(("text", "shown"), [("3", "3"), ('["hybrid"]', "hybrid")])
def test_preset_that_is_not_a_string(tmp_path: Path, text: str, shown: str) -> None:
    # A TOML array is unhashable: the loader must still answer with a ScenarioError line.
    path = _write(tmp_path / "s.toml", f"preset = {text}\n")
    line = _one_error(path)
    assert str(path) in line
    assert "preset" in line
    assert shown in line
    assert "no_coaching" in line


def test_unknown_preset_and_a_bad_value_give_two_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.toml", 'preset = "hybrd"\ntrust_gain = 1.5\n')
    lines = _errors(path)
    assert len(lines) == 2, lines
    assert any('"hybrd"' in line for line in lines)
    assert any("trust_gain = 1.5" in line for line in lines)


def test_extends_that_is_not_a_string(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.toml", "extends = 3\n")
    line = _one_error(path)
    assert str(path) in line
    assert "extends = 3" in line
    assert "file path" in line


def test_extends_cycle(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    _write(tmp_path / "b.toml", 'extends = "a.toml"\n')
    line = _one_error(a)
    assert "extends" in line
    assert "cycle" in line
    assert "a.toml" in line
    assert "b.toml" in line


def test_extends_itself_is_a_cycle(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.toml", 'extends = "a.toml"\n')
    line = _one_error(a)
    assert "cycle" in line
    assert "a.toml" in line


def test_extends_a_missing_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.toml", 'extends = "nowhere.toml"\n')
    line = _one_error(path)
    assert str(path) in line
    assert "extends" in line
    assert '"nowhere.toml"' in line
    assert "not found" in line


def test_missing_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    line = _one_error(path)
    assert str(path) in line
    assert "not found" in line


def test_an_error_in_a_parent_names_the_parent_file(tmp_path: Path) -> None:
    # The bad value lives in parent.toml: that is the file the user has to fix.
    _write(tmp_path / "parent.toml", "trust_gain = 1.5\n")
    child = _write(tmp_path / "child.toml", 'extends = "parent.toml"\n')
    line = _one_error(child)
    assert "trust_gain = 1.5" in line
    assert "parent.toml" in line


def test_malformed_toml(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.toml", "trust_gain = = 0.1\n")
    line = _one_error(path)
    assert str(path) in line
    assert "malformed TOML" in line
    assert "line 1" in line


def test_unknown_event_type(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.toml", '[[events]]\ntype = "explosion"\nat = 3\n')
    line = _one_error(path)
    assert str(path) in line
    assert "events[0].type" in line
    assert '"explosion"' in line
    for event_type in EVENT_TYPES:
        assert f'"{event_type}"' in line


def test_event_without_at(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "s.toml",
        '[[events]]\ntype = "breach"\nat = 2\n\n[[events]]\ntype = "reorg"\n',
    )
    line = _one_error(path)
    assert str(path) in line
    assert "events[1].at" in line
    assert "missing" in line


def test_unknown_event_key(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.toml", '[[events]]\ntype = "breach"\nat = 3\ncolour = "red"\n')
    line = _one_error(path)
    assert str(path) in line
    assert "events[0].colour" in line
    for key in ("type", "at", "role", "fraction"):
        assert key in line


def test_unknown_event_key_names_the_value(tmp_path: Path) -> None:
    # STYLE.md: the message names the file, the key, *the value* and what is allowed.
    path = _write(tmp_path / "s.toml", '[[events]]\ntype = "breach"\nat = 3\ncolour = "red"\n')
    line = _one_error(path)
    assert '"red"' in line


def test_events_that_are_not_a_list(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.toml", "events = 3\n")
    line = _one_error(path)
    assert str(path) in line
    assert "events = 3" in line
    assert "[[events]]" in line


def test_event_value_out_of_range(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "s.toml", '[[events]]\ntype = "turnover_wave"\nat = 3\nfraction = 1.5\n'
    )
    line = _one_error(path)
    assert str(path) in line
    assert "events[0].fraction" in line
    assert "1.5" in line


def test_several_errors_give_several_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "s.toml",
        "trust_gian = 0.1\ntrust_loss = 1.5\nmembers = 4.5\npeer_coaching = 1\n"
        '[[events]]\ntype = "explosion"\nat = 3\n',
    )
    lines = _errors(path)
    assert len(lines) == 5, lines
    assert all(line.startswith(str(path)) for line in lines)
    text = "\n".join(lines)
    for key in ("trust_gian", "trust_loss", "members", "peer_coaching", "events[0].type"):
        assert sum(key in line for line in lines) == 1, (key, text)


# --- Scenario.with_, digest, parameter_table -------------------------------------------------


def test_with_builds_a_changed_copy() -> None:
    base = Scenario()
    changed = base.with_(trust_gain=0.04, coach="internal")
    assert changed.trust_gain == 0.04
    assert changed.coach == "internal"
    assert base.trust_gain == 0.08
    assert base.coach == "none"


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("trust_gain", 1.5, "1.5"),
        ("members", 4.5, "4.5"),
        ("peer_coaching", 1, "1"),
        ("coach", "outside", '"outside"'),
    ],
)
def test_with_validates(key: str, value: object, shown: str) -> None:
    with pytest.raises(ScenarioError) as info:
        Scenario().with_(**{key: value})
    (line,) = info.value.lines
    assert key in line
    assert shown in line
    assert "not allowed" in line


def test_with_rejects_an_unknown_key() -> None:
    with pytest.raises(ScenarioError) as info:
        Scenario().with_(trust_gian=0.1)
    (line,) = info.value.lines
    assert "trust_gian" in line
    assert '"trust_gain"' in line


def test_digest_is_equal_for_equal_parameters(tmp_path: Path) -> None:
    from_file = load_scenario(_write(tmp_path / "s.toml", "trust_gain = 0.04\n"))
    built = Scenario().with_(trust_gain=0.04)
    assert from_file.digest() == built.digest()
    assert Scenario().digest() == Scenario().digest()


def test_digest_ignores_name_and_description() -> None:
    base = Scenario()
    assert base.with_(name="other", description="something else").digest() == base.digest()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("trust_gain", 0.081),
        ("members", 13),
        ("coach", "internal"),
        ("peer_coaching", True),
        ("trust_rule", "beta"),
        ("steps", 105),
    ],
)
def test_digest_differs_when_one_parameter_differs(key: str, value: object) -> None:
    base = Scenario()
    assert base.with_(**{key: value}).digest() != base.digest()


def test_digest_differs_when_events_differ() -> None:
    base = Scenario()
    assert base.with_(events=[{"type": "breach", "at": 5}]).digest() != base.digest()


def test_parameters_exclude_file_keys() -> None:
    names = set(parameters())
    assert {"trust_gain", "members", "coach", "peer_coaching"} <= names
    assert not names & {"name", "description", "events", "preset", "extends"}


def test_parameter_table_has_one_row_per_parameter() -> None:
    table = parameter_table()
    lines = table.strip().splitlines()
    header, rule, *rows = lines
    assert header.startswith("| parameter |")
    assert set(rule) <= {"|", "-"}
    names = list(parameters())
    assert len(rows) == len(names)
    assert [row.split("|")[1].strip().strip("`") for row in rows] == names
    for row in rows:
        assert row.count("|") == header.count("|"), row
    gain = next(row for row in rows if row.startswith("| `trust_gain` |"))
    assert "0.08" in gain


def test_a_scenario_too_big_for_this_machine_is_refused_with_what_to_change() -> None:
    """100,000 members in one team: a terabyte of contacts. Refused before anything is built."""
    from sim.model.memory import BYTES_AT_ANY_SIZE, memory_needed, physical_memory

    with pytest.raises(ScenarioError) as err:
        scenario_from_dict({"members": 100_000}, source="big.toml")
    (line,) = err.value.lines
    assert line.startswith("big.toml: ")
    assert "members = 100000 with levels = 1 needs about 1.2 TB of memory" in line
    assert "use more levels (levels = 2 needs about" in line
    # The estimate grows with team size squared, and more levels make it fit.
    base = BYTES_AT_ANY_SIZE
    one_team = memory_needed(4000, 1, None, None, "none") - base
    assert memory_needed(8000, 1, None, None, "none") - base > 3.9 * one_team
    assert memory_needed(100_000, 3, None, None, "none") < physical_memory()
    assert Scenario(members=100_000, levels=3).members == 100_000
