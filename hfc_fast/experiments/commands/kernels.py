"""``hfc kernels`` (paper Fig 7): first-layer kernels, their spectra, and how smooth they are."""

from __future__ import annotations

from hfc_fast.experiments.core import figures, paper
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import markdown_table
from hfc_fast.experiments.core.verdicts import mean, verdict, verdict_lines
from hfc_fast.smoothing import first_conv, smooth_first_conv
from hfc_fast.spectrum import KERNEL_SPECTRUM_SIZE, high_frequency_share, high_frequency_shares

HELP = "Fig 7: first-layer kernels of natural, adversarial and smoothed models"


def add_arguments(options) -> None:
    options.add("--rhos", default=[0.5, 1.0], spec=Spec("numbers", minimum=0),
                help="smoothing ρ applied to the natural model (default 0.5,1.0)")
    add_experiment_options(options, "kernels")


def run(exp, args) -> dict:
    shares, filters = {}, {"natural": [], "adversarial": []}
    for seed in exp.seeds:
        natural, adversarial = exp.trained_pair(seed)
        models = {"natural": natural, "adversarial": adversarial,
                  **{f"natural ρ={rho:g}": smooth_first_conv(natural, rho) for rho in args.rhos}}
        exp.figure(figures.plot_kernels, f"kernels-s{seed}.png", models)
        seed_shares = {name: high_frequency_share(first_conv(m).weight) for name, m in models.items()}
        for name, value in seed_shares.items():
            shares.setdefault(name, []).append(value)
        for name in filters:
            filters[name].append(high_frequency_shares(first_conv(models[name]).weight))
    means = {name: mean(v) for name, v in shares.items()}
    verdicts = [verdict(paper.SMOOTHER_CLAIM, [paper.smoother_part(filters["natural"], filters["adversarial"])],
                        numbers=paper.smoother_numbers(means), paper=paper.SMOOTHER_PAPER,
                        budget=exp.budget)]
    size = KERNEL_SPECTRUM_SIZE
    report = "\n".join([
        "# First-layer kernels (Fig 7)", "",
        f"{exp.base.model} on {exp.base.dataset}. Smoothness: the share of the kernels' energy above half the "
        f"Nyquist frequency (zero-padded to {size}×{size}); lower is smoother.", "",
        *[f"![seed {s}](kernels-s{s}.png)" for s in exp.seeds], "",
        *markdown_table(["model", "high-frequency share (mean over seeds)"], [[k, v] for k, v in means.items()]), "",
        "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"high_frequency_share": shares, "mean": means, "verdicts": verdicts}, report)
