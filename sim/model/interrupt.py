"""Holding Ctrl-C while compiled code runs, so that it ends a sweep instead of failing a run."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

__all__ = ["interrupt_after"]


@contextlib.contextmanager
def interrupt_after() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) while compiled code runs; raise KeyboardInterrupt once it returns.

    A KeyboardInterrupt raised inside a numba function (where it calls back into
    Python) comes out as another error, which a sweep would store as a failed run and
    go on. In the main thread, SIGINT is noted instead while the block runs, and
    raised as KeyboardInterrupt after it; elsewhere (signals go to the main thread
    only) the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        if callable(previous):
            previous(signal.SIGINT, None)  # Python's default raises KeyboardInterrupt
        elif previous == signal.SIG_DFL:
            os.kill(os.getpid(), signal.SIGINT)  # the system's default: end the process
