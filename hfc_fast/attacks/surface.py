"""Robust accuracy over an ε grid × frequency bands: where in the spectrum adversarial perturbations live.

For each ε and each band — the full spectrum, and for each radius r the low
band (``d < r``) and the high band (``d >= r``) — L∞ PGD confined to that band
(``pgd(..., band=...)``), or the worst case over other attacks (AutoAttack's
suite among them) each confined to it. With PGD one clean pass per batch serves
every band (its gradient is projected onto each band); a pass of the evaluation engine, so
rank r reads only every r-th batch under torch.distributed. The paper's claim that "adversarial perturbations live in
the HFC" becomes one measured surface per model: if it holds, the high bands
at small r keep the attack's power and the low bands lose it.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from hfc_fast._model import forward_logits
from hfc_fast.attacks._inputs import as_values
from hfc_fast.attacks._model import check_logits
from hfc_fast.attacks.evaluate import attack_batch, prepared_attacks
from hfc_fast.attacks.pgd import pgd
from hfc_fast.bands import BANDS
from hfc_fast.errors import InputError
from hfc_fast.evaluation import Counts, MappingAccess, PassSettings, run_pass, settings_from
from hfc_fast.radius import check_fits, radius_key

__all__ = ["RobustnessSurface", "robustness_surface"]


def _bands(radii) -> list[tuple[str, tuple | None]]:
    return [("full", None)] + [(f"{kind}-r{radius_key(r)}", (kind, r)) for r in radii for kind in BANDS]


@dataclass(eq=False)
class RobustnessSurface(MappingAccess, Counts):
    """Counts of :func:`robustness_surface` (summed over ranks): ``robust`` (bands, E) float64, images no
    iterate fooled, per band (full, then low and high at each radius) and ε, of ``n``; ``clean`` images right
    unattacked; passes counted. ``to_dict()`` (and mapping access) gives the accuracies:
    ``{"eps", "radii", "n", "clean", "full": [per ε], "low": {"r": [per ε]}, "high": {...}, "passes"}``."""

    SUMMED = ("n", "clean", "forwards", "backwards", "robust")

    eps: list = field(default_factory=list)
    radii: list = field(default_factory=list)
    n: int = 0
    clean: int = 0
    forwards: int = 0
    backwards: int = 0
    robust: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.float64))
    next_batch: int = 0

    def to_dict(self) -> dict:
        n = self.n or float("nan")
        acc = (self.robust / n).tolist()
        surface = {"eps": list(self.eps), "radii": [float(r) for r in self.radii], "n": int(self.n),
                   "clean": self.clean / n, "full": acc[0], "low": {}, "high": {},
                   "passes": {"forwards": int(self.forwards), "backwards": int(self.backwards)}}
        for b, (_, band) in enumerate(_bands(self.radii)[1:], start=1):
            surface[band[0]][radius_key(band[1])] = acc[b]
        return surface


def robustness_surface(model, loader, eps, radii, *, steps: int = 10, alpha=None, amp: bool = False,
                       lo: float = 0.0, hi: float = 1.0, device=None, progress: bool = True,
                       settings: PassSettings | None = None, attacks="pgd") -> RobustnessSurface:
    """Robust accuracy of ``model`` under band-limited L∞ attacks for every ε and band.

    Args:
        model: classifier returning logits.
        loader: the data (a DataLoader, a Dataset, an ``(images, labels)`` pair or a list of batches),
            (B, C, H, W) in ``[lo, hi]``.
        eps: the ε grid (ascending in the result).
        radii: the band radii (each gives a low and a high band).
        steps, alpha: PGD steps and step size (default ε/4 per ε, no random start).
        attacks: ``"pgd"`` (the default: one clean pass per batch serves every band), or any attacks
            :func:`~hfc_fast.attacks.robust_accuracy` takes, ``"autoattack"`` among them: then each band's
            number is the per-image worst case over them, each attack confined to the band (``band=``) with
            its own budget (``steps`` and ``alpha`` are PGD's only).
        settings: :class:`~hfc_fast.evaluation.PassSettings` (``device`` and ``progress`` set its fields).

    Returns:
        :class:`RobustnessSurface`: counts, and through ``to_dict()`` or mapping access ``{"eps", "radii",
        "n", "clean", "full": [per ε], "low": {"r": [per ε]}, "high": {"r": [per ε]}, "passes": {"forwards",
        "backwards"}}``.
    """
    eps_values = tuple(sorted(as_values(eps, "eps")))
    check_fits(list(radii), name="radii")
    alphas = [e / 4 for e in eps_values] if alpha is None else alpha
    bands = _bands(radii)
    settings = settings_from(settings, device=device, progress=progress)
    if not (isinstance(attacks, str) and attacks == "pgd"):
        return _attacked_surface(model, loader, eps_values, bands, attacks, amp=amp, lo=lo, hi=hi,
                                 radii=radii, settings=settings)
    state = RobustnessSurface(eps=list(eps_values), radii=[float(r) for r in radii],
                              robust=torch.zeros(len(bands), len(eps_values), dtype=torch.float64))

    def step(batch, net, counts: RobustnessSurface) -> None:
        x, y = batch.x, batch.y
        x0 = x.detach().requires_grad_(True)
        logits = forward_logits(net, x0, amp=amp)
        check_logits(logits, y)
        grad = torch.autograd.grad(F.cross_entropy(logits, y, reduction="sum"), x0)[0]
        fooled = logits.detach().argmax(1) != y
        counts.forwards += len(x)
        counts.backwards += len(x)
        for b, (_, band) in enumerate(bands):
            result = pgd(net, x, y, eps_values, alpha=alphas, steps=steps, band=band, amp=amp, lo=lo, hi=hi,
                         clean=(fooled, grad))
            counts.robust[b] += (~result.fooled).sum(1).double().cpu()
            counts.forwards += result.forwards
            counts.backwards += result.backwards
        counts.clean += int((~fooled).sum())
        counts.n += len(y)

    return run_pass(model, loader, step, state, settings=settings, desc="ε × band surface", grad=True)


def _confined(attacks, band, **shared) -> tuple[dict, bool]:
    """``attacks`` resolved as robust_accuracy resolves them, each (a caller's own callable too) given ``band``."""
    resolved, cascade = prepared_attacks(attacks, **shared)
    for name, attack in resolved.items():
        if "band" not in inspect.signature(attack).parameters:
            raise InputError(f"attacks: {name!r} takes no band= argument, so the surface cannot confine it to a band")
        resolved[name] = functools.partial(attack, band=band)
    return resolved, cascade


def _attacked_surface(model, loader, eps_values, bands, attacks, *, amp, lo, hi, radii, settings):
    """The surface with each band's worst case over ``attacks`` (resolved as robust_accuracy resolves them)."""
    prepared = [_confined(attacks, band, amp=amp, lo=lo, hi=hi) for _, band in bands]
    state = RobustnessSurface(eps=list(eps_values), radii=[float(r) for r in radii],
                              robust=torch.zeros(len(bands), len(eps_values), dtype=torch.float64))

    def step(batch, net, counts: RobustnessSurface) -> None:
        for b, (resolved, cascade) in enumerate(prepared):
            out = attack_batch(net, batch.x, batch.y, eps_values, resolved, cascade=cascade)
            counts.robust[b] += out.alive.sum(1).double().cpu()
            counts.forwards += sum(out.forwards.values())
            counts.backwards += sum(out.backwards.values())
        counts.clean += int(out.clean_correct.sum())
        counts.n += len(batch.y)

    return run_pass(model, loader, step, state, settings=settings, desc="ε × band surface", grad=True)
