"""Robust accuracy over a data set, with a progress bar, sharded under torch.distributed."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from hfc_fast._distributed import all_sum, rank_and_world
from hfc_fast.attacks._inputs import as_values
from hfc_fast.attacks.pgd import fgsm, pgd

__all__ = ["RobustAccuracy", "robust_accuracy"]

_BUILTIN = {"fgsm": fgsm, "pgd": pgd}


@dataclass
class RobustAccuracy:
    """Counts gathered by :func:`robust_accuracy` (summed over ranks).

    Attributes:
        eps: the radii, ascending.
        n: images evaluated.
        clean_correct: images right without attack.
        robust: per attack name, per ε, images no iterate fooled.
        forwards, backwards: per attack, images passed through the model.
    """

    eps: tuple[float, ...]
    n: int = 0
    clean_correct: int = 0
    robust: dict[str, list[int]] = field(default_factory=dict)
    forwards: dict[str, int] = field(default_factory=dict)
    backwards: dict[str, int] = field(default_factory=dict)

    @property
    def clean_accuracy(self) -> float:
        return self.clean_correct / self.n if self.n else float("nan")

    def accuracy(self, attack: str) -> list[float]:
        """Robust accuracy of ``attack`` per ε."""
        return [c / self.n if self.n else float("nan") for c in self.robust[attack]]

    def to_dict(self) -> dict:
        return {
            "eps": list(self.eps),
            "n": self.n,
            "clean_accuracy": self.clean_accuracy,
            "robust_accuracy": {name: self.accuracy(name) for name in self.robust},
            "forwards": dict(self.forwards),
            "backwards": dict(self.backwards),
        }


def _resolve(attacks) -> dict[str, Callable]:
    if isinstance(attacks, str):
        attacks = [attacks]
    items = attacks.items() if isinstance(attacks, Mapping) else ((a, a) for a in attacks)
    resolved = {}
    for name, attack in items:
        if isinstance(attack, str):
            if attack not in _BUILTIN:
                raise ValueError(f"attacks: unknown attack {attack!r}; expected one of {sorted(_BUILTIN)} "
                                 "or a callable (model, x, y, eps) -> AttackResult")
            attack = _BUILTIN[attack]
        elif not callable(attack):
            raise TypeError(f"attacks: {name!r} must be an attack name or a callable, got {type(attack).__name__}")
        resolved[str(name)] = attack
    if not resolved:
        raise ValueError("attacks must name at least one attack")
    return resolved


def robust_accuracy(model, loader: Iterable, attacks: Sequence | Mapping = ("fgsm", "pgd"),
                    eps=(0.03, 0.06, 0.09), *, device=None, progress: bool = True, **attack_kwargs) -> RobustAccuracy:
    """Clean and robust accuracy of ``model`` over every batch of ``loader``.

    Args:
        model: classifier returning logits.
        loader: iterable of ``(x, y)`` batches, x in the attacks' pixel box.
        attacks: names (``"fgsm"``, ``"pgd"``), or a mapping from a name to a
            callable ``(model, x, y, eps) -> AttackResult`` (for instance a
            ``functools.partial`` of :func:`hfc_fast.attacks.pgd`).
        eps: a radius or a sequence of radii.
        device: where batches are moved (default: the model's device).
        progress: show a progress bar (on rank 0 only).
        **attack_kwargs: passed to the built-in attacks named by string.

    Under an initialised ``torch.distributed`` process group, rank r takes the
    batches whose index is r modulo the world size and the counts are
    all-reduced, so every rank returns the totals.

    Returns:
        :class:`RobustAccuracy`.
    """
    eps_values = tuple(sorted(as_values(eps, "eps")))
    resolved = _resolve(attacks)
    for name, attack in list(resolved.items()):
        if attack in _BUILTIN.values() and attack_kwargs:
            kwargs = dict(attack_kwargs)
            if attack is fgsm:  # FGSM has no step settings
                for key in ("alpha", "steps", "random_start", "restarts", "seed", "early_exit"):
                    kwargs.pop(key, None)
            resolved[name] = functools.partial(attack, **kwargs)
    if device is None:
        param = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
        device = param.device if param is not None else torch.device("cpu")
    rank, world = rank_and_world()
    report = RobustAccuracy(eps=eps_values, robust={n: [0] * len(eps_values) for n in resolved},
                            forwards=dict.fromkeys(resolved, 0), backwards=dict.fromkeys(resolved, 0))
    total = len(loader) if hasattr(loader, "__len__") else None
    bar = tqdm(loader, total=total, desc="robust accuracy", disable=not progress or rank != 0, unit="batch")
    for index, (x, y) in enumerate(bar):
        if index % world != rank:
            continue
        x, y = x.to(device), y.to(device)
        for name, attack in resolved.items():
            result = attack(model, x, y, eps_values)
            robust = (~result.fooled).sum(dim=1).tolist()
            report.robust[name] = [a + b for a, b in zip(report.robust[name], robust, strict=True)]
            report.forwards[name] += result.forwards
            report.backwards[name] += result.backwards
        report.n += len(x)
        report.clean_correct += int(result.clean_correct.sum())
        if rank == 0 and report.n:
            first = next(iter(resolved))
            bar.set_postfix(clean=f"{report.clean_accuracy:.3f}",
                            **{first: f"{report.robust[first][-1] / report.n:.3f}@{eps_values[-1]:g}"})
    if world > 1:
        _all_reduce(report, device)
    return report


def _all_reduce(report: RobustAccuracy, device) -> None:
    names = list(report.robust)
    flat = [report.n, report.clean_correct]
    for name in names:
        flat += report.robust[name] + [report.forwards[name], report.backwards[name]]
    values = [int(v) for v in all_sum(flat, device)]
    report.n, report.clean_correct = values[0], values[1]
    pos, width = 2, len(report.eps)
    for name in names:
        report.robust[name] = values[pos:pos + width]
        report.forwards[name], report.backwards[name] = values[pos + width], values[pos + width + 1]
        pos += width + 2
