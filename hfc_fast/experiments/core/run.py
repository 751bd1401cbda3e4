"""A command's run context: its claimed run directory, its process group, cached stages, files and finish.

It knows nothing of data or training (:class:`~hfc_fast.experiments.core.experiment.Experiment` adds those):
it claims the run directory (``config.json``, the one settings check), joins the process group under
``torchrun`` (only rank 0 writes files), caches stages as ``<stage>.json`` keyed by the models they
measured, and writes ``results.json`` and the report.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from hfc_fast.experiments.core import distributed
from hfc_fast.experiments.core.files import checksum, write_json, write_text
from hfc_fast.experiments.core.pages import write_page
from hfc_fast.experiments.core.rundir import RunDirectory

STAGE_INPUTS = "_stage_inputs"  # the key under which a stage file records the digest of the models it measured


class RunContext:
    """The run directory ``out`` of command ``name``, claimed with ``settings``.

    Args:
        name: the command (``"table1"``, ``"detect train"``).
        out: the run directory.
        settings: what ``config.json`` records and a rerun must repeat.
        resumable: settings a rerun may change.
        device: the device option (``auto``, ``cpu``, ``cuda``, ``cuda:N``) the process group is set up on.
        progress: print progress lines.
        fresh: start over rather than continue what ``out`` holds.
    """

    def __init__(self, name: str, out: Path, settings: dict, *, resumable=("device",), device: str = "auto",
                 progress: bool = True, fresh: bool = False) -> None:
        self.name = name
        self.out = Path(out)
        self.progress = progress
        self._inputs: dict[str, str] = {}
        self.dist = distributed.setup(device)
        self.dir = RunDirectory(self.out, is_main=self.dist.is_main)
        self.started = time.perf_counter()
        try:
            self.dir.claim(name, settings, resumable=resumable, fresh=fresh)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ files
    def uses(self, name: str, model=None, *, digest: str | None = None, extra=None) -> None:
        """Record that what follows depends on model ``name`` (its weights' :func:`checksum`, or ``digest``,
        and ``extra`` such as a normalisation): stages computed from now on are keyed by it, so a model
        trained further, or other weights under the same path, is measured again rather than read back."""
        if digest is None:
            digest = checksum(model.state_dict() if hasattr(model, "state_dict") else model)
        self._inputs[name] = digest if extra is None else f"{digest}:{json.dumps(extra, default=str)}"

    def inputs_key(self) -> str | None:
        """A digest of the models used so far (:meth:`uses`), or None when none was recorded."""
        if not self._inputs:
            return None
        return hashlib.sha256(json.dumps(self._inputs, sort_keys=True).encode()).hexdigest()[:16]

    def partial_dir(self) -> Path:
        """Where counts of an interrupted pass are saved: ``partial/``, under the digest of the models used
        (:meth:`inputs_key`), so that counts of another model are never continued."""
        key = self.inputs_key()
        return self.out / "partial" / key if key else self.out / "partial"

    def stage(self, name: str, compute):
        """``name``'s result: read back from ``name.json`` when finished before from the same models, else
        computed and written.

        A stage computed after :meth:`uses` (or :meth:`trained`) records the digest of those models; when
        they have changed since (a checkpoint trained further, new weights), it is computed again, with a
        note. Every rank computes (attacks and evaluations shard their batches); rank 0 writes.
        """
        path = self.out / f"{name}.json"
        key = self.inputs_key()
        if path.exists():
            saved = json.loads(path.read_text())
            if key is None:
                self.log(f"{name}: done before, reusing {path}")
                return saved
            if isinstance(saved, dict) and saved.get(STAGE_INPUTS) == key:
                self.log(f"{name}: done before with the same models, reusing {path}")
                return saved["result"]
            self.notice(f"{name}: the models it measured have changed since {path} was written: measuring again")
        self.log(f"{name} ...")
        result = compute()
        if self.dist.is_main:
            write_json(path, result if key is None else {STAGE_INPUTS: key, "result": result})
        self.dist.barrier()
        return result

    def notice(self, message: str) -> None:
        """A line printed on rank 0 even without progress output."""
        if self.dist.is_main:
            print(f"{self.name}: {message}", flush=True)

    def log(self, message: str) -> None:
        if self.progress and self.dist.is_main:
            print(f"{self.name}: {message}", flush=True)

    def write_text(self, relative: str, text: str) -> None:
        if self.dist.is_main:
            write_text(self.out / relative, text)

    def figure(self, draw, relative: str, *args, **kwargs) -> None:
        """``draw(*args, path, **kwargs)`` into ``out/relative`` on rank 0 (figures are drawn once)."""
        if self.dist.is_main:
            draw(*args, self.out / relative, **kwargs)

    def finish(self, results: dict, report: str | None = None, *, results_file: str = "results.json") -> dict:
        """Write ``results.json`` (or ``results_file``) and the report; returns ``results`` with the run time
        added."""
        results = {**results, "seconds": time.perf_counter() - self.started, "world_size": self.dist.world}
        if self.dist.is_main:
            write_json(self.out / results_file, results)
            if report is not None:
                write_page(self.out, report, title=f"hfc {self.name}")
        self.dist.barrier()
        return results

    def close(self) -> None:
        self.dir.release()
        self.dist.close()
