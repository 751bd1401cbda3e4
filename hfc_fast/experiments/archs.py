"""``hfc archs`` (Caro et al. 2020): does locality of the first layer make perturbations high-frequency?

Fully connected, local convolutions with kernels 3, 11 and the full width, and
a ViT are trained alike and attacked with L∞ PGD; the radial power spectra of
their perturbations and first-layer features are compared, with the share of
energy above half the Nyquist frequency as one number per model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from hfc_fast.attacks import pgd
from hfc_fast.experiments.kernels import high_frequency_share
from hfc_fast.experiments.rundir import save_and_close
from hfc_fast.experiments.suite import markdown_table, mean, verdict, verdict_lines
from hfc_fast.spectrum import radial_power_spectrum


def architectures(image_size: int) -> dict[str, dict]:
    """name -> training settings; the kernel sizes that fit the image."""
    archs = {"fully connected": {"model": "mlp"}}
    for k in (3, 11):
        if k < image_size:
            archs[f"local conv k={k}"] = {"model": "local_cnn", "model_options": {"kernel_size": k}}
    archs["full-width conv"] = {"model": "local_cnn", "model_options": {"kernel_size": image_size}}
    archs["ViT"] = {"model": "vit_tiny", "model_options": {"depth": 4}}
    return archs


def first_layer_features(model: nn.Module, shape) -> torch.Tensor:
    """The first layer's filters as images (F, C, H, W), smaller kernels zero-padded to H×W."""
    c, h, w = shape
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            weight = module.weight.detach()
            return F.pad(weight, (0, w - weight.shape[-1], 0, h - weight.shape[-2]))
        if isinstance(module, nn.Linear):
            return module.weight.detach().reshape(-1, c, h, w)
    raise ValueError(f"{type(model).__name__} has no Conv2d or Linear layer")


def plot_spectra(spectra: dict, path, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, part in zip(axes, ("perturbation", "features"), strict=True):
        for name, s in spectra.items():
            curve = torch.tensor(s[part])
            ax.semilogy(range(len(curve)), (curve / curve.sum()).numpy(), label=name)
        ax.set_xlabel("radial frequency (cycles per image)")
        ax.set_ylabel("share of power")
        ax.set_title(f"radial spectrum of the {part}s" if part == "perturbation" else "first-layer features")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(title)
    return save_and_close(path, fig)


def add_arguments(parser) -> None:
    parser.add_argument("--eps", type=float, default=0.03, help="L∞ PGD radius (default 0.03)")
    parser.add_argument("--steps", type=int, default=20, help="PGD steps of ε/8 (default 20)")
    parser.add_argument("--attack-images", type=int, default=1000, help="test images attacked (default 1000)")


def run(exp, args) -> dict:
    if args.eps <= 0 or args.steps < 1 or args.attack_images < 1:
        raise ValueError("--eps must be > 0, --steps and --attack-images >= 1")
    shape = exp.test_set().image_shape
    batches = exp.batches(args.attack_images, size=250)
    results, by_kernel, against_others = {}, [], []
    for seed in exp.seeds:
        seed_results = {}
        for name, settings in architectures(shape[-1]).items():
            model, history = exp.trained(f"{name.replace(' ', '-').replace('=', '')}-s{seed}",
                                         exp.config(seed=seed, **settings))

            def attack(model=model, history=history, name=name):
                deltas, robust, n = [], 0.0, 0
                bar = tqdm(batches, desc=f"PGD on {name}", unit="batch", leave=False,
                           disable=not exp.progress or not exp.dist.is_main)
                for x, y in bar:
                    x, y = x.to(exp.dist.device), y.to(exp.dist.device)
                    # every image runs every step so each perturbation is the full attack's
                    r = pgd(model, x, y, args.eps, alpha=args.eps / 8, steps=args.steps, early_exit=False,
                            return_adversarials=True)
                    deltas.append((r.adversarials[0] - x).cpu())
                    robust += float(r.robust_accuracy[0]) * len(y)
                    n += len(y)
                delta = torch.cat(deltas)
                features = first_layer_features(model, shape).cpu()
                return {"test_acc": history[-1]["test"]["acc"], "robust_acc": robust / n,
                        "perturbation_hf_share": high_frequency_share(delta, size=shape[-1]),
                        "features_hf_share": high_frequency_share(features, size=shape[-1]),
                        "perturbation": radial_power_spectrum(delta.double()).mean((0, 1)).tolist(),
                        "features": radial_power_spectrum(features.double()).mean((0, 1)).tolist()}
            seed_results[name] = exp.stage(f"archs-{name.replace(' ', '-').replace('=', '')}-s{seed}", attack)
        if exp.dist.is_main:
            plot_spectra(seed_results, exp.out / f"spectra-s{seed}.png",
                         f"PGD ε = {args.eps:g} perturbations and first-layer features (seed {seed})")
        results[str(seed)] = seed_results
        share = {k: v["perturbation_hf_share"] for k, v in seed_results.items()}
        convs = [share[k] for k in share if k.startswith("local conv")] + [share["full-width conv"]]
        by_kernel.append(all(a > b for a, b in zip(convs, convs[1:], strict=False)))  # kernels in growing size
        smallest = convs[0]
        against_others.append(smallest > share["fully connected"] and smallest > share["ViT"])
    names = list(results["0"])
    table = [[n, mean(results[str(s)][n]["test_acc"] for s in exp.seeds),
              mean(results[str(s)][n]["robust_acc"] for s in exp.seeds),
              mean(results[str(s)][n]["perturbation_hf_share"] for s in exp.seeds),
              mean(results[str(s)][n]["features_hf_share"] for s in exp.seeds)] for n in names]
    share = {row[0]: row[3] for row in table}
    numbers = "high-frequency share of perturbation energy: " + ", ".join(f"{k} {v:.3f}" for k, v in share.items())
    verdicts = [verdict("among convolutional models, the smaller the first-layer kernel, the more high-frequency "
                        "the perturbations (Caro et al.)", by_kernel, numbers),
                verdict("the most local convolution gives more high-frequency perturbations than a fully connected "
                        "model and a ViT (Caro et al.)", against_others, numbers)]
    report = "\n".join([
        "# Locality and high-frequency perturbations (Caro et al. 2020)", "",
        f"Each model trained {exp.base.epochs} epochs on {exp.base.dataset}; L∞ PGD ε = {args.eps:g}, {args.steps} "
        f"steps of ε/8 on {min(args.attack_images, len(exp.test_set()))} test images. High-frequency share: energy "
        "above half the Nyquist frequency. Means over seeds.", "",
        *[f"![seed {s}](spectra-s{s}.png)" for s in exp.seeds], "",
        *markdown_table(["model", "test acc.", f"PGD acc. at ε = {args.eps:g}", "perturbation HF share",
                         "first-layer features HF share"], table), "",
        "Caro et al.: local convolutions bias perturbations to high frequencies; larger kernels or a ViT reduce the "
        "bias, though not the overall susceptibility to attacks.", "",
        "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"seeds": results, "verdicts": verdicts}, report)
