"""Loads the compiled operators (``hfc_fast._C``) and says which backend is active.

Importing hfc_fast never fails because ``_C`` is missing or broken: the public
functions then run their pure-PyTorch references. That is several times
slower, so it is never silent: the import warns once (a ``UserWarning`` with
the reason and the command that rebuilds ``_C``), and :func:`backend_info`
says the same. ``HFC_FAST_BACKEND=reference`` chooses the references on
purpose, without a warning.

The build writes ``_build.json`` beside ``_C`` (the torch and CUDA it was
built against, and its CUDA architectures), so that a failed load can say
which torch ``_C`` expects against the one running.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import warnings
from pathlib import Path

import torch

_FORCED_REFERENCE = os.environ.get("HFC_FAST_BACKEND", "").lower() == "reference"
_PACKAGE = Path(__file__).resolve().parent
BUILD_RECORD = _PACKAGE / "_build.json"


def build_record() -> dict:
    """What ``_C`` was built against, or ``{}`` when unknown.

    Keys: ``torch`` (its version), ``torch_cuda`` (its CUDA version, None for a
    CPU build), ``cuda_kernels`` (whether _C has them), ``cuda_arch_list``,
    ``python``.
    """
    try:
        record = json.loads(BUILD_RECORD.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def rebuild_command() -> str:
    """The command that rebuilds ``_C`` against the torch that is running."""
    python = sys.executable or "python"
    source = _PACKAGE.parent
    if (source / "setup.py").is_file():  # an editable install or a source checkout
        return f"cd {source} && {python} -m pip install --no-build-isolation --no-deps -e ."
    return (f"{python} -m pip install --no-build-isolation --no-deps --force-reinstall <hfc_fast source folder> "
            f"(in the environment of the torch you run)")


def _version(v: str | None) -> str:
    return v.split("+")[0] if v else ""


def explain_failure(err: BaseException, record: dict, running_torch: str, running_cuda: str | None) -> str:
    """Why ``_C`` did not load, in words a user can act on.

    ``record`` is the build record (:func:`build_record`); ``running_torch`` and
    ``running_cuda`` are ``torch.__version__`` and ``torch.version.cuda``.
    """
    message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    built_torch = record.get("torch")
    against = ""
    if built_torch:
        against = f"built against torch {built_torch}" + (
            " with CUDA kernels" if record.get("cuda_kernels") else " (CPU kernels only)")
    running = f"torch {running_torch}" + (f" (CUDA {running_cuda})" if running_cuda else " (CPU only)")
    if isinstance(err, ModuleNotFoundError):
        built = sorted(p.name for p in _PACKAGE.glob("_C*") if p.suffix in (".so", ".pyd"))
        if not built:
            return "hfc_fast._C is not built (a pure-Python install, or the build was skipped)"
        return (f"hfc_fast._C was built for another Python ({', '.join(built)}; this is Python "
                f"{sys.version.split()[0]})")
    missing = re.search(r"(lib[\w.+-]+\.so[\w.]*): cannot open shared object file", message)
    if missing:
        lib = missing.group(1)
        if ("cuda" in lib or lib.startswith(("libcu", "libnv"))) and record.get("cuda_kernels") \
                and not running_cuda:
            return f"hfc_fast._C was {against}, but the running {running} has no CUDA support ({lib} is missing)"
        if "torch" in lib or "c10" in lib:
            return f"hfc_fast._C was {against or 'built'} and needs {lib}, which the running {running} lacks"
        return f"a library hfc_fast._C needs is missing: {lib}" + (
            f" (_C was {against}; running {running})" if against else "")
    if built_torch and _version(built_torch) != _version(running_torch):
        return f"hfc_fast._C was {against}, but {running} is running ({message})"
    if "undefined symbol" in message:
        return f"hfc_fast._C does not match the running {running} (an ABI mismatch: {message})" + (
            f"; it was {against}" if against else "")
    return f"hfc_fast._C failed to load: {type(err).__name__}: {message}"


def _load() -> tuple[bool, str]:
    if _FORCED_REFERENCE:
        return False, "HFC_FAST_BACKEND=reference is set"
    try:
        importlib.import_module("hfc_fast._C")  # loading registers the operators
    except Exception as err:  # a broken build must not break the import
        return False, explain_failure(err, build_record(), torch.__version__, torch.version.cuda)
    if not hasattr(torch.ops.hfc_fast, "frequency_split"):
        return False, "hfc_fast._C loaded but registered no operators"
    return True, "hfc_fast._C loaded"


def _warn(text: str) -> None:
    warnings.warn(f"hfc_fast: {text}", UserWarning, stacklevel=3)


LOADED, _REASON = _load()
if not LOADED and not _FORCED_REFERENCE:
    _warn(f"the compiled operators are not in use and the pure-PyTorch references (several times slower) run "
          f"instead: {_REASON}. Rebuild: {rebuild_command()}; or set HFC_FAST_BACKEND=reference to choose "
          f"the references without this warning.")
# Fixed once _C is loaded; asked here so that calls on CUDA tensors need not.
_CUDA_KERNELS = LOADED and "cuda" in torch.ops.hfc_fast._build_info()
_WARNED_NO_CUDA_KERNELS = False


def _no_cuda_kernels() -> None:
    """A CUDA tensor reached a build without CUDA kernels: say so once."""
    global _WARNED_NO_CUDA_KERNELS
    if _WARNED_NO_CUDA_KERNELS:
        return
    _WARNED_NO_CUDA_KERNELS = True
    _warn(f"hfc_fast._C was built without CUDA kernels, so CUDA tensors run the pure-PyTorch references. "
          f"Rebuild with the CUDA toolkit (nvcc) at hand: FORCE_CUDA=1 {rebuild_command()}")


def use_compiled(*tensors: torch.Tensor) -> bool:
    """True when the compiled operators exist for the devices of ``tensors``."""
    if not LOADED:
        return False
    for t in tensors:
        if t.device.type == "cuda" and not _CUDA_KERNELS:
            _no_cuda_kernels()
            return False
        if t.device.type not in ("cpu", "cuda", "meta"):
            return False
    return True


def backend_info() -> dict:
    """Which backend the public functions use, and why.

    Returns a dict with ``backend`` (``"compiled"`` or ``"reference"``),
    ``reason``, ``cpu_kernels``, ``cuda_kernels``, ``cuda_available``,
    ``torch`` (the running version), ``built_against`` (the torch and CUDA
    ``_C`` was built with, ``"unknown"`` without a build record),
    ``cuda_arch_list`` (the architectures its CUDA kernels were compiled for)
    and, when the references run without being asked for, ``rebuild`` (the
    command that rebuilds ``_C``).
    """
    record = build_record()
    built = "unknown"
    if record.get("torch"):
        built = f"torch {record['torch']}" + (" with CUDA kernels" if record.get("cuda_kernels") else
                                              " (CPU kernels only)")
    info = {
        "backend": "compiled" if LOADED else "reference",
        "reason": _REASON,
        "cpu_kernels": LOADED,
        "cuda_kernels": _CUDA_KERNELS,
        "cuda_available": torch.cuda.is_available(),
        "torch": torch.__version__,
        "built_against": built,
        "cuda_arch_list": record.get("cuda_arch_list") or "",
    }
    if not LOADED and not _FORCED_REFERENCE:
        info["rebuild"] = rebuild_command()
    return info
