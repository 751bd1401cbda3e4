"""FAB, L∞, targeted (Croce & Hein, "Minimally distorted adversarial examples with a fast adaptive boundary
attack", ICML 2020): a minimum-norm attack, the FAB-T of AutoAttack's standard suite.

For a target class t, each step linearises the decision boundary between the label y and t at the current
point x_k, ``g(z) ≈ g(x_k) + ∇g(x_k)·(z − x_k)`` with ``g = f_y − f_t``, and projects both x_k and the
original image x_0 onto that hyperplane within the pixel box, in L∞ (:func:`project_linf`, exact: the
hyperplane's L∞ projection is a threshold on the coordinates' room to move, found by sorting). With ``d_k`` and
``d_0`` the two projections' offsets, the next point is the biased mix

    x_k+1 = clip((1 − α)(x_k + η·d_k) + α(x_0 + η·d_0), lo, hi),   α = min(‖d_k‖∞ / (‖d_k‖∞ + ‖d_0‖∞), α_max)

with the paper's η = 1.05 (overshoot) and α_max = 0.1. When x_k+1 is misclassified, it is kept if it is the
closest adversarial found so far, and the search steps back towards x_0: ``x_k+1 ← x_0 + β(x_k+1 − x_0)``,
β = 0.9. The targets are the classes ranked 2nd, 3rd, … on the clean image (AutoAttack: 9 of them), one
run each, on the images no earlier run fooled; each run starts at x_0, as AutoAttack's single restart does.

Because the attack is minimum-norm, one run answers every ε: an image counts fooled at ε when its closest
adversarial lies within ε. Early exit drops an image once its closest adversarial lies within the smallest ε
at which it is not yet fooled (it has nothing more to tell). With ``band=`` each step's perturbation is
projected into the band (then the box), so the search stays in the band.
"""

from __future__ import annotations

import torch

from hfc_fast._model import forward_logits, frozen_eval
from hfc_fast.attacks._inputs import as_values, check_batch, check_count, check_upto
from hfc_fast.attacks._model import clean_logits, ranked_targets
from hfc_fast.attacks.band import BandProjection
from hfc_fast.attacks.result import AttackResult

__all__ = ["fab", "project_linf"]

ETA, BETA, ALPHA_MAX = 1.05, 0.9, 0.1  # the paper's overshoot, backward step and bias bound


def project_linf(points: torch.Tensor, w: torch.Tensor, b: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """The smallest L∞ offsets ``d`` (N, D) with ``w·(p + d) = b`` and ``lo <= p + d <= hi``, per row.

    Moving coordinate i by ``t·sign(c·w_i)`` (``c = b − w·p``) changes ``w·p`` by ``|w_i|·min(t, room_i)``,
    room_i being how far the box lets it move that way; the total is concave piecewise linear in t with
    breakpoints at the rooms, so sorting them gives the least t that reaches ``|c|``. Where even the whole
    box cannot reach the hyperplane, every coordinate moves to its limit (the closest the box allows).
    """
    c = b - (w * points).sum(1)
    direction = torch.sign(w) * torch.sign(c)[:, None]
    room = torch.where(direction > 0, hi - points, points - lo).clamp_min(0)
    a = w.abs() * (direction != 0)
    rooms, order = room.sort(dim=1)
    weights = a.gather(1, order)
    saturated = torch.cumsum(weights * rooms, 1)  # Σ_{j<=k} a_j r_j
    free = weights.sum(1, keepdim=True) - torch.cumsum(weights, 1)  # Σ_{j>k} a_j
    reach = saturated + free * rooms  # how far w·p moves at t = r_(k)
    target = c.abs()
    k = (reach < target[:, None]).sum(1)  # breakpoints passed before the target is reached
    feasible = k < points.shape[1]
    prev = (k - 1).clamp_min(0)
    done = torch.where(k > 0, saturated.gather(1, prev[:, None]).squeeze(1), torch.zeros_like(target))
    left = torch.where(k > 0, free.gather(1, prev[:, None]).squeeze(1), weights.sum(1))
    t = torch.where(feasible, (target - done) / left.clamp_min(1e-30), torch.full_like(target, float("inf")))
    return direction * torch.minimum(t[:, None], room)


class _Fab:
    def __init__(self, model, x, y, *, steps, projection, amp, lo, hi, early_exit):
        self.model, self.x0, self.y = model, x.detach(), y
        self.steps, self.projection, self.amp = steps, projection, amp
        self.lo, self.hi, self.early_exit = lo, hi, early_exit
        self.forwards = self.backwards = 0

    def _boundary(self, z, y, t):
        """``g = f_y − f_t`` at z and its input gradient (one forward and one backward)."""
        z = z.detach().requires_grad_(True)
        with torch.enable_grad():
            logits = forward_logits(self.model, z, amp=self.amp)
            g = logits.gather(1, y[:, None]).squeeze(1) - logits.gather(1, t[:, None]).squeeze(1)
            grad = torch.autograd.grad(g.sum(), z)[0]
        self.forwards += len(z)
        self.backwards += len(z)
        return g.detach(), grad

    def run(self, idx, target, thresholds, best_norm, best_point) -> None:
        """One targeted run on images ``idx``; lowers ``best_norm`` / fills ``best_point`` in place.
        ``thresholds`` (len(idx),): an image leaves (with early exit) once its best norm is within it."""
        x0, y, t, live, thr = self.x0[idx], self.y[idx], target[idx], idx, thresholds
        shape = (-1, *([1] * (x0.dim() - 1)))
        z = x0.clone()
        for _ in range(self.steps):
            if self.early_exit:
                keep = best_norm[live] > thr
                if not bool(keep.any()):
                    break
                if not bool(keep.all()):
                    x0, y, t, live, thr, z = x0[keep], y[keep], t[keep], live[keep], thr[keep], z[keep]
            g, grad = self._boundary(z, y, t)
            w = grad if self.projection is None else self.projection(grad)
            w = w.flatten(1)
            b = (w * z.flatten(1)).sum(1) - g  # the linearised boundary: w·u = w·z − g
            d_z = project_linf(z.flatten(1), w, b, self.lo, self.hi).view_as(z)
            d_0 = project_linf(x0.flatten(1), w, b, self.lo, self.hi).view_as(z)
            n_z = d_z.abs().flatten(1).amax(1).clamp_min(1e-8)
            n_0 = d_0.abs().flatten(1).amax(1).clamp_min(1e-8)
            alpha = (n_z / (n_z + n_0)).clamp(0, ALPHA_MAX).view(shape)
            z = ((1 - alpha) * (z + ETA * d_z) + alpha * (x0 + ETA * d_0)).clamp(self.lo, self.hi)
            if self.projection is not None:
                z = (x0 + self.projection(z - x0)).clamp(self.lo, self.hi)
            with torch.no_grad():
                wrong = forward_logits(self.model, z, amp=self.amp).argmax(1) != y
            self.forwards += len(z)
            if bool(wrong.any()):
                norm = (z - x0).abs().flatten(1).amax(1).double()
                closer = wrong & (norm < best_norm[live])
                best_norm[live[closer]] = norm[closer]
                best_point[live[closer]] = z[closer]
                z = torch.where(wrong.view(shape), x0 + BETA * (z - x0), z)


@torch.no_grad()
def fab(model, x: torch.Tensor, y: torch.Tensor, eps, *, steps: int = 100, target_classes: int = 9, band=None,
        amp: bool = False, channels_last: bool = False, seed: int | None = 0, lo: float = 0.0, hi: float = 1.0,
        return_adversarials: bool = False, early_exit: bool = True, upto=None) -> AttackResult:
    """L∞ FAB-T at one or several ε (see the module docstring; AutoAttack: 100 steps, 9 targets).

    Args:
        model: classifier returning logits (B, K), 2 classes or more.
        x: (B, C, H, W) images in ``[lo, hi]``; y: (B,) labels.
        eps: a radius or a sequence of radii (one run answers them all: the attack is minimum-norm).
        steps: iterations per target.
        target_classes: how many of the classes ranked after the top one on the clean image to aim at.
        band: ``("low" | "high", r)`` keeps the perturbation in that band.
        seed: accepted for a uniform interface; the runs start at x itself and draw nothing.
        amp, channels_last, lo, hi, return_adversarials, early_exit: as in :func:`hfc_fast.attacks.pgd`.
        upto: as in :func:`hfc_fast.attacks.pgd`; one run answers every radius, so an image is searched alike
            whatever its count (0 skips it), and beyond its count it counts fooled only if a smaller radius is.

    Returns:
        :class:`AttackResult`; ``method["norms"]`` holds each image's closest adversarial found (L∞, ``inf``
        when none, 0 when misclassified to begin with).
    """
    x, y = check_batch(x, y, lo, hi, images=True, model=model)
    eps_values = tuple(sorted(as_values(eps, "eps")))
    upto = check_upto(upto, x, len(eps_values))
    steps = check_count(steps, "steps")
    target_classes = check_count(target_classes, "target_classes")
    projection = BandProjection(band) if band is not None else None
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    engine = _Fab(model, x, y, steps=steps, projection=projection, amp=amp, lo=float(lo), hi=float(hi),
                  early_exit=early_exit)
    with frozen_eval(model):
        logits = clean_logits(model, x, y, amp=amp, classes=2, what="fab")
        engine.forwards += len(x)
        clean_fooled = logits.argmax(1) != y
        ranked = ranked_targets(logits, y)
        eps_t = torch.tensor(eps_values, dtype=torch.float64, device=x.device)
        best_norm = torch.where(clean_fooled, 0.0, float("inf")).to(torch.float64)
        best_point = x.detach().clone()
        for r in range(min(target_classes, logits.shape[1] - 1)):
            fooled = best_norm[None, :] <= eps_t[:, None]
            alive = ~fooled[0] if early_exit else ~clean_fooled
            if upto is not None:
                alive &= upto > 0
            idx = alive.nonzero().squeeze(1)
            if idx.numel() == 0:
                break
            # an image still robust at the smallest ε leaves once its closest adversarial lies within it
            thresholds = torch.full((len(idx),), eps_values[0] if early_exit else -1.0, dtype=torch.float64,
                                    device=x.device)
            engine.run(idx, ranked[:, r], thresholds, best_norm, best_point)
    fooled = best_norm[None, :].cpu() <= torch.tensor(eps_values, dtype=torch.float64)[:, None]
    fooled = fooled.to(x.device) | clean_fooled[None, :]
    if upto is not None:  # beyond an image's count, what its largest counted radius says (nested balls)
        last = torch.where(upto > 0, fooled.gather(0, (upto - 1).clamp(min=0)[None, :])[0], clean_fooled)
        fooled = torch.where(torch.arange(len(eps_values), device=x.device)[:, None] < upto[None, :], fooled,
                             last[None, :])
    adversarials = None
    if return_adversarials:
        adversarials = torch.stack([torch.where(fooled[k].view(-1, *([1] * (x.dim() - 1))), best_point, x)
                                    for k in range(len(eps_values))])
    method = {"name": "fab-t", "steps": steps, "target_classes": min(target_classes, logits.shape[1] - 1),
              "band": list(band) if band is not None else None, "amp": amp, "seed": seed, "early_exit": early_exit,
              "norms": best_norm.tolist()}
    return AttackResult(eps=eps_values, fooled=fooled, clean_correct=~clean_fooled, adversarials=adversarials,
                        forwards=engine.forwards, backwards=engine.backwards, method=method)
