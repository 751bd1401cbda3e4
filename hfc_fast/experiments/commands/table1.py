"""``hfc table1`` (paper Table 1): models trained on the LFC or the HFC, tested on original images."""

from __future__ import annotations

from hfc_fast.experiments.core import figures, paper
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import csv_text, markdown_table
from hfc_fast.experiments.core.verdicts import mean, verdict, verdict_lines
from hfc_fast.radius import PAPER_RADII

HELP = "Table 1: models trained on LFC or HFC, tested on original images"


def add_arguments(options) -> None:
    options.add("--bands", default=["lfc", "hfc"], spec=Spec("names", choices=("lfc", "hfc")),
                help="which trainings: lfc, hfc or both (default lfc,hfc)")
    add_experiment_options(options, "table1")


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
    verdicts = []
    if set(bands) == {"lfc", "hfc"}:
        per_seed = [cell("lfc", "test_acc", seed=s) > cell("hfc", "test_acc", seed=s) for s in exp.seeds]
        verdicts.append(verdict(paper.TABLE1_CLAIM, per_seed, f"mean test accuracy over radii: LFC-trained "
                                f"{cell('lfc', 'test_acc'):.3f}, HFC-trained {cell('hfc', 'test_acc'):.3f}"))
    report = "\n".join([
        "# Training on LFC or HFC (Table 1)", "",
        f"{exp.base.model} on {exp.base.dataset}, {exp.base.epochs} epochs per model, images normalised by their "
        f"own maximum; {len(exp.seeds)} seed(s), means shown. Paper: CIFAR-10, 100 epochs.", "",
        "![table 1](table1.png)", "",
        *markdown_table(["trained on", "radius", "train acc.", "test acc. (original)", "paper: train",
                         "paper: test"], table), "",
        "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"rows": rows, "verdicts": verdicts}, report)
