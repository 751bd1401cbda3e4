"""``hfc robustness`` (paper Table 2): clean and robust accuracy of models with smoothed first-layer kernels.

By default every image is attacked by FGSM, PGD, APGD-CE and APGD-DLR and
counts robust only if every attack failed (the per-sample worst case); with
``autoattack`` among ``--attacks`` the worst case comes from the named attacks
followed by AutoAttack's standard suite, run as AutoAttack's cascade. The
report says whether Table 2's smoothing gain survives the stronger attacks and
runs gradient-masking checks on the smoothed model.

Everything of Table 2 is here: the paper's numbers and claims, the measurement
(:func:`robustness_table`, :func:`masking_checks`), its rows (:class:`Row`), the
verdicts, the page section and the figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch

from hfc_fast.attacks import ATTACKS as REGISTRY
from hfc_fast.attacks import AUTOATTACK, WORST_CASE, apgd, pgd, robust_accuracy, square
from hfc_fast.attacks._inputs import as_values
from hfc_fast.errors import InputError
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.figures import pyplot
from hfc_fast.experiments.core.files import save_and_close
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import csv_text, markdown_table
from hfc_fast.experiments.core.verdicts import accuracy_part, mean, outcomes, part, verdict, verdict_lines
from hfc_fast.smoothing import smooth_first_conv
from hfc_fast.stats import effect_interval

HELP = "Table 2: FGSM/PGD/APGD accuracy of smoothed natural and adversarial models, with gradient-masking checks"
ATTACKS = (*REGISTRY, "autoattack")  # "autoattack": AutoAttack's standard suite (APGD-CE, APGD-T, FAB-T, Square)

# ---------------------------------------------------------------------- the paper (Wang et al. 2020, §6.3)
RHOS = (0.0, 0.1, 0.25, 0.5, 1.0)
EPS = (0.03, 0.06, 0.09)
# CIFAR-10, their ResNet: clean, FGSM at EPS, PGD at EPS, for each smoothing ρ
TABLE2 = {
    "natural": {0.0: (0.856, (0.107, 0.069, 0.044), (0.003, 0.002, 0.002)),
                0.1: (0.815, (0.149, 0.105, 0.073), (0.009, 0.002, 0.001)),
                0.25: (0.743, (0.16, 0.11, 0.079), (0.021, 0.005, 0.005)),
                0.5: (0.674, (0.17, 0.11, 0.083), (0.031, 0.016, 0.014)),
                1.0: (0.631, (0.171, 0.14, 0.127), (0.086, 0.078, 0.078))},
    "adversarial": {0.0: (0.707, (0.435, 0.232, 0.137), (0.403, 0.138, 0.038)),
                    0.1: (0.691, (0.412, 0.192, 0.109), (0.379, 0.13, 0.047)),
                    0.25: (0.667, (0.385, 0.176, 0.097), (0.352, 0.116, 0.04)),
                    0.5: (0.653, (0.365, 0.18, 0.106), (0.334, 0.121, 0.062)),
                    1.0: (0.638, (0.356, 0.223, 0.186), (0.337, 0.175, 0.131))},
}
TABLE2_PAPER = "CIFAR-10, natural model, ρ = 0 → 1: clean 0.856 → 0.631, PGD at ε = 0.09 0.002 → 0.078"
SMOOTHING_CLAIM = "smoothing (ρ = 1) trades clean accuracy for robustness at large ε (§6.3, Table 2)"
NAMES = {"fgsm": "FGSM", "pgd": "PGD", "apgd-ce": "APGD-CE", "apgd-dlr": "APGD-DLR", "apgd-t": "APGD-T",
         "fab-t": "FAB-T", "square": "Square"}


def survives_claim(attacks=WORST_CASE, suite: bool = False) -> str:
    """The claim that the smoothing gain survives the worst case over ``attacks`` (and AutoAttack's suite)."""
    stronger = [NAMES.get(a, a) for a in attacks if a not in ("fgsm", "pgd") and not (suite and a in AUTOATTACK)]
    if suite:
        stronger.insert(0, "AutoAttack's standard suite")
    listed = " and ".join([", ".join(stronger[:-1]), stronger[-1]] if len(stronger) > 1 else stronger)
    return f"the smoothing gain at large ε survives the worst case over stronger attacks ({listed} beside FGSM and PGD)"


SURVIVES_CLAIM = survives_claim()  # "... (APGD-CE and APGD-DLR beside FGSM and PGD)"
UNMASKED_CLAIM = "the smoothed model shows no sign of gradient masking (accuracy falls with ε and steps, reaches " \
                 "about 0 at a large ε, neither transfer attacks nor the gradient-free Square attack are stronger " \
                 "than white-box ones)"
NEAR_ZERO = 0.02  # "about 0": the worst-case accuracy at the masking checks' large ε
SQUARE_TOLERANCE = 0.005  # Square may fool this share of the images every white-box attack failed on
MODELS = ("natural", "adversarial")
SUITE_TEXT = ("; the worst case and what each attack found come from these attacks followed by AutoAttack's standard "
              "suite (APGD-CE 100 steps, APGD-T 100 steps × 9 targets, FAB-T 100 steps × 9 targets, Square 5,000 "
              "queries) as AutoAttack's cascade, each on the images the ones before left robust")


# ---------------------------------------------------------------------- the rows
@dataclass
class Row:
    """One row of Table 2: a model at one smoothing strength ρ.

    ``accuracy`` maps each attack (and ``"worst"``, the per-image worst case over all of them) to its robust
    accuracy per ε of :data:`EPS`; ``found`` each attack, in the order run, to the images it fooled that no
    attack before it had, per ε (what it added to the worst case; empty in a row averaged over seeds);
    ``seed`` is ``None`` for a row averaged over seeds.
    """

    model: str
    rho: float
    clean: float
    n: int
    accuracy: dict[str, list[float]] = field(default_factory=dict)
    seed: int | None = None
    found: dict[str, list[int]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The JSON form: ``{"model", "rho", "clean", "n", <attack>: [per ε], ..., "worst": [...], "found",
        "seed"}``; ``found`` as ``[attack, [per ε]]`` pairs, keeping the order the attacks ran in (JSON files
        are written with sorted keys)."""
        return {"model": self.model, "rho": self.rho, "clean": self.clean, "n": self.n, **self.accuracy,
                **({"found": [[a, c] for a, c in self.found.items()]} if self.found else {}),
                **({} if self.seed is None else {"seed": self.seed})}

    @classmethod
    def from_dict(cls, d: dict) -> Row:
        named = ("model", "rho", "clean", "n", "seed", "found")
        return cls(d["model"], d["rho"], d["clean"], d["n"], {k: v for k, v in d.items() if k not in named},
                   d.get("seed"), {a: c for a, c in d.get("found", [])})


def find(rows: list[Row], model: str, rho: float) -> Row:
    return next(r for r in rows if r.model == model and r.rho == rho)


def averaged(rows: list[Row], rhos) -> list[Row]:
    """Table 2 rows averaged over seeds."""
    table = []
    for model in MODELS:
        for rho in rhos:
            group = [r for r in rows if r.model == model and r.rho == rho]
            table.append(Row(model, rho, mean(r.clean for r in group), group[0].n,
                             {k: [mean(r.accuracy[k][i] for r in group) for i in range(len(EPS))]
                              for k in group[0].accuracy}))
    return table


# ---------------------------------------------------------------------- the measurement
def robustness_table(models: dict, batches, *, rhos=RHOS, eps=EPS, pgd_steps: int = 10, attacks=("fgsm", "pgd"),
                     apgd_steps: int = 100, autoattack: bool = False, progress: bool = True) -> list[Row]:
    """A :class:`Row` for each model and ρ: clean accuracy, each attack's robust accuracy per ε, and ``"worst"``.

    PGD uses ``pgd_steps`` steps of ε/4 without random start, APGD ``apgd_steps`` iterations; each of
    ``attacks`` runs on every image for its own column, and ``worst`` counts an image robust only if every
    attack failed. With ``autoattack``, ``worst`` and ``found`` come from a cascade of ``attacks`` followed by
    the members of AutoAttack's suite they lack, with the suite's budgets (APGD-CE among them), each on the
    images the ones before left robust, as AutoAttack runs it. Smoothing is applied to a copy of each model.
    """
    own = attack_callables({a: a for a in attacks}, pgd_steps, apgd_steps)
    cascade = attack_callables({a: a for a in [*attacks, *(m for m in AUTOATTACK if m not in attacks)]},
                               pgd_steps, apgd_steps, autoattack=True) if autoattack else None
    rows = []
    for name, model in models.items():
        for rho in rhos:
            smoothed = smooth_first_conv(model, rho) if rho else model
            rows.append(table_row(name, rho, smoothed, batches, own, eps, cascade=cascade, progress=progress))
    return rows


def table_row(name: str, rho: float, model, batches, own: dict, eps, *, cascade: dict | None = None,
              progress: bool = True) -> Row:
    """One :class:`Row`: each attack of ``own`` on every image (its column); the worst case and what each attack
    found first from the same pass, or, given ``cascade``, from ``cascade``'s attacks run as a cascade."""
    report = robust_accuracy(model, batches, own, eps, progress=progress)
    worst = report if cascade is None else robust_accuracy(model, batches, cascade, eps, cascade=True,
                                                           progress=progress)
    return Row(name, rho, report.clean_accuracy, report.n,
               {**{a: report.accuracy(a) for a in own}, "worst": worst.worst_case},
               found={a: list(c) for a, c in worst.new_count.items()})


def table_stage(exp, name: str, models: dict, batches, **settings) -> list[Row]:
    """:func:`robustness_table` as the cached stage ``name`` of ``exp`` (its rows stored as JSON)."""
    return [Row.from_dict(r) for r in exp.stage(name, lambda: {
        "rows": [r.to_dict() for r in robustness_table(models, batches, progress=exp.progress, **settings)]})["rows"]]


def _pgd(steps: int):
    """PGD as Table 2 runs it: ``steps`` steps of ε/4 at each radius it is given (a cascade gives an image the
    smaller radii only), no random start."""
    def table2_pgd(model, x, y, eps, *, upto=None, **kwargs):  # upto named: a cascade gives it one call per batch
        return pgd(model, x, y, eps, steps=steps, alpha=[e / 4 for e in sorted(as_values(eps, "eps"))], upto=upto,
                   **kwargs)

    return table2_pgd


def attack_callables(names: dict, pgd_steps: int, apgd_steps: int, *, autoattack: bool = False) -> dict:
    """name -> attack with this toolkit's Table 2 settings: PGD steps of ε/4 without random start, APGD with its
    own schedule and a fixed seed; the others as the registry (:data:`~hfc_fast.attacks.ATTACKS`) has them,
    FAB-T and Square with AutoAttack's budgets."""
    made = {**{n: partial(a, seed=0) if n in ("fab-t", "square") else a for n, a in REGISTRY.items()},
            **AUTOATTACK, "pgd": _pgd(pgd_steps),
            "apgd-ce": partial(apgd, loss="ce", steps=apgd_steps, seed=0),
            "apgd-dlr": partial(apgd, loss="dlr", steps=apgd_steps, seed=0),
            "apgd-t": partial(apgd, loss="dlr-targeted", steps=apgd_steps, seed=0)}
    if autoattack:
        made.update(AUTOATTACK)
    unknown = [n for n in names if n not in made]
    if unknown:
        raise InputError(f"--attacks must name some of {', '.join(made)}, got {', '.join(unknown)}")
    return {n: made[names[n]] for n in names}


def masking_checks(smoothed, source, batches, *, eps, large_eps: float = 0.3, steps=(10, 50),
                   square_queries: int = 1000, progress: bool = False) -> dict:
    """Gradient-masking checks of a defended model (Athalye et al.'s and Carlini et al.'s usual list):

    * ``monotone``: PGD robust accuracy does not rise with ε (over ``eps`` + ``large_eps``), nor with more
      steps (``steps`` against each other, within one image of slack);
    * ``large_eps``: at ``large_eps`` the worst case reaches about 0 (at most :data:`NEAR_ZERO` of the
      images);
    * ``transfer``: PGD examples crafted on the undefended ``source`` do not beat the white-box attack on the
      defended model (transfer accuracy >= white-box accuracy);
    * ``square``: the gradient-free Square Attack (``square_queries`` queries) at the largest ε fools at most
      :data:`SQUARE_TOLERANCE` of the images (and at most one image on small sets) that PGD and APGD-CE both
      failed on: white-box attacks at least as strong as a black-box one.
    """
    grid = sorted(set(eps) | {large_eps})
    few, many = (robust_accuracy(smoothed, batches, {"pgd": _pgd(s)}, grid, progress=progress).accuracy("pgd")
                 for s in steps)
    n = sum(len(y) for _, y in batches)
    worst = robust_accuracy(smoothed, batches, attack_callables({"pgd": "pgd", "apgd-ce": "apgd-ce"},
                                                                steps[-1], 100), [large_eps], progress=progress)
    transfer_hits = 0
    for x, y in batches:
        crafted = pgd(source, x, y, max(eps), alpha=max(eps) / 4, steps=steps[0], early_exit=False,
                      return_adversarials=True).adversarials[0]
        with torch.no_grad():
            transfer_hits += int((smoothed(crafted).argmax(1) == y).sum())
    white = robust_accuracy(smoothed, batches, {"pgd": _pgd(steps[0])}, [max(eps)],
                            progress=progress).accuracy("pgd")[0]
    box = robust_accuracy(smoothed, batches, attack_callables({"pgd": "pgd", "apgd-ce": "apgd-ce"},
                                                              steps[0], 100), [max(eps)], progress=progress)
    black = robust_accuracy(smoothed, batches, {"square": partial(square, queries=square_queries, seed=0)},
                            [max(eps)], progress=progress)
    beyond = int((box.robust_mask()[0] & ~black.robust_mask()[0]).sum())
    square_not_stronger = beyond <= max(1, SQUARE_TOLERANCE * n)
    monotone = all(a >= b - 1e-12 for a, b in zip(few, few[1:], strict=False)) and \
        all(m <= f + 1 / max(n, 1) for f, m in zip(few, many, strict=True))
    reaches_zero = worst.worst_case[0] <= NEAR_ZERO
    transfer_not_stronger = transfer_hits / n >= white - 1e-12
    return {"n": n, "eps": grid, "steps": list(steps), "pgd_few_steps": few, "pgd_many_steps": many,
            "monotone": monotone, "large_eps": large_eps, "worst_at_large_eps": worst.worst_case[0],
            "reaches_zero": reaches_zero, "transfer_eps": max(eps), "transfer": transfer_hits / n,
            "white_box": white, "transfer_not_stronger": transfer_not_stronger,
            "square_queries": square_queries, "white_box_worst": box.worst_case[0], "square": black.worst_case[0],
            "square_beyond_white_box": beyond, "square_not_stronger": square_not_stronger,
            "passed": monotone and reaches_zero and transfer_not_stronger and square_not_stronger}


# ---------------------------------------------------------------------- the verdicts
def _smoothing_effect(measure: str, per_seed: list[list[Row]], attack: str | None, *, expect: str) -> dict:
    """Smoothed (ρ = 1) minus plain natural model: clean accuracy (``attack=None``), or an attack's accuracy at
    the largest ε, from each seed's rows."""
    def value(rows, rho):
        row = find(rows, "natural", rho)
        return row.clean if attack is None else row.accuracy[attack][-1]

    n = per_seed[0][0].n
    return accuracy_part(measure, [[value(rows, 1.0)] for rows in per_seed], [[value(rows, 0.0)] for rows in per_seed],
                         n, expect=expect)


def smoothing_parts(per_seed: list[list[Row]]) -> list[dict]:
    """:data:`SMOOTHING_CLAIM` measured from each seed's rows: clean accuracy falls, PGD accuracy at the largest
    ε rises."""
    return [_smoothing_effect("clean accuracy, smoothed − plain", per_seed, None, expect="negative"),
            _smoothing_effect(f"PGD accuracy at ε = {EPS[-1]}, smoothed − plain", per_seed, "pgd",
                              expect="positive")]


def smoothing_numbers(rows: list[Row]) -> str:
    """The means behind :data:`SMOOTHING_CLAIM`."""
    plain, smooth = find(rows, "natural", 0.0), find(rows, "natural", 1.0)
    return (f"clean {plain.clean:.3f} → {smooth.clean:.3f}; at ε = {EPS[-1]}: FGSM "
            f"{plain.accuracy['fgsm'][-1]:.3f} → {smooth.accuracy['fgsm'][-1]:.3f}, PGD "
            f"{plain.accuracy['pgd'][-1]:.3f} → {smooth.accuracy['pgd'][-1]:.3f}")


def survives_parts(per_seed: list[list[Row]]) -> list[dict]:
    """:data:`SURVIVES_CLAIM` measured: the worst case over every attack at the largest ε, smoothed − plain."""
    return [_smoothing_effect(f"worst-case accuracy at ε = {EPS[-1]}, smoothed − plain", per_seed, "worst",
                              expect="positive")]


def survives_numbers(rows: list[Row]) -> str:
    plain, smooth = find(rows, "natural", 0.0), find(rows, "natural", 1.0)
    return (f"worst case at ε = {EPS[-1]}: {plain.accuracy['worst'][-1]:.3f} → {smooth.accuracy['worst'][-1]:.3f} "
            f"with smoothing (PGD alone: {plain.accuracy['pgd'][-1]:.3f} → {smooth.accuracy['pgd'][-1]:.3f})")


def unmasked_parts(checks: list[dict]) -> list[dict]:
    """:data:`UNMASKED_CLAIM` measured from each seed's :func:`masking_checks`: accuracy falls from the
    largest ε of the table to the large ε, reaches below :data:`NEAR_ZERO` there (worst case), and neither
    transfer examples from the unsmoothed model nor Square leave fewer images right than the white-box
    attacks."""
    n = checks[0]["n"]
    eps = checks[0]["eps"]
    at = eps.index(checks[0]["transfer_eps"])
    return [accuracy_part(f"PGD accuracy, ε = {eps[at]:g} − ε = {checks[0]['large_eps']:g}",
                          [[c["pgd_few_steps"][at]] for c in checks], [[c["pgd_few_steps"][-1]] for c in checks],
                          n),
            part(f"{NEAR_ZERO:g} − worst-case accuracy at ε = {checks[0]['large_eps']:g}",
                 effect_interval([NEAR_ZERO - outcomes(c["worst_at_large_eps"], n) for c in checks])),
            accuracy_part(f"transfer − white-box accuracy at ε = {checks[0]['transfer_eps']:g}",
                          [[c["transfer"]] for c in checks], [[c["white_box"]] for c in checks], n),
            accuracy_part(f"Square ({checks[0]['square_queries']} queries) − white-box (PGD + APGD-CE) accuracy at "
                          f"ε = {checks[0]['transfer_eps']:g}",
                          [[c["square"]] for c in checks], [[c["white_box_worst"]] for c in checks], n)]


def masking_numbers(checks: list[dict]) -> str:
    """The means over seeds behind :data:`UNMASKED_CLAIM`, and the images only Square fooled, summed."""
    def mean(key):
        return sum(c[key] for c in checks) / len(checks)

    by_eps = [sum(v) / len(checks) for v in zip(*(c["pgd_few_steps"] for c in checks), strict=True)]
    return (f"PGD accuracy by ε {', '.join(f'{v:.3f}' for v in by_eps)}; worst case at ε = "
            f"{checks[0]['large_eps']:g}: {mean('worst_at_large_eps'):.3f}; transfer {mean('transfer'):.3f} vs "
            f"white-box {mean('white_box'):.3f}; Square {mean('square'):.3f} vs PGD + APGD-CE "
            f"{mean('white_box_worst'):.3f}, {sum(c['square_beyond_white_box'] for c in checks)} image(s) only "
            f"Square fooled over {len(checks)} seed(s)")


# ---------------------------------------------------------------------- the page and the figure
def robustness_csv(rows: list[Row]) -> str:
    """Table 2 rows (model, rho, clean, each attack's and the worst case's accuracy per ε) as CSV."""
    attacks = list(rows[0].accuracy)
    header = ["model", "rho", "clean"] + [f"{a}_{e}" for a in attacks for e in EPS]
    return csv_text(header, [[r.model, f"{r.rho:g}", float(r.clean),
                              *(float(v) for a in attacks for v in r.accuracy[a])] for r in rows])


def table2_lines(rows: list[Row], *, stronger: bool | None = None) -> list[str]:
    """Table 2 rows beside the paper's numbers, as a markdown table (one column per ε): FGSM, PGD and, when
    more attacks ran (``stronger``; by default when the rows have a column beyond FGSM's and PGD's), the
    per-sample worst case over all of them."""
    eps = [f"{e:g}" for e in EPS]
    if stronger is None:
        stronger = bool(set(rows[0].accuracy) - {"fgsm", "pgd", "worst"})
    header = ["model", "ρ", "clean", *(f"FGSM {e}" for e in eps), *(f"PGD {e}" for e in eps),
              *(f"worst case {e}" for e in eps if stronger), "paper: clean", "paper: FGSM", "paper: PGD"]
    table = []
    for r in rows:
        paper = TABLE2.get(r.model, {}).get(r.rho)
        theirs = [paper[0], " / ".join(f"{v:.3f}" for v in paper[1]), " / ".join(f"{v:.3f}" for v in paper[2])] \
            if paper else ["", "", ""]
        table.append([r.model, f"{r.rho:g}", r.clean, *r.accuracy["fgsm"], *r.accuracy["pgd"],
                      *(r.accuracy["worst"] if stronger else []), *theirs])
    return markdown_table(header, table)


def found_lines(rows: list[Row]) -> list[str]:
    """Which attack found what: per model and ρ, the images each attack fooled that no attack before it had,
    per ε, summed over seeds (the worst case's images, attributed to the first attack that fooled them)."""
    eps = [f"{e:g}" for e in EPS]
    table = {}
    for r in rows:
        for attack, counts in r.found.items():
            key = (r.model, f"{r.rho:g}", attack)
            table[key] = [a + b for a, b in zip(table.get(key, [0] * len(counts)), counts, strict=True)]
    if not table:  # rows measured before attacks recorded what they added
        return ["(not recorded in these rows' stage files; rerun into a new --out to see it)"]
    return markdown_table(["model", "ρ", "attack (in the order run)", *(f"first fooled at ε = {e}" for e in eps)],
                          [[*key, *counts] for key, counts in table.items()])


def masking_rows(check: dict) -> list[list]:
    """One seed's :func:`masking_checks` as table rows: check, numbers, passed."""
    steps = check["steps"]
    return [["accuracy falls with ε and with steps",
             f"PGD-{steps[0]}: {' / '.join(f'{v:.3f}' for v in check['pgd_few_steps'])}; PGD-{steps[1]}: "
             f"{' / '.join(f'{v:.3f}' for v in check['pgd_many_steps'])} (ε = "
             f"{', '.join(f'{e:g}' for e in check['eps'])})", str(check["monotone"])],
            [f"about 0 (at most {NEAR_ZERO:g}) at ε = {check['large_eps']:g}",
             f"worst case {check['worst_at_large_eps']:.3f}", str(check["reaches_zero"])],
            ["transfer from the unsmoothed model is not stronger",
             f"transfer {check['transfer']:.3f}, white-box {check['white_box']:.3f} at ε = {check['transfer_eps']:g}",
             str(check["transfer_not_stronger"])],
            [f"white-box at least as strong as Square ({check['square_queries']} queries)",
             f"Square {check['square']:.3f}, PGD + APGD-CE {check['white_box_worst']:.3f} at ε = "
             f"{check['transfer_eps']:g}; {check['square_beyond_white_box']} image(s) only Square fooled",
             str(check["square_not_stronger"])]]


def plot_robustness(rows: list[Row], eps, path: Path) -> Path:
    """Accuracy against smoothing ρ: clean, and FGSM/PGD at each ε, for each model."""
    models = list(dict.fromkeys(r.model for r in rows))
    fig, axes = pyplot().subplots(1, len(models), figsize=(5 * len(models), 3.6), sharey=True, squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        mine = [r for r in rows if r.model == model]
        rhos = [r.rho for r in mine]
        ax.plot(rhos, [r.clean for r in mine], "ko-", label="clean")
        for i, e in enumerate(eps):
            ax.plot(rhos, [r.accuracy["fgsm"][i] for r in mine], "s--", color=f"C{i}", label=f"FGSM ε={e}")
            ax.plot(rhos, [r.accuracy["pgd"][i] for r in mine], "^:", color=f"C{i}", label=f"PGD ε={e}")
        ax.set_title(f"{model} model", fontsize=9)
        ax.set_xlabel("smoothing ρ")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("accuracy")
    axes[0][-1].legend(fontsize=6, ncol=2)
    return save_and_close(path, fig)


# ---------------------------------------------------------------------- the command
def add_arguments(options) -> None:
    options.add("--attack-images", default=2000, spec=Spec("int", minimum=1),
                help="test images attacked (default 2000)")
    options.add("--attacks", default=list(WORST_CASE), spec=Spec("names", choices=ATTACKS),
                help=f"attacks whose per-sample worst case counts (default {','.join(WORST_CASE)}; 'autoattack' adds "
                     "AutoAttack's standard suite, apgd-ce, apgd-t, fab-t and square with its budgets, as a cascade "
                     "after the named attacks for the worst case)")
    options.add("--pgd-steps", default=10, spec=Spec("int", minimum=1), help="PGD steps of ε/4 (default 10)")
    options.add("--apgd-steps", default=None, spec=Spec("int", minimum=1, optional=True),
                help="APGD iterations (default 100 with --preset paper, 25 otherwise)")
    options.add("--rhos", default=list(RHOS), spec=Spec("numbers", minimum=0, maximum=1),
                help=f"smoothing strengths ρ, 0 and 1 among them (default {','.join(f'{r:g}' for r in RHOS)})")
    options.add("--masking-images", default=500, spec=Spec("int", minimum=1),
                help="test images of the gradient-masking checks (default 500)")
    add_experiment_options(options, "robustness")


def check_args(args) -> None:
    if not {"fgsm", "pgd"} <= set(args.attacks):
        raise InputError("--attacks must include fgsm and pgd (the paper's Table 2)")
    if not {0.0, 1.0} <= set(args.rhos):
        raise InputError(f"--rhos must include 0 and 1 (the verdicts compare them), got "
                         f"{','.join(f'{r:g}' for r in args.rhos)}")


def attack_names(given) -> tuple[list[str], bool]:
    """The attacks with a column of their own (``given`` less ``autoattack``) and whether AutoAttack's suite
    follows them as a cascade."""
    return [a for a in given if a != "autoattack"], "autoattack" in given


def run(exp, args) -> dict:
    batches = exp.batches(args.attack_images)
    attacks, suite = attack_names(args.attacks)
    apgd_steps = args.apgd_steps or (100 if exp.preset == "paper" else 25)
    rows, checks, per_seed = [], [], []
    for seed in exp.seeds:
        natural, adversarial = exp.trained_pair(seed)
        seed_rows = table_stage(exp, f"robustness-s{seed}", {"natural": natural, "adversarial": adversarial},
                                batches, rhos=args.rhos, pgd_steps=args.pgd_steps, attacks=attacks,
                                apgd_steps=apgd_steps, autoattack=suite)
        checks.append(exp.stage(f"masking-square-s{seed}", lambda n=natural: masking_checks(
            smooth_first_conv(n, 1.0), n, exp.batches(args.masking_images), eps=EPS, progress=exp.progress)))
        rows += [Row(**{**vars(r), "seed": seed}) for r in seed_rows]
        per_seed.append(seed_rows)
    means = averaged(rows, args.rhos)
    exp.write_text("robustness.csv", robustness_csv(means))
    exp.figure(plot_robustness, "robustness.png", means, EPS)
    budget = exp.budget
    verdicts = [verdict(SMOOTHING_CLAIM, smoothing_parts(per_seed), numbers=smoothing_numbers(means),
                        paper=TABLE2_PAPER, budget=budget),
                verdict(survives_claim(attacks, suite), survives_parts(per_seed), numbers=survives_numbers(means),
                        budget=budget),
                verdict(UNMASKED_CLAIM, unmasked_parts(checks), numbers=masking_numbers(checks), budget=budget)]
    report = "\n".join([
        "# Robustness of smoothed kernels (Table 2)", "",
        f"{exp.base.model} on {exp.base.dataset}; {means[0].n} test images attacked by {', '.join(attacks)} "
        f"(PGD-{args.pgd_steps} with step ε/4, APGD {apgd_steps} iterations){SUITE_TEXT if suite else ''}; an "
        "image is robust only if no iterate of an attack fooled it, and in the worst case only if every attack "
        "failed. Means over "
        f"{len(exp.seeds)} seed(s). Paper: CIFAR-10, foolbox minimal-perturbation searches.", "",
        "![robustness](robustness.png)", "", *table2_lines(means, stronger=len(attacks) > 2 or suite), "",
        "## Which attack found what", "",
        f"Images each attack fooled that no attack before it had ({len(exp.seeds)} seed(s) summed):", "",
        *found_lines(rows), "",
        "## Gradient-masking checks of the smoothed natural model (ρ = 1)", "",
        *markdown_table(["seed", "check", "numbers", "passed"],
                        [[seed, *row] for seed, check in zip(exp.seeds, checks, strict=True)
                         for row in masking_rows(check)]), "",
        "## Verdicts", "", *verdict_lines(verdicts), ""])
    return exp.finish({"rows": [r.to_dict() for r in rows], "mean": [m.to_dict() for m in means],
                       "masking": checks, "verdicts": verdicts}, report)
