"""When this process is the ``hfc`` command, a Ctrl-C or SIGTERM while the libraries still load ends it
in one line (exit 130 or 143) instead of a traceback through the import machinery.

Imported first by ``hfc_fast/__init__.py``, before torch; a library user's process is left alone. The
command's own handlers (``hfc_fast.experiments.core.signals``) replace these once it starts.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path


def is_cli() -> bool:
    """Whether this process runs ``hfc`` (the console script, or ``python -m hfc_fast.experiments.cli``)."""
    if Path(sys.argv[0]).name == "hfc":
        return True
    argv = getattr(sys, "orig_argv", [])
    return any(a == "-m" and b == "hfc_fast.experiments.cli" for a, b in zip(argv, argv[1:], strict=False))


def _stop(signum, frame) -> None:
    name = "interrupted" if signum == signal.SIGINT else "terminated"
    os.write(2, f"hfc: {name} while starting; nothing was written\n".encode())
    os._exit(128 + signum)


def install() -> None:
    """The start-up handlers, in the main thread of an ``hfc`` process only."""
    import threading

    if is_cli() and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)


install()
