"""How an attack reads the model: the labels and logits check, the loss to ascend, what counts as fooled
(eval mode, frozen parameters and the logits themselves: :mod:`hfc_fast._model`)."""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F

from hfc_fast._model import forward_logits, normalised_output
from hfc_fast.errors import InputError


def check_logits(logits: torch.Tensor, y: torch.Tensor, *, stacklevel: int = 3) -> None:
    """Labels must name one of the model's classes; warn when ``logits`` look like probabilities.

    Attacks differentiate cross-entropy on logits; a model ending in softmax
    saturates that loss and its gradients vanish, so attacks look stronger
    defences than they are.
    """
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= logits.shape[1]):
        raise InputError(f"y must hold class labels in [0, {logits.shape[1]}) for a model of {logits.shape[1]} "
                         f"classes, got labels from {int(y.min())} to {int(y.max())}")
    kind = normalised_output(logits)
    if kind is None:
        return
    warnings.warn(
        f"model output looks like {kind}; attacks expect raw logits, and a softmax at the end "
        "saturates the loss so its gradients vanish. Remove the final softmax/log_softmax.",
        stacklevel=stacklevel,  # the warning names the caller of the attack
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


def clean_logits(model, x: torch.Tensor, y: torch.Tensor, *, amp: bool, classes: int, what: str) -> torch.Tensor:
    """The clean pass an attack starts with: the logits of ``x``, checked against ``y``
    (:func:`check_logits`), from a model of at least ``classes`` classes (else an :class:`InputError`
    saying that ``what`` needs them)."""
    logits = forward_logits(model, x, amp=amp)
    check_logits(logits, y, stacklevel=4)
    if logits.shape[1] < classes:
        raise InputError(f"{what} needs a model of at least {classes} classes, got {logits.shape[1]}")
    return logits


def ranked_targets(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(B, K) classes by clean logit, highest first, the true class last: column i is the target ranked
    i + 2nd (the targeted attacks aim at these in turn)."""
    return logits.scatter(1, y[:, None], float("-inf")).argsort(dim=1, descending=True)

