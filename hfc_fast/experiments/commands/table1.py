"""``hfc table1`` (paper Table 1): models trained on the LFC or the HFC, tested on original images."""

from __future__ import annotations

from hfc_fast.experiments.core import figures, paper
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import csv_text, markdown_table
from hfc_fast.experiments.core.verdicts import accuracy_part, mean, verdict, verdict_lines
from hfc_fast.radius import PAPER_RADII

HELP = "Table 1: models trained on LFC or HFC, tested on original images"


def add_arguments(options) -> None:
    options.add("--bands", default=["lfc", "hfc"], spec=Spec("names", choices=("lfc", "hfc")),
                help="which trainings: lfc, hfc or both (default lfc,hfc)")
    add_experiment_options(options, "table1")


def claim(rows: list[dict], n: int, budget: str) -> dict:
    """Table 1's claim: test accuracy on the originals, LFC-trained minus HFC-trained, averaged over radii."""
    seeds = sorted({r["seed"] for r in rows})

    def arm(band):
        return [[r["test_acc"] for r in rows if r["band"] == band and r["seed"] == s] for s in seeds]

    lfc, hfc = (mean(a for accs in arm(b) for a in accs) for b in ("lfc", "hfc"))
    return verdict(paper.TABLE1_CLAIM, [accuracy_part("test accuracy on originals, LFC-trained − HFC-trained "
                                                      "(mean over radii)", arm("lfc"), arm("hfc"), n)],
                   numbers=f"mean test accuracy: LFC-trained {lfc:.3f}, HFC-trained {hfc:.3f}",
                   paper=paper.TABLE1_PAPER, budget=budget)


def run(exp, args) -> dict:
    bands = list(dict.fromkeys(args.bands))
    radii = exp.scaled_radii(PAPER_RADII)
    rows = []
    for band in bands:
        for paper_r, r in zip(PAPER_RADII, radii, strict=True):
            for seed in exp.seeds:
                _, history = exp.trained(f"{band}-r{paper_r}-s{seed}",
                                         exp.config(train_band=band, train_radius=r, seed=seed, radii=radii))
                last = history[-1]
                rows.append({"band": band, "paper_radius": paper_r, "radius": r, "seed": seed,
                             "train_acc": last["train_running_acc"], "test_acc": last["test"]["acc"],
                             "epochs": last["epoch"]})
    exp.write_text("table1.csv", csv_text(["band", "paper_radius", "radius", "seed", "train_acc", "test_acc"],
                                          [[r["band"], r["paper_radius"], f"{r['radius']:g}", r["seed"],
                                            r["train_acc"], r["test_acc"]] for r in rows]))

    def cell(band, field, **where):
        return mean(r[field] for r in rows if r["band"] == band and all(r[k] == v for k, v in where.items()))

    table = [[band.upper(), f"{r:g} (paper {paper_r})", cell(band, "train_acc", paper_radius=paper_r),
              cell(band, "test_acc", paper_radius=paper_r), *paper.TABLE1[band][paper_r]]
             for band in bands for paper_r, r in zip(PAPER_RADII, radii, strict=True)]
    exp.figure(figures.plot_table1, "table1.png", table)
    verdicts = [claim(rows, len(exp.test_set()), exp.budget)] if set(bands) == {"lfc", "hfc"} else []
    report = "\n".join([
        "# Training on LFC or HFC (Table 1)", "",
        f"{exp.base.model} on {exp.base.dataset}, {exp.base.epochs} epochs per model, images normalised by their "
        f"own maximum; {len(exp.seeds)} seed(s), means shown. Paper: CIFAR-10, 100 epochs.", "",
        "![table 1](table1.png)", "",
        *markdown_table(["trained on", "radius", "train acc.", "test acc. (original)", "paper: train",
                         "paper: test"], table), "",
        "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"rows": rows, "verdicts": verdicts}, report)
