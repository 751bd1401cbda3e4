"""``hfc table1`` (paper Table 1): models trained on the LFC or the HFC, tested on original images."""

from __future__ import annotations

from hfc_fast.experiments.rundir import save_and_close
from hfc_fast.experiments.suite import csv_text, markdown_table, mean, verdict, verdict_lines

PAPER_RADII = (4, 8, 12, 16)
# Wang et al. 2020, Table 1 (CIFAR-10): radius -> (train acc., test acc.)
PAPER_TABLE1 = {
    "lfc": {4: (0.9668, 0.6167), 8: (0.9786, 0.7154), 12: (0.9786, 0.7516), 16: (0.9839, 0.7714)},
    "hfc": {4: (0.9885, 0.2002), 8: (0.9768, 0.0920), 12: (0.9797, 0.0997), 16: (0.9384, 0.1281)},
}


def plot_table1(table: list[list], path):
    """Test accuracy on original images by training radius: ours (bars) and the paper's (markers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
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


def add_arguments(parser) -> None:
    parser.add_argument("--bands", default="lfc,hfc", help="which trainings: lfc, hfc or both (default lfc,hfc)")


def run(exp, args) -> dict:
    bands = [b.strip() for b in args.bands.split(",") if b.strip()]
    if not bands or any(b not in ("lfc", "hfc") for b in bands):
        raise ValueError(f"--bands must list lfc and/or hfc, got {args.bands!r}")
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

    def cell(band, paper_r, field):
        return mean(r[field] for r in rows if r["band"] == band and r["paper_radius"] == paper_r)

    table = []
    for band in bands:
        for paper_r, r in zip(PAPER_RADII, radii, strict=True):
            paper = PAPER_TABLE1[band][paper_r]
            table.append([band.upper(), f"{r:g} (paper {paper_r})", cell(band, paper_r, "train_acc"),
                          cell(band, paper_r, "test_acc"), paper[0], paper[1]])
    if exp.dist.is_main:
        plot_table1(table, exp.out / "table1.png")
    verdicts = []
    if set(bands) == {"lfc", "hfc"}:
        per_seed = []
        for seed in exp.seeds:
            def test(band, seed=seed):
                return mean(r["test_acc"] for r in rows if r["band"] == band and r["seed"] == seed)
            per_seed.append(test("lfc") > test("hfc"))
        verdicts.append(verdict(
            "models trained on the LFC generalise to original images better than models trained on the HFC "
            "(§4.2, Table 1)", per_seed,
            f"mean test accuracy over radii: LFC-trained {cell_mean(rows, 'lfc'):.3f}, "
            f"HFC-trained {cell_mean(rows, 'hfc'):.3f}"))
    report = "\n".join([
        "# Training on LFC or HFC (Table 1)", "",
        f"{exp.base.model} on {exp.base.dataset}, {exp.base.epochs} epochs per model, images normalised by their "
        f"own maximum; {len(exp.seeds)} seed(s), means shown. Paper: CIFAR-10, 100 epochs.", "",
        "![table 1](table1.png)", "",
        *markdown_table(["trained on", "radius", "train acc.", "test acc. (original)", "paper: train",
                         "paper: test"], table), "",
        "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"rows": rows, "verdicts": verdicts}, report)


def cell_mean(rows, band: str) -> float:
    return mean(r["test_acc"] for r in rows if r["band"] == band)
