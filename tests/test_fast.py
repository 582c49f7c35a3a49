"""The fast path (sim.simulate) against stepping TrustModel: the same numbers, bit for bit.

A user who switches from stepping the Mesa model to `simulate` (or whose sweep now
runs on the fast path) must get exactly the table and summary they got before: every
column of every week, every summary key, every team row.
"""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import PRESETS, Scenario, TrustModel, load_scenario, preset, simulate
from sim.model.measures import MEASURES, SUMMARY_KEYS, TEAM_COLUMNS
from sim.model.scenario import EVENT_TYPES
from sim.model.structure import level_sizes

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.toml"))


def stepped(scenario: Scenario, seed: int, team_table: bool | None = None) -> TrustModel:
    model = TrustModel(scenario, rng=seed, team_table=team_table)
    while model.running:
        model.step()
    return model


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def assert_same_run(scenario: Scenario, seed: int) -> None:
    """simulate and a stepped TrustModel agree on every week, the summary and the teams."""
    model = stepped(scenario, seed, team_table=True)
    run = simulate(scenario, seed, team_table=True)
    pd.testing.assert_frame_equal(
        run.steps, model.datacollector.get_model_vars_dataframe(), check_exact=True
    )
    expected = model.summary()
    assert list(run.summary) == list(expected)
    assert set(run.summary) == set(SUMMARY_KEYS)
    differ = {
        k: (run.summary[k], v) for k, v in expected.items() if not same_value(run.summary[k], v)
    }
    assert not differ, differ
    teams = run.teams
    assert teams is not None
    pd.testing.assert_frame_equal(
        teams, model.datacollector.get_table_dataframe("teams"), check_exact=True
    )


@pytest.mark.parametrize("levels", [1, 3])
def test_a_shaped_organization(levels: int) -> None:
    """team_size and span build the organization for both fronts alike."""
    sc = preset("manager_sponsored", team_size=4, span=2, levels=levels, steps=20)
    assert sc.members == 4 * 2 ** (levels - 1)
    assert_same_run(sc, 3)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_file(path: Path) -> None:
    scenario = load_scenario(path)
    if scenario.members > 1000:  # large_org: the organization as it is, a few weeks
        scenario = scenario.with_(steps=6)
    assert_same_run(scenario, 11)


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("rule", ["asymmetric", "beta"])
def test_every_preset_under_both_trust_rules(name: str, rule: str) -> None:
    assert_same_run(preset(name, trust_rule=rule, levels=2, members=19, steps=30), 3)


@pytest.mark.parametrize("levels", [1, 2, 3, 4, 5, 6])
def test_one_to_six_levels_with_uneven_teams(levels: int) -> None:
    scenario = preset("hybrid", levels=levels, members=67, steps=12, turnover_rate=0.02)
    assert_same_run(scenario, levels)


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_every_event_type(kind: str) -> None:
    fields = {"breach": {"role": "manager"}, "turnover_wave": {"fraction": 0.4}}.get(kind, {})
    events = [{"type": kind, "at": 4, **fields}, {"type": "breach", "at": 4}]
    if kind == "sponsor_withdraws":
        events.append({"type": "sponsor_returns", "at": 9})
    scenario = preset("top_down_internal", levels=2, members=30, steps=14, events=events)
    assert_same_run(scenario, 5)


events = st.lists(
    st.builds(
        dict,
        type=st.sampled_from(EVENT_TYPES),
        at=st.integers(1, 25),
        role=st.sampled_from(["coach", "manager", "top"]),
        fraction=st.floats(0.0, 1.0),
    ),
    max_size=3,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(list(PRESETS)),
    seed=st.integers(0, 2**32 - 1),
    members=st.integers(2, 60),
    levels=st.integers(1, 6),
    rule=st.sampled_from(["asymmetric", "beta"]),
    selection=st.sampled_from(["most_trusted", "most_skilled", "random"]),
    turnover=st.sampled_from([0.0, 0.0, 0.03, 0.2]),
    steps=st.integers(1, 25),
    floats=st.fixed_dictionaries(
        {
            "trust_selectivity": st.floats(0.0, 4.0),
            "trust_sensitivity": st.floats(0.0, 3.0),
            "need_rate": st.floats(0.0, 1.0),
            "gossip_rate": st.floats(0.0, 1.0),
            "trust_decay": st.floats(0.0, 1.0),
            "skill_decay": st.sampled_from([0.0, 0.05]),
            "sponsorship_strength": st.floats(0.0, 1.0),
            "management_trust_scale": st.floats(0.0, 1.0),
            "beta_forgetting": st.floats(0.5, 1.0),
            # team-level structure and the structural rules (docs/ODD.md 7.2a)
            "manager_openness_sd": st.sampled_from([0.0, 0.0, 0.5, 1.5]),
            "team_norm_sd": st.sampled_from([0.0, 0.0, 0.1]),
            "team_climate": st.sampled_from([0.0, 0.0, 0.05, 0.9]),
            "choice_rule": st.sampled_from(["weighted", "best"]),
            "voice_rule": st.sampled_from(["dyadic", "general"]),
            "success_rule": st.sampled_from(["geometric", "weakest"]),
        }
    ),
    schedule=events,
    interval=st.integers(1, 6),
    start=st.integers(0, 5),
)
def test_same_numbers_over_parameter_ranges(
    name: str,
    seed: int,
    members: int,
    levels: int,
    rule: str,
    selection: str,
    turnover: float,
    steps: int,
    floats: dict[str, Any],
    schedule: list[dict[str, Any]],
    interval: int,
    start: int,
) -> None:
    scenario = preset(
        name,
        members=members,
        levels=levels,
        trust_rule=rule,
        coach_selection=selection,
        turnover_rate=turnover,
        steps=steps,
        events=schedule,
        sponsor_interval=interval,
        sponsor_start=start,
        **floats,
    )
    assert_same_run(scenario, seed)


def test_a_changed_seed_changes_the_run_and_the_same_seed_repeats_it() -> None:
    scenario = preset("top_down_internal")
    a, b, c = simulate(scenario, 1), simulate(scenario, 1), simulate(scenario, 2)
    pd.testing.assert_frame_equal(a.steps, b.steps, check_exact=True)
    assert not a.steps["mean_trust"].equals(c.steps["mean_trust"])
    assert a.summary["mean_skill"] != c.summary["mean_skill"]


def test_the_run_is_what_its_labels_say() -> None:
    """Two regimes differ where their inputs differ, and each run carries its own scenario."""
    a = simulate(preset("top_down_internal"), 4)
    b = simulate(preset("peer_led"), 4)
    assert a.scenario.coach == "internal"
    assert b.scenario.peer_coaching
    assert math.isnan(b.summary["trust_in_coach"])
    assert not math.isnan(a.summary["trust_in_coach"])
    assert a.summary["mean_skill"] != b.summary["mean_skill"]


def test_seed_reproduces_an_unseeded_run() -> None:
    first = simulate(preset("hybrid", steps=20))
    again = simulate(preset("hybrid", steps=20), first.seed)
    pd.testing.assert_frame_equal(first.steps, again.steps, check_exact=True)


def test_steps_and_keyword_parameters() -> None:
    run = simulate(preset("no_coaching"), 3, steps=7, gossip_rate=0.0)
    assert run.scenario.steps == 7
    assert run.scenario.gossip_rate == 0.0
    assert run.steps["step"].tolist() == list(range(8))
    assert list(run.steps.columns) == ["step", *MEASURES]
    model = stepped(preset("no_coaching", steps=7, gossip_rate=0.0), 3)
    pd.testing.assert_frame_equal(run.steps, model.datacollector.get_model_vars_dataframe())


def test_keep_steps() -> None:
    scenario = preset("top_down_internal", steps=10)
    full = simulate(scenario, 1)
    every4 = simulate(scenario, 1, keep_steps=4)
    none = simulate(scenario, 1, keep_steps=False)
    assert every4.steps["step"].tolist() == [0, 4, 8, 10]
    pd.testing.assert_frame_equal(
        every4.steps.reset_index(drop=True),
        full.steps.iloc[[0, 4, 8, 10]].reset_index(drop=True),
        check_exact=True,
    )
    assert none.steps.empty
    assert none.summary == pytest.approx(full.summary, nan_ok=True)


def test_team_rows_only_when_asked() -> None:
    scenario = preset("top_down_internal", levels=2, members=24, steps=3)
    assert simulate(scenario, 1).teams is None
    teams = simulate(scenario, 1, team_table=True).teams
    assert teams is not None
    assert list(teams.columns) == list(TEAM_COLUMNS)
    assert len(teams) == 4 * 5  # four weeks (0 to 3), five teams
    assert simulate(scenario, 1, team_table=None).teams is not None  # auto: up to 50 teams


def test_values_stay_in_bounds_at_scale() -> None:
    run = simulate(preset("top_down_internal", members=3000, levels=3, steps=5), 2)
    bounded = [m for m in MEASURES if m not in ("needs", "asks", "breaches", "fragmentation")]
    values = run.steps[bounded].to_numpy()
    assert np.all((values[~np.isnan(values)] >= 0) & (values[~np.isnan(values)] <= 1))
    assert run.n_people == 3000 + sum(level_sizes(3000, 3))
    assert run.n_teams == level_sizes(3000, 3)[-1]


def test_team_rows_follow_the_kept_weeks() -> None:
    scenario = preset("top_down_internal", levels=2, members=24, steps=10)
    teams = simulate(scenario, 1, keep_steps=4, team_table=True).teams
    full = simulate(scenario, 1, team_table=True).teams
    assert teams is not None
    assert full is not None
    assert sorted(set(teams["step"])) == [0, 4, 8, 10]
    expected = full[full["step"].isin([0, 4, 8, 10])].reset_index(drop=True)
    pd.testing.assert_frame_equal(teams, expected, check_exact=True)


@pytest.mark.parametrize("keep", [-1, 2.5])
def test_keep_steps_must_be_a_whole_number(keep: Any) -> None:
    with pytest.raises(ValueError, match="keep_steps"):
        simulate(preset("no_coaching", steps=3), 1, keep_steps=keep)


def test_ctrl_c_in_the_compiled_loop_is_a_keyboard_interrupt() -> None:
    """A SIGINT while compiled code runs comes out as KeyboardInterrupt once it returns.

    (Raised inside numba, it came out as a TypeError or SystemError, which a sweep
    stored as a failed run before going on.) The run is a process of its own, sent
    SIGINT from outside while its compiled loop runs, as a terminal's Ctrl-C is: inside
    a test worker, the signal would meet whatever the worker and its earlier tests set.
    """
    script = (
        "import signal, sys\n"
        # A terminal's foreground process has Ctrl-C's default; a process started in the
        # background by a shell (`make test &`, nohup, some CI runners) ignores SIGINT, and
        # so would this child, rightly finishing its run.
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from sim.model.fast import simulate\n"
        "from sim.model.scenario import preset\n"
        "scenario = preset('top_down_internal', members=3000, levels=3, steps=3000)\n"
        "simulate(scenario.with_(steps=2), 1)\n"
        "print('running', flush=True)\n"
        "try:\n"
        "    simulate(scenario, 1)\n"
        "except KeyboardInterrupt:\n"
        "    print('KeyboardInterrupt', flush=True)\n"
        "    sys.exit(3)\n"
        "print('finished', flush=True)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "running"
    time.sleep(0.5)  # in the 3,000-week compiled loop (3 to 5 s)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert (child.returncode, out.strip()) == (3, "KeyboardInterrupt"), err


def test_a_changed_formula_drops_the_compiled_cache(tmp_path: Path) -> None:
    """numba keys its cache on kernels.py only: an edited formula elsewhere drops it."""
    from sim.model.kernels import _drop_stale_cache

    source, other = tmp_path / "kernels.py", tmp_path / "mechanisms.py"
    source.write_text("a = 1\n")
    other.write_text("b = 1\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    compiled = [cache / "kernels.week-1.py313.nbi", cache / "mechanisms.refusal-2.py313.1.nbc"]
    for path in compiled:
        path.write_bytes(b"x")
    assert _drop_stale_cache([source, other], cache)  # no digest yet: not to be trusted
    assert not any(p.exists() for p in compiled)
    for path in compiled:
        path.write_bytes(b"x")
    assert not _drop_stale_cache([source, other], cache)  # unchanged: kept
    assert all(p.exists() for p in compiled)
    other.write_text("b = 2\n")  # a formula edited
    assert _drop_stale_cache([source, other], cache)
    assert not any(p.exists() for p in compiled)


def test_the_same_seed_sequence_twice_gives_the_same_run() -> None:
    seq = np.random.SeedSequence(99)
    a, b = simulate(preset("hybrid", steps=10), seq), simulate(preset("hybrid", steps=10), seq)
    pd.testing.assert_frame_equal(a.steps, b.steps, check_exact=True)
    assert seq.n_children_spawned == 0  # the caller's sequence is not moved on
    model = stepped(preset("hybrid", steps=10), seq)
    pd.testing.assert_frame_equal(a.steps, model.datacollector.get_model_vars_dataframe())
    pd.testing.assert_frame_equal(a.steps, simulate(preset("hybrid", steps=10), 99).steps)


def test_the_fast_path_stops_where_the_state_needs_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule that acts in Python at chosen weeks declares them in TrustState.python_weeks."""
    from sim.model import kernels
    from sim.model.fast import RunState
    from sim.model.state import TrustState

    sc = Scenario(members=12, coach="internal", sponsor="top", steps=30, turnover_rate=0.0)
    sc = sc.with_(
        events=[{"type": "reorg", "at": 10}],
        surveys=[{"instrument": "psychological_safety", "at": [0, 20]}],
    )
    state = RunState(sc, 3)
    # the survey before the first week, the week before the reorg, the survey's week
    assert state.python_weeks(30) == [0, 9, 20]
    assert state.python_weeks(15) == [0, 9]  # only up to the horizon
    seen: list[int] = []
    real = kernels.run_weeks

    def counting(t, last, *args, **kw):  # type: ignore[no-untyped-def]
        seen.append(last)
        return real(t, last, *args, **kw)

    monkeypatch.setattr(kernels, "run_weeks", counting)
    before = simulate(sc, 3)
    assert seen == [9, 20, 30]
    # A new rule (a coach rotating at week 25, say) adds its week there, and only there.
    seen.clear()
    declared = TrustState.python_weeks
    monkeypatch.setattr(TrustState, "python_weeks", lambda s, h: sorted({*declared(s, h), 25}))
    after = simulate(sc, 3)
    assert seen == [9, 20, 25, 30]
    assert np.array_equal(before.table, after.table, equal_nan=True)  # stopping changes nothing
