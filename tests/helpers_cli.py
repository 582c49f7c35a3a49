"""The trustsim command line, run as a user runs it: `python -m sim.cli ...` in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# A sweep small enough to run in a test: two scenarios, two replications, six weeks.
SMALL_EXPERIMENT = """# Does peer-led coaching teach more than no coaching in six weeks?
scenarios = ["peer_led", "no_coaching"]
replications = 2
seed = 3
steps = 6
keep_steps = 1
outcomes = ["mean_skill"]
"""


def trustsim(
    *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run `trustsim ARGS` from the project folder (or `cwd`); output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=timeout,
        check=False,
    )


def in_process(capsys: Any, *args: str) -> tuple[int, str, str]:
    """`trustsim ARGS` in this process (faster than a subprocess): exit code, stdout, stderr.

    capsys is pytest's fixture; argparse's mistakes end in SystemExit, as in a shell.
    """
    from sim.cli import main

    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
