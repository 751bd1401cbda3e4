"""``hfc kernels`` (paper Fig 7): first-layer kernels, their spectra, and how smooth they are."""

from __future__ import annotations

from pathlib import Path

from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.figures import pyplot
from hfc_fast.experiments.core.files import save_and_close
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import markdown_table
from hfc_fast.experiments.core.verdicts import mean, part, verdict, verdict_lines
from hfc_fast.smoothing import first_conv, smooth_first_conv
from hfc_fast.spectrum import KERNEL_SPECTRUM_SIZE, high_frequency_share, high_frequency_shares, kernel_spectra
from hfc_fast.stats import effect_interval

HELP = "Fig 7: first-layer kernels of natural, adversarial and smoothed models"


# ---------------------------------------------------------------------- the paper: Fig 7 (§6.2)
SMOOTHER_CLAIM = "adversarially trained first-layer kernels are smoother (§6.2, Fig 7)"
SMOOTHER_PAPER = "CIFAR-10, Fig 7: visibly smoother adversarial kernels (no number given)"


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
        exp.figure(plot_kernels, f"kernels-s{seed}.png", models)
        seed_shares = {name: high_frequency_share(first_conv(m).weight) for name, m in models.items()}
        for name, value in seed_shares.items():
            shares.setdefault(name, []).append(value)
        for name in filters:
            filters[name].append(high_frequency_shares(first_conv(models[name]).weight))
    means = {name: mean(v) for name, v in shares.items()}
    verdicts = [verdict(SMOOTHER_CLAIM, [smoother_part(filters["natural"], filters["adversarial"])],
                        numbers=smoother_numbers(means), paper=SMOOTHER_PAPER,
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


def smoother_part(natural: list, adversarial: list) -> dict:
    """:data:`SMOOTHER_CLAIM` measured: per seed, the first-layer filters' high-frequency shares of the natural
    and the adversarial model (unpaired: filter i of one model is not filter i of the other)."""
    return part("high-frequency share per first-layer filter, natural − adversarial",
                effect_interval(natural, adversarial, paired=False), unit="filters")


def smoother_numbers(share: dict) -> str:
    """The numbers behind :data:`SMOOTHER_CLAIM`, from high-frequency shares keyed by model name."""
    return (f"high-frequency share of kernel energy: natural {share['natural']:.3f}, "
            f"adversarial {share['adversarial']:.3f}")


# ---------------------------------------------------------------------- the figure
def plot_kernels(models: dict, path: Path, *, n: int = 8) -> Path:
    """For each model, ``n`` first-layer kernels (channel-averaged) above their spectra (Fig 7)."""
    fig, axes = pyplot().subplots(2 * len(models), n, figsize=(1.3 * n, 2.7 * len(models)), squeeze=False)
    for row, (name, model) in enumerate(models.items()):
        weight = first_conv(model).weight.detach()
        spectra = kernel_spectra(weight).mean(dim=1)
        share = high_frequency_share(weight)
        for j in range(n):
            for ax in (axes[2 * row][j], axes[2 * row + 1][j]):
                ax.axis("off")
            if j >= weight.shape[0]:
                continue
            axes[2 * row][j].imshow(weight[j].mean(0).numpy(), cmap="coolwarm")
            axes[2 * row + 1][j].imshow(spectra[j].log1p().numpy(), cmap="magma")
        axes[2 * row][0].set_title(f"{name}: high-frequency share {share:.3f}", fontsize=8, loc="left")
    return save_and_close(path, fig)
