"""``hfc archs`` (Caro et al. 2020): does locality of the first layer make perturbations high-frequency?

Fully connected, local convolutions with kernels 3, 11 and the full width, and
a ViT are trained alike and attacked with L∞ PGD; the radial power spectra of
their perturbations and first-layer features are compared, with the share of
energy above half the Nyquist frequency as one number per model.
"""

from __future__ import annotations

import torch

from hfc_fast.experiments.core import analyses, figures, paper
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import markdown_table
from hfc_fast.experiments.core.verdicts import mean, part, verdict, verdict_lines
from hfc_fast.stats import effect_interval

HELP = "Caro et al.: perturbation spectra of FC, local-conv and ViT models"


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
    return [verdict(paper.KERNEL_ORDER_CLAIM, [minus(a, b) for a, b in zip(convs, convs[1:], strict=False)],
                    numbers=numbers, paper=paper.ARCHS_PAPER, budget=budget),
            verdict(paper.LOCAL_VS_OTHERS_CLAIM, [minus(convs[0], "fully connected"), minus(convs[0], "ViT")],
                    numbers=numbers, paper=paper.ARCHS_PAPER, budget=budget)]


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
                **analyses.perturbation_spectra(m, batches, shape, eps=args.eps, steps=args.steps,
                                                device=exp.dist.device, desc=f"PGD on {n}",
                                                progress=exp.progress and exp.dist.is_main)})
        exp.figure(figures.plot_spectra, f"spectra-s{seed}.png", seed_results,
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
        paper.ARCHS_NOTE, "", "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"seeds": results, "verdicts": verdicts}, report)
