"""L∞ FGSM and PGD over several ε at once, with early exit and nested balls.

Semantics (DESIGN.md, "Attacks"): the step is
``x ← clip(x0 + clip(x + α·sign(g) − x0, −ε, ε), lo, hi)`` (the fused
:func:`hfc_fast.pgd_step_`), gradients are taken with respect to the input only,
and an image counts as robust at ε only if no iterate within ε fooled it.

Where the work goes, compared with the usual loop over ε and steps:

* the clean forward/backward pass is shared: it gives clean accuracy and the
  first step's gradient for every ε (without random start);
* an image leaves the batch at the first iterate that fools it;
* balls are nested: an image fooled at ε is fooled at every larger ε and is
  not attacked there again;
* the step, projection and clipping are one fused pass over memory.
"""

from __future__ import annotations

import torch

from hfc_fast._model import forward_logits, frozen_eval
from hfc_fast.attacks._inputs import as_values, check_batch, check_count, check_upto
from hfc_fast.attacks._model import attack_loss, check_logits, is_fooled
from hfc_fast.attacks.band import BandProjection, seen_point
from hfc_fast.attacks.result import AttackResult, nested_balls
from hfc_fast.errors import InputError
from hfc_fast.pgd_step import pgd_step_unchecked_

__all__ = ["fgsm", "pgd"]


def _step_sizes(alpha, eps: tuple[float, ...], steps: int) -> tuple[float, ...]:
    if alpha is None:  # Madry et al.'s rule: 2.5 ε spread over the steps
        return tuple(2.5 * e / steps for e in eps)
    values = as_values(alpha, "alpha")
    if len(values) == 1:
        return values * len(eps)
    if len(values) != len(eps):
        raise InputError(f"alpha must be one number or one per eps ({len(eps)}), got {len(values)} values")
    return values


class _Attack:
    """State of one pgd() call: the clean pass, then one ball at a time."""

    def __init__(self, model, x, y, *, steps, random_start, targeted, projection, amp, generator, lo, hi,
                 early_exit):
        self.model, self.y = model, y
        self.x0 = x.detach()
        self.steps, self.random_start, self.targeted = steps, random_start, targeted
        self.projection, self.amp, self.generator = projection, amp, generator
        self.lo, self.hi = lo, hi
        self.early_exit = early_exit
        self.forwards = self.backwards = 0

    def clean_pass(self, given=None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B,) fooled before any attack, and the loss gradient at x0 when a step can reuse it; ``given`` is
        ``(fooled, raw gradient)`` computed once for several calls on the same batch."""
        if given is not None:
            fooled, grad = given
            if grad is not None and self.projection is not None:
                grad = self.projection(grad)
            return fooled, (None if self.random_start else grad)
        with_grad = not self.random_start
        x = self.x0.detach().requires_grad_(with_grad)
        with torch.set_grad_enabled(with_grad):
            logits = forward_logits(self.model, x, amp=self.amp)
        check_logits(logits, self.y)
        self.forwards += len(x)
        grad = None
        if with_grad:
            grad = torch.autograd.grad(attack_loss(logits, self.y, self.targeted), x)[0]
            self.backwards += len(x)
            if self.projection is not None:
                grad = self.projection(grad)
        return is_fooled(logits.detach(), self.y, self.targeted), grad

    def attack_ball(self, idx, eps, alpha, clean_grad, fooled_row, adv_row) -> None:
        """Attack images ``idx`` within ``eps``; mark ``fooled_row`` and fill ``adv_row`` in place."""
        x0, y = self.x0[idx], self.y[idx]
        live = idx
        z = x0.clone()
        if self.random_start:
            noise = torch.rand(z.shape, generator=self.generator, device=z.device, dtype=z.dtype)
            z.add_(noise.mul_(2 * eps).sub_(eps))
            if self.projection is None:
                z.clamp_(self.lo, self.hi)
        grad = None if clean_grad is None else clean_grad[idx]
        # z is unconstrained in the band case; widen the box so the step only bounds |z - x0|
        lo, hi = (self.lo, self.hi) if self.projection is None else (self.lo - eps, self.hi + eps)
        for t in range(self.steps + 1):
            if not (t == 0 and grad is not None):  # the clean pass already gave iterate 0's gradient
                need_grad = t < self.steps
                z.requires_grad_(need_grad)
                with torch.set_grad_enabled(need_grad):
                    x_t = seen_point(self.projection, z, x0, eps, self.lo, self.hi)
                    logits = forward_logits(self.model, x_t, amp=self.amp)
                self.forwards += len(z)
                hit = is_fooled(logits.detach(), y, self.targeted)
                fooled_row[live[hit]] = True
                if adv_row is not None:
                    if not self.early_exit:
                        adv_row[live] = x_t.detach()
                    else:
                        final = torch.ones_like(hit) if t == self.steps else hit
                        adv_row[live[final]] = x_t.detach()[final]
                if t == self.steps:
                    break
                keep = ~hit if self.early_exit else torch.ones_like(hit)
                if not bool(keep.any()):
                    break
                grad = torch.autograd.grad(attack_loss(logits[keep], y[keep], self.targeted), z)[0]
                self.backwards += len(z)
                z = z.detach()
                if not bool(keep.all()):
                    z, grad, x0, y, live = z[keep], grad[keep], x0[keep], y[keep], live[keep]
            pgd_step_unchecked_(z, grad, x0, eps, alpha, lo, hi)  # eps and alpha checked on entry


def pgd(model, x: torch.Tensor, y: torch.Tensor, eps, *, alpha=None, steps: int = 10, random_start: bool = False,
        restarts: int = 1, targeted: bool = False, band=None, amp: bool = False, channels_last: bool = False,
        seed: int | None = None, lo: float = 0.0, hi: float = 1.0, return_adversarials: bool = False,
        early_exit: bool = True, clean: tuple | None = None, upto=None) -> AttackResult:
    """L∞ projected gradient descent at one or several ε.

    Args:
        model: classifier returning logits (B, K); put in eval mode for the
            attack, its modes and ``requires_grad`` flags restored afterwards.
        x: (B, C, H, W) images in ``[lo, hi]``.
        y: (B,) true labels, or target labels when ``targeted``.
        eps: a radius or a sequence of radii (reported ascending).
        alpha: step size: a number, one per ε, or ``None`` for 2.5·ε/steps.
        steps: gradient steps per ε and restart.
        random_start: start from ``x0 + U(−ε, ε)`` clipped to the box.
        restarts: attempts from fresh random starts for images not yet fooled
            (needs ``random_start``).
        targeted: move images towards class ``y`` instead of away from it.
        band: ``("low" | "high", r)`` keeps the perturbation in that frequency
            band every step (a low- or high-frequency-only attack); the
            iterate is then ``clip(x0 + s·P(δ), lo, hi)`` with ``s = min(1, ε/‖P(δ)‖∞)`` per image
            (a scaling, not a clip, so the perturbation stays in its band).
        amp: run the model under bfloat16 autocast; the perturbation,
            projection and clipping stay in the dtype of ``x``.
        channels_last: give the model channels-last images (convert the
            model too, ``model.to(memory_format=torch.channels_last)``).
        seed: seeds the random starts, for repeatable results.
        lo, hi: pixel box.
        return_adversarials: keep the adversarial images.
        early_exit: drop an image from the batch at its first fooling
            iterate; ``False`` attacks every image (misclassified ones too)
            through every step at every ε and returns final iterates, what
            adversarial training wants (``fooled`` keeps its meaning).
        clean: ``(fooled, gradient)`` of the clean pass (the loss gradient at x0, unprojected), when several
            calls on one batch share it (:func:`hfc_fast.attacks.robustness_surface`).
        upto: (B,) integers: image i is attacked within its first ``upto[i]`` radii (ascending) only, and at
            the larger ones counts fooled only if a smaller one fooled it; AutoAttack's cascade gives each image
            the radii it is still robust at (default: every radius).

    Returns:
        :class:`AttackResult` with ``fooled`` (E, B), ``robust_accuracy`` per ε,
        ``adversarials`` (E, B, C, H, W) when asked, and pass counts.
    """
    x, y = check_batch(x, y, lo, hi, images=True, model=model)
    eps_given = as_values(eps, "eps")
    steps = check_count(steps, "steps")
    restarts = check_count(restarts, "restarts")
    if restarts > 1 and not random_start:
        raise InputError("restarts > 1 needs random_start=True (without it every restart is the same attack)")
    alphas_given = _step_sizes(alpha, eps_given, steps)
    order = sorted(range(len(eps_given)), key=lambda k: eps_given[k])
    eps_values = tuple(eps_given[k] for k in order)
    alphas = tuple(alphas_given[k] for k in order)
    upto = check_upto(upto, x, len(eps_values))
    projection = BandProjection(band) if band is not None else None
    generator = None
    if seed is not None:
        generator = torch.Generator(device=x.device).manual_seed(int(seed))
    if channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)

    attack = _Attack(model, x, y, steps=steps, random_start=random_start, targeted=targeted, projection=projection,
                     amp=amp, generator=generator, lo=float(lo), hi=float(hi),
                     early_exit=early_exit)
    with frozen_eval(model):
        clean_fooled, clean_grad = attack.clean_pass(clean)
        fooled, adversarials = nested_balls(
            x, clean_fooled, eps_values, runs=restarts, early_exit=early_exit,
            return_adversarials=return_adversarials, upto=upto,
            attack_ball=lambda k, _, idx, row, adv: attack.attack_ball(
                idx, eps_values[k], alphas[k], clean_grad if not random_start else None, row, adv))
    method = {"name": "pgd", "steps": steps, "alpha": list(alphas), "random_start": random_start,
              "restarts": restarts, "targeted": targeted, "band": list(band) if band is not None else None,
              "amp": amp, "seed": seed, "early_exit": early_exit}
    return AttackResult(eps=eps_values, fooled=fooled, clean_correct=~clean_fooled, adversarials=adversarials,
                        forwards=attack.forwards, backwards=attack.backwards, method=method)


def fgsm(model, x: torch.Tensor, y: torch.Tensor, eps, *, targeted: bool = False, band=None, amp: bool = False,
         channels_last: bool = False, lo: float = 0.0, hi: float = 1.0,
         return_adversarials: bool = False, upto=None) -> AttackResult:
    """Fast gradient sign method: ``clip(x0 + ε·sign(∇ₓ loss(x0)), lo, hi)`` for each ε.

    One forward/backward pass at x0 serves every ε; then one forward per ε
    for the images not yet fooled. Arguments as in :func:`pgd`.
    """
    eps_values = as_values(eps, "eps")
    result = pgd(model, x, y, eps_values, alpha=eps_values, steps=1, targeted=targeted, band=band, amp=amp,
                 channels_last=channels_last, lo=lo, hi=hi, return_adversarials=return_adversarials, upto=upto)
    result.method = {"name": "fgsm", "targeted": targeted, "band": list(band) if band is not None else None,
                     "amp": amp}
    return result
