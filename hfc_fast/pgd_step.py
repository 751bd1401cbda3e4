"""The fused in-place L∞ PGD step.

``x ← clip(x0 + clip(x + α·sign(g) − x0, −ε, ε), lo, hi)``, with ε and α
numbers or per-sample tensors of shape (B,). One pass over memory instead of
the six temporaries of the same update written as torch ops.
"""

from __future__ import annotations

import numbers

import torch

from hfc_fast import _ext
from hfc_fast._checks import check_number, check_real_floating
from hfc_fast.errors import InputError

__all__ = ["pgd_step_", "pgd_step_reference_"]


def _check_step_args(x_adv, grad, x0, eps, alpha, lo, hi):
    for name, t in (("x_adv", x_adv), ("grad", grad), ("x0", x0)):
        check_real_floating(t, name)
    for name, t in (("grad", grad), ("x0", x0)):
        if t.device != x_adv.device:
            raise InputError(f"{name} must be on the same device as x_adv ({x_adv.device}), got {t.device}")
        if t.shape != x_adv.shape:
            raise InputError(f"{name} must have the shape of x_adv {tuple(x_adv.shape)}, got {tuple(t.shape)}")
        if t.dtype != x_adv.dtype:
            raise TypeError(f"{name} must have the dtype of x_adv ({x_adv.dtype}), got {t.dtype}")
    batch = x_adv.shape[0] if x_adv.dim() > 0 else 1
    for name, value in (("eps", eps), ("alpha", alpha)):
        if isinstance(value, torch.Tensor):
            check_real_floating(value, name)
            if value.device != x_adv.device:
                raise InputError(f"{name} must be on the same device as x_adv ({x_adv.device}), got {value.device}")
            if not (value.numel() == 1 or (value.dim() == 1 and value.numel() == batch)):
                raise InputError(
                    f"{name} must be a number or a tensor of shape ({batch},) with one value per sample, "
                    f"got shape {tuple(value.shape)}"
                )
            if not torch.compiler.is_compiling():  # one device sync; values are data under compile
                if not bool(torch.isfinite(value).all()):
                    raise InputError(f"{name} must hold finite numbers, got NaN or infinite values")
                if name == "eps" and bool((value < 0).any()):
                    raise InputError("eps must be non-negative")
        elif not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise TypeError(f"{name} must be a number or a tensor, got {type(value).__name__}")
    if not isinstance(eps, torch.Tensor):
        check_number(eps, "eps", minimum=0.0)
    if not isinstance(alpha, torch.Tensor):
        check_number(alpha, "alpha")
    lo = check_number(lo, "lo")
    hi = check_number(hi, "hi")
    if lo > hi:
        raise InputError(f"lo must not exceed hi, got lo={lo} hi={hi}")


def _per_sample(value, x: torch.Tensor, dtype: torch.dtype):
    if not isinstance(value, torch.Tensor):
        return float(value)
    return value.reshape(-1).to(dtype).view(-1, *([1] * (x.dim() - 1)))


@torch.no_grad()
def pgd_step_reference_(x_adv, grad, x0, eps, alpha, lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
    """Plain-PyTorch :func:`pgd_step_` (the same update as separate torch ops)."""
    _check_step_args(x_adv, grad, x0, eps, alpha, lo, hi)
    work = torch.float64 if x_adv.dtype == torch.float64 else torch.float32
    e = _per_sample(eps, x_adv, work)
    a = _per_sample(alpha, x_adv, work)
    x, g, origin = x_adv.to(work), grad.to(work), x0.to(work)
    step = x + a * torch.sign(g) - origin
    delta = torch.maximum(torch.minimum(step, torch.as_tensor(e, dtype=work, device=x.device)),
                          -torch.as_tensor(e, dtype=work, device=x.device))
    x_adv.copy_(torch.clamp(origin + delta, float(lo), float(hi)))
    return x_adv


def _dense_views(x_adv, grad, x0):
    """Channels-last (B, C, H, W) tensors as contiguous (B, H, W, C) views: the kernel
    then runs on them in place instead of on contiguous copies; batch stays first,
    so per-sample ε and α still line up."""
    tensors = (x_adv, grad, x0)
    if x_adv.dim() == 4 and not x_adv.is_contiguous() and all(
            t.is_contiguous(memory_format=torch.channels_last) for t in tensors):
        return tuple(t.permute(0, 2, 3, 1) for t in tensors)
    return tensors


@torch.no_grad()
def pgd_step_(x_adv: torch.Tensor, grad: torch.Tensor, x0: torch.Tensor, eps, alpha,
              lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
    """One L∞ PGD step, in place on ``x_adv``.

    Args:
        x_adv: (B, ...) current iterate; overwritten.
        grad: (B, ...) loss gradient at ``x_adv`` (only its sign is used).
        x0: (B, ...) clean inputs, the centre of the ε-ball.
        eps: radius of the ball, a number or a (B,) tensor (one per sample).
        alpha: step size, a number or a (B,) tensor.
        lo, hi: pixel box.

    Returns:
        ``x_adv``.
    """
    _check_step_args(x_adv, grad, x0, eps, alpha, lo, hi)
    return pgd_step_unchecked_(x_adv, grad, x0, eps, alpha, lo, hi)


@torch.no_grad()
def pgd_step_unchecked_(x_adv, grad, x0, eps, alpha, lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
    """:func:`pgd_step_` without its argument checks (and their device syncs), for the attack engines, whose
    iterates, gradients, radii and steps are valid by construction."""
    if not _ext.use_compiled(x_adv):
        return pgd_step_reference_(x_adv, grad, x0, eps, alpha, lo, hi)
    eps_t = eps if isinstance(eps, torch.Tensor) else None
    alpha_t = alpha if isinstance(alpha, torch.Tensor) else None
    x_view, grad, x0 = _dense_views(x_adv, grad, x0)
    torch.ops.hfc_fast.pgd_step_(
        x_view, grad, x0, eps_t, alpha_t,
        0.0 if eps_t is not None else float(eps),
        0.0 if alpha_t is not None else float(alpha),
        float(lo), float(hi),
    )
    return x_adv


if _ext.LOADED:

    @torch.library.register_fake("hfc_fast::pgd_step_")
    def _pgd_step_fake(x_adv, grad, x0, eps_per_sample, alpha_per_sample, eps, alpha, lo, hi):
        return None
