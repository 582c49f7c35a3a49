"""Run functions for tests of the experiment runner that raise on purpose.

Top-level in an importable module, so they pickle into worker processes. One run
fails: scenario FAIL_SCENARIO at replication FAIL_REPLICATION of an experiment whose
seed is FAIL_EXPERIMENT_SEED (the seed identifies the replication: common random
numbers give replication r the same seed in every scenario).
"""

from __future__ import annotations

from typing import Any

from sim.experiments import replication_seed, run_trust_model
from sim.model.fast import Run, simulate
from sim.model.scenario import Scenario

FAIL_EXPERIMENT_SEED = 4242
FAIL_REPLICATION = 1
FAIL_SCENARIO = "peer_led"
FAIL_SEED = replication_seed(FAIL_EXPERIMENT_SEED, FAIL_REPLICATION)
MESSAGE = "injected failure for the runner tests"


class InjectedFailureError(RuntimeError):
    """The error the failing run raises."""


def _should_fail(scenario: Scenario | None, seed: Any) -> bool:
    return (
        scenario is not None
        and scenario.name == FAIL_SCENARIO
        and isinstance(seed, int)
        and seed == FAIL_SEED
    )


def fail_one_run(
    scenario: Scenario, seed: int, keep_steps: int
) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """run_trust_model, except that one (scenario, replication) raises."""
    if _should_fail(scenario, seed):
        raise InjectedFailureError(f"{MESSAGE} (seed {seed})")
    return run_trust_model(scenario, seed, keep_steps)


def exploding_simulate(scenario: Scenario | None = None, seed: Any = None, **kwargs: Any) -> Run:
    """sim.simulate, except that it raises for the same one run as fail_one_run.

    Patched over sim.model.fast.simulate to make a run fail through the CLI, which has no
    way to pass a run function.
    """
    if _should_fail(scenario, seed):
        raise InjectedFailureError(f"{MESSAGE} (seed {seed})")
    return simulate(scenario, seed, **kwargs)
