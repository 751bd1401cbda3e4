"""Loads the compiled operators (``hfc_fast._C``) and says which backend is active.

Importing hfc_fast never fails because ``_C`` is missing or broken: the public
functions then run their pure-PyTorch references, and :func:`backend_info`
says so and why. Set ``HFC_FAST_BACKEND=reference`` to force the references.
"""

from __future__ import annotations

import os

import torch

_FORCED_REFERENCE = os.environ.get("HFC_FAST_BACKEND", "").lower() == "reference"


def _load() -> tuple[bool, str]:
    if _FORCED_REFERENCE:
        return False, "HFC_FAST_BACKEND=reference is set"
    try:
        from hfc_fast import _C  # noqa: F401  (loading registers the operators)
    except ImportError as err:
        return False, f"hfc_fast._C is not built or failed to load ({err})"
    except Exception as err:  # a broken build must not break the import
        return False, f"hfc_fast._C failed to load: {type(err).__name__}: {err}"
    if not hasattr(torch.ops.hfc_fast, "frequency_split"):
        return False, "hfc_fast._C loaded but registered no operators"
    return True, "hfc_fast._C loaded"


LOADED, _REASON = _load()
# Fixed once _C is loaded; asked here so that calls on CUDA tensors need not.
_CUDA_KERNELS = LOADED and "cuda" in torch.ops.hfc_fast._build_info()


def use_compiled(*tensors: torch.Tensor) -> bool:
    """True when the compiled operators exist for the devices of ``tensors``."""
    if not LOADED:
        return False
    for t in tensors:
        if t.device.type == "cuda" and not _CUDA_KERNELS:
            return False
        if t.device.type not in ("cpu", "cuda", "meta"):
            return False
    return True


def backend_info() -> dict:
    """Which backend the public functions use, and why.

    Returns a dict with ``backend`` (``"compiled"`` or ``"reference"``),
    ``reason``, ``cpu_kernels``, ``cuda_kernels``, ``cuda_available`` and
    ``torch`` (the version string).
    """
    return {
        "backend": "compiled" if LOADED else "reference",
        "reason": _REASON,
        "cpu_kernels": LOADED,
        "cuda_kernels": _CUDA_KERNELS,
        "cuda_available": torch.cuda.is_available(),
        "torch": torch.__version__,
    }
