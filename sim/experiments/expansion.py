"""Expanding an Experiment into run specs: seeds, sweep points, designs, sizes.

Replication r gets the same seed in every scenario and sweep point (common random
numbers), derived from the experiment's seed by SeedSequence; a sweep's ranges are
sampled by a Latin hypercube or a Sobol sequence (scipy.stats.qmc).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from sim.experiments.adapters import kind
from sim.experiments.spec import MAX_RUNS, Experiment, RunSpec, Sweep
from sim.methods.sensitivity import Range, design

__all__ = [
    "ci_half_width",
    "count_of",
    "design_points",
    "expand",
    "point_count",
    "replication_seed",
    "scale",
    "size_problem",
    "spawn_seed",
    "sweep_points",
]


def spawn_seed(experiment_seed: int, *key: int) -> int:
    """A 63-bit seed from SeedSequence(experiment_seed, spawn_key=key)."""
    seq = np.random.SeedSequence(experiment_seed, spawn_key=key)
    return int(seq.generate_state(1, np.uint64)[0] >> np.uint64(1))


def replication_seed(experiment_seed: int, replication: int) -> int:
    """The seed of replication r: the same in every scenario and point (common random numbers).

    A 63-bit integer from SeedSequence(experiment_seed, spawn_key=(r,)).
    """
    return spawn_seed(experiment_seed, replication)


def scale(u: float, r: Range, integer: bool) -> float | int:
    """A point of the unit interval mapped onto a range (every integer equally likely)."""
    if integer:
        # floor(u * count) rather than rounding, which would halve the chance of the ends.
        lo, hi = math.ceil(r.min), math.floor(r.max)
        return int(min(hi, lo + math.floor(u * (hi - lo + 1))))
    return float(r.min + u * (r.max - r.min))


def _unit_to_points(
    unit: np.ndarray, ranges: dict[str, Range], fields: dict[str, Any]
) -> list[dict[str, Any]]:
    return [
        {
            n: scale(float(u), r, fields[n].annotation in (int, int | None))
            for (n, r), u in zip(ranges.items(), row, strict=True)
        }
        for row in unit
    ]


def sweep_points(
    sweep: Sweep | None, seed: int, fields: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every parameter combination of the sweep (one empty point without a sweep).

    fields: the model's parameters (default: the trust model's), for their types.
    """
    if sweep is None:
        return [{}]
    names = list(sweep.parameters)
    if sweep.method == "factorial":
        values = [sweep.parameters[n] for n in names]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]
    assert sweep.samples is not None  # checked at load
    from scipy.stats import qmc  # imported here: scipy.stats takes a second to import

    if sweep.method == "lhs":
        unit = qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(seed)).random(
            sweep.samples
        )
    else:
        sampler = qmc.Sobol(d=len(names), scramble=True, rng=np.random.default_rng(seed))
        unit = sampler.random(sweep.samples)
    ranges = {n: r for n, r in sweep.parameters.items() if isinstance(r, Range)}
    return _unit_to_points(unit, ranges, fields or kind("trust").parameters())


def point_count(exp: Experiment) -> int:
    """How many parameter points the experiment's design has, counted without building them."""
    sens = exp.sensitivity
    if sens is not None:
        d = len(sens.parameters)
        if sens.method == "morris":
            return sens.samples * (d + 1)
        return sens.samples * (2 * d + 2 if sens.second_order else d + 2)
    if exp.sweep is None:
        return 1
    if exp.sweep.method != "factorial":
        return exp.sweep.samples or 0
    return math.prod(len(v) for v in exp.sweep.parameters.values() if isinstance(v, list))


def size_problem(exp: Experiment, source: str) -> str:
    """A line when the experiment asks for more than MAX_RUNS runs ("" when it does not)."""
    reps = exp.replications
    count = reps.count if reps.count is not None else reps.max
    points = point_count(exp)
    runs = len(exp.scenarios) * points * count
    if runs <= MAX_RUNS:
        return ""
    each = "" if reps.count is not None else "up to "
    return (
        f"{source}: asks for {runs:,} runs ({count_of(len(exp.scenarios), 'scenario')} x "
        f"{count_of(points, 'point')} x {each}{count_of(count, 'replication')}), more than the "
        f"{MAX_RUNS:,} one sweep can hold: use "
        "fewer values, samples or replications, or split it into several experiments"
    )


def count_of(n: int, noun: str) -> str:
    """A count with its noun: "1 run", "2 runs"."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def design_points(exp: Experiment) -> list[dict[str, Any]]:
    """The experiment's parameter points: its sweep's, or its sensitivity design's."""
    fields = exp.kind.parameters()
    if exp.sensitivity is not None:
        unit = design(exp.sensitivity, exp.seed)
        return _unit_to_points(unit, exp.sensitivity.parameters, fields)
    return sweep_points(exp.sweep, exp.seed, fields)


def expand(exp: Experiment, replications: range) -> list[RunSpec]:
    """Run specs for the given replications of every scenario and point, in a fixed order."""
    points = design_points(exp)
    seeds = {r: replication_seed(exp.seed, r) for r in replications}  # shared by every setup
    out = []
    for scenario in exp.scenarios:
        for p_id, point in enumerate(points):
            changes = dict(point)
            if exp.steps is not None:
                changes["steps"] = exp.steps
            sc = scenario.with_(**changes) if changes else scenario
            for r in replications:
                out.append(
                    RunSpec(
                        run_id=f"{scenario.name}/p{p_id}/r{r}",
                        scenario=sc,
                        point=p_id,
                        replication=r,
                        seed=seeds[r],
                        swept=tuple(sorted(point.items())),
                    )
                )
    return out


def ci_half_width(values: np.ndarray) -> float:
    """Half-width of the normal-approximation 95% CI of a mean (for adaptive stopping)."""
    v = values[~np.isnan(values)]
    if len(v) < 2:
        return math.inf
    return float(1.96 * v.std(ddof=1) / math.sqrt(len(v)))
