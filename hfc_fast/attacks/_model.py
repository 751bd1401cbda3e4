"""How an attack touches the model: eval mode, input gradients only, logits check."""

from __future__ import annotations

import contextlib
import warnings

import torch
import torch.nn.functional as F
from torch import nn


@contextlib.contextmanager
def attack_mode(model):
    """Run ``model`` in eval mode with frozen parameters; restore both afterwards.

    Every submodule's own ``training`` flag and every parameter's
    ``requires_grad`` are put back exactly, so an attack inside a training loop
    leaves the loop's state untouched. Freezing the parameters means the
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
    """``model(x)`` as logits (B, K), at least float32; under bfloat16 autocast when ``amp``."""
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
        logits = model(x)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or logits.shape[0] != x.shape[0]:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"model must return logits of shape (B, classes) = ({x.shape[0]}, K), got {shape}")
    # low-precision logits (autocast) are scored in float32; float64 models keep their precision
    return logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits


def check_logits(logits: torch.Tensor, y: torch.Tensor) -> None:
    """Labels must name one of the model's classes; warn when ``logits`` look like probabilities.

    Attacks differentiate cross-entropy on logits; a model ending in softmax
    saturates that loss and its gradients vanish, so attacks look stronger
    defences than they are.
    """
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= logits.shape[1]):
        raise ValueError(f"y must hold class labels in [0, {logits.shape[1]}) for a model of {logits.shape[1]} "
                         f"classes, got labels from {int(y.min())} to {int(y.max())}")
    if logits.numel() == 0 or logits.shape[1] < 2:
        return
    with torch.no_grad():
        rows = logits.sum(dim=1)
        if bool(((logits >= 0) & (logits <= 1)).all()) and bool(torch.allclose(rows, torch.ones_like(rows), atol=1e-4)):
            kind = "probabilities (rows in [0, 1] summing to 1)"
        elif bool((logits <= 0).all()) and bool(
            torch.allclose(torch.logsumexp(logits, 1), torch.zeros_like(rows), atol=1e-4)
        ):
            kind = "log-probabilities (rows with logsumexp 0)"
        else:
            return
    warnings.warn(
        f"model output looks like {kind}; attacks expect raw logits, and a softmax at the end "
        "saturates the loss so its gradients vanish. Remove the final softmax/log_softmax.",
        stacklevel=3,
    )


def attack_loss(logits: torch.Tensor, y: torch.Tensor, targeted: bool) -> torch.Tensor:
    """Summed loss to ascend: cross-entropy to ``y``, negated when ``y`` is the target.

    A sum, not a mean, so each sample's input gradient does not depend on
    how many others share the batch.
    """
    loss = F.cross_entropy(logits, y, reduction="sum")
    return -loss if targeted else loss


def is_fooled(logits: torch.Tensor, y: torch.Tensor, targeted: bool) -> torch.Tensor:
    """(B,) bool: the prediction left ``y`` (untargeted) or reached it (targeted)."""
    pred = logits.argmax(dim=1)
    return pred == y if targeted else pred != y
