"""Run files, every one written atomically: to a temporary file beside it, flushed to disk, then renamed.

A killed process leaves either the old file or the new one, never half of
one; a temporary file it leaves behind (``.<name>.<random>.tmp``) is removed
by the next run that claims the directory (:func:`remove_temporary_files`).
A write that fails (a full disk, a file-size limit) raises ``OSError`` naming
the file, and the previous version stays as it was.

Test hook: ``HFC_FAST_TEST_WRITE_PAUSE="<file name>=<seconds>"`` pauses after the
temporary file of that name is written and before it replaces the old one,
so that fault-injection tests can kill a process inside a write.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from pathlib import Path

from hfc_fast.errors import InputError
from hfc_fast.experiments.core import signals

TEMPORARY = ".*.tmp"  # glob of the temporary files _atomic_write makes


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _test_pause(name: str) -> None:
    hook = os.environ.get("HFC_FAST_TEST_WRITE_PAUSE", "")
    target, _, seconds = hook.partition("=")
    if target and target == name:
        time.sleep(float(seconds))


def _atomic_write(path: Path, data: bytes) -> Path:
    with signals.deferred():
        return _write_then_rename(Path(path), data)


def _write_then_rename(path: Path, data: bytes) -> Path:
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        _test_pause(path.name)
        os.replace(tmp, path)
    except OSError as err:
        failure = OSError(f"could not write {path}: {err.strerror or err}")
        failure.errno = err.errno
        raise failure from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path


def remove_temporary_files(folder: Path, *, recursive_into=("checkpoints", "partial")) -> list[Path]:
    """Remove the temporary files killed writers left in ``folder`` and its ``recursive_into`` sub-folders.

    Only call this while holding the folder's lock: a live writer's temporary file would go too.
    """
    folder = Path(folder)
    found = list(folder.glob(TEMPORARY))
    for sub in recursive_into:
        found += list((folder / sub).rglob(TEMPORARY))
    for path in found:
        path.unlink(missing_ok=True)
    return found


def slug(name: str) -> str:
    """``name`` as part of a file name: every character but letters and digits becomes ``-``, none at either
    end (``"adversarial (PGD 0.03)"`` → ``"adversarial--PGD-0-03"``)."""
    return "".join(c if c.isalnum() else "-" for c in name).strip("-")


def read_json(path: Path, what: str = "file"):
    """``path`` parsed as JSON; a ValueError naming the file when it is not."""
    try:
        return json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path} is not a readable {what} (invalid JSON: {err}); delete it or choose another "
                         "--out") from None


def write_json(path: Path, payload) -> Path:
    """Write ``payload`` as indented JSON, atomically."""
    return _atomic_write(path, (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode())


def save_figure(path: Path, figure) -> Path:
    """Save a matplotlib figure as PNG, atomically."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return _atomic_write(path, buffer.getvalue())


def save_and_close(path: Path, figure) -> Path:
    """Lay out ``figure``, save it as PNG atomically and release it (pyplot keeps figures alive otherwise)."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    try:
        return save_figure(path, figure)
    finally:
        plt.close(figure)


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` as UTF-8, atomically."""
    return _atomic_write(path, text.encode())


CHECKSUM = "_hfc_checksum"  # the key under which save_torch stores a dict's checksum


def checksum(obj) -> str:
    """A digest of ``obj``'s contents: every tensor's dtype, shape and bytes, every other value's ``repr``,
    containers walked in their order. A bit flipped in any tensor changes it."""
    import hashlib

    import torch

    h = hashlib.blake2b(digest_size=16)

    def walk(value):
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu().contiguous()
            h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(value, dict):
            h.update(b"{")
            for k, v in value.items():
                if k != CHECKSUM:
                    h.update(repr(k).encode())
                    walk(v)
            h.update(b"}")
        elif isinstance(value, list | tuple):
            h.update(b"[")
            for v in value:
                walk(v)
            h.update(b"]")
        else:
            h.update(repr(value).encode())

    walk(obj)
    return h.hexdigest()


def save_torch(path: Path, obj) -> Path:
    """``torch.save`` ``obj`` atomically (a killed run never leaves half a checkpoint); a dict is saved with its
    :func:`checksum`, which :func:`~hfc_fast.experiments.core.model_sources.checkpoint_state` checks."""
    import torch

    if isinstance(obj, dict):
        obj = {**obj, CHECKSUM: checksum(obj)}
    buffer = io.BytesIO()  # serialised in memory first, so that a failing disk gives a plain OSError
    torch.save(obj, buffer)
    return _atomic_write(path, buffer.getvalue())
