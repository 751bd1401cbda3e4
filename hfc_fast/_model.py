"""How the library's evaluations touch a model: where it lives, eval mode with its state put back, logits,
and the normalisation a model trained on normalised inputs needs after an instrument's transform.

The attacks, the frequency tracker and the Fourier maps run a caller's model
and must leave it as they found it; they share these pieces.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from hfc_fast.errors import InputError, NonFiniteError


class Normalize(nn.Module):
    """``model((resize(x) − mean) / std)``: the model sees what it was trained on while the split sees the
    [0, 1] pixels of the data as read.

    Args:
        model: the classifier.
        mean, std: per-channel sequences (e.g. ImageNet's).
        size: ``(H, W)`` the model takes; other images are resized (bilinear, antialiased) after the split.
    """

    def __init__(self, model: nn.Module, mean, std, size: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.model = model
        self.size = tuple(size) if size is not None else None
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x):
        if self.size is not None and tuple(x.shape[-2:]) != self.size:
            x = nn.functional.interpolate(x, size=self.size, mode="bilinear", align_corners=False, antialias=True)
        return self.model((x - self.mean) / self.std)


def model_device(model) -> torch.device:
    """The device of the model's first parameter (the CPU for a model without parameters or a plain callable)."""
    param = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
    return param.device if param is not None else torch.device("cpu")


@contextlib.contextmanager
def frozen_eval(model):
    """Run ``model`` in eval mode with frozen parameters; restore both afterwards.

    Every submodule's own ``training`` flag and every parameter's
    ``requires_grad`` are put back exactly, so an evaluation inside a training
    loop leaves the loop's state untouched. Freezing the parameters means a
    backward pass builds input gradients only and never writes ``.grad``.
    """
    if not isinstance(model, nn.Module):
        yield
        return
    modes = [(m, m.training) for m in model.modules()]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training
        for p, flag in flags:
            p.requires_grad_(flag)


def forward_logits(model, x: torch.Tensor, *, amp: bool) -> torch.Tensor:
    """``model(x)`` as logits (B, K), at least float32; under bfloat16 autocast when ``amp``.

    Non-finite logits are refused (:class:`~hfc_fast.errors.NonFiniteError`), naming whether the images or
    the model made them: a NaN would otherwise count as a wrong (or right) prediction.
    """
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
        logits = model(x)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or logits.shape[0] != x.shape[0]:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise InputError(f"model must return logits of shape (B, classes) = ({x.shape[0]}, K), got {shape}")
    if logits.numel() and not bool(torch.isfinite(logits.detach()).all()):
        rows = int((~torch.isfinite(logits.detach())).any(1).sum())
        if not bool(torch.isfinite(x.detach()).all()):
            raise NonFiniteError(f"the images hold NaN or infinite pixels, so the model's logits are not finite "
                                 f"({rows} of {len(x)} images)")
        raise NonFiniteError(f"the model returned NaN or infinite logits for {rows} of {len(x)} images (non-finite "
                             "weights, or a layer that overflows): no accuracy can be measured from them")
    # low-precision logits (autocast) are scored in float32; float64 models keep their precision
    return logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits


@torch.no_grad()
def probe_classes(model, shape, *, device=None, what: str = "the model") -> int:
    """The number of classes ``model`` scores, from one forward pass of a zero image of ``shape`` (C, H, W)
    in eval mode (its modes put back). An image size the model cannot take is refused in one line."""
    device = torch.device(device) if device is not None else model_device(model)
    with frozen_eval(model):
        try:
            logits = model(torch.zeros(1, *shape, device=device))
        except RuntimeError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise InputError(f"{what} cannot take {'×'.join(map(str, shape))} images ({first}): choose a larger "
                             "image size or another model") from None
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        shape_out = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise InputError(f"{what} must return logits of shape (B, classes), got {shape_out}")
    return int(logits.shape[1])


PROBABILITIES = "probabilities (rows in [0, 1] summing to 1)"
LOG_PROBABILITIES = "log-probabilities (rows with logsumexp 0)"


@torch.no_grad()
def normalised_output(logits: torch.Tensor) -> str | None:
    """:data:`PROBABILITIES` or :data:`LOG_PROBABILITIES` when every row of ``logits`` (B, K) looks like one
    (a model ending in softmax or log_softmax), else None."""
    if logits.numel() == 0 or logits.shape[1] < 2:
        return None
    rows = logits.sum(dim=1)
    if bool(((logits >= 0) & (logits <= 1)).all()) and bool(torch.allclose(rows, torch.ones_like(rows), atol=1e-4)):
        return PROBABILITIES
    if bool((logits <= 0).all()) and bool(
            torch.allclose(torch.logsumexp(logits, 1), torch.zeros_like(rows), atol=1e-4)):
        return LOG_PROBABILITIES
    return None
