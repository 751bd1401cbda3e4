"""The random-noise attack and the linear model's prediction for it (lecture notes §3.4).

For a linear two-class model with margin ``m = |wᵀx0 + b|``, adding
``σ·r`` with ``r ~ N(0, I)`` flips the decision with probability
``P[σ wᵀr > m] = ½ erfc(m / (σ‖w‖₂√2))`` (Eq. 3.60 with the substitution of
Theorem 7), which vanishes as the dimension grows for a fixed per-pixel
budget. For any model we report that prediction with ``w`` and ``m`` taken
from the linearisation at x0 of the margin to the runner-up class; it is
exact for a linear model when no clipping applies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from hfc_fast._model import forward_logits, frozen_eval
from hfc_fast.attacks._inputs import as_values, check_batch, check_count
from hfc_fast.attacks._model import check_logits

__all__ = ["NoiseResult", "noise_attack"]


@dataclass
class NoiseResult:
    """Success of i.i.d. Gaussian noise at each σ over B images.

    Attributes:
        sigma: the S noise levels.
        trial_success_rate: (S,) share of (image, trial) pairs, over the
            images classified right when clean, that the noise fooled.
        predicted_rate: (S,) the linear model's ``½ erfc(m / (σ‖w‖√2))``
            averaged over the same images.
        fooled_any: (S, B) bool, at least one trial fooled the image.
        clean_correct: (B,) bool.
        forwards, backwards: images passed forward / backward.
    """

    sigma: tuple[float, ...]
    trial_success_rate: torch.Tensor
    predicted_rate: torch.Tensor
    fooled_any: torch.Tensor
    clean_correct: torch.Tensor
    trials: int
    forwards: int = 0
    backwards: int = 0
    method: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "sigma": list(self.sigma),
            "trials": self.trials,
            "n": int(self.clean_correct.numel()),
            "clean_accuracy": float(self.clean_correct.float().mean()),
            "trial_success_rate": self.trial_success_rate.tolist(),
            "predicted_rate": self.predicted_rate.tolist(),
            "any_trial_success_rate": (self.fooled_any[:, self.clean_correct].float().mean(dim=1)).tolist(),
            "forwards": self.forwards,
            "backwards": self.backwards,
        }


def _linear_margin(model, x0, y, amp):
    """Margin to the runner-up class and the L2 norm of its input gradient, per image."""
    x = x0.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = forward_logits(model, x, amp=amp)
        check_logits(logits, y)
        true = logits.gather(1, y[:, None]).squeeze(1)
        runner_up = logits.scatter(1, y[:, None], float("-inf")).max(dim=1).values
        margin = true - runner_up
        grad = torch.autograd.grad(margin.sum(), x)[0]
    return logits.detach(), margin.detach(), grad.flatten(1).norm(dim=1)


def noise_attack(model, x: torch.Tensor, y: torch.Tensor, sigma, trials: int = 100, *, lo: float | None = 0.0,
                 hi: float | None = 1.0, clip: bool = True, seed: int | None = None, amp: bool = False,
                 max_batch: int = 4096) -> NoiseResult:
    """Perturb each image ``trials`` times by ``σ·N(0, I)`` and count the successes.

    Args:
        model: classifier returning logits (B, K).
        x: (B, ...) images in ``[lo, hi]``.
        y: (B,) true labels.
        sigma: a noise standard deviation or a sequence of them.
        trials: noise draws per image and σ.
        lo, hi: pixel box (``None``: unbounded).
        clip: clip the noisy images to the box (the prediction ignores the clip).
        seed: seeds the noise, for repeatable results.
        amp: run the model under bfloat16 autocast.
        max_batch: most noisy images forwarded at once.

    Returns:
        :class:`NoiseResult`.
    """
    x, y = check_batch(x, y, lo, hi, model=model)
    sigmas = as_values(sigma, "sigma")
    trials = check_count(trials, "trials")
    max_batch = check_count(max_batch, "max_batch")
    generator = torch.Generator(device=x.device).manual_seed(int(seed)) if seed is not None else None
    x0 = x.detach()
    batch = len(x0)
    with frozen_eval(model):
        logits, margin, grad_norm = _linear_margin(model, x0, y, amp)
        forwards, backwards = batch, batch
        correct = logits.argmax(1) == y
        rates, predicted, fooled_any = [], [], []
        per_chunk = max(1, max_batch // max(batch, 1))
        for s in sigmas:
            wins = torch.zeros(batch, dtype=torch.long, device=x.device)
            done = 0
            while done < trials:
                n = min(per_chunk, trials - done)
                noise = torch.randn((n, *x0.shape), generator=generator, device=x.device, dtype=x.dtype)
                noisy = x0.unsqueeze(0) + s * noise
                if clip and (lo is not None or hi is not None):
                    noisy = noisy.clamp(lo, hi)
                with torch.no_grad():
                    pred = forward_logits(model, noisy.flatten(0, 1), amp=amp).argmax(1).view(n, batch)
                forwards += n * batch
                wins += (pred != y).sum(0)
                done += n
            fooled_any.append((wins > 0) | ~correct)
            n_right = int(correct.sum())
            rates.append(float(wins[correct].sum()) / (n_right * trials) if n_right else float("nan"))
            if n_right and s > 0:
                z = margin[correct] / (s * grad_norm[correct].clamp_min(1e-12) * math.sqrt(2))
                predicted.append(float((0.5 * torch.special.erfc(z)).mean()))
            else:
                predicted.append(0.0 if n_right else float("nan"))
    return NoiseResult(sigma=sigmas, trial_success_rate=torch.tensor(rates), predicted_rate=torch.tensor(predicted),
                       fooled_any=torch.stack(fooled_any), clean_correct=correct, trials=trials, forwards=forwards,
                       backwards=backwards, method={"name": "noise", "trials": trials, "clip": clip, "seed": seed})
