"""Docking (Axtell, Axelrod, Epstein and Cohen 1996): the fast model against the reference.

Two implementations of the model of docs/ODD.md are run on the same scenarios, many
seeds each: the fast model (`sim.model.fast.simulate`, numpy arrays and numba kernels, whose
numbers equal stepping `sim.model.trust_model.TrustModel`) and
the per-agent reference (`benchmarks/reference_model.py`, plain Python, written from the
ODD). They draw their random numbers differently, so runs are not compared one to one:
for every scenario and outcome of the run summary, the two samples of outcomes are
compared ("distributional equivalence", Axtell et al. 1996) by

- a two-sample Kolmogorov-Smirnov test (`scipy.stats.ks_2samp`), its p-values adjusted
  by Holm over every test of the docking (`sim.methods.statistics.holm`);
- the Vargha-Delaney A12 (`sim.methods.statistics.a12`): the probability that a fast run's value
  beats a reference run's (0.5 = no difference).

An outcome passes when its Holm-adjusted p is at least 0.05 and its A12 is within
0.44..0.56 (Vargha and Delaney's "negligible" effect). Outcomes that are constant (or
NaN) in both samples, with the same value, are skipped. `time_to_competence` is None
in a run that never reaches the target; it is compared as `steps` + 1 (not within the
horizon), so that runs that never get there count. `disintegrated` is compared as 0/1.

Mind the A12 band's own noise: with n runs per side and no difference at all, A12 has a
sampling sd of about sqrt((2n + 1) / (12 n^2)) (0.029 at n = 200), so each A12 falls
outside 0.44..0.56 with probability about 4% at n = 200. The report states how many
such failures are expected by chance alone; `--null` docks the fast model against
itself (fresh seeds) to show what the criterion does when there is nothing to find.

What docking can see. A change made on the reference side only, at 200 seeds (KS, Holm
over one scenario's outcomes): sponsorship_strength 0.3 -> 0.2, hierarchy_attenuation
0.7 -> 0.5 (hierarchy_3), peer_recognition 0.02 -> 0.01 (peer_led), teaching_gain
0.01 -> 0, learning_rate 0.2 -> 0.18 and refusal_loss 0.05 -> 0.1 are detected;
trust_gain 0.08 -> 0.09 is not (0.10 only by A12), nor breach_loss 0.5 -> 0.4 in
breach_shock or gossip_weight 0.2 -> 0.1 in no_coaching: in the presets, gossip and a
single breach leave little trace in the summary. The opt-in `STRESS` scenarios
(`--scenarios stress_events stress_internal stress_beta stress_peer`) exercise every
event, turnover, the beta rule, the other coach selections, much gossip and many
breaches; there both of those changes are detected (stress_events). `stress_teams` switches on
the team-level structure (managers who differ, team norms, a shared climate, task
interdependence by team) and `stress_rules` the second choice, voice and success
rules; both dock at 100 seeds (3 of 40 A12s left the band at first and came back with
1,000 fresh seeds). Any file of scenarios/ can be named too (`--scenarios reorg
layoff_wave`).

Run (2 worker processes by default):

    .venv/bin/python benchmarks/docking.py                     # 200 seeds, every scenario
    .venv/bin/python benchmarks/docking.py --seeds 50 --scenarios peer_led breach_shock
    .venv/bin/python benchmarks/docking.py --null              # A/A: fast against fast
    .venv/bin/python benchmarks/docking.py --speed             # agent-steps per second

The report goes to benchmarks/DOCKING.md (`--out`) and to standard output.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

# Run as a script, benchmarks/ is on sys.path but the project root (for `benchmarks.`)
# may not be.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from benchmarks.reference_model import ReferenceModel  # noqa: E402
from sim.methods.statistics import a12, holm  # noqa: E402
from sim.model import fast  # noqa: E402
from sim.model.scenario import PRESETS, Event, Scenario, ScenarioError, preset, scenario_from_dict  # noqa: E402
from sim.model.scenario_files import load_scenario  # noqa: E402
from sim.model.structure import build_organization  # noqa: E402

__all__ = ["OUTCOMES", "SCENARIOS", "STRESS", "dock", "report", "resolve", "simulate", "speed"]

# Every preset, plus a deep hierarchy and a scheduled breach.
SCENARIO_FILES = {
    "hierarchy_3": ROOT / "scenarios" / "hierarchy_3.toml",
    "breach_shock": ROOT / "scenarios" / "breach_shock.toml",
}
SCENARIOS = (*PRESETS, *SCENARIO_FILES)


def _events(*events: tuple[str, int, dict[str, Any]]) -> tuple[Event, ...]:
    return tuple(Event(type=t, at=at, **fields) for t, at, fields in events)  # type: ignore[arg-type]


# Opt-in scenarios (`--scenarios stress_events ...`) that push mechanisms the presets
# barely use, so that a departure there has a chance to show: every event type, steady
# turnover, the beta rule, the other ways to choose a coach, much gossip, skill decay,
# low integrity (many breaches), selectivity 0 and a steep success curve.
STRESS: dict[str, dict[str, Any]] = {
    "stress_events": {
        **PRESETS["top_down_external"],
        "members": 24,
        "levels": 2,
        "integrity_mean": 0.8,
        "gossip_rate": 0.5,
        "turnover_rate": 0.02,
        "events": _events(
            ("breach", 20, {"role": "manager"}),
            ("breach", 30, {"role": "top"}),
            ("sponsor_withdraws", 40, {}),
            ("turnover_wave", 50, {"fraction": 0.3}),
            ("sponsor_returns", 60, {}),
            ("reorg", 70, {}),
            ("breach", 90, {"role": "coach"}),
        ),
    },
    "stress_internal": {
        **PRESETS["hybrid"],
        "members": 30,
        "levels": 3,
        "coach_selection": "most_skilled",
        "turnover_rate": 0.03,
        "skill_decay": 0.01,
        "integrity_mean": 0.8,
        "sponsor_start": 10,
        "sponsor_interval": 3,
        "events": _events(("reorg", 40, {}), ("turnover_wave", 60, {"fraction": 0.5})),
    },
    "stress_beta": {
        **PRESETS["manager_sponsored"],
        "members": 20,
        "levels": 2,
        "trust_rule": "beta",
        "beta_forgetting": 0.9,
        "coach_selection": "random",
        "gossip_rate": 0.6,
        "trust_selectivity": 0.0,
        "trust_sensitivity": 3.0,
        "turnover_rate": 0.02,
        "events": _events(("breach", 30, {"role": "coach"}), ("reorg", 60, {})),
    },
    "stress_peer": {
        **PRESETS["peer_led"],
        "propensity_mean": 0.7,
        "peer_recognition": 0.1,
        "peer_capacity": 1,
        "need_rate": 0.9,
        "manager_need_rate": 0.9,
        "refusal_loss": 0.3,
        "teaching_gain": 0.1,
        "benevolence_mean": 0.5,
    },
    # Team-level structure (7.2a, 7.16a): managers who differ, a shared climate, task
    # interdependence by team, strong enough that each leaves a trace in the summary.
    "stress_teams": {
        **PRESETS["top_down_internal"],
        "members": 24,
        "levels": 2,
        "manager_openness_sd": 0.8,
        "manager_integrity_sd": 0.15,
        "team_norm_sd": 0.15,
        "team_climate": 0.3,
        "interdependence_sd": 0.25,
        "turnover_rate": 0.02,
        "events": _events(("reorg", 50, {})),
    },
    # The alternative structural rules (7.8, 7.9, 7.12) together.
    "stress_rules": {
        **PRESETS["peer_led"],
        "members": 18,
        "levels": 2,
        "choice_rule": "best",
        "voice_rule": "general",
        "success_rule": "weakest",
        "manager_openness_sd": 0.5,
    },
}

# The outcomes compared: the nine asked for first, then the rest of the summary that
# carries information (final values and run means).
OUTCOMES = (
    "mean_skill",
    "within_team_trust",
    "trust_in_coach",
    "trust_in_managers",
    "silence_rate_avg",
    "help_success_rate_avg",
    "breaches_avg",
    "mean_trust",
    "fragmentation",
    "skill_p10",
    "skill_gini",
    "cross_team_trust",
    "largest_component_share",
    "mean_skill_avg",
    "within_team_trust_avg",
    "trust_in_coach_avg",
    "trust_in_managers_avg",
    "needs_avg",
    "asks_avg",
    "time_to_competence",
    "disintegrated",
)
ALPHA = 0.05
A12_BAND = (0.44, 0.56)
# The reference's seeds are offset, so that no stream of one side can coincide with a
# stream of the other (they are different generators anyway).
REFERENCE_SEED_OFFSET = 1_000_000
SIDES = ("fast", "reference")


def resolve(scenario: str | Scenario) -> Scenario:
    """A Scenario: a preset, a stress scenario, a file of scenarios/ by name, or a path."""
    if isinstance(scenario, Scenario):
        return scenario
    if scenario in PRESETS:
        return preset(scenario)
    if scenario in SCENARIO_FILES:
        return load_scenario(SCENARIO_FILES[scenario])
    if scenario in STRESS:
        return scenario_from_dict({"name": scenario, **STRESS[scenario]}, source=scenario)
    if (ROOT / "scenarios" / f"{scenario}.toml").exists():
        return load_scenario(ROOT / "scenarios" / f"{scenario}.toml")
    return load_scenario(scenario)


def _numeric(summary: Mapping[str, Any], scenario: Scenario) -> dict[str, float]:
    """A run's summary as numbers (time_to_competence None -> steps + 1, booleans 0/1)."""
    out = {}
    for key, value in summary.items():
        if key == "time_to_competence" and value is None:
            value = scenario.steps + 1
        out[key] = math.nan if value is None else float(value)
    return out


def run_one(
    side: str, scenario: Scenario, seed: int, overrides: Mapping[str, Any] | None = None
) -> dict[str, float]:
    """One run's numeric summary: side "fast" (sim.simulate) or "reference" (ReferenceModel).

    `overrides` change parameters of this side only (used to check that docking fails).
    """
    sc = scenario.with_(**overrides) if overrides else scenario
    if side == "fast":
        return _numeric(fast.simulate(sc, seed, keep_steps=False).summary, sc)
    if side == "reference":
        return _numeric(ReferenceModel(sc, rng=seed).run().summary(), sc)
    raise ValueError(f"side = {side!r}: one of {SIDES}")


def _run_chunk(
    name: str,
    side: str,
    impl: str,
    scenario: Scenario,
    seeds: Sequence[int],
    overrides: Mapping[str, Any] | None,
) -> list[dict[str, Any]]:
    """Several runs in one task (a worker process): rows of scenario, side, seed, outcomes."""
    return [
        {"scenario": name, "side": side, "seed": s, **run_one(impl, scenario, s, overrides)}
        for s in seeds
    ]


def simulate(
    scenarios: Sequence[str | Scenario] = SCENARIOS,
    seeds: int = 200,
    workers: int = 2,
    *,
    reference_overrides: Mapping[str, Any] | None = None,
    null: bool = False,
    chunk: int = 20,
    progress: bool = False,
    first_seed: int = 0,
) -> pd.DataFrame:
    """Run both sides: one row per (scenario, side, seed) with the numeric summary.

    Seeds are first_seed, first_seed + 1, ... (the reference's offset by
    REFERENCE_SEED_OFFSET).

    null=True runs the fast model on both sides (fresh seeds on the second): an A/A
    docking, to see what the criterion reports when there is nothing to find.
    """
    tasks = []
    for s in scenarios:
        sc = resolve(s)
        name = sc.name
        for side in SIDES:
            impl = "fast" if null else side
            offset = REFERENCE_SEED_OFFSET if side == "reference" else 0
            over = reference_overrides if side == "reference" else None
            for start in range(0, seeds, chunk):
                chunk_seeds = [
                    offset + first_seed + k for k in range(start, min(seeds, start + chunk))
                ]
                # the slow side's tasks first, so that no worker waits at the end
                tasks.append((name, side, impl, sc, chunk_seeds, over))
    tasks.sort(key=lambda t: t[2] == "fast")
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    if workers <= 1:
        for n, task in enumerate(tasks, 1):
            rows.extend(_run_chunk(*task))
            if progress:
                _progress(n, len(tasks), started)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_run_chunk, *task) for task in tasks]
            for n, future in enumerate(futures, 1):
                rows.extend(future.result())
                if progress:
                    _progress(n, len(tasks), started)
    return pd.DataFrame(rows)


def _progress(done: int, total: int, started: float) -> None:
    print(
        f"\r{done}/{total} tasks, {time.perf_counter() - started:.0f} s",
        end="\n" if done == total else "",
        file=sys.stderr,
        flush=True,
    )


def compare(
    runs: pd.DataFrame,
    outcomes: Sequence[str] = OUTCOMES,
    *,
    a12_band: tuple[float, float] = A12_BAND,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """KS (Holm-adjusted over every test) and A12 per scenario and outcome."""
    rows = []
    for name, group in runs.groupby("scenario", sort=False):
        fast = group[group["side"] == "fast"]
        ref = group[group["side"] == "reference"]
        for outcome in outcomes:
            if outcome not in group:
                continue
            a = fast[outcome].to_numpy(dtype=float)
            b = ref[outcome].to_numpy(dtype=float)
            a, b = a[~np.isnan(a)], b[~np.isnan(b)]
            row: dict[str, Any] = {
                "scenario": name,
                "outcome": outcome,
                "n_fast": len(a),
                "n_reference": len(b),
                "mean_fast": float(a.mean()) if len(a) else math.nan,
                "mean_reference": float(b.mean()) if len(b) else math.nan,
                "ks_d": math.nan,
                "p": math.nan,
                "a12": math.nan,
                "skipped": "",
            }
            values = np.concatenate([a, b])
            if len(values) == 0:
                row["skipped"] = "NaN in both"
            elif len(a) == 0 or len(b) == 0:
                row["skipped"] = ""  # NaN on one side only: a failure (p stays NaN)
            elif np.all(values == values[0]):
                row["skipped"] = "constant in both"
            else:
                with warnings.catch_warnings():  # exact p out of reach: scipy falls back
                    warnings.simplefilter("ignore", RuntimeWarning)
                    test = stats.ks_2samp(a, b)
                row["ks_d"] = float(test.statistic)
                row["p"] = float(test.pvalue)
                row["a12"] = a12(a, b)
            rows.append(row)
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p"].tolist())
    low, high = a12_band
    tested = table["skipped"] == ""
    table["passed"] = ~tested | (
        (table["p_holm"] >= alpha) & (table["a12"] >= low) & (table["a12"] <= high)
    )
    return table


def dock(
    scenarios: Sequence[str | Scenario] = SCENARIOS,
    seeds: int = 200,
    workers: int = 2,
    *,
    outcomes: Sequence[str] = OUTCOMES,
    reference_overrides: Mapping[str, Any] | None = None,
    null: bool = False,
    a12_band: tuple[float, float] = A12_BAND,
    alpha: float = ALPHA,
    progress: bool = False,
    confirm: int = 0,
) -> pd.DataFrame:
    """Dock the fast model against the reference: one row per scenario and outcome.

    Columns: scenario, outcome, n_fast, n_reference, mean_fast, mean_reference, ks_d,
    p, p_holm (Holm over every row), a12, skipped (why, or ""), a12_confirm, passed.

    With confirm = m > 0, an outcome that passes KS but whose A12 leaves the band is
    run again with m fresh seeds per side, and judged on that A12 (a12_confirm): at
    200 seeds an A12 leaves the band by chance about 4% of the time, at 1,000 seeds
    about once in 10,000, so a real difference stays out and a chance one comes back.

    Args:
        scenarios: preset names, "hierarchy_3", "breach_shock", TOML paths, or Scenarios.
        seeds: runs per scenario and side.
        workers: worker processes (1: everything in this process).
        outcomes: summary keys to compare.
        reference_overrides: parameters changed on the reference side only (a docking
            that must fail).
        null: the fast model on both sides (an A/A docking).
        a12_band: A12 values that pass.
        alpha: the level of the Holm-adjusted KS tests.
        progress: print progress to standard error.
        confirm: fresh seeds per side to confirm an A12 outside the band (0: none).
    """
    runs = simulate(
        scenarios,
        seeds,
        workers,
        reference_overrides=reference_overrides,
        null=null,
        progress=progress,
    )
    table = compare(runs, outcomes, a12_band=a12_band, alpha=alpha)
    table["a12_confirm"] = math.nan
    low, high = a12_band
    suspect = (
        (table["skipped"] == "")
        & (table["p_holm"] >= alpha)
        & ((table["a12"] < low) | (table["a12"] > high))
    )
    if confirm <= 0 or not suspect.any():
        return table
    by_name = {resolve(s).name: s for s in scenarios}
    names = list(dict.fromkeys(table.loc[suspect, "scenario"]))
    again = simulate(
        [by_name[n] for n in names],
        confirm,
        workers,
        reference_overrides=reference_overrides,
        null=null,
        progress=progress,
        first_seed=seeds,  # fresh seeds: none of the first stage's
    )
    for i in table.index[suspect]:
        scenario, outcome = table.at[i, "scenario"], table.at[i, "outcome"]
        group = again[again["scenario"] == scenario]
        a = group.loc[group["side"] == "fast", outcome].dropna().to_numpy(dtype=float)
        b = group.loc[group["side"] == "reference", outcome].dropna().to_numpy(dtype=float)
        value = a12(a, b)
        table.at[i, "a12_confirm"] = value
        table.at[i, "passed"] = bool(low <= value <= high)
    return table


def a12_false_alarm(n_a: int, n_b: int, band: tuple[float, float] = A12_BAND) -> float:
    """Chance that A12 leaves the band when both samples come from one distribution.

    Normal approximation, no ties: A12 has mean 0.5 and variance (n_a + n_b + 1) /
    (12 n_a n_b).
    """
    sd = math.sqrt((n_a + n_b + 1) / (12.0 * n_a * n_b))
    half = min(0.5 - band[0], band[1] - 0.5)
    return float(2.0 * stats.norm.sf(half / sd))


def report(
    table: pd.DataFrame,
    seeds: int,
    seconds: float | None = None,
    title: str | None = None,
    confirm: int = 1000,
) -> str:
    """The docking report in Markdown: a headline, then one table per scenario."""
    tested = table[table["skipped"] == ""]
    failed = table[~table["passed"]]
    ks_fail = tested[~(tested["p_holm"] >= ALPHA)]
    a12_fail = tested[(tested["a12"] < A12_BAND[0]) | (tested["a12"] > A12_BAND[1])]
    second = a12_fail["a12_confirm"] if "a12_confirm" in a12_fail else pd.Series(dtype=float)
    confirmed = second.dropna().between(*A12_BAND)
    chance = a12_false_alarm(seeds, seeds)
    verdict = "PASS" if failed.empty else "FAIL"
    lines = [
        title or "# Docking: the fast model against the per-agent reference",
        "",
        f"**{verdict}**: {len(tested) - len(failed)} of {len(tested)} comparisons pass "
        f"({len(table) - len(tested)} skipped as constant or NaN in both); "
        f"{len(ks_fail)} fail the KS test after Holm's correction, "
        f"{len(a12_fail)} have an A12 outside {A12_BAND[0]}..{A12_BAND[1]}"
        + (
            f", of which {int(confirmed.sum())} came back inside it with fresh seeds."
            if len(confirmed)
            else "."
        ),
        "",
        f"{seeds} seeds per scenario and implementation; fast = `sim.model.fast.simulate` (the "
        "same numbers as stepping `sim.model.trust_model.TrustModel`), "
        "reference = `benchmarks/reference_model.py` (one Mesa agent per person, written "
        "from docs/ODD.md). KS: two-sample Kolmogorov-Smirnov, p adjusted by Holm over all "
        f"{len(tested)} tests; A12: Vargha-Delaney, P(fast > reference). Pass: Holm p >= "
        f"{ALPHA} and {A12_BAND[0]} <= A12 <= {A12_BAND[1]}. With no difference at all, an "
        f"A12 leaves that band with probability about {chance:.1%} at {seeds} seeds, so "
        f"about {chance * len(tested):.1f} of {len(tested)} A12 failures are expected by "
        "chance alone (the KS column is corrected for multiplicity, the A12 band is not). "
        + (
            f"So an A12 outside the band (with KS passing) is run again with {confirm:,} fresh "
            "seeds per side, and the outcome passes if that A12 is inside the band."
            if confirm > 0
            else "No second stage was run (--confirm 0): an A12 outside the band fails."
        ),
        "",
        "| scenario | verdict | KS failures | A12 outside band (first stage) |",
        "|---|---|---|---|",
    ]
    for name, group in table.groupby("scenario", sort=False):
        g = group[group["skipped"] == ""]
        ks = g[~(g["p_holm"] >= ALPHA)]["outcome"].tolist()
        off = g[(g["a12"] < A12_BAND[0]) | (g["a12"] > A12_BAND[1])]["outcome"].tolist()
        ok = bool(group["passed"].all())
        lines.append(
            f"| {name} | {'pass' if ok else 'FAIL'} | {', '.join(ks) or '-'} | "
            f"{', '.join(off) or '-'} |"
        )
    if seconds is not None:
        lines += ["", f"Run time: {seconds:.0f} s (Python {platform.python_version()})."]
    for name, group in table.groupby("scenario", sort=False):
        lines += [
            "",
            f"## {name}",
            "",
            "| outcome | mean fast | mean reference | KS D | Holm p | A12 | pass |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in group.to_dict("records"):
            head = f"| {r['outcome']} | {_fmt(r['mean_fast'])} | {_fmt(r['mean_reference'])} |"
            if r["skipped"]:
                lines.append(f"{head} | | | skipped: {r['skipped']} |")
                continue
            confirmed = r.get("a12_confirm", math.nan)
            a12_text = _fmt(r["a12"], 3) + (
                "" if math.isnan(confirmed) else f" (confirmed: {_fmt(confirmed, 3)})"
            )
            lines.append(
                f"{head} {_fmt(r['ks_d'], 3)} | {_fmt_p(r['p_holm'])} | {a12_text} | "
                f"{'yes' if r['passed'] else '**NO**'} |"
            )
    return "\n".join(lines) + "\n"


def _fmt(x: float, digits: int = 4) -> str:
    return "NaN" if x is None or math.isnan(x) else f"{x:.{digits}g}"


def _fmt_p(p: float) -> str:
    if p is None or math.isnan(p):
        return "NaN"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def speed(
    members: int,
    levels: int,
    steps: int = 104,
    scenario: str = "top_down_internal",
    repeats: int = 3,
) -> dict[str, Any]:
    """Agent-steps per second of both implementations (median of `repeats` runs each).

    Agent-steps are people (members, managers, coaches) times steps; a run's time
    includes building the model, every step and the summary. The fast model runs once
    before, so that numba's compilation (or loading it from the cache) is not timed.
    """
    sc = preset(scenario, members=members, levels=levels, steps=steps)
    run_one("fast", sc.with_(members=12, levels=1, steps=2), 0)  # warm-up
    people = build_organization(members, levels, external_coaches=sc.coach == "external").n_people
    times: dict[str, float] = {}
    for side in SIDES:
        runs = []
        for seed in range(repeats):
            started = time.perf_counter()
            run_one(side, sc, seed)
            runs.append(time.perf_counter() - started)
        times[side] = statistics.median(runs)
    return {
        "scenario": scenario,
        "members": members,
        "levels": levels,
        "people": people,
        "steps": steps,
        "repeats": repeats,
        "fast_seconds": times["fast"],
        "reference_seconds": times["reference"],
        "fast_agent_steps_per_s": people * steps / times["fast"],
        "reference_agent_steps_per_s": people * steps / times["reference"],
        "speedup": times["reference"] / times["fast"],
    }


def speed_report(cases: Sequence[tuple[int, int]] = ((12, 1), (1200, 3))) -> str:
    """Speed of both implementations as a Markdown table."""
    lines = [
        "## Speed (top_down_internal, 104 steps, median of 3 runs)",
        "",
        "| members, levels | people | fast | reference | fast / reference |",
        "|---|---|---|---|---|",
    ]
    for members, levels in cases:
        s = speed(members, levels)
        lines.append(
            f"| {members}, {levels} | {s['people']} | {s['fast_seconds']:.3f} s = "
            f"{s['fast_agent_steps_per_s']:,.0f} agent-steps/s | {s['reference_seconds']:.3f} s "
            f"= {s['reference_agent_steps_per_s']:,.0f} agent-steps/s | {s['speedup']:.1f}x |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: dock every scenario and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=200, help="runs per scenario and side")
    parser.add_argument(
        "--scenarios", nargs="+", default=list(SCENARIOS), help="presets, names or TOML paths"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "DOCKING.md", help="report file"
    )
    parser.add_argument("--csv", type=Path, help="also write the comparison table as CSV")
    parser.add_argument(
        "--null", action="store_true", help="A/A docking: the fast model on both sides"
    )
    parser.add_argument(
        "--confirm",
        type=int,
        default=1000,
        help="fresh seeds per side to re-check an A12 outside the band (0: no second stage)",
    )
    parser.add_argument("--speed", action="store_true", help="only measure speed")
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.error(f"--seeds {args.seeds}: must be 2 or more (two samples to compare)")
    if args.confirm < 0:
        parser.error(f"--confirm {args.confirm}: must be 0 or more")
    try:
        for name in args.scenarios:
            resolve(name)
    except ScenarioError as err:
        parser.error(
            f"--scenarios: {err.lines[0]} (a preset, a stress scenario, a name from "
            "scenarios/ or a TOML path)"
        )
    if args.speed:
        print(speed_report())
        return 0
    started = time.perf_counter()
    table = dock(
        args.scenarios,
        args.seeds,
        args.workers,
        null=args.null,
        progress=True,
        confirm=args.confirm,
    )
    title = "# Docking, A/A: the fast model against itself" if args.null else None
    text = report(table, args.seeds, time.perf_counter() - started, title, confirm=args.confirm)
    args.out.write_text(text, encoding="utf-8")
    if args.csv:
        table.to_csv(args.csv, index=False)
    print(text)
    return 0 if bool(table["passed"].all()) else 1


if __name__ == "__main__":
    # Run from the importable module, so that worker processes can unpickle its functions.
    from benchmarks.docking import main as _main

    raise SystemExit(_main())
