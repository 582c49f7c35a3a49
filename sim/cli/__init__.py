"""The `trustsim` command line: a thin front over scenarios, the model and the pipeline.

`main` parses the command (parser.py) and runs it: single.py holds the commands on one
scenario, experiments.py those on experiments and results folders (over
sim.experiments.pipeline), workshop.py the app and the room. Bad input (a scenario
file, an option) ends with one clear line per problem on stderr and exit code 2,
never a traceback.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.cli.parser import UsageError, build_parser, parse_sets, resolve_scenario
from sim.cli.single import run_one, summary_table
from sim.cli.workshop import lan_address
from sim.experiments.pipeline import PipelineError
from sim.model.scenario import ScenarioError

__all__ = [
    "UsageError",
    "build_parser",
    "lan_address",
    "main",
    "parse_sets",
    "resolve_scenario",
    "run_one",
    "summary_table",
]


def _fail(lines: Sequence[str]) -> int:
    """Print each problem once as an `error:` line; the exit code of bad input."""
    for line in dict.fromkeys(lines):  # the same problem found twice is said once
        print(f"error: {line}", file=sys.stderr)
    return 2


def _warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """A library's warning (scipy, SALib) as one `warning:` line, not two with its source."""
    text = " ".join(str(message).split())
    print(
        f"warning: {text} ({category.__name__} from {Path(filename).parent.name})", file=sys.stderr
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `trustsim` console script."""
    args = build_parser().parse_args(argv)
    for flag in ("out", "results"):
        if getattr(args, flag, None) == "":
            return _fail([f"--{flag} '': give a folder's name (an empty one means this folder)"])
    try:
        with warnings.catch_warnings():  # restores Python's own when the command ends
            warnings.showwarning = _warning
            return int(args.func(args))
    except ScenarioError as err:
        return _fail(err.lines)
    except (UsageError, PipelineError) as err:
        return _fail([str(err)])
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:  # a folder that is a file, a full disk, no permission
        folder = getattr(args, "out", None) or getattr(args, "results", None)
        where = f"{exc.filename or folder}: " if exc.filename or folder else ""
        if exc.errno in (errno.EEXIST, errno.ENOTDIR):
            return _fail([f"{where}is a file, not a folder: give a folder's name"])
        return _fail([f"{where}{exc.strerror or exc}"])
    except sqlite3.Error as exc:  # a store damaged past what check_store sees, a full disk
        folder = getattr(args, "results", None) or getattr(args, "out", None) or "results"
        return _fail([f"{folder}/results.sqlite: {exc}; what was stored before stays stored"])
