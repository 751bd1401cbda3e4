"""Robust accuracy over a data set: per attack, the per-image worst case, the cascade, and AutoAttack's standard
suite as a preset; a pass of the evaluation engine (sharded by index, resumable).

:data:`ATTACKS` is the one registry of the built-in attacks by name: ``robust_accuracy``, the robustness
command and the CLI read it, and each attack takes of the shared keyword arguments those its signature names.

``"autoattack"`` (:data:`AUTOATTACK`) is the standard suite of Croce & Hein (ICML 2020) with its cascade,
order and budgets: APGD-CE (100 steps), APGD-T (100 steps, 9 targets), FAB-T (100 steps, 9 targets) and
Square (5,000 queries after its start, on the paper's window schedule unscaled, as AutoAttack's code runs
it), each on the images every earlier one left robust, seeded (seed 0 unless given:
two calls agree, and ``seed=`` draws other random starts and squares).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch

from hfc_fast._distributed import rank_and_world
from hfc_fast.attacks._inputs import as_values
from hfc_fast.attacks.apgd import apgd
from hfc_fast.attacks.fab import fab
from hfc_fast.attacks.pgd import fgsm, pgd
from hfc_fast.attacks.square import square
from hfc_fast.errors import InputError
from hfc_fast.evaluation import Counts, PassSettings, run_pass, settings_from

__all__ = ["ATTACKS", "AUTOATTACK", "WORST_CASE", "RobustAccuracy", "robust_accuracy"]

# the built-in attacks by name: each a callable (model, x, y, eps, **kwargs) -> AttackResult
ATTACKS = {"fgsm": fgsm, "pgd": pgd, "apgd-ce": functools.partial(apgd, loss="ce"),
           "apgd-dlr": functools.partial(apgd, loss="dlr"), "apgd-t": functools.partial(apgd, loss="dlr-targeted"),
           "fab-t": fab, "square": square}
# AutoAttack's standard suite, in its order and with its budgets (run as a cascade)
AUTOATTACK = {"apgd-ce": functools.partial(apgd, loss="ce", steps=100, restarts=1, seed=0),
              "apgd-t": functools.partial(apgd, loss="dlr-targeted", steps=100, restarts=1, target_classes=9, seed=0),
              "fab-t": functools.partial(fab, steps=100, target_classes=9),
              # 5,000 proposals after the start, the window schedule read unscaled (AutoAttack's resc_schedule=False)
              "square": functools.partial(square, queries=5001, schedule_queries=10000, p_init=0.8, restarts=1,
                                          seed=0)}
PRESET_FIXED = ("steps", "restarts", "target_classes", "queries", "schedule_queries", "p_init", "loss")  # kept
WORST_CASE = ("fgsm", "pgd", "apgd-ce", "apgd-dlr")  # a cheap white-box worst case (AutoAttack: "autoattack")


def takes(attack, kwargs: dict) -> dict:
    """Of the shared keyword arguments, those ``attack``'s signature names (read off it, not kept by hand)."""
    names = inspect.signature(attack).parameters
    return {k: v for k, v in kwargs.items() if k in names}


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
        new_count: per attack, per ε, images right unattacked that it fooled and no attack before it had (in
            the order run): what each attack adds to the worst case.
        cascade: each attack ran only on the images still robust after the ones before it.
        survivors: per batch, ``[first image index, [per ε, per image: robust to every attack]]``: the
            per-image worst case, to compare image by image with another tool (:meth:`robust_mask`).
        next_batch: the first batch number (of this rank) not yet counted.

    Rates: ``clean_accuracy``, ``accuracy(attack)`` and ``worst_case`` (per ε); ``to_dict()`` has both.
    """

    SUMMED = ("n", "clean_correct", "robust_count", "forwards", "backwards", "worst_count", "new_count")

    eps: tuple = ()
    n: int = 0
    clean_correct: int = 0
    robust_count: dict = field(default_factory=dict)
    forwards: dict = field(default_factory=dict)
    backwards: dict = field(default_factory=dict)
    worst_count: list = field(default_factory=list)
    new_count: dict = field(default_factory=dict)
    cascade: bool = False
    survivors: list = field(default_factory=list)
    next_batch: int = 0

    def summed(self, device) -> RobustAccuracy:
        out = super().summed(device)
        _, world = rank_and_world()
        if world > 1:  # every rank's survivors, in image order
            import torch.distributed as dist

            gathered = [None] * world
            dist.all_gather_object(gathered, self.survivors)
            out.survivors = sorted((s for part in gathered for s in part), key=lambda s: s[0])
        return out

    def robust_mask(self) -> torch.Tensor:
        """(E, N) bool: image i (by its index in the data) is robust at ε to every attack."""
        if not self.survivors:
            return torch.zeros(len(self.eps), 0, dtype=torch.bool)
        ordered = sorted(self.survivors, key=lambda s: s[0])
        return torch.cat([torch.tensor(rows, dtype=torch.bool).view(len(self.eps), -1) for _, rows in ordered], 1)

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
                       "worst": list(self.worst_count), "new": dict(self.new_count)},
            "cascade": self.cascade,
            "forwards": dict(self.forwards),
            "backwards": dict(self.backwards),
        }


def prepared_attacks(attacks, *, cascade: bool = False, **attack_kwargs) -> tuple[dict[str, Callable], bool]:
    """``attacks`` as :func:`robust_accuracy` takes them, resolved to name -> callable ``(model, x, y, eps)``
    with the shared keyword arguments bound (each built-in attack takes those its signature names; ``seed`` is 0
    unless given; the ``"autoattack"`` preset keeps its budgets, refusing keywords that would change them, and
    always cascades), and whether to cascade."""
    preset = isinstance(attacks, str) and attacks == "autoattack"
    budgets = sorted(k for k in attack_kwargs if k in PRESET_FIXED) if preset else []
    if budgets:
        raise InputError(f"{', '.join(f'{k}=' for k in budgets)}: the 'autoattack' preset keeps AutoAttack's "
                         "budgets and losses; to change them pass a mapping of AUTOATTACK's members, for instance "
                         "{'apgd-ce': functools.partial(AUTOATTACK['apgd-ce'], steps=10)}")
    resolved = _resolve(attacks)
    attack_kwargs = {"seed": 0, **attack_kwargs}
    builtins = set(ATTACKS.values()) | set(AUTOATTACK.values())
    for name, attack in list(resolved.items()):
        if attack in builtins:
            resolved[name] = functools.partial(attack, **takes(attack, attack_kwargs))
    return resolved, cascade or preset


@dataclass
class BatchOutcome:
    """What the attacks did to one batch: ``alive`` (E, B) robust to every attack so far, ``clean_correct``
    (B,), and per attack its robust counts per ε, the images it fooled first (``new``) and its passes."""

    alive: torch.Tensor
    clean_correct: torch.Tensor
    robust: dict
    new: dict
    forwards: dict
    backwards: dict


def attack_batch(net, x: torch.Tensor, y: torch.Tensor, eps_values, resolved: dict, *,
                 cascade: bool = False) -> BatchOutcome:
    """Run each of ``resolved``'s attacks (in order) on one batch; with ``cascade`` each runs only on the
    images every earlier one left robust, each image up to the largest ε it is still robust at (as AutoAttack
    runs its suite per ε on the images still robust at it): in one call with ``upto=`` when the attack takes
    it (the built-in ones do), else one call per such largest ε. ``robust[name]``: per ε, images no iterate of
    this attack fooled (with ``cascade``: of this attack or one before it)."""
    alive = torch.ones(len(eps_values), len(x), dtype=torch.bool, device=x.device)
    clean_correct = None
    out = BatchOutcome(alive, None, {}, {}, dict.fromkeys(resolved, 0), dict.fromkeys(resolved, 0))
    for name, attack in resolved.items():
        before = alive.clone()
        if clean_correct is None or not cascade:  # the first attack, or every attack on every image and ε
            result = attack(net, x, y, eps_values)
            if clean_correct is None:
                clean_correct = result.clean_correct
            alive &= ~result.fooled
            robust = alive if cascade else ~result.fooled
            out.forwards[name] += result.forwards
            out.backwards[name] += result.backwards
        else:  # each image only up to the largest ε it is still robust at, as AutoAttack attacks per ε
            for m, idx, upto in _by_depth(alive, together="upto" in inspect.signature(attack).parameters):
                result = attack(net, x[idx], y[idx], eps_values[:m], **({} if upto is None else {"upto": upto}))
                alive[:m, idx] &= ~result.fooled
                out.forwards[name] += result.forwards
                out.backwards[name] += result.backwards
            robust = alive
        out.robust[name] = robust.sum(1).tolist()
        out.new[name] = (before & ~alive & clean_correct[None, :]).sum(1).tolist()  # fooled here first
    out.clean_correct = clean_correct
    return out


def _by_depth(alive: torch.Tensor, *, together: bool = False) -> list[tuple[int, torch.Tensor, torch.Tensor | None]]:
    """The images still robust at some ε as ``(m, idx, upto)``: each image's depth is one more than the index
    of the largest ε it is robust at, so that it is attacked at its first ``depth`` radii only (radii where it
    is fooled already are not attacked again; nested balls make those the larger ones). Grouped by depth
    (``m`` = depth, ``upto`` None), or ``together``: one group of every such image at the ``m`` radii up to
    the deepest, with ``upto`` their depths."""
    radii = torch.arange(1, alive.shape[0] + 1, device=alive.device)[:, None]
    depth = torch.where(alive, radii, 0).amax(0)
    if together:
        idx = (depth > 0).nonzero().squeeze(1)
        return [(int(depth.max()), idx, depth[idx])] if idx.numel() else []
    return [(m, idx, None) for m in range(1, alive.shape[0] + 1)
            if (idx := (depth == m).nonzero().squeeze(1)).numel()]


def _added(counts: list, more: list) -> list:
    return [a + int(b) for a, b in zip(counts, more, strict=True)]


def _resolve(attacks) -> dict[str, Callable]:
    if isinstance(attacks, str) and attacks == "autoattack":
        return dict(AUTOATTACK)
    if isinstance(attacks, str):
        attacks = [attacks]
    items = attacks.items() if isinstance(attacks, Mapping) else ((a, a) for a in attacks)
    resolved = {}
    for name, attack in items:
        if isinstance(attack, str):
            if attack not in ATTACKS:
                raise InputError(f"attacks: unknown attack {attack!r}; expected one of {sorted(ATTACKS)}, "
                                 "'autoattack', or a callable (model, x, y, eps) -> AttackResult")
            attack = ATTACKS[attack]
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
        attacks: names from :data:`ATTACKS` (``"fgsm"``, ``"pgd"``, ``"apgd-ce"``, ``"apgd-dlr"``, ``"apgd-t"``,
            ``"fab-t"``, ``"square"``; :data:`WORST_CASE` is a cheap white-box ensemble), ``"autoattack"``
            (:data:`AUTOATTACK`, always a cascade), or a mapping from a name to a callable ``(model, x, y, eps)
            -> AttackResult`` (for instance a ``functools.partial`` of :func:`hfc_fast.attacks.pgd`).
        eps: a radius or a sequence of radii.
        device, progress: as :class:`~hfc_fast.evaluation.PassSettings` (``settings`` for the rest: batch size
            of a Dataset, workers, ``normalize`` in front of the model the attacks see).
        cascade: run each next attack only on the images every earlier attack left robust at some ε (as
            AutoAttack does): the worst case comes cheaper, and each attack's numbers are then cumulative.
        state, save: counts of an interrupted pass to continue from (its batches are not read again), and a
            callback given this rank's counts every ``settings.save_every`` batches and at the end.
        **attack_kwargs: passed to the built-in attacks named by string (each takes the ones its signature
            names); ``seed`` is 0 unless given, so that two calls agree.

    A pass of the evaluation engine: under an initialised ``torch.distributed`` process group, rank r reads
    and attacks only the batches whose number is r modulo the world size, and the counts are summed, so
    every rank returns the totals.

    Returns:
        :class:`RobustAccuracy`.
    """
    eps_values = tuple(sorted(as_values(eps, "eps")))
    resolved, cascade = prepared_attacks(attacks, cascade=cascade, **attack_kwargs)
    settings = settings_from(settings, device=device, progress=progress)
    if state is None:
        state = RobustAccuracy(eps=eps_values, robust_count={n: [0] * len(eps_values) for n in resolved},
                               forwards=dict.fromkeys(resolved, 0), backwards=dict.fromkeys(resolved, 0),
                               worst_count=[0] * len(eps_values),
                               new_count={n: [0] * len(eps_values) for n in resolved}, cascade=cascade)
    else:
        state = RobustAccuracy.from_state_dict(state.state_dict())
        if tuple(state.eps) != eps_values or list(state.robust_count) != list(resolved) or state.cascade != cascade:
            raise InputError("state was counted with other radii, attacks or cascade setting")

    def step(batch, net, report: RobustAccuracy) -> None:
        out = attack_batch(net, batch.x, batch.y, eps_values, resolved, cascade=cascade)
        for name in resolved:
            report.robust_count[name] = _added(report.robust_count[name], out.robust[name])
            report.new_count[name] = _added(report.new_count[name], out.new[name])
            report.forwards[name] += out.forwards[name]
            report.backwards[name] += out.backwards[name]
        report.worst_count = _added(report.worst_count, out.alive.sum(1).tolist())
        report.survivors.append([batch.first, out.alive.cpu().tolist()])
        report.n += len(batch.x)
        report.clean_correct += int(out.clean_correct.sum())

    return run_pass(model, loader, step, state, settings=settings, desc="robust accuracy", save=save, grad=True)
