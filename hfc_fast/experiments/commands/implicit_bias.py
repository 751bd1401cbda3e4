"""``hfc implicit-bias`` (lecture; Gunasekar et al. 2018): linear conv vs linear fully connected networks.

Both two-layer linear networks are trained by full-batch gradient descent
with the logistic loss on linearly separable data. A two-layer linear
convolutional network is driven towards the predictor with the smallest
Fourier-ℓ1 norm, a fully connected one towards the smallest ℓ2 norm; the
scale-free ratio ``‖F(β)‖₁ / ‖β‖₂`` (F orthonormal, so ``‖F(β)‖₂ = ‖β‖₂``)
of the effective predictor β is recorded along training.
"""

from __future__ import annotations

from hfc_fast.experiments.core import analyses, figures, paper
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import csv_text, markdown_table
from hfc_fast.experiments.core.verdicts import mean, part, verdict, verdict_lines
from hfc_fast.stats import effect_interval

HELP = "lecture: Fourier sparsity of linear conv vs fully connected predictors"
NETWORKS = (("linear conv", "linear_conv"), ("linear fully connected", "linear_fc"))


def add_arguments(options) -> None:
    options.add("--samples", default=40, spec=Spec("int", minimum=2), help="training points (default 40)")
    options.add("--size", default=8, spec=Spec("int", minimum=2), help="image side (default 8: d = 64)")
    options.add("--steps", default=3000, spec=Spec("int", minimum=1), help="gradient steps (default 3000)")
    options.add("--lr", default=0.05, spec=Spec("float", above=0), help="step size (default 0.05)")
    add_experiment_options(options, "implicit-bias")


def run(exp, args) -> dict:
    log_every = max(1, args.steps // 100)
    runs, per_seed = {}, []
    for seed in exp.seeds:
        x, y, teacher = analyses.separable_data(args.samples, args.size, seed=seed)
        curves = exp.stage(f"curves-s{seed}", lambda x=x, y=y, seed=seed: {
            name: analyses.train_linear(model, x, y, steps=args.steps, lr=args.lr, log_every=log_every, seed=seed)
            for name, model in NETWORKS})
        exp.figure(figures.plot_implicit_bias, f"implicit_bias-s{seed}.png", curves)
        runs[str(seed)] = {name: curve[-1] | {"teacher": analyses.fourier_norms(teacher)}
                           for name, curve in curves.items()}
        per_seed.append(curves["linear fully connected"][-1]["ratio"] - curves["linear conv"][-1]["ratio"])
        exp.write_text(f"curves-s{seed}.csv", csv_text(
            ["model", "step", "loss", "train_acc", "fourier_l1", "l2", "ratio"],
            [[n, c["step"], c["loss"], c["train_acc"], c["fourier_l1"], c["l2"], c["ratio"]]
             for n, curve in curves.items() for c in curve]))
    final = {name: mean(runs[str(s)][name]["ratio"] for s in exp.seeds) for name in runs["0"]}
    numbers = ", ".join(f"{k} {v:.3f}" for k, v in final.items())
    verdicts = [verdict(paper.IMPLICIT_BIAS_CLAIM, [part("final ‖F(β)‖₁/‖β‖₂, fully connected − conv (one data set "
                                                         "and training per seed)", effect_interval(per_seed))],
                        numbers=f"final ‖F(β)‖₁/‖β‖₂: {numbers} (dense predictor: up to {args.size:d})",
                        paper=paper.IMPLICIT_BIAS_PAPER, budget=f"{args.steps} gradient steps")]
    report = "\n".join([
        "# Implicit bias of linear conv vs fully connected networks (lecture)", "",
        f"{args.samples} Gaussian {args.size}×{args.size} images labelled by a teacher with 3 Fourier coefficients; "
        f"full-batch gradient descent ({args.steps} steps of {args.lr:g}) on the logistic loss. "
        "The ratio ‖F(β)‖₁/‖β‖₂ lies between 1 (one frequency) and √d (flat spectrum).", "",
        *[f"![seed {s}](implicit_bias-s{s}.png)" for s in exp.seeds], "",
        *markdown_table(["model", "final ‖F(β)‖₁/‖β‖₂ (mean over seeds)"], [[k, v] for k, v in final.items()]), "",
        "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"final": runs, "verdicts": verdicts}, report)
