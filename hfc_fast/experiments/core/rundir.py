"""Claiming a run directory: the one settings check every command and every training run goes through.

A run directory's ``config.json`` records the command that wrote it and its
settings. A rerun into the same directory continues that run (finished parts
are reused); a directory that holds another command's run, or the same command
with other settings, is refused with an error naming each setting that
differs, except the settings a command lets a rerun change (its device, say).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hfc_fast.experiments.core.files import write_json

CHECKPOINT = Path("checkpoints") / "last.pt"  # where a training run keeps its last epoch


def as_json(settings: dict) -> dict:
    """``settings`` as they read back from ``config.json`` (paths as text, tuples as lists)."""
    return json.loads(json.dumps(settings, default=str))


class RunDirectory:
    """A run directory and its ``config.json``; only the main process (rank 0 under torchrun) writes."""

    def __init__(self, path: str | Path, *, is_main: bool | None = None) -> None:
        self.path = Path(path)
        self.is_main = int(os.environ.get("RANK", "0")) == 0 if is_main is None else is_main
        self.settings: dict = {}
        self.info: dict = {}

    @property
    def config_file(self) -> Path:
        return self.path / "config.json"

    def saved(self) -> dict | None:
        """The settings a previous run recorded, or None."""
        if not self.config_file.exists():
            return None
        return json.loads(self.config_file.read_text())

    def holds_training(self) -> bool:
        """Whether a training run has finished an epoch here."""
        return (self.path / CHECKPOINT).exists() or (self.path / "metrics.jsonl").exists()

    def claim(self, command: str, settings: dict, *, resumable=(), fresh: bool = False) -> dict:
        """Record ``settings`` of ``command`` in ``config.json``, refusing a directory that holds another run.

        Args:
            command: the command writing this directory.
            settings: the run's settings (JSON-serialisable once paths are text).
            resumable: settings a rerun may change.
            fresh: a training that must start anew (no ``--resume``): a directory holding one is refused.

        Returns:
            the settings as recorded.
        """
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
        self.settings = settings
        self.record()
        return settings

    def record(self, **info) -> None:
        """(Re)write ``config.json``: the claimed settings and ``info`` about the run (not compared on rerun)."""
        self.info.update(as_json(info))
        if self.is_main:
            write_json(self.config_file, {**self.settings, **self.info})
