"""``hfc fourier-map``: where in the spectrum a model is fragile (Yin et al. 2019), measured three ways.

For each model: the Fourier heat map (error rate and mean loss under a ±ε
Fourier basis at every frequency, one of each conjugate pair evaluated, many
bases per model pass), the one-pass linearised map and its rank correlation
with the exact maps, and the band-noise profile. ``--compare`` measures the
natural, adversarially trained and smoothed (ρ) models of ``hfc robustness``
side by side (paper §6): where adversarial training and kernel smoothing move
the fragility. Each map's counts are saved as it goes, so a killed run resumes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

import hfc_fast
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.figures import pyplot
from hfc_fast.experiments.core.files import save_and_close, save_torch, slug
from hfc_fast.experiments.core.model_sources import (
    add_classifier_options,
    check_classifier_options,
    checkpoint_state,
    classifier,
    classifier_name,
)
from hfc_fast.experiments.core.options import SEED_MAX, Spec
from hfc_fast.experiments.core.pages import markdown_table
from hfc_fast.radius import frequency_grid
from hfc_fast.smoothing import smooth_first_conv

HELP = "Fourier heat maps (Yin et al.): error and loss under every Fourier basis, the one-pass map, band noise"
RESUMABLE = ("device", "save_every", "workers", "images_per_pass")


def add_arguments(options) -> None:
    add_classifier_options(options)
    options.add("--eps", default=4.0, spec=Spec("float", above=0),
                help="L2 norm of each channel's perturbation (default 4, Yin et al.'s CIFAR-10 setting)")
    options.add("--stride", default=1, spec=Spec("int", minimum=1),
                help="evaluate frequencies whose components are multiples of this (default 1: all)")
    options.add("--max-radius", default=None, spec=Spec("float", above=0, optional=True),
                help="evaluate frequencies up to this radius only")
    options.add("--images", default=1000, spec=Spec("int", minimum=1), help="test images (default 1000)")
    options.add("--batch-size", default=250, spec=Spec("int", minimum=1), help="images per batch (default 250)")
    options.add("--images-per-pass", default=None, spec=Spec("int", minimum=1, optional=True),
                help="perturbed images per model pass, bases × batch (default 512 on a CPU, 8192 on a GPU)")
    options.add("--seed", default=0, spec=Spec("int", minimum=0, maximum=SEED_MAX),
                help="seed of the random signs (default 0)")
    options.add("--band-width", default=None, spec=Spec("float", above=0, optional=True),
                help="width of the band-noise annuli (default 1, wider above 32×32)")
    options.add("--compare", default=False, action="store_true",
                help="measure the natural, adversarially trained and smoothed models of hfc robustness")
    options.add("--rhos", default=[1.0], spec=Spec("numbers", above=0),
                help="smoothing ρ of the compared smoothed models (default 1)")
    options.add("--save-every", default=5, spec=Spec("int", minimum=1), help="batches between saved counts")
    options.add("--workers", default=0, spec=Spec("int", minimum=0), help="data-loader workers (ImageFolder)")
    add_experiment_options(options, "fourier-map")


def check_args(args) -> None:
    check_classifier_options(args)


def models(exp, args, channels: int) -> dict:
    """name -> (model, normalisation after the perturbation)."""
    if not args.compare:
        return {classifier_name(exp, args): classifier(exp, args, channels)}
    natural, adversarial = exp.trained_pair(0)
    return {"natural": (natural, None), "adversarial": (adversarial, None),
            **{f"natural ρ={rho:g}": (smooth_first_conv(natural, rho), None) for rho in args.rhos}}


def measure(exp, args, name: str, model, normalize, data) -> dict:
    """The three measurements of one model; the heat map's counts saved as it goes."""
    partial = exp.partial_dir() / f"{slug(name)}-rank{exp.dist.rank}-of-{exp.dist.world}.pt"
    state = hfc_fast.FourierHeatMap.from_state_dict(checkpoint_state(partial, "saved heat-map counts")) \
        if partial.exists() else None
    common = dict(batch_size=args.batch_size, normalize=normalize, amp=exp.base.amp, device=exp.dist.device,
                  workers=args.workers, progress=exp.progress)
    heat = hfc_fast.fourier_heat_map(model, data, args.eps, stride=args.stride, max_radius=args.max_radius,
                                     images_per_pass=args.images_per_pass, seed=args.seed, state=state,
                                     save=lambda s: save_torch(partial, s.state_dict()), save_every=args.save_every,
                                     **common)
    linear = hfc_fast.linearised_map(model, data, **common).map()
    band = hfc_fast.band_noise_profile(model, data, args.eps, width=args.band_width, seed=args.seed,
                                       **common).to_dict()
    error, loss = heat.error_map(), heat.loss_map()
    h, w = heat.size
    high = torch.fft.fftshift(frequency_grid(h, w)) > (min(h, w) / 4) ** 2
    finite = torch.isfinite(error)
    return {"size": [h, w], "n": heat.n, "eps": args.eps, "clean_error": heat.clean_errors / max(heat.n, 1),
            "error": error.tolist(), "loss": loss.tolist(), "linearised": linear.tolist(),
            "mean_error": float(error[finite].mean()), "low_error": float(error[finite & ~high].mean()),
            "high_error": float(error[finite & high].mean()) if bool((finite & high).any()) else math.nan,
            "rank_correlation_error": hfc_fast.rank_correlation(error, linear),
            "rank_correlation_loss": hfc_fast.rank_correlation(loss, linear), "bases": len(heat.freqs),
            "band_noise": band}


def run(exp, args) -> dict:
    data = exp.data("test", limit=args.images)
    results = {name: exp.stage(f"map-{slug(name)}",
                               lambda m=model, z=normalize, n=name: measure(exp, args, n, m, z, data))
               for name, (model, normalize) in models(exp, args, data.image_shape[0]).items()}
    maps = {name: {k: torch.tensor(r[k]) for k in ("error", "loss", "linearised")} for name, r in results.items()}
    if exp.dist.is_main:
        save_torch(exp.out / "maps.pt", maps)
        np.save(exp.out / "maps.npy", np.stack([np.stack([m[k].numpy() for k in ("error", "loss", "linearised")])
                                                 for m in maps.values()]))
    exp.figure(plot_fourier_maps, "maps.png", maps, args.eps)
    exp.figure(plot_band_profiles, "band_noise.png", {n: r["band_noise"] for n, r in results.items()})
    table = [[n, r["clean_error"], r["mean_error"], r["low_error"], r["high_error"], r["rank_correlation_error"],
              r["rank_correlation_loss"]] for n, r in results.items()]
    first = next(iter(results.values()))
    report = "\n".join([
        "# Fourier heat maps (Yin et al. 2019)", "",
        f"{first['n']} test images of {exp.base.dataset} ({first['size'][0]}×{first['size'][1]}); each gets "
        f"clip(x + r·ε·U) for every Fourier basis U (ε = {args.eps:g}, r = ±1 per image and channel), "
        f"{first['bases']} bases evaluated (one of each conjugate pair"
        + (f", stride {args.stride}" if args.stride > 1 else "") + "). Low/high: frequencies at most / more than a "
        "quarter of the image size from DC. The one-pass map is the mean |DFT(∇x L)|; its rank correlation with "
        "the exact maps says how well the cheap map orders the frequencies.", "",
        "![maps](maps.png)", "",
        *markdown_table(["model", "clean error", "mean error", "low-frequency error", "high-frequency error",
                         "rank corr. (error, one-pass)", "rank corr. (loss, one-pass)"], table), "",
        "![band noise](band_noise.png)", "",
        "Yin et al.: naturally trained models are fragile to high-frequency perturbations; adversarial training "
        "and Gaussian-noise augmentation move the fragility towards low frequencies.", ""])
    return exp.finish({"models": {n: {k: v for k, v in r.items() if k not in ("error", "loss", "linearised")}
                                  for n, r in results.items()}}, report)


# ---------------------------------------------------------------------- Fourier sensitivity (Yin et al.)
def plot_fourier_maps(maps: dict, eps: float, path: Path) -> Path:
    """One row per model: the error-rate map, the loss map and the one-pass (linearised) map, DC at the centre."""
    rows = len(maps)
    fig, axes = pyplot().subplots(rows, 3, figsize=(11, 3.4 * rows), squeeze=False)
    for row, (name, m) in enumerate(maps.items()):
        for col, (key, title, cmap) in enumerate((("error", "error rate", "magma"), ("loss", "mean loss", "viridis"),
                                                  ("linearised", "|DFT(∇x L)| (one pass)", "cividis"))):
            ax = axes[row][col]
            image = torch.as_tensor(m[key], dtype=torch.float64)
            h, w = image.shape
            shown = ax.imshow(image.numpy(), cmap=cmap, extent=(-(w // 2) - 0.5, w - w // 2 - 0.5,
                                                                h - h // 2 - 0.5, -(h // 2) - 0.5))
            ax.set_title(f"{name}: {title}", fontsize=8)
            ax.set_xlabel("fx")
            ax.set_ylabel("fy")
            fig.colorbar(shown, ax=ax, fraction=0.046)
    fig.suptitle(f"Fourier heat maps at ε = {eps:g} (DC at the centre)")
    return save_and_close(path, fig)


def plot_band_profiles(profiles: dict, path: Path) -> Path:
    """Accuracy under band-limited noise by annulus, one line per model; white noise and clean as lines."""
    fig, ax = pyplot().subplots(figsize=(6.5, 3.8))
    for i, (name, p) in enumerate(profiles.items()):
        centres = [(a + b) / 2 for a, b in zip(p["edges"][:-1], p["edges"][1:], strict=True)]
        ax.plot(centres, p["accuracy"], "o-", color=f"C{i}", label=f"{name}: band noise")
        ax.axhline(p["white"], color=f"C{i}", ls="--", lw=1, label=f"{name}: white noise")
        ax.axhline(p["clean"], color=f"C{i}", ls=":", lw=1, label=f"{name}: clean")
    ax.set_xlabel("radius of the noise band (cycles per image)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    ax.set_title(f"Noise of L2 norm {next(iter(profiles.values()))['eps']:g} confined to radial bands", fontsize=9)
    return save_and_close(path, fig)
