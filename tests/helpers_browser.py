"""What the browser tests and benchmarks share: Debian's Chromium, a free port, a server.

Chromium runs headless as root with the flags this machine needs (background
networking off: its connections would be refused here). `serve` starts a web server
as a user would (a subprocess, its output to a file: a pipe nobody reads would block
it once full) and returns once it answers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium(*, module: bool = True) -> None:
    """Skip the test (or its whole module) without Chromium; under CI, fail instead."""
    import pytest

    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail("Debian's chromium is missing: `make test` installs it", pytrace=False)
    pytest.skip("no /usr/bin/chromium (make test installs it)", allow_module_level=module)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _terminal_signals() -> None:
    """In the child, before it runs: Ctrl-C as a terminal's foreground process has it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def serve(
    command: list[str],
    url: str,
    log: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 90,
) -> subprocess.Popen[str]:
    """Start `command` in the project folder and wait until `url` answers 200.

    The server gets Ctrl-C's default, as from a terminal: a test run that is a shell's
    background job (nohup, `make test &`) ignores SIGINT, and its children would too.

    Raises:
        RuntimeError: the server stopped, or did not answer in time (with its output).
    """
    with log.open("w") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_terminal_signals,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server stopped (exit {proc.returncode}): {log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"the server did not answer on {url}: {log.read_text()}")


def stop(proc: subprocess.Popen[str]) -> None:
    """Stop a server as Ctrl-C would, and make sure it is gone."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
