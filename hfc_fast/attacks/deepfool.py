"""DeepFool (Moosavi-Dezfooli et al., 2016): the smallest step across the nearest linearised boundary.

Each iteration linearises every class margin ``f_k − f_y`` at the current
point and steps onto the closest of those hyperplanes (lecture notes,
Corollary 1, applied to each class pair):

* L2:   ``r = (|f'_l| + ξ) / ‖w_l‖₂² · w_l``,       l = argmin_k |f'_k| / ‖w_k‖₂
* L∞:   ``r = (|f'_l| + ξ) / ‖w_l‖₁ · sign(w_l)``,  l = argmin_k |f'_k| / ‖w_k‖₁

with ``w_k = ∇(f_k − f_y)``; the steps add up to ``r_tot`` and the iterate is
``clip(x0 + (1 + overshoot)·r_tot, lo, hi)``. For a two-class linear model one
iteration lands on the closed-form minimum-L2 point (lecture Theorem 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from hfc_fast._checks import check_number
from hfc_fast._model import forward_logits, frozen_eval
from hfc_fast.attacks._inputs import check_batch, check_count
from hfc_fast.attacks._model import check_logits
from hfc_fast.errors import InputError

__all__ = ["DeepFoolResult", "deepfool"]

_PUSH = 1e-4  # ξ: lands strictly past the linearised boundary instead of on it


@dataclass
class DeepFoolResult:
    """Minimal perturbations found by :func:`deepfool` for B images.

    Attributes:
        adversarials: (B, ...) the perturbed images (x itself where the clean
            prediction was already wrong).
        fooled: (B,) bool, the final point is misclassified.
        clean_correct: (B,) bool.
        norms: (B,) size of ``adversarials − x`` in the attack's norm.
        image_norms: (B,) size of ``x`` in the same norm.
        iterations: (B,) linearisation steps each image needed.
        forwards, backwards: images passed forward / backward (one backward
            per candidate class).
    """

    adversarials: torch.Tensor
    fooled: torch.Tensor
    clean_correct: torch.Tensor
    norms: torch.Tensor
    image_norms: torch.Tensor
    iterations: torch.Tensor
    forwards: int = 0
    backwards: int = 0
    method: dict = field(default_factory=dict)

    @property
    def robustness(self) -> float:
        """Mean of ‖r‖ / ‖x‖ over the images the attack moved (DeepFool's ρ_adv)."""
        moved = self.clean_correct & self.fooled
        if not bool(moved.any()):
            return float("nan")
        return float(self.norms[moved].mean() / self.image_norms[moved].mean())

    def to_dict(self) -> dict:
        moved = self.clean_correct & self.fooled
        return {
            "method": self.method,
            "n": int(self.fooled.numel()),
            "clean_accuracy": float(self.clean_correct.float().mean()),
            "success_rate": float(moved.float().sum() / self.clean_correct.float().sum().clamp(min=1)),
            "median_norm": float(self.norms[moved].median()) if bool(moved.any()) else float("nan"),
            "robustness": self.robustness,
            "forwards": self.forwards,
            "backwards": self.backwards,
        }


def _flat_norm(t: torch.Tensor, norm: str) -> torch.Tensor:
    flat = t.flatten(1)
    return flat.norm(p=2, dim=1) if norm == "l2" else flat.abs().amax(dim=1)


def deepfool(model, x: torch.Tensor, y: torch.Tensor, *, steps: int = 50, overshoot: float = 0.02,
             norm: str = "l2", candidates: int | None = None, lo: float | None = 0.0,
             hi: float | None = 1.0, amp: bool = False) -> DeepFoolResult:
    """Multi-class DeepFool on a batch.

    Args:
        model: classifier returning logits (B, K).
        x: (B, ...) images in ``[lo, hi]``.
        y: (B,) true labels.
        steps: most linearisation steps per image.
        overshoot: the total step is scaled by ``1 + overshoot``.
        norm: ``"l2"`` or ``"linf"``, the norm of the perturbation minimised.
        candidates: only the ``candidates`` classes with the highest clean
            logits are considered (DeepFool used 10 for ImageNet); ``None``
            takes all classes.
        lo, hi: pixel box the iterates are clipped to; ``None`` for no bound.
        amp: run the model under bfloat16 autocast.

    Returns:
        :class:`DeepFoolResult`.
    """
    x, y = check_batch(x, y, lo, hi, model=model)
    if norm not in ("l2", "linf"):
        raise InputError(f'norm must be "l2" or "linf", got {norm!r}')
    steps = check_count(steps, "steps")
    overshoot = check_number(overshoot, "overshoot", minimum=0.0)
    if candidates is not None:
        candidates = check_count(candidates, "candidates", minimum=2)
    x0 = x.detach()
    forwards = backwards = 0
    with frozen_eval(model):
        with torch.no_grad():
            logits = forward_logits(model, x0, amp=amp)
        check_logits(logits, y)
        forwards += len(x0)
        n_classes = logits.shape[1]
        if not bool(((y >= 0) & (y < n_classes)).all()):
            raise InputError(f"y must hold labels in [0, {n_classes}) for a model with {n_classes} outputs")
        k = n_classes if candidates is None else min(candidates, n_classes)
        # the classes to test: the true one first, then the top-k others by clean logit
        others = logits.scatter(1, y[:, None], float("-inf")).topk(k - 1, dim=1).indices
        classes = torch.cat([y[:, None], others], dim=1)  # (B, k)
        clean_correct = logits.argmax(1) == y
        r_total = torch.zeros_like(x0)
        adversarials = x0.clone()
        iterations = torch.zeros(len(x0), dtype=torch.long, device=x0.device)
        live = clean_correct.nonzero().squeeze(1)
        for _ in range(steps):
            if live.numel() == 0:
                break
            xa = adversarials[live].requires_grad_(True)
            with torch.enable_grad():
                out = forward_logits(model, xa, amp=amp)
            forwards += len(live)
            still = out.argmax(1) == y[live]
            if not bool(still.all()):
                live = live[still]
                out = out[still]
                if live.numel() == 0:
                    break
            cls = classes[live]
            picked = out.gather(1, cls)  # (n, k): logits of the true class and candidates
            grads = []
            for j in range(k):  # one input-gradient pass per candidate class (images are independent)
                grads.append(torch.autograd.grad(picked[:, j].sum(), xa, retain_graph=j < k - 1)[0][still])
            backwards += k * len(live)
            grads = torch.stack(grads, dim=1)  # (n, k, ...)
            w = (grads[:, 1:] - grads[:, :1]).flatten(2)  # (n, k-1, D)
            f = (picked[:, 1:] - picked[:, :1]).detach().abs()  # (n, k-1)
            dual = w.norm(p=2, dim=2) if norm == "l2" else w.abs().sum(dim=2)
            dist = f / dual.clamp_min(1e-12)
            best = dist.argmin(dim=1)
            w_best = w[torch.arange(len(live), device=w.device), best]
            f_best = f.gather(1, best[:, None])
            d_best = dual.gather(1, best[:, None]).clamp_min(1e-12)
            if norm == "l2":
                step = (f_best + _PUSH) / d_best.square() * w_best
            else:
                step = (f_best + _PUSH) / d_best * w_best.sign()
            r_total[live] += step.view_as(r_total[live])
            moved = x0[live] + (1 + overshoot) * r_total[live]
            if lo is not None or hi is not None:
                moved = moved.clamp(lo, hi)
            adversarials[live] = moved
            iterations[live] += 1
        with torch.no_grad():
            fooled = forward_logits(model, adversarials, amp=amp).argmax(1) != y
            forwards += len(x0)
    method = {"name": "deepfool", "norm": norm, "steps": steps, "overshoot": overshoot, "candidates": k}
    return DeepFoolResult(adversarials=adversarials, fooled=fooled, clean_correct=clean_correct,
                          norms=_flat_norm(adversarials - x0, norm), image_norms=_flat_norm(x0, norm),
                          iterations=iterations, forwards=forwards, backwards=backwards, method=method)
