"""``hfc masks`` (lecture): which Fourier features a frozen model needs, learned as a mask.

A mask ``M`` over the real-input spectrum (H, W//2+1, values in (0, 1) through a
sigmoid) filters every image, ``x̄ = IDFT(M ⊙ DFT(x))``; with the model frozen
it is trained to keep the loss, ``exp((L(Φ(x̄), y) − L(Φ(x), y))²)``, while an
L1 penalty ``λ·mean(M)`` makes it sparse. Compared for a naive, an
adversarially trained and an augmentation-trained (scale, translation,
rotation) model: the mask's mean value by radius, and the accuracy with the
mask and with its complement.
"""

from __future__ import annotations

import torch

from hfc_fast.experiments.core import analyses, figures, paper
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import markdown_table
from hfc_fast.experiments.core.verdicts import mean

HELP = "lecture: Fourier masks learned on frozen naive, adversarial and augmented models"
MODELS = {"naive": {}, "adversarial": {"adv_eps": 0.03, "adv_steps": 10}, "augmented": {"augment": "affine"}}


def add_arguments(options) -> None:
    options.add("--mask-steps", default=300, spec=Spec("int", minimum=1),
                help="optimisation steps of each mask (default 300)")
    options.add("--lam", default=1.0, spec=Spec("float", minimum=0),
                help="weight λ of the L1 sparsity term (default 1.0)")
    options.add("--mask-images", default=1000, spec=Spec("int", minimum=1),
                help="test images the masks are learned and scored on (default 1000)")
    add_experiment_options(options, "masks")


def learned(exp, args, model, batches, h: int, w: int) -> dict:
    """The mask learned on ``model`` and what it keeps."""
    torch.manual_seed(0)
    mask = analyses.learn_mask(model, batches, (h, w), steps=args.mask_steps, lam=args.lam, device=exp.dist.device,
                               progress=exp.progress and exp.dist.is_main)
    clean, kept, complement = analyses.masked_accuracy(model, batches, mask, exp.dist.device)
    high = analyses.half_plane_radius(h, w).to(mask.device) > min(h, w) / 4
    return {"mask": mask.cpu().tolist(), "by_radius": analyses.mask_by_radius(mask, h, w), "accuracy": clean,
            "accuracy_masked": kept, "accuracy_complement": complement, "mean_mask": float(mask.mean()),
            "kept_share": float((mask > 0.5).float().mean()),
            "high_frequency_mass": float(mask[high].sum() / mask.sum().clamp_min(1e-12))}


def run(exp, args) -> dict:
    _, h, w = exp.test_set().image_shape
    batches = exp.batches(args.mask_images, size=100)
    results = {}
    for name, changes in MODELS.items():
        model, _ = exp.trained(f"{name}-s0", exp.config(seed=0, **changes))
        results[name] = exp.stage(f"mask-{name}", lambda m=model: learned(exp, args, m, batches, h, w))
    exp.figure(figures.plot_masks, "masks.png", {n: torch.tensor(r["mask"]) for n, r in results.items()},
               {n: r["by_radius"] for n, r in results.items()})
    table = [[n, r["accuracy"], r["accuracy_masked"], r["accuracy_complement"], r["kept_share"],
              r["high_frequency_mass"]] for n, r in results.items()]
    report = "\n".join([
        "# Learned Fourier masks (lecture)", "",
        f"Masks learned for {args.mask_steps} Adam steps on {sum(len(y) for _, y in batches)} test images "
        f"(λ = {args.lam:g}) with each {exp.base.model} frozen ({exp.base.epochs} epochs on {exp.base.dataset}). "
        "High-frequency mass: share of the mask's total above half the Nyquist radius.", "",
        "![masks](masks.png)", "",
        *markdown_table(["model", "accuracy", "with mask", "with 1 − mask", "share of mask > 0.5",
                         "high-frequency mass"], table), "",
        paper.MASKS_NOTE, "",
        "Mean mask value over radii: " + ", ".join(f"{n} {mean(r['by_radius']):.3f}" for n, r in results.items())
        + ".", ""])
    return exp.finish({n: {k: v for k, v in r.items() if k != "mask"} for n, r in results.items()}, report)
