"""How a running command meets Ctrl-C (SIGINT) and SIGTERM, the signal schedulers such as Slurm send
before they kill a job.

Both end the command the same way: the signal raises :class:`Interrupted` in the main thread (an atomic
write in progress finishes first, ``core/files.py``), what is saved stays saved, and the CLI prints one
line with the command that continues the run. Further signals are ignored while that happens, so a
second Ctrl-C cannot cut the exit short with a traceback.
"""

from __future__ import annotations

import contextlib
import signal
import threading


class Interrupted(KeyboardInterrupt):
    """A Ctrl-C or SIGTERM: ``signal_number`` says which, ``exit_code`` is 128 + it (130, 143)."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number
        self.exit_code = 128 + signal_number

    @property
    def word(self) -> str:
        return "interrupted" if self.signal_number == signal.SIGINT else "terminated (SIGTERM)"


def _raise(signum, frame) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted(signum)


WATCHED = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _replaced(handler):
    """Inside the block Ctrl-C and SIGTERM go to ``handler`` (main thread only, and only where Python installed
    the handlers there before, so that it can put them back after the block)."""
    before = [signal.getsignal(s) for s in WATCHED]
    if threading.current_thread() is not threading.main_thread() or None in before:
        yield
        return
    for s in WATCHED:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in zip(WATCHED, before, strict=True):
            signal.signal(s, h)


@contextlib.contextmanager
def handled():
    """Inside the block Ctrl-C and SIGTERM raise :class:`Interrupted` (main thread only); the handlers that
    were there before are put back after it."""
    with _replaced(_raise):
        yield


@contextlib.contextmanager
def deferred():
    """Ctrl-C and SIGTERM wait until the block ends (an atomic write, ``core/files.py``): inside it they are
    only noted, and after it each noted one is raised again under the handler that was there before.

    Deferred at Python's level, not by blocking the signals in this thread: the kernel would then hand a
    process-wide signal to another thread (a library's worker) and Python would still run the handler here,
    at the next bytecode inside the block.
    """
    noted = []
    try:
        with _replaced(lambda signum, frame: noted.append(signum)):
            yield
    finally:
        for s in dict.fromkeys(noted):
            signal.raise_signal(s)


def ignore() -> None:
    """Further Ctrl-C and SIGTERM are ignored (while the command reports how it stopped)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
