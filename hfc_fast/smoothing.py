"""Kernel smoothing, the training-free defence of Wang et al. (CVPR 2020, Eq. 3, §6.3).

``w'[o, i, y, x] = w[o, i, y, x] + ρ · Σ`` over the 8 spatial neighbours of
(y, x) in the same kernel, neighbours outside the kernel replicated from its
edge, no renormalisation. Only the spatial axes are smoothed, never across
channels.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from hfc_fast import _ext
from hfc_fast._checks import check_number, check_real_floating
from hfc_fast._interop import array_interop
from hfc_fast.errors import InputError

__all__ = ["first_conv", "smooth_first_conv", "smooth_kernels", "smooth_kernels_reference"]


def _check_weight(weight) -> None:
    check_real_floating(weight, "weight")
    if weight.dim() != 4:
        raise InputError(f"weight must be 4-D (out_channels, in_channels, kh, kw), got shape {tuple(weight.shape)}")


def smooth_kernels_reference(weight: torch.Tensor, rho: float) -> torch.Tensor:
    """Plain-PyTorch :func:`smooth_kernels`: replicate-pad, then add the 8 shifted copies."""
    _check_weight(weight)
    rho = check_number(rho, "rho")
    kh, kw = weight.shape[-2:]
    if weight.numel() == 0:
        return weight.clone()
    work = weight.to(torch.float64 if weight.dtype == torch.float64 else torch.float32)
    padded = torch.nn.functional.pad(work.flatten(0, 1).unsqueeze(1), (1, 1, 1, 1), mode="replicate")
    padded = padded.squeeze(1).view(*weight.shape[:2], kh + 2, kw + 2)
    neighbours = torch.zeros_like(work)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                neighbours = neighbours + padded[..., 1 + dy : 1 + dy + kh, 1 + dx : 1 + dx + kw]
    return (work + rho * neighbours).to(weight.dtype)


@array_interop
def smooth_kernels(weight: torch.Tensor, rho: float) -> torch.Tensor:
    """Smooth every spatial kernel of a convolution weight (paper Eq. 3).

    Args:
        weight: (O, I, kh, kw) convolution weight, any kernel size.
        rho: smoothing strength ρ (the paper uses 0.1 to 1.0); finite.

    Returns:
        Tensor (O, I, kh, kw), contiguous, same dtype. Differentiable in ``weight``.
    """
    _check_weight(weight)
    rho = check_number(rho, "rho")
    if not _ext.use_compiled(weight):
        return smooth_kernels_reference(weight, rho)
    return torch.ops.hfc_fast.smooth_kernels(weight, rho)


def first_conv(model: nn.Module) -> nn.Conv2d:
    """The first ``nn.Conv2d`` of ``model`` in registration order."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module
    raise InputError(f"model must contain an nn.Conv2d layer; {type(model).__name__} has none")


def smooth_first_conv(model: nn.Module, rho: float, *, inplace: bool = False) -> nn.Module:
    """Apply :func:`smooth_kernels` to the first convolution of ``model``.

    Args:
        model: any module holding an ``nn.Conv2d``.
        rho: smoothing strength.
        inplace: change ``model`` itself; by default a deep copy is changed.

    Returns:
        The smoothed model (``model`` itself when ``inplace``).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    rho = check_number(rho, "rho")
    target = model if inplace else copy.deepcopy(model)
    conv = first_conv(target)
    with torch.no_grad():
        conv.weight.copy_(smooth_kernels(conv.weight.detach(), rho))
    return target


if _ext.LOADED:

    @torch.library.register_fake("hfc_fast::smooth_kernels")
    def _smooth_fake(weight, rho):
        return torch.empty_like(weight, memory_format=torch.contiguous_format)

    @torch.library.register_fake("hfc_fast::smooth_kernels_backward")
    def _smooth_backward_fake(grad, rho):
        return torch.empty_like(grad, memory_format=torch.contiguous_format)

    def _smooth_setup_context(ctx, inputs, output):
        ctx.rho = inputs[1]

    def _smooth_backward(ctx, grad):
        return torch.ops.hfc_fast.smooth_kernels_backward(grad, ctx.rho), None

    def _smooth_backward_setup_context(ctx, inputs, output):
        ctx.rho = inputs[1]

    def _smooth_backward_backward(ctx, grad):
        # The backward is linear in its input: its own gradient is the forward stencil.
        return torch.ops.hfc_fast.smooth_kernels(grad, ctx.rho), None

    torch.library.register_autograd(
        "hfc_fast::smooth_kernels", _smooth_backward, setup_context=_smooth_setup_context
    )
    torch.library.register_autograd(
        "hfc_fast::smooth_kernels_backward",
        _smooth_backward_backward,
        setup_context=_smooth_backward_setup_context,
    )
