"""Robust accuracy over a data set, with a progress bar, sharded under torch.distributed."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch

from hfc_fast.attacks._inputs import as_values
from hfc_fast.attacks.apgd import apgd
from hfc_fast.attacks.pgd import fgsm, pgd
from hfc_fast.errors import InputError
from hfc_fast.evaluation import Counts, PassSettings, run_pass, settings_from

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


@dataclass(eq=False)
class RobustAccuracy(Counts):
    """Counts of :func:`robust_accuracy` (summed over ranks), and the accuracies they give.

    Attributes (counts):
        eps: the radii, ascending.
        n: images evaluated.
        clean_correct: images right without attack.
        robust_count: per attack name, per ε, images no iterate fooled (with ``cascade``: no iterate of this
            attack or of the ones before it).
        forwards, backwards: per attack, images passed through the model.
        worst_count: per ε, images that every attack failed to fool (the per-image worst case).
        cascade: each attack ran only on the images still robust after the ones before it.
        next_batch: the first batch number (of this rank) not yet counted.

    Rates: ``clean_accuracy``, ``accuracy(attack)`` and ``worst_case`` (per ε); ``to_dict()`` has both.
    """

    SUMMED = ("n", "clean_correct", "robust_count", "forwards", "backwards", "worst_count")

    eps: tuple = ()
    n: int = 0
    clean_correct: int = 0
    robust_count: dict = field(default_factory=dict)
    forwards: dict = field(default_factory=dict)
    backwards: dict = field(default_factory=dict)
    worst_count: list = field(default_factory=list)
    cascade: bool = False
    next_batch: int = 0

    @property
    def clean_accuracy(self) -> float:
        return self.clean_correct / self.n if self.n else float("nan")

    def accuracy(self, attack: str) -> list[float]:
        """Robust accuracy of ``attack`` per ε."""
        return [c / self.n if self.n else float("nan") for c in self.robust_count[attack]]

    @property
    def worst_case(self) -> list[float]:
        """Per ε, the share of images no attack fooled."""
        return [c / self.n if self.n else float("nan") for c in self.worst_count]

    def to_dict(self) -> dict:
        return {
            "eps": list(self.eps),
            "n": self.n,
            "clean_accuracy": self.clean_accuracy,
            "robust_accuracy": {name: self.accuracy(name) for name in self.robust_count},
            "worst_case": self.worst_case,
            "counts": {"clean_correct": self.clean_correct, "robust": dict(self.robust_count),
                       "worst": list(self.worst_count)},
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


def robust_accuracy(model, loader, attacks: Sequence | Mapping = ("fgsm", "pgd"), eps=(0.03, 0.06, 0.09), *,
                    device=None, progress: bool = True, cascade: bool = False, settings: PassSettings | None = None,
                    state: RobustAccuracy | None = None, save=None, **attack_kwargs) -> RobustAccuracy:
    """Clean and robust accuracy of ``model`` over every batch of ``loader``, per attack and in the worst case.

    Args:
        model: classifier returning logits.
        loader: the data: a DataLoader, a Dataset, an ``(images, labels)`` pair or a list of ``(x, y)``
            batches, x in the attacks' pixel box.
        attacks: names (``"fgsm"``, ``"pgd"``, ``"apgd-ce"``, ``"apgd-dlr"``, ``"apgd-t"``; :data:`WORST_CASE`
            is the usual ensemble), or a mapping from a name to a callable ``(model, x, y, eps) ->
            AttackResult`` (for instance a ``functools.partial`` of :func:`hfc_fast.attacks.pgd`).
        eps: a radius or a sequence of radii.
        device, progress: as :class:`~hfc_fast.evaluation.PassSettings` (``settings`` for the rest: batch size
            of a Dataset, workers, ``normalize`` in front of the model the attacks see).
        cascade: run each next attack only on the images every earlier attack left robust at some ε (as
            AutoAttack does): the worst case comes cheaper, and each attack's numbers are then cumulative.
        state, save: counts of an interrupted pass to continue from (its batches are not read again), and a
            callback given this rank's counts every ``settings.save_every`` batches and at the end.
        **attack_kwargs: passed to the built-in attacks named by string (each takes the ones it knows).

    A pass of the evaluation engine: under an initialised ``torch.distributed`` process group, rank r reads
    and attacks only the batches whose number is r modulo the world size, and the counts are summed, so
    every rank returns the totals.

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
    settings = settings_from(settings, device=device, progress=progress)
    if state is None:
        state = RobustAccuracy(eps=eps_values, robust_count={n: [0] * len(eps_values) for n in resolved},
                               forwards=dict.fromkeys(resolved, 0), backwards=dict.fromkeys(resolved, 0),
                               worst_count=[0] * len(eps_values), cascade=cascade)
    else:
        state = RobustAccuracy.from_state_dict(state.state_dict())
        if tuple(state.eps) != eps_values or list(state.robust_count) != list(resolved) or state.cascade != cascade:
            raise InputError("state was counted with other radii, attacks or cascade setting")

    def step(batch, net, report: RobustAccuracy) -> None:
        x, y = batch.x, batch.y
        alive = torch.ones(len(eps_values), len(x), dtype=torch.bool, device=x.device)  # robust to all so far
        clean_correct = None
        for name, attack in resolved.items():
            idx = alive.any(0).nonzero().squeeze(1) if cascade and clean_correct is not None else None
            if idx is not None and idx.numel() == 0:
                robust = alive
            else:
                result = attack(net, x if idx is None else x[idx], y if idx is None else y[idx], eps_values)
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
            report.robust_count[name] = [a + b for a, b in zip(report.robust_count[name], robust.sum(1).tolist(),
                                                               strict=True)]
        report.worst_count = [a + b for a, b in zip(report.worst_count, alive.sum(1).tolist(), strict=True)]
        report.n += len(x)
        report.clean_correct += int(clean_correct.sum())

    return run_pass(model, loader, step, state, settings=settings, desc="robust accuracy", save=save, grad=True)
