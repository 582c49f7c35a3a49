"""The commands on experiments and results folders: a thin layer over the pipeline.

sweep, sensitivity, compare, report and calibrate call sim.experiments.pipeline and
print what it says as it says it (results on stdout, warnings and notes on stderr);
plot, export and animate redraw, convert or animate what is already there.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from sim.cli.parser import UsageError, check_seed, parse_sets, resolve_scenario
from sim.experiments import pipeline

__all__ = [
    "cmd_animate",
    "cmd_calibrate",
    "cmd_compare",
    "cmd_export",
    "cmd_plot",
    "cmd_report",
    "cmd_sensitivity",
    "cmd_structural",
    "cmd_sweep",
]


def say(message: pipeline.Message) -> None:
    """Print one of the pipeline's messages where the command line prints it."""
    print(message, file=sys.stderr if message.to_stderr else sys.stdout)


def cmd_sweep(args: argparse.Namespace) -> int:
    """`trustsim sweep`: run an experiment into its results store, then compare."""
    return pipeline.sweep(
        args.experiment,
        out=args.out,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        replications=args.replications,
        steps=args.steps,
        report=not args.no_report,
        formats=args.formats or (),
        echo=say,
        across=args.across,
        worlds=args.worlds,
        pairs=args.pairs,
        map_worlds=args.map,
    ).exit_code


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """`trustsim sensitivity`: run an experiment's sensitivity design, then its indices."""
    return pipeline.sensitivity(
        args.experiment,
        out=args.out,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        replications=args.replications,
        steps=args.steps,
        samples=args.samples,
        report=not args.no_report,
        formats=args.formats or (),
        echo=say,
    ).exit_code


def cmd_structural(args: argparse.Namespace) -> int:
    """`trustsim structural`: the comparison under every alternative structural rule."""
    result = pipeline.structural(
        args.experiment,
        out=args.out,
        workers=args.workers,
        scheduler=args.scheduler,
        replications=args.replications,
        steps=args.steps,
        echo=say,
    )
    return 1 if result.failed else 0


def cmd_compare(args: argparse.Namespace) -> int:
    """`trustsim compare`: statistics of a results folder (and across worlds, --across)."""
    pipeline.compare(
        args.results,
        outcomes=args.outcome,
        reference=args.reference,
        targets=args.targets,
        across=args.across,
        worlds=args.worlds,
        pairs=args.pairs,
        smallest_effect=smallest_effects(args.smallest_effect),
        workers=args.workers,
        echo=say,
        map_worlds=args.map,
    )
    return 0


def smallest_effects(items: list[str] | None) -> dict[str, float] | None:
    """`--smallest-effect` values: VALUE for every outcome ("*"), OUTCOME=VALUE for one."""
    if not items:
        return None
    out: dict[str, float] = {}
    for item in items:
        name, sep, raw = item.rpartition("=")
        key = name.strip() if sep else "*"
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not (sep and not key) and math.isfinite(value) and value >= 0:
            out[key] = value
            continue
        raise UsageError(
            f"--smallest-effect {item!r}: expected VALUE or OUTCOME=VALUE with a number of 0 "
            "or more, e.g. 0.02 or mean_skill=0.02"
        )
    return out


def cmd_report(args: argparse.Namespace) -> int:
    """`trustsim report`: report.md, report.html and figures of a results folder."""
    pipeline.report(args.results, formats=args.formats or (), force=args.force, echo=say)
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """`trustsim calibrate`: estimate parameters against field targets (ABC-SMC)."""
    command = "trustsim calibrate " + " ".join(
        sys.argv[2:] if sys.argv[1:2] == ["calibrate"] else []
    )
    return pipeline.calibrate(
        args.experiment,
        args.targets,
        out=args.out,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        population=args.population,
        generations=args.generations,
        recover=parse_sets(args.recover) if args.recover else None,
        report=not args.no_report,
        formats=args.formats or (),
        command=command.strip(),
        echo=say,
        check=args.check,
    ).exit_code


def cmd_plot(args: argparse.Namespace) -> int:
    """`trustsim plot`: redraw the figures of a results folder."""
    from sim.experiments.draw import redraw_figures

    outcomes = tuple(args.outcome) if args.outcome else None
    written = redraw_figures(args.results, outcomes, formats=(args.format,), size=args.size)
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_animate(args: argparse.Namespace) -> int:
    """`trustsim animate`: one run as an animated trust network, for slides."""
    from sim.model.snapshots import record_run
    from sim.reporting.plots import animation

    out = Path(args.out)
    if out.suffix.lower() != ".gif":
        raise UsageError(f"--out {out}: must end in .gif")
    if args.every < 1:
        raise UsageError(f"--every {args.every}: must be 1 or more")
    if args.fps < 1:
        raise UsageError(f"--fps {args.fps}: must be 1 or more")
    check_seed(args.seed)
    overrides = {"steps": args.steps} if args.steps is not None else {}
    scenario = resolve_scenario(args.scenario, overrides)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create the folder: {exc.strerror}") from None
    recording = record_run(scenario, args.seed)
    nodes, edges, measures = recording.nodes, recording.edges, recording.measures
    anim = animation(
        nodes, edges, measures, f"{scenario.name} (seed {args.seed})", every=args.every
    )
    anim.save(out, writer="pillow", fps=args.fps, dpi=80)
    print(f"wrote {out} ({len(nodes['step'].unique()[:: args.every])} frames)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """`trustsim export`: the tables as Parquet or CSV files."""
    from sim.experiments import tidy_results
    from sim.experiments.store import ResultsStore

    folder = Path(args.results)
    if not ResultsStore.exists(folder):
        raise UsageError(f"{folder}: no results store here (results.sqlite)")
    tables = tidy_results(folder)  # read (and checked) before anything is written
    out = Path(args.out) if args.out else folder / "export"
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        target = out / f"{name}.{args.format}"
        if args.format == "parquet":
            table.to_parquet(target, index=False)
        else:
            table.to_csv(target, index=False)
        print(f"wrote {target} ({len(table)} rows)")
    return 0
