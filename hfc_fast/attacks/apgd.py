"""Auto-PGD (Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
parameter-free attacks", ICML 2020), L∞, with the cross-entropy or the DLR loss.

The schedule is the paper's (Algorithm 1) with its numbers: N iterations;
checkpoints after a first window of 0.22·N iterations, each next window 0.03·N
shorter, down to 0.06·N; the step η starts at 2ε; at a checkpoint it halves,
and the iterate returns to the best point so far, when at most 75 % of the
steps since the last checkpoint raised the loss (condition 1) or when neither
the step nor the best loss changed since the checkpoint before (condition 2);
the first step is plain, the next ones take momentum 0.75:

    x_1  = P(x_0 + η·sign(∇f(x_0)))
    z    = P(x_k + η·sign(∇f(x_k)))                 (the fused pgd_step_)
    x_k+1 = P(x_k + 0.75·(z − x_k) + 0.25·(x_k − x_k−1))

with P the projection onto the ε-ball and the pixel box. Every quantity is per
image. DLR (untargeted): ``−(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 1e−12)``; the
targeted DLR pushes towards the classes ranked 2nd, 3rd, … on the clean image:
``−(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2 + 1e−12)``.

The attack runs inside the same engine as :func:`hfc_fast.attacks.pgd`: several
ε in one call with nested balls, early exit, ``band=``, ``amp=``,
``channels_last=``, seeds.

As in the authors' reference code, and unlike the paper's text: the window
lengths are whole steps (``int(0.22·N)``, ``int(0.03·N)``, ``int(0.06·N)``, each at
least 1), which for N = 100 gives the paper's checkpoints 22, 41, 57, 70, 80,
87, 93, 99 and for small N checks more often (N = 20: after 4, 7, 9, then every
step), condition 1 counts "at most" 75 % rather than "fewer than", and
condition 2 is first tested at the second checkpoint. On a Fashion-MNIST CNN
at N = 20 the paper's rounding (ceil(p_j·N): 5, 9, 12, 14, 16, 18, 19) left up
to 0.6 points more images robust than the reference code; this schedule
matches it (``benchmarks/attacks_vs_torchattacks.py``). Every run starts at a
random point on the ball's edge, as in the code; after a return to the best
point the step uses that point's stored gradient, as in the code. Unlike the
code, an image counts fooled at the first fooling iterate, and an image fooled
at a smaller ε is not attacked again at a larger one (nested balls).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hfc_fast._model import forward_logits, frozen_eval
from hfc_fast.attacks._inputs import as_values, check_batch, check_count, check_upto
from hfc_fast.attacks._model import clean_logits, ranked_targets
from hfc_fast.attacks.band import BandProjection, seen_point
from hfc_fast.attacks.result import AttackResult, nested_balls
from hfc_fast.errors import InputError
from hfc_fast.pgd_step import pgd_step_unchecked_

__all__ = ["apgd", "apgd_checkpoints", "dlr_loss", "dlr_targeted_loss"]

LOSSES = ("ce", "dlr", "dlr-targeted")
MOMENTUM = 0.75
RHO = 0.75  # condition 1: the share of loss-raising steps a checkpoint asks for


def apgd_checkpoints(steps: int) -> list[int]:
    """The iterate counts w_j after which APGD reconsiders its step (once x(w_j) is computed), below N."""
    window, shrink, least = max(int(0.22 * steps), 1), max(int(0.03 * steps), 1), max(int(0.06 * steps), 1)
    marks = []
    while window + (marks[-1] if marks else 0) < steps:
        marks.append(window + (marks[-1] if marks else 0))
        window = max(window - shrink, least)
    return marks


def dlr_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample DLR loss ``−(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 1e−12)`` (needs 3 classes or more)."""
    ordered = logits.sort(dim=1, descending=True).values
    true = logits.gather(1, y[:, None]).squeeze(1)
    other = logits.scatter(1, y[:, None], float("-inf")).max(dim=1).values
    return -(true - other) / (ordered[:, 0] - ordered[:, 2] + 1e-12)


def dlr_targeted_loss(logits: torch.Tensor, y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample targeted DLR ``−(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2 + 1e−12)`` (needs 4 classes or more)."""
    ordered = logits.sort(dim=1, descending=True).values
    true = logits.gather(1, y[:, None]).squeeze(1)
    aim = logits.gather(1, target[:, None]).squeeze(1)
    return -(true - aim) / (ordered[:, 0] - 0.5 * (ordered[:, 2] + ordered[:, 3]) + 1e-12)


class _Apgd:
    """State of one apgd() call: the clean pass, then one ball (and restart) at a time."""

    def __init__(self, model, x, y, *, steps, loss, projection, amp, generator, lo, hi, early_exit, record):
        self.model, self.y, self.x0 = model, y, x.detach()
        self.steps, self.loss, self.projection = steps, loss, projection
        self.amp, self.generator, self.lo, self.hi = amp, generator, lo, hi
        self.early_exit, self.record = early_exit, record
        marks = apgd_checkpoints(steps)
        self.checkpoints = set(marks)
        self.window = {w: w - v for v, w in zip([0, *marks], marks, strict=False)}  # steps since the last one
        self.forwards = self.backwards = 0
        self.step_history: list[torch.Tensor] = []

    def _value_and_grad(self, z, x0, y, target, eps, *, need_grad: bool = True):
        """Per-sample loss, fooled flags and loss gradient (w.r.t. z) at z."""
        z = z.detach().requires_grad_(need_grad)
        with torch.set_grad_enabled(need_grad):
            x_t = seen_point(self.projection, z, x0, eps, self.lo, self.hi)
            logits = forward_logits(self.model, x_t, amp=self.amp)
            if self.loss == "ce":
                values = F.cross_entropy(logits, y, reduction="none")
            elif self.loss == "dlr":
                values = dlr_loss(logits, y)
            else:
                values = dlr_targeted_loss(logits, y, target)
        self.forwards += len(z)
        grad = None
        if need_grad:
            grad = torch.autograd.grad(values.sum(), z)[0]
            self.backwards += len(z)
        return values.detach(), logits.detach().argmax(1) != y, grad, x_t.detach()

    @staticmethod
    def _project(v, x0, eps, lo, hi):
        """P(v) in place: the ball around x0 and the box, as the fused step of size zero."""
        return pgd_step_unchecked_(v, v, x0, eps, 0.0, lo, hi)

    def attack_ball(self, idx, eps, target, fooled_row, adv_row) -> None:
        """Attack images ``idx`` within ``eps`` from a random start; mark ``fooled_row`` and fill ``adv_row``
        in place."""
        x0, y, live = self.x0[idx], self.y[idx], idx
        t = None if target is None else target[idx]
        lo, hi = (self.lo, self.hi) if self.projection is None else (self.lo - eps, self.hi + eps)
        eta = torch.full((len(x0),), 2.0 * eps, dtype=x0.dtype, device=x0.device)

        def mark(hit, x_t, final=False):
            fooled_row[live[hit]] = True
            if adv_row is not None:
                pick = torch.ones_like(hit) if (final or not self.early_exit) else hit
                adv_row[live[pick]] = x_t[pick]

        # start on the ball's edge, in a random direction (as the reference code)
        noise = torch.rand(x0.shape, generator=self.generator, device=x0.device, dtype=x0.dtype).mul_(2).sub_(1)
        noise /= noise.abs().flatten(1).amax(1).clamp_min(1e-12).view(-1, *([1] * (x0.dim() - 1)))
        z = x0 + eps * noise
        z = z.clamp(self.lo, self.hi) if self.projection is None else z
        f, hit, g, x_t = self._value_and_grad(z, x0, y, t, eps, need_grad=self.steps > 0)
        mark(hit, x_t, final=self.steps == 0)
        z_prev = z.clone()
        best_f, best_z, best_g = f.clone(), z.clone(), g.clone() if g is not None else None
        ups = torch.zeros_like(f)
        check_eta, check_best = 2 * eta, best_f.clone()  # condition 2 waits for the second checkpoint
        for k in range(self.steps):  # iteration k makes x(k+1) from x(k), Algorithm 1's index
            if self.early_exit:
                keep = ~hit
                if not bool(keep.any()):
                    break
                if not bool(keep.all()):
                    x0, y, live, z, z_prev, g, eta, f = x0[keep], y[keep], live[keep], z[keep], z_prev[keep], \
                        g[keep], eta[keep], f[keep]
                    best_f, best_z, best_g, ups = best_f[keep], best_z[keep], best_g[keep], ups[keep]
                    check_eta, check_best = check_eta[keep], check_best[keep]
                    t = None if t is None else t[keep]
            step = z.clone()
            pgd_step_unchecked_(step, g, x0, eps, eta, lo, hi)  # z(k+1) = P(x(k) + η·sign(∇f(x(k))))
            if k > 0:  # x(1) is the plain step; then momentum: x(k) + 0.75·(z − x(k)) + 0.25·(x(k) − x(k−1))
                step.mul_(MOMENTUM).add_(z, alpha=2 * (1 - MOMENTUM)).sub_(z_prev, alpha=1 - MOMENTUM)
                self._project(step, x0, eps, lo, hi)
            z_prev, z = z, step
            last = k == self.steps - 1
            previous = f
            f, hit, g_new, x_t = self._value_and_grad(z, x0, y, t, eps, need_grad=not last)
            mark(hit, x_t, final=last)
            rise = (f > previous).to(ups.dtype)
            better = f > best_f
            best_f = torch.where(better, f, best_f)
            wide = better.view(-1, *([1] * (z.dim() - 1)))
            torch.where(wide, z, best_z, out=best_z)  # in place: no fresh image-sized buffers per step
            if g_new is not None:
                torch.where(wide, g_new, best_g, out=best_g)
                g = g_new
            if self.record:
                self.step_history.append(eta.clone())
            ups += rise
            if k + 1 in self.checkpoints:  # x(w_j) is in: reconsider the step
                reduce = (ups <= RHO * self.window[k + 1]) | ((eta == check_eta) & (best_f == check_best))
                check_eta, check_best = eta.clone(), best_f.clone()
                ups = torch.zeros_like(ups)
                eta = torch.where(reduce, eta / 2, eta)
                z[reduce], g[reduce] = best_z[reduce], best_g[reduce]


def apgd(model, x: torch.Tensor, y: torch.Tensor, eps, *, steps: int = 100, loss: str = "ce", restarts: int = 1,
         target_classes: int = 9, band=None, amp: bool = False, channels_last: bool = False, seed: int | None = None,
         lo: float = 0.0, hi: float = 1.0, return_adversarials: bool = False, early_exit: bool = True,
         record_steps: bool = False, upto=None) -> AttackResult:
    """L∞ Auto-PGD at one or several ε (Croce & Hein 2020; see the module docstring for the schedule).

    Args:
        model: classifier returning logits (B, K); eval mode and frozen parameters during the attack.
        x: (B, C, H, W) images in ``[lo, hi]``; y: (B,) labels.
        eps: a radius or a sequence of radii (reported ascending; balls are nested).
        steps: iterations N per ε and restart.
        loss: ``"ce"`` (APGD-CE), ``"dlr"`` (APGD-DLR, 3+ classes) or ``"dlr-targeted"`` (APGD-T: the
            targeted DLR towards each of the ``target_classes`` classes ranked after the top one on the clean
            image, in turn, one run each; 4+ classes).
        restarts: runs per ε, each from a fresh random start on the ball's edge, for the images not yet
            fooled.
        band: ``("low" | "high", r)`` keeps the perturbation in that frequency band.
        amp, channels_last, seed, lo, hi, return_adversarials, early_exit: as in :func:`hfc_fast.attacks.pgd`.
        record_steps: keep the step size η of every iteration (``method["step_history"]``, one list per
            iteration) of the first ε's first run, with ``early_exit=False``, for inspection.
        upto: (B,) integers: image i is attacked within its first ``upto[i]`` radii (ascending) only, and at
            the larger ones counts fooled only if a smaller one fooled it; AutoAttack's cascade gives each image
            the radii it is still robust at (default: every radius).

    Returns:
        :class:`AttackResult`: ``fooled`` (E, B) counts an image fooled at ε when some iterate within ε was
        misclassified (nested balls).
    """
    x, y = check_batch(x, y, lo, hi, images=True, model=model)
    eps_given = as_values(eps, "eps")
    steps = check_count(steps, "steps", minimum=0)
    restarts = check_count(restarts, "restarts")
    if loss not in LOSSES:
        raise InputError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    target_classes = check_count(target_classes, "target_classes")
    if record_steps and early_exit:
        raise InputError("record_steps needs early_exit=False (the history follows every image)")
    eps_values = tuple(sorted(eps_given))
    upto = check_upto(upto, x, len(eps_values))
    projection = BandProjection(band) if band is not None else None
    generator = torch.Generator(device=x.device).manual_seed(int(seed)) if seed is not None else None
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    engine = _Apgd(model, x, y, steps=steps, loss=loss, projection=projection, amp=amp, generator=generator,
                   lo=float(lo), hi=float(hi), early_exit=early_exit, record=record_steps)
    with frozen_eval(model), torch.no_grad():
        logits = clean_logits(model, x, y, amp=amp, classes={"ce": 2, "dlr": 3, "dlr-targeted": 4}[loss],
                              what=f"loss {loss!r}")
        engine.forwards += len(x)
        clean_fooled = logits.argmax(1) != y
        ranked = ranked_targets(logits, y)
    targets = [ranked[:, i] for i in range(min(target_classes, logits.shape[1] - 1))] if loss == "dlr-targeted" \
        else [None]

    def attack_ball(k, run, idx, fooled_row, adv_row):  # each target in turn, ``restarts`` runs each
        engine.attack_ball(idx, eps_values[k], targets[run // restarts], fooled_row, adv_row)
        engine.record = False

    with frozen_eval(model):
        fooled, adversarials = nested_balls(x, clean_fooled, eps_values, runs=len(targets) * restarts,
                                            early_exit=early_exit, return_adversarials=return_adversarials,
                                            attack_ball=attack_ball, upto=upto)
    method = {"name": f"apgd-{loss}" if loss != "dlr-targeted" else "apgd-t", "steps": steps, "loss": loss,
              "restarts": restarts, "band": list(band) if band is not None else None, "amp": amp, "seed": seed,
              "early_exit": early_exit, "checkpoints": apgd_checkpoints(steps)}
    if loss == "dlr-targeted":
        method["target_classes"] = len(targets)
    if record_steps:
        method["step_history"] = [h.tolist() for h in engine.step_history]
    return AttackResult(eps=eps_values, fooled=fooled, clean_correct=~clean_fooled, adversarials=adversarials,
                        forwards=engine.forwards, backwards=engine.backwards, method=method)
