"""``hfc robustness`` (paper Table 2): clean, FGSM and PGD accuracy of models with smoothed first-layer kernels."""

from __future__ import annotations

from hfc_fast.experiments.core import analyses, figures, paper
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import robustness_csv, table2_lines
from hfc_fast.experiments.core.verdicts import mean, verdict, verdict_lines

HELP = "Table 2: FGSM/PGD accuracy of smoothed natural and adversarial models"


def add_arguments(options) -> None:
    options.add("--attack-images", default=2000, spec=Spec("int", minimum=1),
                help="test images attacked (default 2000)")
    options.add("--pgd-steps", default=10, spec=Spec("int", minimum=1), help="PGD steps of ε/4 (default 10)")
    add_experiment_options(options, "robustness")


def averaged(rows: list[dict]) -> list[dict]:
    """Table 2 rows averaged over seeds."""
    table = []
    for model in ("natural", "adversarial"):
        for rho in paper.RHOS:
            group = [r for r in rows if r["model"] == model and r["rho"] == rho]
            by_eps = {k: [mean(r[k][i] for r in group) for i in range(len(paper.EPS))] for k in ("fgsm", "pgd")}
            table.append({"model": model, "rho": rho, "clean": mean(r["clean"] for r in group), "n": group[0]["n"],
                          **by_eps})
    return table


def run(exp, args) -> dict:
    batches = exp.batches(args.attack_images)
    rows, per_seed = [], []
    for seed in exp.seeds:
        natural, adversarial = exp.trained_pair(seed)
        seed_rows = exp.stage(f"robustness-s{seed}", lambda n=natural, a=adversarial: {
            "rows": analyses.robustness_table({"natural": n, "adversarial": a}, batches, pgd_steps=args.pgd_steps,
                                              progress=exp.progress)})["rows"]
        rows += [{**r, "seed": seed} for r in seed_rows]
        per_seed.append(paper.smoothing_trade(seed_rows)[0])
    means = averaged(rows)
    exp.write_text("robustness.csv", robustness_csv(means))
    exp.figure(figures.plot_robustness, "robustness.png", means, paper.EPS)
    verdicts = [verdict(paper.SMOOTHING_CLAIM, per_seed, paper.smoothing_trade(means)[1])]
    report = "\n".join([
        "# Robustness of smoothed kernels (Table 2)", "",
        f"{exp.base.model} on {exp.base.dataset}; FGSM and PGD-{args.pgd_steps} (step ε/4) on {means[0]['n']} "
        f"test images; an image is robust only if no iterate fooled it. Means over {len(exp.seeds)} seed(s). "
        "Paper: CIFAR-10, foolbox minimal-perturbation searches.", "", "![robustness](robustness.png)", "",
        *table2_lines(means), "", "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"rows": rows, "mean": means, "verdicts": verdicts}, report)
