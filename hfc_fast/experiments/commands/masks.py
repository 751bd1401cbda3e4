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
from hfc_fast.experiments.core.verdicts import accuracy_part, mean, verdict, verdict_lines

HELP = "lecture: Fourier masks learned on frozen naive, adversarial and augmented models"
# model -> (its run's name, training settings); naive and adversarial are the models of hfc robustness
MODELS = {"naive": ("natural", {}), "adversarial": ("adversarial", {"adv_eps": 0.03, "adv_steps": 10}),
          "augmented": ("augmented", {"augment": "affine"})}


def add_arguments(options) -> None:
    options.add("--mask-steps", default=300, spec=Spec("int", minimum=1),
                help="optimisation steps of each mask (default 300)")
    options.add("--lam", default=1.0, spec=Spec("float", minimum=0),
                help="weight λ of the L1 sparsity term (default 1.0)")
    options.add("--mask-images", default=1000, spec=Spec("int", minimum=1),
                help="test images the masks are learned and scored on (default 1000)")
    options.add("--models", default=list(MODELS), spec=Spec("names", choices=tuple(MODELS)),
                help=f"frozen models whose masks are learned (default {','.join(MODELS)})")
    add_experiment_options(options, "masks")


def learned(exp, args, model, batches, h: int, w: int, seed: int) -> dict:
    """The mask learned on ``model`` and what it keeps."""
    torch.manual_seed(seed)
    mask = analyses.learn_mask(model, batches, (h, w), steps=args.mask_steps, lam=args.lam, device=exp.dist.device,
                               progress=exp.progress and exp.dist.is_main)
    clean, kept, complement = analyses.masked_accuracy(model, batches, mask, exp.dist.device)
    high = analyses.half_plane_radius(h, w).to(mask.device) > min(h, w) / 4
    return {"mask": mask.cpu().tolist(), "by_radius": analyses.mask_by_radius(mask, h, w), "accuracy": clean,
            "accuracy_masked": kept, "accuracy_complement": complement, "mean_mask": float(mask.mean()),
            "kept_share": float((mask > 0.5).float().mean()),
            "high_frequency_mass": float(mask[high].sum() / mask.sum().clamp_min(1e-12))}


def claim(results: dict, n: int, budget: str) -> dict:
    """The lecture's claim on the naive model: accuracy with the learned (sparse) mask minus with its
    complement."""
    seeds = results["naive"]
    return verdict(paper.MASKS_CLAIM, [accuracy_part("accuracy with the mask − with its complement (naive model)",
                                                     [[r["accuracy_masked"]] for r in seeds],
                                                     [[r["accuracy_complement"]] for r in seeds], n)],
                   numbers="share of the mask above 0.5: " + ", ".join(f"{r['kept_share']:.3f}" for r in seeds),
                   paper=paper.MASKS_PAPER, budget=budget)


def run(exp, args) -> dict:
    _, h, w = exp.test_set().image_shape
    batches = exp.batches(args.mask_images, size=100)
    results = {name: [] for name in dict.fromkeys(args.models)}
    for seed in exp.seeds:
        for name in results:
            run_name, changes = MODELS[name]
            model, _ = exp.trained(f"{run_name}-s{seed}", exp.config(seed=seed, **changes))
            results[name].append(exp.stage(f"mask-{name}-s{seed}",
                                           lambda m=model, s=seed: learned(exp, args, m, batches, h, w, s)))
    exp.figure(figures.plot_masks, "masks.png", {n: torch.tensor(r[0]["mask"]) for n, r in results.items()},
               {n: r[0]["by_radius"] for n, r in results.items()})
    keys = ("accuracy", "accuracy_masked", "accuracy_complement", "kept_share", "high_frequency_mass")
    table = [[n, *(mean(x[k] for x in r) for k in keys)] for n, r in results.items()]
    n = sum(len(y) for _, y in batches)
    verdicts = [claim(results, n, f"{exp.budget}, {args.mask_steps} mask steps")] \
        if "naive" in results else []
    report = "\n".join([
        "# Learned Fourier masks (lecture)", "",
        f"Masks learned for {args.mask_steps} Adam steps on {n} test images (λ = {args.lam:g}) with each "
        f"{exp.base.model} frozen ({exp.base.epochs} epochs on {exp.base.dataset}); {len(exp.seeds)} seed(s), means "
        "below, masks of seed 0 drawn. High-frequency mass: share of the mask's total above half the Nyquist "
        "radius.", "", "![masks](masks.png)", "",
        *markdown_table(["model", "accuracy", "with mask", "with 1 − mask", "share of mask > 0.5",
                         "high-frequency mass"], table), "",
        paper.MASKS_NOTE, "",
        "Mean mask value over radii: " + ", ".join(f"{n} {mean(mean(x['by_radius']) for x in r):.3f}"
                                                   for n, r in results.items()) + ".", "",
        *(["## Verdict", "", *verdict_lines(verdicts), ""] if verdicts else [])])
    return exp.finish({"models": {n: [{k: v for k, v in x.items() if k != "mask"} for x in r]
                                  for n, r in results.items()}, "verdicts": verdicts}, report)
