"""Robust accuracy over a data set, with a progress bar, sharded under torch.distributed."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from hfc_fast._distributed import all_sum, rank_and_world, shard
from hfc_fast._model import model_device
from hfc_fast.attacks._inputs import as_values
from hfc_fast.attacks.apgd import apgd
from hfc_fast.attacks.pgd import fgsm, pgd
from hfc_fast.errors import InputError

__all__ = ["WORST_CASE", "RobustAccuracy", "robust_accuracy"]

_BUILTIN = {"fgsm": fgsm, "pgd": pgd, "apgd-ce": functools.partial(apgd, loss="ce"),
            "apgd-dlr": functools.partial(apgd, loss="dlr"), "apgd-t": functools.partial(apgd, loss="dlr-targeted")}
# what each built-in takes of the shared keyword arguments (the rest are its own defaults)
_TAKES = {"fgsm": ("targeted", "band", "amp", "channels_last", "lo", "hi"),
          "pgd": ("alpha", "steps", "random_start", "restarts", "targeted", "band", "amp", "channels_last", "seed",
                  "lo", "hi", "early_exit"),
          "apgd": ("steps", "restarts", "band", "amp", "channels_last", "seed", "lo", "hi", "early_exit",
                   "target_classes")}
WORST_CASE = ("fgsm", "pgd", "apgd-ce", "apgd-dlr")  # the worst case over these is the default verdict of robustness


@dataclass
class RobustAccuracy:
    """Counts gathered by :func:`robust_accuracy` (summed over ranks).

    Attributes:
        eps: the radii, ascending.
        n: images evaluated.
        clean_correct: images right without attack.
        robust: per attack name, per ε, images no iterate fooled (with ``cascade``: no iterate of this attack
            or of the ones before it).
        forwards, backwards: per attack, images passed through the model.
        worst: per ε, images that every attack failed to fool (the per-sample worst case).
        cascade: each attack ran only on the images still robust after the ones before it.
    """

    eps: tuple[float, ...]
    n: int = 0
    clean_correct: int = 0
    robust: dict[str, list[int]] = field(default_factory=dict)
    forwards: dict[str, int] = field(default_factory=dict)
    backwards: dict[str, int] = field(default_factory=dict)
    worst: list[int] = field(default_factory=list)
    cascade: bool = False

    @property
    def clean_accuracy(self) -> float:
        return self.clean_correct / self.n if self.n else float("nan")

    def accuracy(self, attack: str) -> list[float]:
        """Robust accuracy of ``attack`` per ε."""
        return [c / self.n if self.n else float("nan") for c in self.robust[attack]]

    @property
    def worst_case(self) -> list[float]:
        """Per ε, the share of images no attack fooled."""
        return [c / self.n if self.n else float("nan") for c in self.worst]

    def to_dict(self) -> dict:
        return {
            "eps": list(self.eps),
            "n": self.n,
            "clean_accuracy": self.clean_accuracy,
            "robust_accuracy": {name: self.accuracy(name) for name in self.robust},
            "worst_case": self.worst_case,
            "cascade": self.cascade,
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
                raise InputError(f"attacks: unknown attack {attack!r}; expected one of {sorted(_BUILTIN)} "
                                 "or a callable (model, x, y, eps) -> AttackResult")
            attack = _BUILTIN[attack]
        elif not callable(attack):
            raise TypeError(f"attacks: {name!r} must be an attack name or a callable, got {type(attack).__name__}")
        resolved[str(name)] = attack
    if not resolved:
        raise InputError("attacks must name at least one attack")
    return resolved


def robust_accuracy(model, loader: Iterable, attacks: Sequence | Mapping = ("fgsm", "pgd"),
                    eps=(0.03, 0.06, 0.09), *, device=None, progress: bool = True, cascade: bool = False,
                    **attack_kwargs) -> RobustAccuracy:
    """Clean and robust accuracy of ``model`` over every batch of ``loader``, per attack and in the worst case.

    Args:
        model: classifier returning logits.
        loader: iterable of ``(x, y)`` batches, x in the attacks' pixel box.
        attacks: names (``"fgsm"``, ``"pgd"``, ``"apgd-ce"``, ``"apgd-dlr"``, ``"apgd-t"``; :data:`WORST_CASE`
            is the usual ensemble), or a mapping from a name to a callable ``(model, x, y, eps) ->
            AttackResult`` (for instance a ``functools.partial`` of :func:`hfc_fast.attacks.pgd`).
        eps: a radius or a sequence of radii.
        device: where batches are moved (default: the model's device).
        progress: show a progress bar (on rank 0 only).
        cascade: run each next attack only on the images every earlier attack left robust at some ε (as
            AutoAttack does): the worst case comes cheaper, and each attack's numbers are then cumulative.
        **attack_kwargs: passed to the built-in attacks named by string (each takes the ones it knows).

    Under an initialised ``torch.distributed`` process group, rank r takes the
    batches whose index is r modulo the world size and the counts are
    all-reduced, so every rank returns the totals.

    Returns:
        :class:`RobustAccuracy`.
    """
    eps_values = tuple(sorted(as_values(eps, "eps")))
    resolved = _resolve(attacks)
    for name, attack in list(resolved.items()):
        builtin = next((k for k, v in _BUILTIN.items() if v is attack), None)
        if builtin is not None and attack_kwargs:
            takes = _TAKES["apgd" if builtin.startswith("apgd") else builtin]
            resolved[name] = functools.partial(attack, **{k: v for k, v in attack_kwargs.items() if k in takes})
    device = model_device(model) if device is None else device
    rank, world = rank_and_world()
    report = RobustAccuracy(eps=eps_values, robust={n: [0] * len(eps_values) for n in resolved},
                            forwards=dict.fromkeys(resolved, 0), backwards=dict.fromkeys(resolved, 0),
                            worst=[0] * len(eps_values), cascade=cascade)
    batches, total = shard(loader)
    bar = tqdm(batches, total=total, desc="robust accuracy", disable=not progress or rank != 0, unit="batch")
    for _, (x, y) in bar:
        x, y = x.to(device), y.to(device)
        alive = torch.ones(len(eps_values), len(x), dtype=torch.bool, device=x.device)  # robust to all so far
        clean_correct = None
        for name, attack in resolved.items():
            idx = alive.any(0).nonzero().squeeze(1) if cascade and clean_correct is not None else None
            if idx is not None and idx.numel() == 0:
                robust = alive
            else:
                result = attack(model, x if idx is None else x[idx], y if idx is None else y[idx], eps_values)
                if clean_correct is None:
                    clean_correct = result.clean_correct
                if idx is None:
                    alive &= ~result.fooled
                    robust = alive if cascade else ~result.fooled
                else:
                    alive[:, idx] &= ~result.fooled
                    robust = alive
                report.forwards[name] += result.forwards
                report.backwards[name] += result.backwards
            report.robust[name] = [a + b for a, b in zip(report.robust[name], robust.sum(1).tolist(), strict=True)]
        report.worst = [a + b for a, b in zip(report.worst, alive.sum(1).tolist(), strict=True)]
        report.n += len(x)
        report.clean_correct += int(clean_correct.sum())
        if rank == 0 and report.n:
            bar.set_postfix(clean=f"{report.clean_accuracy:.3f}",
                            worst=f"{report.worst[-1] / report.n:.3f}@{eps_values[-1]:g}")
    if world > 1:
        _all_reduce(report, device)
    return report


def _all_reduce(report: RobustAccuracy, device) -> None:
    names = list(report.robust)
    flat = [report.n, report.clean_correct, *report.worst]
    for name in names:
        flat += report.robust[name] + [report.forwards[name], report.backwards[name]]
    values = [int(v) for v in all_sum(flat, device)]
    report.n, report.clean_correct = values[0], values[1]
    report.worst = values[2:2 + len(report.eps)]
    pos, width = 2 + len(report.eps), len(report.eps)
    for name in names:
        report.robust[name] = values[pos:pos + width]
        report.forwards[name], report.backwards[name] = values[pos + width], values[pos + width + 1]
        pos += width + 2
