"""Experiments: replicated scenario comparisons and parameter sweeps, and their results store.

`run(path_or_experiment, ...)` runs an experiment file on a local process pool (or a
Dask cluster) into results/<experiment>/ and returns the tidy tables.

This package is the experiments' public face: the names below are imported from here
(`from sim.experiments import load_experiment, expand, run`), wherever they live.
"""

from sim.experiments.executors import run_batch
from sim.experiments.expansion import expand, replication_seed
from sim.experiments.experiment_file import load_experiment
from sim.experiments.runner import RunReport, run, run_trust_model, tidy_results
from sim.experiments.spec import Experiment, RunSpec
from sim.experiments.store import ResultsStore

__all__ = [
    "Experiment",
    "ResultsStore",
    "RunReport",
    "RunSpec",
    "expand",
    "load_experiment",
    "replication_seed",
    "run",
    "run_batch",
    "run_trust_model",
    "tidy_results",
]
