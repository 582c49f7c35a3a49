"""The `trustsim` argument parser, and the argument helpers its commands share.

Every command and option with its help; the commands themselves live in single.py
(one scenario), experiments.py (experiments and results folders) and workshop.py
(the app and the room). The helpers read what a user typed: a scenario by file,
library name or preset, `--set KEY=VALUE` pairs, a seed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from sim.model.scenario import PRESETS, Scenario, ScenarioError, preset
from sim.model.scenario_files import load_scenario, parse_toml

__all__ = [
    "FIGURE_FORMATS",
    "RESULTS_DIR",
    "SCENARIO_DIR",
    "UsageError",
    "build_parser",
    "check_seed",
    "parse_sets",
    "resolve_scenario",
]

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
SCENARIO_DIR = PACKAGE_ROOT / "scenarios"
RESULTS_DIR = Path("results")
# The formats a report's or plot's figures can be saved in.
FIGURE_FORMATS = ("png", "svg", "pdf")


class UsageError(Exception):
    """A problem with what the user typed: reported as one line, exit code 2."""


def resolve_scenario(name: str, overrides: dict[str, Any] | None = None) -> Scenario:
    """A scenario from a file path, a file in scenarios/, or a preset name."""
    base = _base_scenario(name)
    if not overrides:
        return base
    try:
        return base.with_(**overrides)
    except ScenarioError as err:  # the mistake is on the command line, not in the file
        raise ScenarioError(
            [line.replace("<keywords>", "command line (--set/--steps)") for line in err.lines]
        ) from None


def _base_scenario(name: str) -> Scenario:
    path = Path(name)
    if path.suffix == ".toml" or path.exists():
        return load_scenario(path)
    library = SCENARIO_DIR / f"{name}.toml"
    if library.exists():
        return load_scenario(library)
    if name in PRESETS:
        return preset(name)
    known = sorted({p.stem for p in SCENARIO_DIR.glob("*.toml")} | set(PRESETS))
    raise ScenarioError(
        [
            f"{name}: no such scenario file, library scenario or preset; try one of: "
            + ", ".join(known)
        ]
    )


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """`--set key=value` pairs, values read as TOML (0.3, true, "internal")."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {item!r}: expected KEY=VALUE, for example trust_gain=0.1")
        try:
            value = parse_toml(f"v = {raw.strip()}", "--set")["v"]
        except ScenarioError:
            value = raw.strip()  # a bare word: let validation say what is allowed
        out[key.strip()] = value
    return out


def check_seed(seed: int) -> None:
    """Refuse a negative seed."""
    if seed < 0:
        raise UsageError(f"--seed {seed}: must be 0 or more")


def _experiment_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of every command that runs an experiment's sweep or design."""
    _running_arguments(
        parser,
        "an experiment file (TOML)",
        "send the runs to a Dask scheduler, e.g. tcp://host:8786",
        "continue an interrupted run: run only what is missing",
    )
    parser.add_argument(
        "--replications",
        type=int,
        default=None,
        help="replications per scenario and point, overriding the file",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="weeks per run, overriding the file and the scenarios",
    )
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="skip report.md/report.html (the results are still printed)",
    )
    _format_argument(parser)


def _running_arguments(
    parser: argparse.ArgumentParser, experiment: str, scheduler: str, resume: str
) -> None:
    """The experiment file and where and how its work runs: workers, Dask, resume, --out."""
    parser.add_argument("experiment", metavar="EXPERIMENT", help=experiment)
    parser.add_argument(
        "--workers", type=int, default=None, help="local worker processes (default: every core)"
    )
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS", help=scheduler)
    parser.add_argument("--resume", action="store_true", help=resume)
    parser.add_argument(
        "--out", default=None, help="results folder (default results/EXPERIMENT_NAME)"
    )


def _format_argument(parser: argparse.ArgumentParser) -> None:
    """The report's figure formats: PNG always, SVG or PDF when asked."""
    parser.add_argument(
        "--format",
        action="append",
        dest="formats",
        choices=FIGURE_FORMATS,
        default=None,
        help="also save the report's figures in this format (repeatable); PNG is always "
        "saved, as report.html embeds it",
    )


class _Parser(argparse.ArgumentParser):
    """argparse, its mistakes said in one line (exit 2) instead of a usage block."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with help on every command and option."""
    from sim.cli import experiments, single, workshop  # they import this module's helpers

    parser = _Parser(
        prog="trustsim",
        description="Simulate how trust between colleagues decides whether they learn "
        "from each other, under different coaching regimes.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run one scenario and write its tables and plot",
        description="Run one scenario; write steps.csv (one row per week), "
        "summary.json (run results and parameters) and trust_skill.png.",
    )
    run.add_argument(
        "scenario",
        metavar="SCENARIO",
        help="a scenario file, a name from scenarios/ (see `trustsim scenarios`), or a preset name",
    )
    run.add_argument(
        "--seed",
        type=int,
        default=1,
        help="random seed; the same seed gives the same run (default 1)",
    )
    run.add_argument(
        "--steps", type=int, default=None, help="weeks to run, overriding the scenario's `steps`"
    )
    run.add_argument(
        "--out", default=None, help="output folder (default results/runs/SCENARIO-seedN)"
    )
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter, e.g. --set gossip_rate=0.2 (repeatable)",
    )
    run.add_argument(
        "--teams",
        choices=("auto", "on", "off"),
        default="auto",
        help="also write teams.csv, one row per team and week: auto = up to 50 teams "
        "(per-step data of a large organization stays one row per week)",
    )
    run.set_defaults(func=single.cmd_run)

    val = sub.add_parser(
        "validate",
        help="check scenario and experiment files and report every error",
        description="Check scenario and experiment files (an experiment file names "
        "scenarios or a model); print every problem, one line each, and for an experiment "
        "how many runs it holds. Exit code 2 if any file has a problem.",
    )
    val.add_argument(
        "files", nargs="+", metavar="FILE", help="scenario or experiment files to check"
    )
    val.set_defaults(func=single.cmd_validate)

    lib = sub.add_parser(
        "scenarios",
        help="list the scenario library",
        description="List the scenario files with the first line of each one's description.",
    )
    lib.add_argument("--dir", default=None, help="folder to list (default: scenarios/)")
    lib.set_defaults(func=single.cmd_scenarios)

    par = sub.add_parser(
        "parameters",
        help="print every parameter (Markdown table)",
        description="Print every model parameter with its default, range, unit and meaning.",
    )
    par.set_defaults(func=single.cmd_parameters)

    sweep = sub.add_parser(
        "sweep",
        help="run an experiment (replicated comparisons, sweeps) and compare",
        description="Run every run of an experiment file on all cores (or a Dask cluster), "
        "store each as it finishes in RESULTS/results.sqlite, then print the comparison. "
        "Exit code 1 when some runs failed, 2 on bad input.",
    )
    _experiment_arguments(sweep)
    sweep.add_argument(
        "--across",
        default=None,
        metavar="POSTERIOR_OR_PRIOR",
        help="then compare every pair across plausible worlds: a calibration folder, or an "
        "experiment file with [calibration] (as `compare --across`; the report shows them)",
    )
    sweep.add_argument("--worlds", type=int, default=None, help="worlds drawn (with --across)")
    sweep.add_argument(
        "--pairs", type=int, default=None, help="paired replications per world (with --across)"
    )
    sweep.add_argument(
        "--map",
        action="store_true",
        help="with --across: where in those worlds each scenario of a pair wins (PRIM, CART)",
    )
    sweep.set_defaults(func=experiments.cmd_sweep)

    struct = sub.add_parser(
        "structural",
        help="rerun an experiment's comparison under every alternative rule",
        description="Run the experiment's scenarios as given, then once per alternative "
        "trust, choice, voice and success rule (docs/ODD.md 7.8-7.13), with the same "
        "seeds, and say which conclusions survive every rule (structural.md, "
        "structural.csv). Exit code 2 on bad input.",
    )
    _running_arguments(
        struct,
        "an experiment file comparing scenarios (TOML; no sweep or design)",
        "send the runs to a Dask scheduler, e.g. tcp://host:8786",
        "accepted for symmetry: a rerun always runs only what is missing",
    )
    struct.add_argument(
        "--replications", type=int, default=None, help="replications per scenario and rule"
    )
    struct.add_argument(
        "--steps", type=int, default=None, help="weeks per run, overriding the file"
    )
    struct.set_defaults(func=experiments.cmd_structural)

    cal = sub.add_parser(
        "calibrate",
        help="estimate parameters against field targets (ABC-SMC, pyabc)",
        description="Estimate the parameters of an experiment's [calibration] section "
        "against a targets file by approximate Bayesian computation (ABC-SMC): the "
        "posterior (samples, credible intervals, figures), a posterior predictive check "
        "against every target, and calibration.html. Reproduces from the experiment's "
        "seed with any number of workers; a killed calibration goes on with --resume.",
    )
    _running_arguments(
        cal,
        "an experiment file with [calibration]",
        "run the candidates on a Dask scheduler, e.g. tcp://host:8786",
        "continue a calibration that was stopped",
    )
    cal.add_argument(
        "--targets", required=True, metavar="FILE", help="the field targets (TOML, [[targets]])"
    )
    cal.add_argument(
        "--recover",
        action="append",
        metavar="NAME=VALUE",
        default=None,
        help="parameter recovery: make the targets' statistics with the model at these true "
        "values (one per estimated parameter, repeatable), then calibrate back",
    )
    cal.add_argument(
        "--check",
        default=None,
        metavar="FILE",
        help="held-out targets (TOML) the predictive check tests and the fit never uses, "
        "instead of the file's [calibration] check",
    )
    cal.add_argument(
        "--population", type=int, default=None, help="particles per generation, overriding the file"
    )
    cal.add_argument(
        "--generations", type=int, default=None, help="generations at most, overriding the file"
    )
    cal.add_argument(
        "--no-report", action="store_true", help="skip calibration.md/calibration.html"
    )
    _format_argument(cal)
    cal.set_defaults(func=experiments.cmd_calibrate)

    sens = sub.add_parser(
        "sensitivity",
        help="global sensitivity analysis (Sobol or Morris) of an experiment",
        description="Run the [sensitivity] design of an experiment file (SALib's Sobol or "
        "Morris sample, every point replicated) on all cores or a Dask cluster, store each run, "
        "then print the indices with 95% CIs and write sensitivity.csv, sensitivity.md and "
        "the report. Exit code 1 when some runs failed, 2 on bad input.",
    )
    _experiment_arguments(sens)
    sens.add_argument(
        "--samples",
        type=int,
        default=None,
        help="the base sample size (Sobol N, Morris trajectories), overriding the file: "
        "for quick tries",
    )
    sens.set_defaults(func=experiments.cmd_sensitivity)

    rep = sub.add_parser(
        "report",
        help="write report.md, report.html and figures for a results folder",
        description="Write report.md and a self-contained report.html (figures embedded) "
        "beside the store: the question, what was run, the statistics, every figure.",
    )
    rep.add_argument("results", metavar="RESULTS_DIR", help="a folder written by sweep")
    _format_argument(rep)
    rep.add_argument(
        "--force",
        action="store_true",
        help="draw the report even when it is up to date (the results, the experiment, "
        "the formats and the code as when it was drawn)",
    )
    rep.set_defaults(func=experiments.cmd_report)

    plot = sub.add_parser(
        "plot",
        help="redraw the figures of a results folder",
        description="Redraw the figures of a results folder into RESULTS_DIR/figures/.",
    )
    plot.add_argument("results", metavar="RESULTS_DIR", help="a folder written by sweep")
    plot.add_argument(
        "--outcome",
        action="append",
        default=None,
        metavar="NAME",
        help="an outcome to draw (repeatable; default: the experiment's)",
    )
    plot.add_argument(
        "--format", choices=FIGURE_FORMATS, default="png", help="file format (default png)"
    )
    plot.add_argument(
        "--size",
        choices=("slide", "column"),
        default="slide",
        help="slide (8 x 4.5 in) or paper column (3.5 x 2.8 in)",
    )
    plot.set_defaults(func=experiments.cmd_plot)

    app = sub.add_parser(
        "app",
        help="start the workshop web app (for trainers)",
        description="Start the workshop web app: a guided story in chapters (each asks "
        "the room, plays the run, reveals the answer from 50 runs), then a sandbox with "
        "two scenarios side by side, sliders, events, uploads and exports.",
    )
    app.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    app.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    app.add_argument(
        "--lan",
        action="store_true",
        help="listen on the local network (every interface), so that phones can join",
    )
    room = app.add_argument_group(
        "workshop room (--room): participants join from their phones and play team members"
    )
    room.add_argument("--room", action="store_true", help="start a room instead of the app")
    room.add_argument(
        "--scenario",
        default="top_down_internal",
        help="the scenario played: a library name or a file (default top_down_internal)",
    )
    room.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    room.add_argument(
        "--weeks", type=int, help="weeks played (default: 20, or fewer if the scenario has)"
    )
    room.add_argument("--seats", type=int, help="seats (default: every plain member, at most 60)")
    room.add_argument(
        "--ask-seconds", type=float, default=30.0, help="time to choose whom to ask (default 30)"
    )
    room.add_argument(
        "--answer-seconds", type=float, default=20.0, help="time to answer requests (default 20)"
    )
    room.add_argument(
        "--out", default="results/room", help="folder for the session files (default results/room)"
    )
    app.set_defaults(func=workshop.cmd_app)

    roomcmd = sub.add_parser(
        "room",
        help="workshop room sessions: replay one",
        description="A recorded workshop room session (saved by `trustsim app --room`).",
    )
    roomsub = roomcmd.add_subparsers(dest="room_command", required=True)
    rep = roomsub.add_parser(
        "replay",
        help="run a recorded session again and compare it with the fully simulated run",
        description="Replay a session file: the same seed, scenario, events and choices "
        "on the fast path. Says whether the replay equals the room's recorded run, and "
        "sets it beside the same team fully simulated from the same seed.",
    )
    rep.add_argument("session", help="the session file (JSON)")
    rep.add_argument("--out", help="folder for the two per-week tables (CSV)")
    rep.set_defaults(func=workshop.cmd_room_replay)

    anim = sub.add_parser(
        "animate",
        help="one run as an animated trust network (GIF)",
        description="Run a scenario and render it as an animated GIF: the "
        "trust network week by week, with trust and skill beside it.",
    )
    anim.add_argument(
        "scenario", metavar="SCENARIO", help="a scenario file, library name or preset"
    )
    anim.add_argument("--out", required=True, metavar="FILE.gif", help="the GIF to write")
    anim.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    anim.add_argument(
        "--steps", type=int, default=None, help="weeks to run (default: the scenario's)"
    )
    anim.add_argument("--every", type=int, default=2, help="draw every k-th week (default 2)")
    anim.add_argument("--fps", type=int, default=8, help="frames per second (default 8)")
    anim.set_defaults(func=experiments.cmd_animate)

    comp = sub.add_parser(
        "compare",
        help="statistics of a results folder",
        description="Per outcome and scenario: mean, sd, 95% bootstrap CI, n; per pair of "
        "scenarios: paired difference with CI, Wilcoxon p (Holm), A12, Cohen's d. Writes "
        "compare.csv and compare.md beside the store; with --outcome or --reference, "
        "compare_view.csv and compare_view.md (the experiment's own files stay as the "
        "report shows them). With --across, every pair also at many parameter values "
        "drawn from a posterior or priors: how far the answer holds across plausible "
        "worlds, and which parameters decide it.",
    )
    comp.add_argument("results", metavar="RESULTS_DIR", help="a folder written by sweep")
    comp.add_argument(
        "--outcome",
        action="append",
        default=None,
        metavar="NAME",
        help="an outcome to compare (repeatable; default: the experiment's)",
    )
    comp.add_argument("--reference", default=None, help="compare every scenario with this one only")
    comp.add_argument(
        "--targets",
        default=None,
        metavar="FILE",
        help="field targets (TOML): each observed statistic against the same statistic "
        "computed from these runs; writes targets.md and targets.csv",
    )
    comp.add_argument(
        "--across",
        default=None,
        metavar="POSTERIOR_OR_PRIOR",
        help="also compare every pair across plausible worlds: parameter values drawn from a "
        "calibration folder's posterior (trustsim calibrate) or an experiment file's "
        "[calibration] priors; writes across.csv, across_summary.csv, figures/across_*.png "
        "and a section of compare.md",
    )
    comp.add_argument(
        "--worlds", type=int, default=None, help="with --across: worlds drawn (default 200)"
    )
    comp.add_argument(
        "--pairs",
        type=int,
        default=None,
        help="with --across: paired runs of each pair per world, the same seeds for both "
        "scenarios (default 10)",
    )
    comp.add_argument(
        "--smallest-effect",
        action="append",
        default=None,
        metavar="[OUTCOME=]VALUE",
        help="with --across: the smallest difference that matters, for every outcome or one "
        "(repeatable); default per outcome, e.g. 0.01 on a 0-1 scale (the output says each)",
    )
    comp.add_argument(
        "--workers",
        type=int,
        default=None,
        help="with --across: local worker processes (default: every core)",
    )
    comp.add_argument(
        "--map",
        action="store_true",
        help="with --across: where in those worlds each scenario of a pair wins (PRIM boxes "
        "and CART trees: map.csv, figures/map_*, a section of compare.md)",
    )
    comp.set_defaults(func=experiments.cmd_compare)

    exp = sub.add_parser(
        "export",
        help="write the result tables as Parquet or CSV",
        description="Write the runs, summaries and steps tables of a results "
        "folder for other tools.",
    )
    exp.add_argument("results", metavar="RESULTS_DIR", help="a folder written by sweep")
    exp.add_argument(
        "--format",
        choices=("parquet", "csv"),
        default="parquet",
        help="file format (default parquet)",
    )
    exp.add_argument("--out", default=None, help="output folder (default RESULTS_DIR/export)")
    exp.set_defaults(func=experiments.cmd_export)

    return parser
