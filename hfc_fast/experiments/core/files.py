"""Run files, every one written atomically (write to a temporary file, then rename)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_json(path: Path, payload) -> Path:
    """Write ``payload`` as indented JSON, atomically."""
    data = (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode()
    return _atomic_write(path, lambda f: f.write(data))


def save_figure(path: Path, figure) -> Path:
    """Save a matplotlib figure as PNG, atomically."""
    return _atomic_write(path, lambda f: figure.savefig(f, format="png", dpi=110, bbox_inches="tight"))


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
    data = text.encode()
    return _atomic_write(path, lambda f: f.write(data))


def save_torch(path: Path, obj) -> Path:
    """``torch.save`` ``obj`` atomically (a killed run never leaves half a checkpoint)."""
    import torch

    return _atomic_write(path, lambda f: torch.save(obj, f))
