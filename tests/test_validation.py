"""sim.methods.validation on hand-made tables with a known answer, then the shipped experiment.

Every stylized fact is checked both ways: a table where the pattern holds (shown), one
where it does not (not shown), and one with too little data (not checked, with a
message). The end-to-end test runs a reduced copy of experiments/stylized_facts.toml
through the runner, write_validation and write_report; bad [validation] sections are
checked through `python -m sim.cli` as a user meets them.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from figure_checks import misfits
from helpers_cli import trustsim

from sim.experiments import load_experiment, run
from sim.experiments.compare import (
    facts_markdown,
    load_results,
    validation_results,
    write_validation,
)
from sim.experiments.draw import write_report
from sim.methods.validation import (
    FACTS,
    MANAGEMENT,
    SPONSOR,
    Fact,
    Validation,
    breach_recovery,
    check_facts,
    in_proportion,
    levels_weaken,
    sponsor_effects,
    trust_and_learning,
)
from sim.model.scenario import Scenario, ScenarioError
from sim.reporting import plots

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "experiments" / "stylized_facts.toml"
VERDICTS = {"shown", "not shown", "not checked"}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# Fact 1: trust goes with help-seeking and skill across teams ----------------------


def with_correlation(x: np.ndarray, r: float, seed: int = 0) -> np.ndarray:
    """Values whose Pearson correlation with x is exactly r (up to rounding)."""
    xs = (x - x.mean()) / x.std()
    noise = np.random.default_rng(seed).normal(size=len(x))
    noise -= noise.mean()
    noise -= (noise @ xs) / (xs @ xs) * xs  # orthogonal to x: no correlation of its own
    noise /= noise.std()
    return r * xs + math.sqrt(1.0 - r**2) * noise


def teams(n: int, r_voice: float, r_skill: float) -> pd.DataFrame:
    """n teams (runs) whose trust correlates with voice and skill at the given r."""
    trust = np.linspace(0.3, 0.7, n)
    voice = 0.6 + 0.05 * with_correlation(trust, r_voice, seed=1)
    skill = 0.5 + 0.1 * with_correlation(trust, r_skill, seed=2)
    return pd.DataFrame(
        {"within_team_trust_avg": trust, "silence_rate_avg": 1.0 - voice, "mean_skill": skill}
    )


def test_trust_going_with_voice_and_skill_is_shown() -> None:
    fact = trust_and_learning(teams(40, 0.6, 0.5))
    assert fact.number == 1
    assert fact.verdict == "shown"
    # voice is 1 - silence: the correlation with silence enters with its sign flipped
    assert fact.data["r_voice"] == pytest.approx(0.6)
    assert fact.data["r_skill"] == pytest.approx(0.5)
    assert "Across 40 teams" in fact.finding
    assert "help-seeking (share of needs voiced) at r = 0.60" in fact.finding
    assert "mean skill" in fact.finding
    assert "r = 0.50" in fact.finding
    assert "stronger than the field's 0.3" in fact.finding


def test_the_fields_r_of_0_3_is_shown_with_enough_teams() -> None:
    # Fisher z: at n = 200 the CI of r = 0.3 is about [0.17, 0.42], clear of 0
    fact = trust_and_learning(teams(200, 0.3, 0.3))
    assert fact.verdict == "shown"
    assert "comparable to the field's 0.3" in fact.finding


def test_no_correlation_is_not_shown() -> None:
    fact = trust_and_learning(teams(40, 0.0, 0.0))
    assert fact.verdict == "not shown"
    assert fact.data["r_voice"] == pytest.approx(0.0, abs=1e-12)
    assert "weaker than the field's 0.3" in fact.finding


def test_a_negative_correlation_is_not_shown() -> None:
    assert trust_and_learning(teams(40, -0.6, -0.6)).verdict == "not shown"


def test_both_correlations_are_needed() -> None:
    # voice clearly goes with trust, skill not clearly (CI of r = 0.1 at n = 200 holds 0)
    fact = trust_and_learning(teams(200, 0.5, 0.1))
    assert fact.verdict == "not shown"
    assert trust_and_learning(teams(200, 0.1, 0.5)).verdict == "not shown"


def test_teams_without_a_measure_are_left_out_of_that_correlation() -> None:
    # silence_rate is undefined (NaN) in a run without needs: that team drops out
    frame = teams(40, 0.6, 0.5)
    frame.loc[3, "silence_rate_avg"] = np.nan
    fact = trust_and_learning(frame)
    assert fact.verdict == "shown"
    assert not math.isnan(fact.data["r_voice"])


@pytest.mark.parametrize(
    "frame",
    [
        teams(3, 0.9, 0.9),  # three teams: too few to correlate
        teams(10, 0.5, 0.5).assign(within_team_trust_avg=0.5),  # no variation in trust
        teams(10, 0.5, 0.5).iloc[:0],  # no team at all
    ],
    ids=["three_teams", "constant_trust", "empty"],
)
def test_too_few_teams_is_not_checked(frame: pd.DataFrame) -> None:
    fact = trust_and_learning(frame)
    assert fact.shown is None
    assert fact.verdict == "not checked"
    assert "too few teams" in fact.finding


# Fact 2: recovery after a breach takes longer than the fall -----------------------

AT = 10  # the breach happens at the start of week 10
END = 24  # the runs' last week
BEFORE, LOW = 0.6, 0.3


def breach_run(run_id: str, fall: int, recover: int | None, end: int = END) -> pd.DataFrame:
    """Trust in the coach: flat, falls for `fall` weeks from the breach, climbs back.

    The low is at week AT - 1 + fall; trust is back at BEFORE `recover` weeks later
    (recover=None: never back, still below by the end of the run).
    """
    values = [BEFORE] * AT
    values += list(np.linspace(BEFORE, LOW, fall + 1)[1:])
    if recover is None:
        weeks_left = end - len(values) + 1
        values += list(np.linspace(LOW, BEFORE - 0.05, weeks_left + 1)[1:])
    else:
        values += list(np.linspace(LOW, BEFORE, recover + 1)[1:])
        values += [BEFORE] * (end + 1 - len(values))
    values = values[: end + 1]
    return pd.DataFrame({"run_id": run_id, "step": range(len(values)), "trust_in_coach": values})


def breach_runs(shapes: list[tuple[int, int | None]]) -> pd.DataFrame:
    frame = pd.concat([breach_run(f"r{i}", f, rec) for i, (f, rec) in enumerate(shapes)])
    return frame.sample(frac=1.0, random_state=0)  # rows in no order: steps are sorted


def test_breach_run_helper_has_its_low_and_recovery_where_said() -> None:
    run = breach_run("x", fall=2, recover=3).set_index("step")["trust_in_coach"]
    assert run.index.max() == END
    assert run.idxmin() == AT - 1 + 2
    assert run.loc[AT + 3] < BEFORE  # still climbing 2 weeks after the low
    assert run.loc[AT + 4] == BEFORE  # back 3 weeks after the low


def test_slow_recovery_is_shown_with_exact_medians() -> None:
    # falls 1, 1, 2, 1, 3 weeks (median 1); recoveries 6, 4, 5, 8 and one run that
    # never gets back: its low is at week 12, so it counts as 24 - 12 + 1 = 13 weeks
    fact = breach_recovery(breach_runs([(1, 6), (1, 4), (2, 5), (1, 8), (3, None)]), AT)
    assert fact.number == 2
    assert fact.data["fall"].tolist() == [1, 1, 2, 1, 3]
    assert fact.data["recovery"].tolist() == [6, 4, 5, 8, 13]
    assert fact.data["recovered"].tolist() == [True, True, True, True, False]
    assert fact.data["at"] == AT
    # sign test: 5 of 5 longer, p = 0.5**5 = 0.031
    assert fact.verdict == "shown"
    assert "lowest in a median 1 week(s) after the breach at week 10" in fact.finding
    assert "took a median 6 weeks" in fact.finding
    assert "1 of 5 runs had not got back by the end of the run" in fact.finding
    assert "longer than the fall in 5 of 5 runs (sign test p = 0.031)" in fact.finding


def test_recovery_faster_than_the_fall_is_not_shown() -> None:
    fact = breach_recovery(breach_runs([(4, 1), (3, 1), (5, 2), (4, 2), (3, 1)]), AT)
    assert fact.verdict == "not shown"
    assert fact.data["fall"].tolist() == [4, 3, 5, 4, 3]
    assert fact.data["recovery"].tolist() == [1, 1, 2, 2, 1]
    assert "median 4 week(s)" in fact.finding
    assert "median 1 weeks" in fact.finding
    assert "had not got back" not in fact.finding  # every run got back
    assert "in 0 of 5 runs" in fact.finding


def test_a_slower_recovery_in_three_runs_is_not_enough() -> None:
    # 3 of 3 longer: the sign test's p = 0.125 is no evidence
    fact = breach_recovery(breach_runs([(1, 6), (1, 4), (2, 5)]), AT)
    assert fact.verdict == "not shown"
    assert "in 3 of 3 runs" in fact.finding


def test_runs_without_weeks_on_both_sides_of_the_breach_are_not_checked() -> None:
    ends_at_breach = breach_run("a", 1, 6, end=AT)
    no_week_before = breach_run("b", 1, 6).query("step != @AT - 1")
    fact = breach_recovery(pd.concat([ends_at_breach, no_week_before]), AT)
    assert fact.shown is None
    assert fact.finding == f"no runs with weeks on both sides of the breach at week {AT}"
    assert breach_recovery(breach_run("c", 1, 6).iloc[:0], AT).shown is None


# Fact 3: the sponsor's effect, paired by seed, and its proportionality --------------


def tm0(replication: int, management: float) -> float:
    """Trust in managers at week 0: the same with and without the endorsement (same seed)."""
    return 0.4 * management + 0.01 * replication


def pairing_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and steps of scenario "team" (and a decoy) with known week-1 effects.

    Sponsored runs of "team" gain 0.25 x tm0 in trust in the coach at week 1 (0.05 more
    at week 2); the decoy scenario gains 1.0 (never to be paired with "team").
    Replication 2 at management 1.0: the sponsored run failed, so there is no pair.
    """
    runs, steps = [], []
    for scenario, gain in (("team", 0.25), ("decoy", 1.0)):
        for r in (0, 1, 2):
            for m in (0.5, 1.0):
                for s in (0.0, 0.3):
                    run_id = f"{scenario}/s{s}/m{m}/r{r}"
                    failed = scenario == "team" and r == 2 and m == 1.0 and s > 0
                    runs.append(
                        {
                            "run_id": run_id,
                            "scenario": scenario,
                            "replication": r,
                            "seed": 100 + r,
                            "status": "failed" if failed else "done",
                            SPONSOR: s,
                            MANAGEMENT: m,
                            "levels": 1,
                        }
                    )
                    if failed:
                        continue
                    base = 0.2 + 0.02 * r + 0.1 * m
                    effect = gain * tm0(r, m) if s > 0 else 0.0
                    coach = [0.2, base + effect, base + effect + (0.05 if s > 0 else 0.0)]
                    managers = [tm0(r, m), tm0(r, m) + 0.1, tm0(r, m) + 0.2]
                    steps += [
                        {
                            "run_id": run_id,
                            "step": k,
                            "trust_in_coach": coach[k],
                            "trust_in_managers": managers[k],
                        }
                        for k in range(3)
                    ]
    return pd.DataFrame(runs), pd.DataFrame(steps)


def test_sponsor_effects_pairs_runs_by_replication_and_management_trust() -> None:
    runs, steps = pairing_tables()
    effects = sponsor_effects(runs, steps, "team")
    got = effects.sort_values(["replication", MANAGEMENT]).reset_index(drop=True)
    cells = [(0, 0.5), (0, 1.0), (1, 0.5), (1, 1.0), (2, 0.5)]  # (2, 1.0) failed: no pair
    expected = pd.DataFrame(
        {
            "replication": [r for r, _ in cells],
            MANAGEMENT: [m for _, m in cells],
            # trust in managers at week 0, not at week 1 (which is 0.1 higher)
            "trust_in_sponsor": [tm0(r, m) for r, m in cells],
            # difference in trust in the coach at week 1, within the "team" scenario only
            "effect": [0.25 * tm0(r, m) for r, m in cells],
        }
    )
    assert list(effects.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, atol=1e-12)


def test_sponsor_effects_at_another_week() -> None:
    runs, steps = pairing_tables()
    effects = sponsor_effects(runs, steps, "team", week=2)
    assert len(effects) == 5
    cells = zip(effects["replication"].to_list(), effects[MANAGEMENT].to_list(), strict=True)
    expected = [tm0(r, m) for r, m in cells]
    assert effects["trust_in_sponsor"].to_list() == pytest.approx(expected)  # still week 0
    assert effects["effect"].to_list() == pytest.approx([0.25 * x + 0.05 for x in expected])


def proportional_effects(
    slope: float, intercept: float = 0.0, noise: float = 0.0, levels: int = 4, reps: int = 3
) -> pd.DataFrame:
    """Paired effects = intercept + slope x trust in the sponsor (+ seeded noise)."""
    rows = []
    rng = np.random.default_rng(7)
    for m in np.linspace(0.25, 1.0, levels):
        for r in range(reps):
            x = tm0(r, float(m))
            rows.append(
                {
                    "replication": r,
                    MANAGEMENT: float(m),
                    "trust_in_sponsor": x,
                    "effect": intercept + slope * x + noise * rng.normal(),
                }
            )
    return pd.DataFrame(rows)


def test_a_proportional_effect_is_shown_with_its_slope() -> None:
    effects = proportional_effects(slope=0.2)
    fact = in_proportion(effects)
    assert fact.number == 3
    assert fact.verdict == "shown"
    assert fact.data["slope"] == pytest.approx(0.2)
    assert fact.data["intercept"] == pytest.approx(0.0, abs=1e-12)
    assert "+ 0.2000 [0.2000, 0.2000] x trust in the sponsor" in fact.finding
    assert "over 12 paired runs" in fact.finding
    assert "R^2 = 1.00" in fact.finding
    assert "goes through zero with it: proportional" in fact.finding
    # by level: the mean trust in the sponsor and the mean effect, 0.2 times it
    by_level = fact.data["by_level"]
    assert by_level[MANAGEMENT].tolist() == pytest.approx([0.25, 0.5, 0.75, 1.0])
    expected_x = [np.mean([tm0(r, m) for r in range(3)]) for m in (0.25, 0.5, 0.75, 1.0)]
    assert by_level["trust_in_sponsor"].tolist() == pytest.approx(expected_x)
    assert by_level["effect"].tolist() == pytest.approx([0.2 * x for x in expected_x])
    assert by_level["ratio"].tolist() == pytest.approx([0.2] * 4)


def test_a_noisy_proportional_effect_is_shown() -> None:
    fact = in_proportion(proportional_effects(slope=0.2, noise=0.003, reps=5))
    assert fact.verdict == "shown"
    assert fact.data["slope"] == pytest.approx(0.2, abs=0.02)


def test_an_effect_not_rising_with_sponsor_trust_is_not_shown() -> None:
    fact = in_proportion(proportional_effects(slope=-0.1, intercept=0.1))
    assert fact.verdict == "not shown"
    assert fact.data["slope"] == pytest.approx(-0.1)
    assert fact.finding.endswith("the effect does not clearly rise with trust in the sponsor.")


def test_a_flat_noisy_effect_is_not_shown() -> None:
    fact = in_proportion(proportional_effects(slope=0.0, intercept=0.05, noise=0.003, reps=5))
    assert fact.verdict == "not shown"
    assert "does not clearly rise" in fact.finding


def test_an_effect_that_does_not_go_through_zero_is_not_shown() -> None:
    # rises, but is 0.05 where nobody trusts the sponsor: an offset, not a proportion
    fact = in_proportion(proportional_effects(slope=0.1, intercept=0.05))
    assert fact.verdict == "not shown"
    assert fact.data["intercept"] == pytest.approx(0.05)
    assert fact.finding.endswith("Not proportional: the line does not go through zero.")


@pytest.mark.parametrize(
    "effects",
    [
        proportional_effects(slope=0.2, levels=1, reps=8),  # one level of trust in management
        proportional_effects(slope=0.2, levels=3, reps=1),  # three paired runs
        proportional_effects(slope=0.2).iloc[:0],  # none
    ],
    ids=["one_level", "three_runs", "empty"],
)
def test_too_few_paired_runs_is_not_checked(effects: pd.DataFrame) -> None:
    fact = in_proportion(effects)
    assert fact.shown is None
    assert fact.finding == "needs runs at two or more levels of trust in management"


# Fact 4: the effect weakens with every added level --------------------------------

SPREAD = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])  # mean 0


def test_an_effect_falling_with_levels_is_shown() -> None:
    # given out of order: the table is by number of levels
    per_level = {3: 0.008 + 0.0005 * SPREAD, 1: 0.05 + 0.001 * SPREAD, 2: 0.02 + 0.001 * SPREAD}
    fact = levels_weaken(per_level)
    assert fact.number == 4
    table = fact.data["table"]
    assert table["levels"].tolist() == [1, 2, 3]
    assert table["effect"].tolist() == pytest.approx([0.05, 0.02, 0.008])
    assert table["n"].tolist() == [5, 5, 5]
    assert (table["ci_low"] <= table["effect"]).all()
    assert (table["effect"] <= table["ci_high"]).all()
    assert fact.verdict == "shown"
    assert "1 level(s): 0.0500 [" in fact.finding
    assert "It falls with every added level" in fact.finding
    assert "overlap" not in fact.finding


def test_an_effect_rising_with_levels_is_not_shown() -> None:
    per_level = {1: 0.01 + 0.001 * SPREAD, 2: 0.03 + 0.001 * SPREAD, 3: 0.05 + 0.001 * SPREAD}
    fact = levels_weaken(per_level)
    assert fact.verdict == "not shown"
    assert "It does not fall with every added level (Spearman rho = 1.00)." in fact.finding


def test_an_effect_that_dips_and_rises_again_is_not_shown() -> None:
    per_level = {1: 0.05 + 0.001 * SPREAD, 2: 0.01 + 0.001 * SPREAD, 3: 0.03 + 0.001 * SPREAD}
    fact = levels_weaken(per_level)
    assert fact.verdict == "not shown"  # the ends are clearly apart, but 2 -> 3 rises
    assert "does not fall with every added level (Spearman rho = -0.50)" in fact.finding
    assert "overlap" not in fact.finding


def test_a_fall_within_the_noise_is_not_shown() -> None:
    per_level = {1: 0.030 + 0.01 * SPREAD, 2: 0.029 + 0.01 * SPREAD}
    fact = levels_weaken(per_level)
    assert fact.verdict == "not shown"
    assert "It falls with every added level" in fact.finding
    assert fact.finding.endswith("The CIs at 1 and 2 levels overlap.")


@pytest.mark.parametrize(
    "per_level",
    [{1: 0.05 + 0.001 * SPREAD}, {1: 0.05 + 0.001 * SPREAD, 2: np.array([])}, {}],
    ids=["one_level", "a_level_without_pairs", "none"],
)
def test_fewer_than_two_levels_with_effects_is_not_checked(
    per_level: dict[int, np.ndarray],
) -> None:
    fact = levels_weaken(per_level)
    assert fact.shown is None
    assert fact.finding == "needs the sponsor's effect at two or more numbers of levels"


# check_facts: the four together, at the default point -----------------------------

DEFAULT = {SPONSOR: 0.3, MANAGEMENT: 1.0}
REPLICATIONS = range(6)
BREACH_AT = 5
LAST_WEEK = 14
CONFIG = Validation(team="team", breach="breach", hierarchy=("h1", "h2"))


def experiment_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Runs, results and steps of a made-up [validation] experiment with known answers.

    The sweep is sponsorship_strength [0, 0.3] x management_trust_scale [0.5, 1.0].
    At the default point (0.3, 1.0) every fact holds; at the other points trust goes
    against voice and skill, and the breach's trust falls slowly and comes back fast,
    so a fact that read them would come out differently. The week-1 effect is
    0.2 x (trust in managers at week 0) at 1 level and 0.1 x at 2, plus a seed term
    that averages to 0 over the replications.
    """
    runs, results, steps = [], [], []
    scenarios = (("team", 1), ("breach", 1), ("h1", 1), ("h2", 2))
    for scenario, levels in scenarios:
        for s in (0.0, 0.3):
            for m in (0.5, 1.0):
                at_default = s == DEFAULT[SPONSOR] and m == DEFAULT[MANAGEMENT]
                sign = 1.0 if at_default else -1.0
                for r in REPLICATIONS:
                    run_id = f"{scenario}/s{s}/m{m}/r{r}"
                    row = {
                        "run_id": run_id,
                        "scenario": scenario,
                        "replication": r,
                        "seed": 1000 + r,
                        "status": "done",
                        SPONSOR: s,
                        MANAGEMENT: m,
                        "levels": levels,
                    }
                    runs.append(row)
                    trust = 0.4 + 0.05 * r
                    wobble = 0.001 * (-1) ** r
                    results.append(
                        {
                            **row,
                            "within_team_trust_avg": trust,
                            "silence_rate_avg": 0.5 - sign * 0.1 * trust + wobble,
                            "mean_skill": 0.5 + sign * 0.2 * trust - wobble,
                        }
                    )
                    x = 0.4 * m
                    gain = 0.2 / levels
                    effect = gain * x + 0.0005 * (r - 2.5) if s > 0 else 0.0
                    coach = [0.3 + 0.01 * r] + [0.3 + 0.01 * r + effect] * LAST_WEEK
                    if scenario == "breach":
                        fall, back = (1, 4) if at_default else (3, 1)
                        top = coach[BREACH_AT - 1]
                        path = list(np.linspace(top, top - 0.2, fall + 1)[1:])
                        path += list(np.linspace(top - 0.2, top, back + 1)[1:])
                        coach[BREACH_AT : BREACH_AT + len(path)] = path
                    steps += [
                        {
                            "run_id": run_id,
                            "step": k,
                            "trust_in_coach": coach[k],
                            "trust_in_managers": x + 0.01 * k,
                        }
                        for k in range(LAST_WEEK + 1)
                    ]
    return pd.DataFrame(runs), pd.DataFrame(results), pd.DataFrame(steps)


def test_check_facts_reads_each_fact_where_it_belongs() -> None:
    runs, results, steps = experiment_tables()
    facts = check_facts(CONFIG, results, runs, steps, DEFAULT, BREACH_AT)
    assert [f.number for f in facts] == [1, 2, 3, 4]
    assert [f.claim for f in facts] == [FACTS[n][0] for n in (1, 2, 3, 4)]
    assert [f.source for f in facts] == [FACTS[n][1] for n in (1, 2, 3, 4)]
    assert [f.verdict for f in facts] == ["shown"] * 4, [f.finding for f in facts]
    one, two, three, four = facts
    # fact 1: the six team runs at the default point only
    assert len(one.data["trust"]) == len(REPLICATIONS)
    # fact 2: the breach runs at the default point: a 1-week fall, a 4-week recovery
    assert two.data["fall"].tolist() == [1] * 6
    assert two.data["recovery"].tolist() == [4] * 6
    assert "breach at week 5" in two.finding
    # fact 3: every pair of the team scenario (6 replications x 2 levels of management)
    assert len(three.data["x"]) == 12
    assert three.data["slope"] == pytest.approx(0.2)
    assert three.data["intercept"] == pytest.approx(0.0, abs=1e-12)
    # fact 4: at management_trust_scale 1.0 only (0.2 x 0.4 and 0.1 x 0.4; pooled
    # with 0.5 it would be 0.06 and 0.03)
    table = four.data["table"]
    assert table["levels"].tolist() == [1, 2]
    assert table["effect"].tolist() == pytest.approx([0.08, 0.04])
    assert table["n"].tolist() == [6, 6]


def test_check_facts_without_a_breach_event() -> None:
    runs, results, steps = experiment_tables()
    facts = check_facts(CONFIG, results, runs, steps, DEFAULT, breach_week=None)
    assert facts[1].shown is None
    assert facts[1].finding == "breach has no breach event"
    assert [f.verdict for f in facts if f.number != 2] == ["shown"] * 3


def test_check_facts_skips_a_hierarchy_scenario_without_runs() -> None:
    runs, results, steps = experiment_tables()
    config = Validation(team="team", breach="breach", hierarchy=("h1", "h2", "h3"))
    four = check_facts(config, results, runs, steps, DEFAULT, BREACH_AT)[3]
    assert four.data["table"]["levels"].tolist() == [1, 2]
    assert four.verdict == "shown"


def test_shown_is_a_plain_bool() -> None:
    # Fact.shown is declared bool | None; numpy.bool_ breaks `shown is True` and json.dumps.
    runs, results, steps = experiment_tables()
    facts = check_facts(CONFIG, results, runs, steps, DEFAULT, BREACH_AT)
    assert [type(f.shown) for f in facts] == [bool] * 4
    json.dumps([f.shown for f in facts])


def test_a_team_scenario_whose_runs_all_failed_is_not_checked() -> None:
    # What a results folder holds when every run of the team scenario failed: the
    # report should say fact 3 could not be checked, not stop with a KeyError.
    runs, results, steps = experiment_tables()
    team = runs["scenario"] == "team"
    runs.loc[team, "status"] = "failed"
    results = results[results["scenario"] != "team"]
    steps = steps[steps["run_id"].isin(runs.loc[~team, "run_id"])]
    facts = check_facts(CONFIG, results, runs, steps, DEFAULT, BREACH_AT)
    assert facts[0].shown is None
    assert facts[2].shown is None


def test_facts_markdown_has_a_verdict_table_and_each_finding() -> None:
    facts = [
        Fact(1, FACTS[1][0], FACTS[1][1], True, "finding one"),
        Fact(2, FACTS[2][0], FACTS[2][1], False, "finding two"),
        Fact(3, FACTS[3][0], FACTS[3][1], None, "finding three"),
    ]
    text = facts_markdown(facts)
    assert text.startswith("# Stylized facts\n")
    assert verdicts(text) == {1: "shown", 2: "not shown", 3: "not checked"}
    assert "- Fact 1 (shown): finding one" in text
    assert "- Fact 2 (not shown): finding two" in text
    assert "- Fact 3 (not checked): finding three" in text


def verdicts(markdown: str) -> dict[int, str]:
    """Fact number to verdict, from the rows of a Markdown table `| N. claim | ... | v |`."""
    out = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0][:1].isdigit():
            out[int(cells[0].split(".")[0])] = cells[-1]
    return out


# The shipped experiment, end to end -----------------------------------------------


def test_the_shipped_experiment_names_its_own_scenarios() -> None:
    exp = load_experiment(SHIPPED)
    assert exp.validation is not None
    names = [s.name for s in exp.scenarios]
    parts = [exp.validation.team, exp.validation.breach, *exp.validation.hierarchy]
    assert set(parts) <= set(names)
    assert exp.keep_steps == 1
    assert exp.steps is not None
    # the defaults facts 1, 2 and 4 use are among the swept values
    assert exp.sweep is not None
    assert DEFAULT[SPONSOR] in exp.sweep.parameters[SPONSOR]
    assert DEFAULT[MANAGEMENT] in exp.sweep.parameters[MANAGEMENT]
    breach = next(s for s in exp.scenarios if s.name == exp.validation.breach)
    assert isinstance(breach, Scenario)
    weeks = [e.at for e in breach.events if e.type == "breach"]
    assert weeks == [52]
    assert exp.steps > weeks[0]


def reduced_copy(folder: Path) -> Path:
    """experiments/stylized_facts.toml with the first two hierarchy scenarios and 60 weeks.

    Everything else (seed, sweep, outcomes, [validation]) is the shipped file's.
    """
    raw = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    val = raw["validation"]
    hierarchy = val["hierarchy"][:2]
    scenarios = [val["team"], val["breach"], *hierarchy]  # library names
    sweep = raw["sweep"]["parameters"]
    text = f"""# Does the model show the stylized facts (a reduced copy for the tests)?
scenarios = {json.dumps(scenarios)}
seed = {raw["seed"]}
steps = 60
keep_steps = {raw["keep_steps"]}
outcomes = {json.dumps(raw["outcomes"])}

[sweep]
method = "{raw["sweep"]["method"]}"
[sweep.parameters]
{SPONSOR} = {json.dumps(sweep[SPONSOR])}
{MANAGEMENT} = {json.dumps(sweep[MANAGEMENT])}

[validation]
team = "{val["team"]}"
breach = "{val["breach"]}"
hierarchy = {json.dumps(hierarchy)}
"""
    return write(folder / "stylized_facts.toml", text)


@pytest.mark.slow
def test_stylized_facts_experiment_end_to_end(tmp_path: Path) -> None:
    path = reduced_copy(tmp_path)
    folder = tmp_path / "out"
    report = run(path, out=folder, replications=4, workers=1, progress=False)
    assert (report.done, report.failed) == (4 * 4 * 8, 0)

    text = write_validation(folder)
    assert text is not None
    assert (folder / "validation.md").read_text(encoding="utf-8") == text
    assert "| fact | source | model |" in text
    table = verdicts(text)
    assert list(table) == [1, 2, 3, 4]
    assert set(table.values()) <= VERDICTS
    # with 4 replications, 60 weeks and the default point swept, every fact has data
    facts = validation_results(load_results(folder))
    assert facts is not None
    assert [f.shown is not None for f in facts] == [True] * 4, [f.finding for f in facts]
    assert {f.number: f.verdict for f in facts} == table
    # the breach week comes from the breach scenario's events
    assert "breach at week 52" in facts[1].finding
    # fact 3 pairs every team run: 4 replications x 4 levels of trust in management
    assert len(facts[2].data["x"]) == 16

    md, _ = write_report(folder, formats=("png",))
    report_text = md.read_text(encoding="utf-8")
    assert "## Validation: stylized facts" in report_text
    assert "figures/stylized_facts.png" in report_text
    figure = folder / "figures" / "stylized_facts.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The four panels fit a slide and a paper column: nothing cut off or squeezed.
    for size in ("slide", "column"):
        fig = plots.stylized_facts(facts, size=size)
        assert fig.get_size_inches()[0] == pytest.approx(plots.SIZES[size][0])
        # two panels side by side: each may take a bit under half the width
        assert not misfits(fig, min_width=0.3), (size, misfits(fig, min_width=0.3))
        for ax in fig.axes:
            assert re.search(r"Fact \d: (shown|not shown) \(n = \d+", ax.get_title()), size
            assert ax.get_xlabel(), size
            assert ax.get_ylabel(), size
        plt.close(fig)


def test_results_without_a_validation_section_have_no_facts(tmp_path: Path) -> None:
    path = write(tmp_path / "plain.toml", 'scenarios = ["peer_led"]\nreplications = 2\nsteps = 3\n')
    folder = tmp_path / "out"
    run(path, out=folder, workers=1, progress=False)
    assert write_validation(folder) is None
    assert not (folder / "validation.md").exists()


# A bad [validation] section through the CLI ---------------------------------------

GOOD = """
scenarios = ["top_down_internal", "breach_shock", "hierarchy_1", "hierarchy_2"]
replications = 2
steps = 60
keep_steps = {keep_steps}

[sweep.parameters]
sponsorship_strength = {sponsor}
management_trust_scale = [0.5, 1.0]

[validation]
team = "{team}"
breach = "breach_shock"
hierarchy = ["hierarchy_1", "hierarchy_2"]
"""
GOOD_VALUES = {"keep_steps": "1", "sponsor": "[0.0, 0.3]", "team": "top_down_internal"}
BAD_VALIDATION = {
    # name: (the change to the good file, words the one error line must hold)
    "team_not_in_the_file": (
        {"team": "low_trust_team"},
        ["validation.team", "'low_trust_team'", "not one of the scenarios"],
    ),
    "no_unsponsored_runs": (
        {"sponsor": "[0.3, 0.5]"},
        ["sweep.parameters.sponsorship_strength", "with 0"],
    ),
    "summaries_only": ({"keep_steps": "0"}, ["keep_steps", "every week"]),
    "not_a_number": (
        {"sponsor": '[0.0, "high"]'},
        ["sweep.parameters.sponsorship_strength", "'high'"],
    ),
    "no_default_point": (
        {"sponsor": "[0.0, 0.5]"},
        ["sweep.parameters.sponsorship_strength", "its default", "(0.3)"],
    ),
}


def test_the_good_validation_file_loads(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path / "good.toml", GOOD.format(**GOOD_VALUES)))
    assert exp.validation == Validation(
        team="top_down_internal", breach="breach_shock", hierarchy=("hierarchy_1", "hierarchy_2")
    )


@pytest.mark.parametrize("case", list(BAD_VALIDATION))
def test_bad_validation_section_exits_2_with_one_clear_line(tmp_path: Path, case: str) -> None:
    change, words = BAD_VALIDATION[case]
    path = write(tmp_path / f"{case}.toml", GOOD.format(**{**GOOD_VALUES, **change}))
    out = tmp_path / "out"
    proc = trustsim("sweep", str(path), "--out", str(out))
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert str(path) in lines[0]  # names the file
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert not out.exists()  # nothing runs


def test_a_missing_role_is_named_as_missing(tmp_path: Path) -> None:
    text = GOOD.format(**GOOD_VALUES).replace('team = "top_down_internal"\n', "")
    with pytest.raises(ScenarioError) as err:
        load_experiment(write(tmp_path / "no_team.toml", text))
    assert err.value.lines == [
        f"{tmp_path / 'no_team.toml'}: validation.team is missing: a one-team scenario of this file"
    ]


def test_fact_1_names_the_runs_last_week() -> None:
    fact = trust_and_learning(teams(40, 0.6, 0.5), horizon=60)
    assert "mean skill at week 60" in fact.finding


def test_a_run_still_falling_at_its_end_is_left_out_of_the_breach_comparison() -> None:
    # Five runs recover slowly; a sixth still falls when it ends: its "recovery" is the
    # one week left, which says nothing about which took longer.
    still_falling = breach_run("late", fall=END - AT + 1, recover=None)
    fact = breach_recovery(
        pd.concat([breach_runs([(1, 6), (1, 4), (2, 5), (1, 8), (1, 7)]), still_falling]), AT
    )
    assert fact.verdict == "shown"
    assert "longer than the fall in 5 of 5 runs" in fact.finding
    assert "1 run(s) ended too soon after their low to tell" in fact.finding
