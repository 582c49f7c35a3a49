"""Experiments: replicated scenario comparisons and parameter sweeps, their store and pipeline.

`run(path_or_experiment, ...)` runs an experiment file on a local process pool (or a
Dask cluster) into results/<experiment>/ and returns the tidy tables. The pipeline
goes on from there, as the command line does: `sweep` runs, compares and reports
(`sensitivity` for a [sensitivity] design), `report` draws a results folder's report,
`calibrate` estimates parameters against field targets, and `pipeline.compare` compares
a results folder (not exported by that name: sim.experiments.compare is the module
that reads results folders).

This package is the experiments' public face: the names below are imported from here
(`from sim.experiments import load_experiment, expand, run, sweep`), wherever they live.
Every name is imported on first use, so that what imports one module of the package
(the command line's checks, a sweep with nothing to run) does not import them all.
"""

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.experiments.executors import run_batch
    from sim.experiments.expansion import expand, replication_seed
    from sim.experiments.experiment_file import load_experiment
    from sim.experiments.pipeline import (
        CalibrateResult,
        CompareResult,
        Message,
        PipelineError,
        ReportResult,
        SweepResult,
        calibrate,
        report,
        sensitivity,
        sweep,
    )
    from sim.experiments.runner import RunReport, run, run_trust_model, tidy_results
    from sim.experiments.spec import Experiment, RunSpec
    from sim.experiments.store import ResultsStore

__all__ = [
    "CalibrateResult",
    "CompareResult",
    "Experiment",
    "Message",
    "PipelineError",
    "ReportResult",
    "ResultsStore",
    "RunReport",
    "RunSpec",
    "SweepResult",
    "calibrate",
    "expand",
    "load_experiment",
    "replication_seed",
    "report",
    "run",
    "run_batch",
    "run_trust_model",
    "sensitivity",
    "sweep",
    "tidy_results",
]

# Where each exported name is defined.
_HOMES = {
    **dict.fromkeys(
        ("CalibrateResult", "CompareResult", "Message", "PipelineError", "ReportResult"),
        "pipeline",
    ),
    **dict.fromkeys(("SweepResult", "calibrate", "report", "sensitivity", "sweep"), "pipeline"),
    **dict.fromkeys(("RunReport", "run", "run_trust_model", "tidy_results"), "runner"),
    "run_batch": "executors",
    **dict.fromkeys(("expand", "replication_seed"), "expansion"),
    "load_experiment": "experiment_file",
    **dict.fromkeys(("Experiment", "RunSpec"), "spec"),
    "ResultsStore": "store",
}


def __getattr__(name: str) -> Any:
    """An exported name, imported from its module when first asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'sim.experiments' has no attribute {name!r}")
    # The import statement's machinery (as `import` runs it), which -X importtime reports.
    __import__(f"sim.experiments.{home}")
    return getattr(sys.modules[f"sim.experiments.{home}"], name)
