"""How an attack reads the model: the labels and logits check, the loss to ascend, what counts as fooled
(eval mode, frozen parameters and the logits themselves: :mod:`hfc_fast._model`)."""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F

from hfc_fast._model import normalised_output
from hfc_fast.errors import InputError


def check_logits(logits: torch.Tensor, y: torch.Tensor) -> None:
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
