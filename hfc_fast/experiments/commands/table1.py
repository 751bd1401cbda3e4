"""``hfc table1`` (paper Table 1): models trained on the LFC or the HFC, tested on original images."""

from __future__ import annotations

from pathlib import Path

from hfc_fast.bands import HFC, LFC, SPLIT_VIEWS
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.figures import pyplot
from hfc_fast.experiments.core.files import save_and_close
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import csv_text, markdown_table
from hfc_fast.experiments.core.verdicts import accuracy_part, mean, verdict, verdict_lines
from hfc_fast.radius import PAPER_RADII

HELP = "Table 1: models trained on LFC or HFC, tested on original images"


# ---------------------------------------------------------------------- Table 1 (§4.2)
# CIFAR-10, radius -> (train acc., test acc.) of models trained on the LFC or the HFC
TABLE1 = {
    "lfc": {4: (0.9668, 0.6167), 8: (0.9786, 0.7154), 12: (0.9786, 0.7516), 16: (0.9839, 0.7714)},
    "hfc": {4: (0.9885, 0.2002), 8: (0.9768, 0.0920), 12: (0.9797, 0.0997), 16: (0.9384, 0.1281)},
}
TABLE1_CLAIM = "models trained on the LFC generalise to original images better than models trained on the HFC " \
               "(§4.2, Table 1)"
TABLE1_PAPER = "CIFAR-10, mean over r = 4–16: LFC-trained 0.714, HFC-trained 0.130 (+0.584)"


def add_arguments(options) -> None:
    options.add("--bands", default=list(SPLIT_VIEWS), spec=Spec("names", choices=SPLIT_VIEWS),
                help="which trainings: lfc, hfc or both (default lfc,hfc)")
    add_experiment_options(options, "table1")


def claim(rows: list[dict], n: int, budget: str) -> dict:
    """Table 1's claim: test accuracy on the originals, LFC-trained minus HFC-trained, averaged over radii."""
    seeds = sorted({r["seed"] for r in rows})

    def arm(band):
        return [[r["test_acc"] for r in rows if r["band"] == band and r["seed"] == s] for s in seeds]

    lfc, hfc = (mean(a for accs in arm(b) for a in accs) for b in SPLIT_VIEWS)
    return verdict(TABLE1_CLAIM, [accuracy_part("test accuracy on originals, LFC-trained − HFC-trained "
                                                      "(mean over radii)", arm(LFC), arm(HFC), n)],
                   numbers=f"mean test accuracy: LFC-trained {lfc:.3f}, HFC-trained {hfc:.3f}",
                   paper=TABLE1_PAPER, budget=budget)


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
              cell(band, "test_acc", paper_radius=paper_r), *TABLE1[band][paper_r]]
             for band in bands for paper_r, r in zip(PAPER_RADII, radii, strict=True)]
    exp.figure(plot_table1, "table1.png", table)
    verdicts = [claim(rows, len(exp.test_set()), exp.budget)] if set(bands) == set(SPLIT_VIEWS) else []
    report = "\n".join([
        "# Training on LFC or HFC (Table 1)", "",
        f"{exp.base.model} on {exp.base.dataset}, {exp.base.epochs} epochs per model, images normalised by their "
        f"own maximum; {len(exp.seeds)} seed(s), means shown. Paper: CIFAR-10, 100 epochs.", "",
        "![table 1](table1.png)", "",
        *markdown_table(["trained on", "radius", "train acc.", "test acc. (original)", "paper: train",
                         "paper: test"], table), "",
        "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"rows": rows, "verdicts": verdicts}, report)


# ---------------------------------------------------------------------- the figure
def plot_table1(table: list[list], path: Path) -> Path:
    """Test accuracy on original images by training radius: ours (bars) and the paper's (markers)."""
    fig, ax = pyplot().subplots(figsize=(6, 3.6))
    bands = list(dict.fromkeys(row[0] for row in table))
    for i, band in enumerate(bands):
        rows = [row for row in table if row[0] == band]
        xs = [j + (i - (len(bands) - 1) / 2) * 0.38 for j in range(len(rows))]
        ax.bar(xs, [row[3] for row in rows], width=0.36, label=f"trained on {band} (ours)",
               color="tab:blue" if band == "LFC" else "tab:red")
        ax.plot(xs, [row[5] for row in rows], "k_", markersize=14, mew=2,
                label="paper (CIFAR-10)" if i == 0 else None)
        ax.set_xticks(range(len(rows)), [row[1] for row in rows], fontsize=8)
    ax.set_ylabel("test accuracy on original images")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Training on LFC or HFC (Table 1)", fontsize=10)
    return save_and_close(path, fig)
