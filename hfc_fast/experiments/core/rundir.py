"""Claiming a run directory: the one settings check every command and every training run goes through.

A run directory's ``config.json`` records the command that wrote it and its
settings. A rerun into the same directory continues that run (finished parts
are reused; options not given on its command line come from ``config.json``,
see ``cli.main``); a directory that holds another command's run, or the same
command with other settings, is refused with an error naming each setting that
differs, except the settings a command lets a rerun change (its device, say).

While a process writes a directory it holds an advisory lock on
``<dir>/.lock`` (``fcntl.flock``, released when the process ends, a crash
included): a second writer is refused with an error naming the holder's
process id. Claiming removes the temporary files a killed writer left.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from pathlib import Path

from hfc_fast.errors import InputError
from hfc_fast.experiments.core.files import read_json, remove_temporary_files, write_json

CHECKPOINT = Path("checkpoints") / "last.pt"  # where a training run keeps its last epoch
LOCK = ".lock"


def as_json(settings: dict) -> dict:
    """``settings`` as they read back from ``config.json`` (paths as text, tuples as lists)."""
    return json.loads(json.dumps(settings, default=str))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunDirectory:
    """A run directory and its ``config.json``; only the main process (rank 0 under torchrun) writes or locks."""

    def __init__(self, path: str | Path, *, is_main: bool | None = None) -> None:
        self.path = Path(path)
        self.is_main = int(os.environ.get("RANK", "0")) == 0 if is_main is None else is_main
        self.settings: dict = {}
        self.info: dict = {}
        self._lock = None

    @property
    def config_file(self) -> Path:
        return self.path / "config.json"

    def saved(self) -> dict | None:
        """The settings a previous run recorded, or None."""
        if not self.config_file.exists():
            return None
        saved = read_json(self.config_file, "run configuration")
        if not isinstance(saved, dict):
            raise InputError(f"{self.config_file} is not a run configuration (not a JSON object); delete it or "
                             "choose another --out")
        return saved

    def holds_training(self) -> bool:
        """Whether a training run has finished an epoch here."""
        return (self.path / CHECKPOINT).exists() or (self.path / "metrics.jsonl").exists()

    # ------------------------------------------------------------------ the lock
    def lock(self) -> None:
        """Take the directory's lock (main process only; a no-op when held already)."""
        if not self.is_main or self._lock is not None:
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            handle = open(self.path / LOCK, "a+")  # noqa: SIM115 (held open for the life of the run)
        except OSError as err:
            raise OSError(f"cannot use {self.path} as a run directory: {err.strerror}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise FileExistsError(f"{self.path} is being written by process {holder}; wait for it to end or "
                                  "choose another --out") from None
        handle.seek(0)
        previous = handle.read().strip()
        if previous.isdigit() and int(previous) != os.getpid() and not _alive(int(previous)):
            print(f"note: taking over {self.path} from process {previous}, which ended without finishing",
                  file=sys.stderr)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock = handle

    def release(self) -> None:
        """Give the lock back; the lock file then names no process (one that names a dead process was left by
        a run that did not finish)."""
        if self._lock is not None:
            self._lock.seek(0)
            self._lock.truncate()
            self._lock.flush()
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    # ------------------------------------------------------------------ the settings
    def claim(self, command: str, settings: dict, *, resumable=(), fresh: bool = False) -> dict:
        """Lock the directory, tidy it and record ``settings`` of ``command`` in ``config.json``, refusing a
        directory that holds another run.

        Args:
            command: the command writing this directory.
            settings: the run's settings (JSON-serialisable once paths are text).
            resumable: settings a rerun may change.
            fresh: a training that must start anew (no ``--resume``): a directory holding one is refused.

        Returns:
            the settings as recorded.
        """
        self.lock()
        if fresh and self.holds_training():
            raise FileExistsError(f"{self.path} already holds a run; pass --resume to continue it or choose "
                                  "another --out")
        settings = {"command": command, **as_json(settings)}
        saved = self.saved()
        if saved is not None:
            if saved.get("command", command) != command:
                raise FileExistsError(f"{self.path} holds a '{saved.get('command')}' run; choose another --out")
            changed = [k for k in settings if k not in resumable and k in saved and saved[k] != settings[k]]
            if changed:
                details = ", ".join(f"{k}: {settings[k]!r} here, {saved[k]!r} in the run" for k in changed)
                raise FileExistsError(f"{self.path} holds a '{command}' run with other settings ({details}); "
                                      "choose another --out")
        if self.is_main:
            remove_temporary_files(self.path)
        self.settings = settings
        self.record()
        return settings

    def record(self, **info) -> None:
        """(Re)write ``config.json``: the claimed settings and ``info`` about the run (not compared on rerun)."""
        self.info.update(as_json(info))
        if self.is_main:
            write_json(self.config_file, {**self.settings, **self.info})
