"""Fig 7 of the paper: first-layer kernels, their spectra, and how smooth they are."""

from __future__ import annotations

from pathlib import Path

import torch

from hfc_fast.experiments.rundir import save_and_close
from hfc_fast.smoothing import first_conv

SPECTRUM_SIZE = 16  # kernels are zero-padded to this size before their DFT


def kernel_spectra(weight: torch.Tensor, size: int = SPECTRUM_SIZE) -> torch.Tensor:
    """|DFT|² of each spatial kernel zero-padded to size×size, DC centred: (O, I, size, size)."""
    spectrum = torch.fft.fft2(weight.detach().double(), s=(size, size))
    return torch.fft.fftshift(spectrum.abs().square(), dim=(-2, -1))


def high_frequency_share(weight: torch.Tensor, size: int = SPECTRUM_SIZE) -> float:
    """Share of the kernels' energy above half the Nyquist frequency (|f| > 0.25 cycles/pixel).

    Lower is smoother; a constant kernel gives 0.
    """
    power = torch.fft.fft2(weight.detach().double(), s=(size, size)).abs().square()
    f = torch.fft.fftfreq(size, dtype=torch.float64)
    high = (f[:, None] ** 2 + f[None, :] ** 2).sqrt() > 0.25
    total = float(power.sum())
    return float(power[..., high].sum()) / total if total > 0 else 0.0


SMOOTHER_CLAIM = "adversarially trained first-layer kernels are smoother (§6.2, Fig 7)"


def smoother_numbers(share: dict) -> str:
    """The numbers behind :data:`SMOOTHER_CLAIM`, from high-frequency shares keyed by model name."""
    return (f"high-frequency share of kernel energy: natural {share['natural']:.3f}, "
            f"adversarial {share['adversarial']:.3f}")


def plot_kernels(models: dict, path: Path, *, n: int = 8) -> Path:
    """For each model, ``n`` first-layer kernels (channel-averaged) above their spectra."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2 * len(models), n, figsize=(1.3 * n, 2.7 * len(models)), squeeze=False)
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


# ---------------------------------------------------------------------- the `hfc kernels` subcommand
def add_arguments(parser) -> None:
    parser.add_argument("--rhos", default="0.5,1.0", help="smoothing ρ applied to the natural model (default 0.5,1.0)")


def run(exp, args) -> dict:
    from hfc_fast.experiments.robustness import trained_pair
    from hfc_fast.experiments.suite import markdown_table, mean, parse_numbers, verdict, verdict_lines
    from hfc_fast.smoothing import smooth_first_conv

    rhos = parse_numbers(args.rhos, "--rhos", minimum=0)
    shares, per_seed = {}, []
    for seed in exp.seeds:
        natural, adversarial = trained_pair(exp, seed)
        models = {"natural": natural, "adversarial": adversarial,
                  **{f"natural ρ={rho:g}": smooth_first_conv(natural, rho) for rho in rhos}}
        if exp.dist.is_main:
            plot_kernels(models, exp.out / f"kernels-s{seed}.png")
        seed_shares = {name: high_frequency_share(first_conv(m).weight) for name, m in models.items()}
        for name, value in seed_shares.items():
            shares.setdefault(name, []).append(value)
        per_seed.append(seed_shares["adversarial"] < seed_shares["natural"])
    means = {name: mean(v) for name, v in shares.items()}
    verdicts = [verdict(SMOOTHER_CLAIM, per_seed, smoother_numbers(means))]
    report = "\n".join([
        "# First-layer kernels (Fig 7)", "",
        f"{exp.base.model} on {exp.base.dataset}. Smoothness: the share of the kernels' energy above half the "
        f"Nyquist frequency (zero-padded to {SPECTRUM_SIZE}×{SPECTRUM_SIZE}); lower is smoother.", "",
        *[f"![seed {s}](kernels-s{s}.png)" for s in exp.seeds], "",
        *markdown_table(["model", "high-frequency share (mean over seeds)"], [[k, v] for k, v in means.items()]), "",
        "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"high_frequency_share": shares, "mean": means, "verdicts": verdicts}, report)
