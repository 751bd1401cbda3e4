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


@contextlib.contextmanager
def handled():
    """Inside the block Ctrl-C and SIGTERM raise :class:`Interrupted` (main thread only); the handlers that
    were there before are put back after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGINT, _raise)
    signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before[0])
        signal.signal(signal.SIGTERM, before[1])


def ignore() -> None:
    """Further Ctrl-C and SIGTERM are ignored (while the command reports how it stopped)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
