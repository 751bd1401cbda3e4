"""Effects with bootstrap confidence intervals, and three-way verdicts on them.

A claim predicts the sign of a difference (say, LFC-trained minus HFC-trained
test accuracy). :func:`effect_interval` measures that difference with a
percentile-bootstrap confidence interval that resamples the seeds and, within
each resampled seed, the units (test images, kernels, …): paired when both arms
scored the same units, so that the difference per unit is resampled, and
unpaired otherwise. :func:`three_way` reads the interval: *supported* when it
lies on the claimed side of zero, *contradicted* when it lies on the other
side, *inconclusive* when it straddles zero.

With one seed the interval is over units only and says nothing about the
variation between trainings; with seeds and no units (one number per seed)
it is over seeds only. One seed with one number is a single observation: its
"interval" has zero width and is no evidence, so :func:`three_way` reads it
as inconclusive and :meth:`Effect.describe` says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch

from hfc_fast.errors import InputError

__all__ = ["Effect", "effect_interval", "three_way", "VERDICTS"]

VERDICTS = ("supported", "contradicted", "inconclusive")


@dataclass(frozen=True)
class Effect:
    """A measured difference and its confidence interval.

    ``estimate`` is the mean over seeds of each seed's mean difference;
    ``low``/``high`` bound the ``level`` percentile-bootstrap interval;
    ``units`` counts the units per seed (their sum over seeds when they differ),
    ``seeds`` the seeds, ``paired`` whether units were resampled as pairs.
    """

    estimate: float
    low: float
    high: float
    level: float
    units: int
    seeds: int
    paired: bool
    resamples: int

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def observations(self) -> int:
        """The independent observations the interval resamples: the seeds, or with one seed its units."""
        return self.seeds if self.seeds > 1 else max(self.units, 1)

    @property
    def is_evidence(self) -> bool:
        """Whether the interval rests on at least two observations (one observation has no spread to measure)."""
        return self.observations >= 2

    def describe(self, unit: str = "images", digits: int = 3) -> str:
        """``+0.123 (95 % CI +0.101 to +0.145; 2000 images × 3 seeds)``."""
        f = f"{{:+.{digits}f}}"
        count = f"{self.units} {unit} × " if self.units else ""
        seeds = f"{self.seeds} seed{'s' if self.seeds != 1 else ''}"
        if not self.is_evidence:
            return f"{f.format(self.estimate)} (one observation, no interval: {count}{seeds}; run more seeds)"
        return (f"{f.format(self.estimate)} ({round(100 * self.level):d} % CI {f.format(self.low)} to "
                f"{f.format(self.high)}; {count}{seeds})")


def _per_seed(values, name: str) -> list[torch.Tensor]:
    """One float64 vector per seed, from a vector, a number per seed, or a list of vectors."""
    if isinstance(values, torch.Tensor):
        values = [values]
    if not isinstance(values, Sequence) or isinstance(values, str) or not len(values):
        raise InputError(f"{name} must be a tensor or a non-empty list with one entry per seed")
    out = []
    for k, v in enumerate(values):
        t = torch.as_tensor(v, dtype=torch.float64).reshape(-1)
        if t.numel() == 0:
            raise InputError(f"{name}[{k}] is empty: every seed needs at least one unit")
        if not bool(torch.isfinite(t).all()):
            raise InputError(f"{name}[{k}] holds NaN or infinite values")
        out.append(t)
    return out


def _resampled_means(vectors: list[torch.Tensor], picks: torch.Tensor, generator) -> torch.Tensor:
    """For each resample: the units of each picked seed resampled, their mean, averaged over picked seeds."""
    resamples, seeds = picks.shape
    total = torch.zeros(resamples, dtype=torch.float64)
    for s in range(seeds):
        for k, v in enumerate(vectors):
            rows = (picks[:, s] == k).nonzero().squeeze(1)
            if rows.numel() == 0:
                continue
            if v.numel() == 1:
                total[rows] += v[0]
                continue
            step = max(1, (1 << 22) // v.numel())  # resamples per chunk: about 4 M indices at a time
            for start in range(0, rows.numel(), step):
                chunk = rows[start:start + step]
                idx = torch.randint(0, v.numel(), (chunk.numel(), v.numel()), generator=generator)
                total[chunk] += v[idx].mean(1)
    return total / seeds


def effect_interval(treated, control=None, *, paired: bool = True, level: float = 0.95, resamples: int = 2000,
                    seed: int = 0) -> Effect:
    """The mean difference ``treated − control`` with a percentile-bootstrap interval over seeds and units.

    Args:
        treated: per seed, the values of the arm the claim favours: a (N,) tensor (one seed), or a list of
            tensors or numbers (one per seed). Alone (``control=None``) they are the differences themselves.
        control: the other arm, shaped as ``treated``; with ``paired=True`` unit i of each seed is the same
            unit in both arms (the same test image), so the per-unit differences are resampled.
        paired: resample pairs (same units in both arms) or each arm on its own.
        level: the interval's coverage, in (0, 1).
        resamples: bootstrap resamples.
        seed: the resampling generator's seed (the interval is repeatable).

    Returns:
        :class:`Effect`.
    """
    if not 0 < level < 1:
        raise InputError(f"level must lie in (0, 1), got {level}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 100:
        raise InputError(f"resamples must be an integer >= 100, got {resamples!r}")
    a = _per_seed(treated, "treated")
    b = None if control is None else _per_seed(control, "control")
    if b is not None and len(b) != len(a):
        raise InputError(f"control must hold one entry per seed of treated ({len(a)}), got {len(b)}")
    generator = torch.Generator().manual_seed(int(seed))
    seeds = len(a)
    picks = torch.randint(0, seeds, (resamples, seeds), generator=generator) if seeds > 1 \
        else torch.zeros(resamples, 1, dtype=torch.long)
    if b is None or paired:
        if b is not None:
            for k, (u, v) in enumerate(zip(a, b, strict=True)):
                if u.shape != v.shape:
                    raise InputError(f"paired arms must score the same units: seed {k} has {u.numel()} treated "
                                     f"and {v.numel()} control values")
        diffs = a if b is None else [u - v for u, v in zip(a, b, strict=True)]
        boot = _resampled_means(diffs, picks, generator)
        estimate = float(torch.stack([d.mean() for d in diffs]).mean())
        units = [d.numel() for d in diffs]
    else:
        boot = _resampled_means(a, picks, generator) - _resampled_means(b, picks, generator)
        estimate = float(torch.stack([u.mean() - v.mean() for u, v in zip(a, b, strict=True)]).mean())
        units = [u.numel() + v.numel() for u, v in zip(a, b, strict=True)]
    tail = (1 - level) / 2
    low, high = torch.quantile(boot, torch.tensor([tail, 1 - tail], dtype=torch.float64)).tolist()
    n_units = units[0] if len(set(units)) == 1 else sum(units)
    if all(u == 1 for u in units):
        n_units = 0
    return Effect(estimate=estimate, low=low, high=high, level=level, units=n_units, seeds=seeds,
                  paired=b is None or paired, resamples=resamples)


def three_way(effect: Effect, *, expect: str = "positive") -> str:
    """``"supported"`` when the interval lies on the ``expect``-ed side of zero, ``"contradicted"`` when it lies
    on the other side, ``"inconclusive"`` when it contains zero, or when it rests on fewer than two
    observations (one seed with one number: see :attr:`Effect.is_evidence`)."""
    if expect not in ("positive", "negative"):
        raise InputError(f"expect must be 'positive' or 'negative', got {expect!r}")
    if not effect.is_evidence:
        return "inconclusive"
    sign = 1 if expect == "positive" else -1
    low, high = sorted((sign * effect.low, sign * effect.high))
    if math.isnan(low) or math.isnan(high):
        return "inconclusive"
    if low > 0:
        return "supported"
    if high < 0:
        return "contradicted"
    return "inconclusive"
