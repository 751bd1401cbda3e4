"""Robust accuracy over an ε grid × frequency bands: where in the spectrum adversarial perturbations live.

For each ε and each band — the full spectrum, and for each radius r the low
band (``d < r``) and the high band (``d >= r``) — L∞ PGD confined to that band
(``pgd(..., band=...)``). One clean pass per batch serves every band (its
gradient is projected onto each band), rank r takes every r-th batch under
torch.distributed. The paper's claim that "adversarial perturbations live in
the HFC" becomes one measured surface per model: if it holds, the high bands
at small r keep the attack's power and the low bands lose it.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from hfc_fast._distributed import all_sum, rank_and_world, shard
from hfc_fast._model import forward_logits, frozen_eval, model_device
from hfc_fast.attacks._inputs import as_values
from hfc_fast.attacks._model import check_logits
from hfc_fast.attacks.pgd import pgd
from hfc_fast.radius import check_fits, radius_key

__all__ = ["robustness_surface"]


def _bands(radii) -> list[tuple[str, tuple | None]]:
    return [("full", None)] + [(f"{kind}-r{radius_key(r)}", (kind, r)) for r in radii for kind in ("low", "high")]


def robustness_surface(model, loader: Iterable, eps, radii, *, steps: int = 10, alpha=None, amp: bool = False,
                       lo: float = 0.0, hi: float = 1.0, device=None, progress: bool = True) -> dict:
    """Robust accuracy of ``model`` under band-limited L∞ PGD for every ε and band.

    Args:
        model: classifier returning logits.
        loader: iterable of ``(x, y)`` batches (B, C, H, W) in ``[lo, hi]``.
        eps: the ε grid (ascending in the result).
        radii: the band radii (each gives a low and a high band).
        steps, alpha: PGD steps and step size (default ε/4 per ε, no random start).

    Returns:
        ``{"eps", "radii", "n", "clean", "full": [per ε], "low": {"r": [per ε]}, "high": {"r": [per ε]},
        "passes": {"forwards", "backwards"}}``.
    """
    eps_values = tuple(sorted(as_values(eps, "eps")))
    check_fits(list(radii), name="radii")
    alphas = [e / 4 for e in eps_values] if alpha is None else alpha
    bands = _bands(radii)
    device = model_device(model) if device is None else device
    batches, total = shard(loader)
    rank, _ = rank_and_world()
    robust = torch.zeros(len(bands), len(eps_values), dtype=torch.float64)
    n = clean = forwards = backwards = 0
    for _, (x, y) in tqdm(batches, total=total, desc="ε × band surface", unit="batch",
                          disable=not progress or rank != 0):
        x, y = x.to(device), y.to(device)
        with frozen_eval(model):
            x0 = x.detach().requires_grad_(True)
            with torch.enable_grad():
                logits = forward_logits(model, x0, amp=amp)
                check_logits(logits, y)
                grad = torch.autograd.grad(F.cross_entropy(logits, y, reduction="sum"), x0)[0]
        fooled = logits.detach().argmax(1) != y
        forwards, backwards = forwards + len(x), backwards + len(x)
        for b, (_, band) in enumerate(bands):
            result = pgd(model, x, y, eps_values, alpha=alphas, steps=steps, band=band, amp=amp, lo=lo, hi=hi,
                         clean=(fooled, grad))
            robust[b] += (~result.fooled).sum(1).double().cpu()
            forwards, backwards = forwards + result.forwards, backwards + result.backwards
        clean += int((~fooled).sum())
        n += len(y)
    totals = all_sum([float(n), float(clean), float(forwards), float(backwards), *robust.flatten().tolist()], device)
    n_all = totals[0] or float("nan")
    acc = (torch.tensor(totals[4:], dtype=torch.float64).view(len(bands), -1) / n_all).tolist()
    surface = {"eps": list(eps_values), "radii": [float(r) for r in radii], "n": int(totals[0]),
               "clean": totals[1] / n_all, "full": acc[0], "low": {}, "high": {},
               "passes": {"forwards": int(totals[2]), "backwards": int(totals[3])}}
    for b, (_, band) in enumerate(bands[1:], start=1):
        surface[band[0]][radius_key(band[1])] = acc[b]
    return surface
