"""``hfc surface``: robust accuracy over an ε grid × frequency bands, one surface per model.

For each ε and each band — the full spectrum, and for each radius r the LFC
band (``d < r``) and the HFC band (``d >= r``) — PGD confined to the band
(:func:`hfc_fast.attacks.robustness_surface`). The paper's claim that
adversarial perturbations live in the HFC becomes a measured surface: the
high bands at small r keep the attack's strength and the low bands lose it.
``--compare`` measures the natural and the adversarially trained models of
``hfc robustness``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from hfc_fast.attacks import ATTACKS, robustness_surface
from hfc_fast.bands import BANDS, LOW
from hfc_fast.errors import InputError
from hfc_fast.experiments.core.experiment import add_experiment_options, add_paper_radii_option
from hfc_fast.experiments.core.figures import pyplot
from hfc_fast.experiments.core.files import save_and_close, slug
from hfc_fast.experiments.core.model_sources import (
    add_classifier_options,
    check_classifier_options,
    classifier,
    classifier_name,
)
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import csv_text, markdown_table
from hfc_fast.radius import radius_key
from hfc_fast.tracking import Normalize

HELP = "robust accuracy over an ε grid × frequency bands (full, LFC and HFC at each radius), one surface per model"


def add_arguments(options) -> None:
    add_classifier_options(options)
    options.add("--eps", default=[0.01, 0.02, 0.03, 0.06, 0.09], spec=Spec("numbers", above=0, maximum=1),
                help="the ε grid (default 0.01,0.02,0.03,0.06,0.09)")
    add_paper_radii_option(options, "band radii")
    options.add("--steps", default=10, spec=Spec("int", minimum=1), help="PGD steps of ε/4 (default 10)")
    options.add("--attacks", default=["pgd"], spec=Spec("names", choices=(*ATTACKS, "autoattack")),
                help="the attack confined to each band: pgd (default, --steps steps of ε/4), 'autoattack' "
                     "(AutoAttack's standard suite as a cascade, with its budgets), or attacks whose per-image worst "
                     "case counts")
    options.add("--attack-images", default=1000, spec=Spec("int", minimum=1),
                help="test images attacked (default 1000)")
    options.add("--compare", default=False, action="store_true",
                help="measure the natural and the adversarially trained models of hfc robustness")
    add_experiment_options(options, "surface")


def check_args(args) -> None:
    check_classifier_options(args)
    if "autoattack" in args.attacks and len(args.attacks) > 1:
        raise InputError(f"--attacks autoattack is a whole suite and stands alone, got {','.join(args.attacks)}")


def chosen_attacks(names) -> str | list[str]:
    """What :func:`~hfc_fast.attacks.robustness_surface` takes for ``--attacks``."""
    return names[0] if len(names) == 1 and names[0] in ("pgd", "autoattack") else list(names)


def attack_text(names, steps: int) -> str:
    if list(names) == ["pgd"]:
        return f"PGD-{steps} (step ε/4)"
    if list(names) == ["autoattack"]:
        return "AutoAttack's standard suite (APGD-CE, APGD-T, FAB-T, Square; the per-image worst case)"
    return f"the per-image worst case over {', '.join(names)}"


def run(exp, args) -> dict:
    _, radii = exp.paper_radii(args.paper_radii)
    batches = exp.batches(args.attack_images, size=250)
    if args.compare:
        natural, adversarial = exp.trained_pair(0)
        models = {"natural": natural, "adversarial": adversarial}
    else:
        model, normalize = classifier(exp, args, exp.test_set().image_shape[0])
        models = {classifier_name(exp, args): Normalize(model, *normalize) if normalize else model}
    attacks = chosen_attacks(args.attacks)
    surfaces = {name: exp.stage(f"surface-{slug(name)}",
                                lambda m=model: robustness_surface(m, batches, args.eps, radii, steps=args.steps,
                                                                   attacks=attacks, progress=exp.progress).to_dict())
                for name, model in models.items()}
    exp.figure(plot_surfaces, "surface.png", surfaces,
               attack="PGD" if attacks == "pgd" else "AutoAttack" if attacks == "autoattack" else "worst case")
    rows = [[name, band, key, *s[band][key]] for name, s in surfaces.items() for band in BANDS
            for key in s[band]] + [[name, "full", "", *s["full"]] for name, s in surfaces.items()]
    exp.write_text("surface.csv", csv_text(["model", "band", "radius", *(f"eps_{e:g}" for e in args.eps)], rows))
    table = [[name, f"{band} r={key}" if key else band, *(values[i] for i in range(len(args.eps)))]
             for name, band, key, *values in rows]
    report = "\n".join([
        "# Robust accuracy over ε × frequency band", "",
        f"{attack_text(args.attacks, args.steps)} confined to the full spectrum, to the LFC (d < r) or to the HFC "
        f"(d >= r) on "
        f"{next(iter(surfaces.values()))['n']} test images of {exp.base.dataset}; radii "
        f"{', '.join(radius_key(r) for r in radii)} (the paper's {', '.join(radius_key(r) for r in args.paper_radii)}"
        " scaled). Lower is a stronger attack: a band that keeps the attack's strength is where the perturbation "
        "lives.", "", "![surface](surface.png)", "",
        *markdown_table(["model", "band", *(f"ε = {e:g}" for e in args.eps)], table), ""])
    return exp.finish({"surfaces": surfaces}, report)


def plot_surfaces(surfaces: dict, path: Path, attack: str = "PGD") -> Path:
    """Per model, robust accuracy over ε (x) and band radius (y) for the LFC and the HFC band under ``attack``,
    the full-spectrum attack noted below."""
    fig, axes = pyplot().subplots(len(surfaces), 2, figsize=(10, 3.6 * len(surfaces)), squeeze=False)
    for row, (name, s) in enumerate(surfaces.items()):
        for col, band in enumerate(BANDS):
            ax = axes[row][col]
            grid = torch.tensor([s[band][k] for k in s[band]])
            shown = ax.imshow(grid.numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto", origin="lower")
            ax.set_xticks(range(len(s["eps"])), [f"{e:g}" for e in s["eps"]], fontsize=7)
            ax.set_yticks(range(len(s[band])), list(s[band]), fontsize=7)
            ax.set_xlabel("ε")
            ax.set_ylabel("band radius r")
            kind = "LFC band (d < r)" if band == LOW else "HFC band (d >= r)"
            ax.set_title(f"{name}: {attack} in the {kind}", fontsize=8)
            for i in range(grid.shape[0]):
                for j in range(grid.shape[1]):
                    ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if grid[i, j] < 0.5 else "black")
            fig.colorbar(shown, ax=ax, fraction=0.046, label="robust accuracy")
        axes[row][0].annotate("full spectrum: " + ", ".join(f"{v:.2f}" for v in s["full"]), (0, -0.3),
                              xycoords="axes fraction", fontsize=7)
    return save_and_close(path, fig)
