"""What an attack returns, and how its radii fill it (nested balls)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class AttackResult:
    """Outcome of one attack call over a batch of B images and E values of ε.

    Attributes:
        eps: the E radii, ascending.
        fooled: (E, B) bool; ``fooled[k, i]`` when some iterate within ``eps[k]``
            fooled image i (nested balls: a success at a smaller ε counts at
            every larger one). Images misclassified to begin with count as fooled.
        clean_correct: (B,) bool, the model was right on the clean image (for a
            targeted attack: the clean prediction was not already the target).
        adversarials: (E, B, ...) the first fooling iterate of each image (its
            final iterate when none fooled it), or ``None`` unless asked for.
        forwards, backwards: images passed forward / backward through the model.
        method: name and settings of the attack.
    """

    eps: tuple[float, ...]
    fooled: torch.Tensor
    clean_correct: torch.Tensor
    adversarials: torch.Tensor | None = None
    forwards: int = 0
    backwards: int = 0
    method: dict = field(default_factory=dict)

    @property
    def clean_accuracy(self) -> float:
        """Share of images the model gets right unattacked."""
        return float(self.clean_correct.float().mean()) if self.clean_correct.numel() else float("nan")

    @property
    def robust_accuracy(self) -> tuple[float, ...]:
        """Per ε, the share of images no iterate fooled."""
        if self.fooled.shape[1] == 0:
            return tuple(float("nan") for _ in self.eps)
        return tuple(float(v) for v in (~self.fooled).float().mean(dim=1))

    def to_dict(self) -> dict:
        """JSON-ready summary (no tensors)."""
        return {
            "method": self.method,
            "eps": list(self.eps),
            "n": int(self.clean_correct.numel()),
            "clean_accuracy": self.clean_accuracy,
            "robust_accuracy": list(self.robust_accuracy),
            "forwards": self.forwards,
            "backwards": self.backwards,
        }


def nested_balls(x: torch.Tensor, clean_fooled: torch.Tensor, eps: tuple[float, ...], *, runs: int,
                 early_exit: bool, return_adversarials: bool, attack_ball,
                 upto: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:class:`AttackResult`'s ``fooled`` (E, B) and ``adversarials`` over the ascending radii ``eps``.

    At each ε an image fooled at a smaller one counts fooled (with early exit its adversarial is carried
    over); then, ``runs`` times (restarts, targets), ``attack_ball(k, run, idx, fooled_row, adv_row)``
    attacks images ``idx`` within ``eps[k]``, marking ``fooled_row`` and filling ``adv_row`` in place: the
    images not fooled yet with early exit, else all of them; with ``upto`` ((B,) counts), only the images
    with ``upto > k`` (image i is attacked within its first ``upto[i]`` radii only). ε = 0 attacks nothing.
    """
    fooled = clean_fooled.unsqueeze(0).repeat(len(eps), 1)
    adversarials = x.detach().unsqueeze(0).repeat(len(eps), *([1] * x.dim())) if return_adversarials else None
    for k, e in enumerate(eps):
        if k > 0:  # nested balls: what fooled at a smaller ε fools here too
            carried = fooled[k - 1] & ~clean_fooled
            fooled[k] |= fooled[k - 1]
            if adversarials is not None and early_exit:
                adversarials[k][carried] = adversarials[k - 1][carried]
        if e == 0:
            continue
        asked = torch.ones(len(x), dtype=torch.bool, device=x.device) if upto is None else upto > k
        for run in range(runs):
            idx = (asked & ~fooled[k] if early_exit else asked).nonzero().squeeze(1)
            if idx.numel() == 0:
                break
            attack_ball(k, run, idx, fooled[k], adversarials[k] if adversarials is not None else None)
    return fooled, adversarials
