"""Square Attack, L∞ (Andriushchenko, Croce, Flammarion & Hein, "Square Attack: a query-efficient black-box
adversarial attack via random search", ECCV 2020): a gradient-free random search, the attack of AutoAttack's
standard suite that catches defences which only mask their gradients.

Per image, from a start of vertical stripes (each column of each channel at ``x0 ± ε``), each query draws a
square window of side ``s`` at a random place and gives each channel of it a random ``±ε`` relative to
``x0``; the proposal is kept when it lowers the margin loss ``z_y − max_{k≠y} z_k`` (untargeted) and the
image counts fooled at the first query whose margin is negative. The window's share of the image, ``p``, starts
at ``p_init = 0.8`` and halves at the paper's schedule: after proposals 10, 50, 200, 500, 1000, 2000, 4000,
6000 and 8000 (counted from 0 after the start) of a budget of 10,000, laid out by default over the query
budget actually given (proposal ``i`` of ``Q`` queries reads it at ``int(i/Q·10000)``, the paper's code), or
over ``schedule_queries`` (AutoAttack's standard suite reads it unscaled, ``schedule_queries=10000``, so that
with 5,000 proposals the share halves seven times); ``s = round(sqrt(p·H·W))``, at least 1 and at most H − 1.
As in the authors' code, a proposal that would not change the window (every channel already at that sign) is
drawn again, once. Unlike AutoAttack's code, which draws one window and one sign per channel for the whole
batch at each query and never places a window at the last row or column, each image draws its own, anywhere
(the paper's per-image random search).

Only the model's outputs are read: no gradient is taken. Several ε share one call through nested balls (an
image fooled within a smaller ε is not attacked again at a larger one; each ε has the whole query budget for
the images still robust), early exit drops an image at its first fooling query, and with ``band=`` the model
sees each proposal's perturbation projected into the band and scaled into the ball
(:func:`~hfc_fast.attacks.band.seen_point`).
"""

from __future__ import annotations

import math

import torch

from hfc_fast._model import forward_logits, frozen_eval
from hfc_fast.attacks._inputs import as_values, check_batch, check_count, check_upto
from hfc_fast.attacks._model import clean_logits
from hfc_fast.attacks.band import BandProjection, seen_point
from hfc_fast.attacks.result import AttackResult, nested_balls
from hfc_fast.errors import InputError

__all__ = ["margin", "square", "square_window_share"]

# the window's share of the image halves after these of 10,000 queries (the paper's schedule)
_HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


def square_window_share(proposal: int, schedule_queries: int, p_init: float = 0.8) -> float:
    """The share ``p`` of the image a window covers at ``proposal`` (counted from 0 after the start) of a
    schedule laid out over ``schedule_queries`` (the paper's schedule for 10,000, scaled)."""
    at = int(proposal / schedule_queries * 10000)
    return p_init / 2 ** sum(at > h for h in _HALVINGS)


def margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per image ``z_y − max_{k≠y} z_k``: negative exactly when the image is misclassified."""
    true = logits.gather(1, y[:, None]).squeeze(1)
    other = logits.scatter(1, y[:, None], float("-inf")).max(dim=1).values
    return true - other


class _Square:
    def __init__(self, model, x, y, *, queries, schedule, p_init, projection, amp, generator, lo, hi, early_exit):
        self.model, self.x0, self.y = model, x.detach(), y
        self.queries, self.schedule, self.p_init, self.projection = queries, schedule, p_init, projection
        self.amp, self.generator, self.lo, self.hi, self.early_exit = amp, generator, lo, hi, early_exit
        self.forwards = 0

    def _rand(self, *shape, device):
        return torch.rand(shape, generator=self.generator, device=device)

    def _signs(self, *shape, device):
        return torch.where(self._rand(*shape, device=device) < 0.5, -1.0, 1.0)

    def _loss(self, z, x0, y, eps):
        seen = seen_point(self.projection, z, x0, eps, self.lo, self.hi)
        logits = forward_logits(self.model, seen, amp=self.amp)
        self.forwards += len(z)
        return margin(logits, y), seen

    def attack_ball(self, idx, eps, fooled_row, adv_row) -> None:
        """Attack images ``idx`` within ``eps``; mark ``fooled_row`` and fill ``adv_row`` in place (with early
        exit an image's first fooling point, else and for the images left robust its last accepted one)."""
        x0, y, live = self.x0[idx], self.y[idx], idx
        b, c, h, w = x0.shape
        dev = x0.device
        # the start: vertical stripes, each column of each channel at x0 ± ε
        z = (x0 + eps * self._signs(b, c, 1, w, device=dev).to(x0.dtype)).clamp(self.lo, self.hi)
        loss, seen = self._loss(z, x0, y, eps)
        hit = loss < 0

        def mark(now, seen_now):
            fooled_row[live[now]] = True
            if adv_row is not None and self.early_exit:
                adv_row[live[now]] = seen_now[now]

        mark(hit, seen)
        for q in range(1, self.queries):
            if self.early_exit:
                keep = ~hit
                if not bool(keep.any()):
                    break
                if not bool(keep.all()):
                    x0, y, live, z, loss, hit = x0[keep], y[keep], live[keep], z[keep], loss[keep], hit[keep]
            n = len(z)
            p = square_window_share(q - 1, self.schedule, self.p_init)
            side = min(max(int(round(math.sqrt(p * h * w))), 1), max(h - 1, 1))
            top = (self._rand(n, device=dev) * (h - side + 1)).long().clamp_(max=h - side)
            left = (self._rand(n, device=dev) * (w - side + 1)).long().clamp_(max=w - side)
            rows = torch.arange(h, device=dev)[None, :] - top[:, None]
            cols = torch.arange(w, device=dev)[None, :] - left[:, None]
            window = ((rows >= 0) & (rows < side))[:, None, :, None] & ((cols >= 0) & (cols < side))[:, None, None, :]
            signs = self._signs(n, c, 1, 1, device=dev).to(x0.dtype)
            inside = torch.where(window, z - x0, torch.zeros_like(z)).sum((2, 3)) / (side * side)
            same = ((inside - eps * signs[..., 0, 0]).abs() <= 1e-7 * max(eps, 1e-12)).all(1)
            if bool(same.any()):  # the window already holds these signs everywhere: draw again, once
                signs = torch.where(same[:, None, None, None], self._signs(n, c, 1, 1, device=dev).to(x0.dtype),
                                    signs)
            proposal = torch.where(window, (x0 + eps * signs).clamp(self.lo, self.hi), z)
            new_loss, seen = self._loss(proposal, x0, y, eps)
            better = new_loss < loss
            z = torch.where(better[:, None, None, None], proposal, z)
            loss = torch.where(better, new_loss, loss)
            now = (loss < 0) & ~hit  # a proposal that fools is accepted (its margin is below the last one's)
            hit = hit | now
            mark(now, seen)
        if adv_row is not None:
            rest = ~hit if self.early_exit else torch.ones_like(hit)
            adv_row[live[rest]] = seen_point(self.projection, z[rest], x0[rest], eps, self.lo, self.hi)


@torch.no_grad()
def square(model, x: torch.Tensor, y: torch.Tensor, eps, *, queries: int = 5000, p_init: float = 0.8,
           schedule_queries: int | None = None, restarts: int = 1, band=None, amp: bool = False,
           channels_last: bool = False, seed: int | None = 0, lo: float = 0.0, hi: float = 1.0,
           return_adversarials: bool = False, early_exit: bool = True, upto=None) -> AttackResult:
    """L∞ Square Attack at one or several ε (see the module docstring; AutoAttack runs 5,000 proposals after
    the start, ``queries=5001``, on the unscaled schedule, ``schedule_queries=10000``).

    Args:
        model: classifier returning logits (B, K), 2 classes or more; only its outputs are read.
        x: (B, C, H, W) images in ``[lo, hi]``; y: (B,) labels.
        eps: a radius or a sequence of radii (reported ascending; balls are nested).
        queries: model queries per image, ε and restart (the start counts as one).
        p_init: the window's first share of the image.
        schedule_queries: the budget the window schedule is laid out over (default ``queries``, as the paper's
            code; 10,000 reads the paper's schedule unscaled, as AutoAttack's standard suite does).
        restarts: runs per ε from fresh stripes, for the images not yet fooled.
        band: ``("low" | "high", r)``: every proposal's perturbation is projected into the band.
        seed: the random squares' seed (default 0, so two calls agree; None draws from the global RNG).
        amp, channels_last, lo, hi, return_adversarials, early_exit, upto: as in :func:`hfc_fast.attacks.pgd`.

    Returns:
        :class:`AttackResult` (``forwards`` counts the queries; ``backwards`` is 0).
    """
    x, y = check_batch(x, y, lo, hi, images=True, model=model)
    eps_values = tuple(sorted(as_values(eps, "eps")))
    upto = check_upto(upto, x, len(eps_values))
    queries = check_count(queries, "queries")
    restarts = check_count(restarts, "restarts")
    schedule = queries if schedule_queries is None else check_count(schedule_queries, "schedule_queries")
    if isinstance(p_init, bool) or not isinstance(p_init, int | float) or not 0 < p_init <= 1:
        raise InputError(f"p_init must be a number in (0, 1], got {p_init!r}")
    projection = BandProjection(band) if band is not None else None
    generator = torch.Generator(device=x.device).manual_seed(int(seed)) if seed is not None else None
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    engine = _Square(model, x, y, queries=queries, schedule=schedule, p_init=float(p_init), projection=projection,
                     amp=amp, generator=generator, lo=float(lo), hi=float(hi), early_exit=early_exit)
    with frozen_eval(model):
        logits = clean_logits(model, x, y, amp=amp, classes=2, what="square")
        engine.forwards += len(x)
        clean_fooled = logits.argmax(1) != y
        fooled, adversarials = nested_balls(
            x, clean_fooled, eps_values, runs=restarts, early_exit=early_exit,
            return_adversarials=return_adversarials, upto=upto,
            attack_ball=lambda k, _, idx, row, adv: engine.attack_ball(idx, eps_values[k], row, adv))
    method = {"name": "square", "queries": queries, "schedule_queries": schedule, "p_init": p_init,
              "restarts": restarts, "band": list(band) if band is not None else None, "amp": amp, "seed": seed,
              "early_exit": early_exit}
    return AttackResult(eps=eps_values, fooled=fooled, clean_correct=~clean_fooled, adversarials=adversarials,
                        forwards=engine.forwards, backwards=0, method=method)
