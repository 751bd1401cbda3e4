"""``hfc archs`` (Caro et al. 2020): does locality of the first layer make perturbations high-frequency?

Fully connected, local convolutions with kernels 3, 11 and the full width, and
a ViT are trained alike and attacked with L∞ PGD; the radial power spectra of
their perturbations and first-layer features are compared, with the share of
energy above half the Nyquist frequency as one number per model.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from hfc_fast.attacks import pgd
from hfc_fast.errors import InputError
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.figures import pyplot
from hfc_fast.experiments.core.files import save_and_close
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import markdown_table
from hfc_fast.experiments.core.verdicts import mean, part, verdict, verdict_lines
from hfc_fast.spectrum import high_frequency_share, high_frequency_shares, radial_power_spectrum
from hfc_fast.stats import effect_interval

HELP = "Caro et al.: perturbation spectra of FC, local-conv and ViT models"


# ---------------------------------------------------------------------- Caro et al. 2020
KERNEL_ORDER_CLAIM = "among convolutional models, the smaller the first-layer kernel, the more high-frequency the " \
                     "perturbations (Caro et al.)"
LOCAL_VS_OTHERS_CLAIM = "the most local convolution gives more high-frequency perturbations than a fully connected " \
                        "model and a ViT (Caro et al.)"
ARCHS_PAPER = "Caro et al. 2020 (CIFAR-10): the perturbation spectra of local convolutions lean to high " \
              "frequencies, less so for larger kernels, fully connected models and ViTs"
ARCHS_NOTE = "Caro et al.: local convolutions bias perturbations to high frequencies; larger kernels or a ViT " \
             "reduce the bias, though not the overall susceptibility to attacks."


def architectures(image_size: int) -> dict[str, dict]:
    """name -> training settings; the kernel sizes that fit the image."""
    archs = {"fully connected": {"model": "mlp"}}
    for k in (3, 11):
        if k < image_size:
            archs[f"local conv k={k}"] = {"model": "local_cnn", "model_options": {"kernel_size": k}}
    archs["full-width conv"] = {"model": "local_cnn", "model_options": {"kernel_size": image_size}}
    archs["ViT"] = {"model": "vit_tiny", "model_options": {"depth": 4}}
    return archs


def add_arguments(options) -> None:
    options.add("--eps", default=0.03, spec=Spec("float", above=0, maximum=1), help="L∞ PGD radius (default 0.03)")
    options.add("--steps", default=20, spec=Spec("int", minimum=1), help="PGD steps of ε/8 (default 20)")
    options.add("--attack-images", default=1000, spec=Spec("int", minimum=1),
                help="test images attacked (default 1000)")
    add_experiment_options(options, "archs")


def claims(results: dict, budget: str) -> list[dict]:
    """Caro et al.'s two claims, from each seed's per-image perturbation high-frequency shares: each convolution
    above the next larger kernel's, and the most local one above the fully connected model and the ViT."""
    names = list(next(iter(results.values())))
    convs = [k for k in names if k.startswith("local conv")] + ["full-width conv"]

    def minus(a, b):
        return part(f"perturbation HF share per image, {a} − {b}", effect_interval(
            [torch.tensor(r[a]["perturbation_hf_shares"]) - torch.tensor(r[b]["perturbation_hf_shares"])
             for r in results.values()]))

    means = {n: mean(r[n]["perturbation_hf_share"] for r in results.values()) for n in names}
    numbers = "high-frequency share of perturbation energy: " + ", ".join(f"{n} {v:.3f}" for n, v in means.items())
    return [verdict(KERNEL_ORDER_CLAIM, [minus(a, b) for a, b in zip(convs, convs[1:], strict=False)],
                    numbers=numbers, paper=ARCHS_PAPER, budget=budget),
            verdict(LOCAL_VS_OTHERS_CLAIM, [minus(convs[0], "fully connected"), minus(convs[0], "ViT")],
                    numbers=numbers, paper=ARCHS_PAPER, budget=budget)]


def run(exp, args) -> dict:
    shape = exp.test_set().image_shape
    batches = exp.batches(args.attack_images, size=250)
    results = {}
    for seed in exp.seeds:
        seed_results = {}
        for name, settings in architectures(shape[-1]).items():
            slug = name.replace(" ", "-").replace("=", "")
            model, history = exp.trained(f"{slug}-s{seed}", exp.config(seed=seed, **settings))
            seed_results[name] = exp.stage(f"archs-{slug}-s{seed}", lambda m=model, h=history, n=name: {
                "test_acc": h[-1]["test"]["acc"],
                **perturbation_spectra(m, batches, shape, eps=args.eps, steps=args.steps,
                                                device=exp.dist.device, desc=f"PGD on {n}",
                                                progress=exp.progress and exp.dist.is_main)})
        exp.figure(plot_spectra, f"spectra-s{seed}.png", seed_results,
                   f"PGD ε = {args.eps:g} perturbations and first-layer features (seed {seed})")
        results[str(seed)] = seed_results
    table = [[n, *(mean(results[str(s)][n][k] for s in exp.seeds) for k in
                   ("test_acc", "robust_acc", "perturbation_hf_share", "features_hf_share"))] for n in results["0"]]
    verdicts = claims(results, exp.budget)
    report = "\n".join([
        "# Locality and high-frequency perturbations (Caro et al. 2020)", "",
        f"Each model trained {exp.base.epochs} epochs on {exp.base.dataset}; L∞ PGD ε = {args.eps:g}, {args.steps} "
        f"steps of ε/8 on {min(args.attack_images, len(exp.test_set()))} test images. High-frequency share: energy "
        "above half the Nyquist frequency. Means over seeds.", "",
        *[f"![seed {s}](spectra-s{s}.png)" for s in exp.seeds], "",
        *markdown_table(["model", "test acc.", f"PGD acc. at ε = {args.eps:g}", "perturbation HF share",
                         "first-layer features HF share"], table), "",
        ARCHS_NOTE, "", "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"seeds": results, "verdicts": verdicts}, report)


def first_layer_features(model: nn.Module, shape) -> torch.Tensor:
    """The first layer's filters as images (F, C, H, W), smaller kernels zero-padded to H×W."""
    c, h, w = shape
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            weight = module.weight.detach()
            return F.pad(weight, (0, w - weight.shape[-1], 0, h - weight.shape[-2]))
        if isinstance(module, nn.Linear):
            return module.weight.detach().reshape(-1, c, h, w)
    raise InputError(f"{type(model).__name__} has no Conv2d or Linear layer")


def perturbation_spectra(model: nn.Module, batches, shape, *, eps: float, steps: int, device,
                         progress: bool = False, desc: str = "PGD") -> dict:
    """L∞ PGD (``steps`` of ε/8, every image through every step) against ``model``, and the spectra of its
    perturbations and of its first-layer features.

    Returns:
        ``{"robust_acc", "perturbation_hf_share", "perturbation_hf_shares", "features_hf_share", "perturbation",
        "features"}``: the high-frequency shares (energy above half the Nyquist frequency; of all perturbations
        together, and of each image's) and the mean radial power spectra.
    """
    deltas, robust, n = [], 0.0, 0
    for x, y in tqdm(batches, desc=desc, unit="batch", leave=False, disable=not progress):
        x, y = x.to(device), y.to(device)
        r = pgd(model, x, y, eps, alpha=eps / 8, steps=steps, early_exit=False, return_adversarials=True)
        deltas.append((r.adversarials[0] - x).cpu())
        robust += float(r.robust_accuracy[0]) * len(y)
        n += len(y)
    delta = torch.cat(deltas)
    features = first_layer_features(model, shape).cpu()
    return {"robust_acc": robust / n,
            "perturbation_hf_share": high_frequency_share(delta, size=shape[-1]),
            "perturbation_hf_shares": high_frequency_shares(delta, size=shape[-1]).tolist(),
            "features_hf_share": high_frequency_share(features, size=shape[-1]),
            "perturbation": radial_power_spectrum(delta.double()).mean((0, 1)).tolist(),
            "features": radial_power_spectrum(features.double()).mean((0, 1)).tolist()}


def plot_spectra(spectra: dict, title: str, path: Path) -> Path:
    """Radial spectra of each model's perturbations and first-layer features, as shares of power."""
    fig, axes = pyplot().subplots(1, 2, figsize=(11, 3.8))
    for ax, kind in zip(axes, ("perturbation", "features"), strict=True):
        for name, s in spectra.items():
            curve = torch.tensor(s[kind])
            ax.semilogy(range(len(curve)), (curve / curve.sum()).numpy(), label=name)
        ax.set_xlabel("radial frequency (cycles per image)")
        ax.set_ylabel("share of power")
        ax.set_title(f"radial spectrum of the {kind}s" if kind == "perturbation" else "first-layer features")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(title)
    return save_and_close(path, fig)
