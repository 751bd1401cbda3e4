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

from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from hfc_fast._model import frozen_eval
from hfc_fast.experiments.core.config import ADVERSARIAL
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.figures import pyplot
from hfc_fast.experiments.core.files import save_and_close
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import markdown_table
from hfc_fast.experiments.core.verdicts import accuracy_part, mean, verdict, verdict_lines
from hfc_fast.radius import frequency_grid
from hfc_fast.spectrum import radial_bin_count

HELP = "lecture: Fourier masks learned on frozen naive, adversarial and augmented models"
MASKS_CLAIM = "a sparse learned Fourier mask keeps a model's accuracy and its complement does not (lecture)"
MASKS_PAPER = "lecture: important frequencies are sparse; accuracy is kept with the mask and drops with its " \
              "complement"
MASKS_NOTE = "Lecture: important frequencies are sparse; accuracy is kept with the mask and drops with its " \
             "complement; the common hypothesis is that adversarial training lowers the reliance on high frequencies."
# model -> (its run's name, training settings); naive and adversarial are the models of hfc robustness
MODELS = {"naive": ("natural", {}), "adversarial": ("adversarial", ADVERSARIAL),
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
    mask = learn_mask(model, batches, (h, w), steps=args.mask_steps, lam=args.lam, device=exp.dist.device,
                               progress=exp.progress and exp.dist.is_main)
    clean, kept, complement = masked_accuracy(model, batches, mask, exp.dist.device)
    high = half_plane_radius(h, w).to(mask.device) > min(h, w) / 4
    return {"mask": mask.cpu().tolist(), "by_radius": mask_by_radius(mask, h, w), "accuracy": clean,
            "accuracy_masked": kept, "accuracy_complement": complement, "mean_mask": float(mask.mean()),
            "kept_share": float((mask > 0.5).float().mean()),
            "high_frequency_mass": float(mask[high].sum() / mask.sum().clamp_min(1e-12))}


def claim(results: dict, n: int, budget: str) -> dict:
    """The lecture's claim on the naive model: accuracy with the learned (sparse) mask minus with its
    complement."""
    seeds = results["naive"]
    return verdict(MASKS_CLAIM, [accuracy_part("accuracy with the mask − with its complement (naive model)",
                                                     [[r["accuracy_masked"]] for r in seeds],
                                                     [[r["accuracy_complement"]] for r in seeds], n)],
                   numbers="share of the mask above 0.5: " + ", ".join(f"{r['kept_share']:.3f}" for r in seeds),
                   paper=MASKS_PAPER, budget=budget)


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
    exp.figure(plot_masks, "masks.png", {n: torch.tensor(r[0]["mask"]) for n, r in results.items()},
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
        MASKS_NOTE, "",
        "Mean mask value over radii: " + ", ".join(f"{n} {mean(mean(x['by_radius']) for x in r):.3f}"
                                                   for n, r in results.items()) + ".", "",
        *(["## Verdict", "", *verdict_lines(verdicts), ""] if verdicts else [])])
    return exp.finish({"models": {n: [{k: v for k, v in x.items() if k != "mask"} for x in r]
                                  for n, r in results.items()}, "verdicts": verdicts}, report)


def apply_mask(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``x`` (..., H, W) filtered by ``mask`` (H, W//2+1) over its real-input spectrum."""
    return torch.fft.irfft2(torch.fft.rfft2(x) * mask, s=x.shape[-2:])


def half_plane_radius(h: int, w: int) -> torch.Tensor:
    """|f| in cycles per image of each rfft2 coefficient: (H, W//2+1), float32."""
    return frequency_grid(h, w, half=True).sqrt().float()


def learn_mask(model, batches, shape, *, steps: int, lam: float, lr: float = 0.05, device="cpu",
               progress: bool = False) -> torch.Tensor:
    """The mask (H, W//2+1) learned on ``batches`` of ``(x, y)`` with ``model`` frozen."""
    h, w = shape[-2:]
    logits = torch.full((h, w // 2 + 1), 3.0, device=device, requires_grad=True)  # sigmoid(3) ≈ 0.95: start open
    optimizer = torch.optim.Adam([logits], lr=lr)
    with frozen_eval(model):
        for step in tqdm(range(steps), desc="mask", unit="step", leave=False, disable=not progress):
            x, y = batches[step % len(batches)]
            x, y = x.to(device), y.to(device)
            with torch.no_grad():
                reference = F.cross_entropy(model(x), y, reduction="none")
            mask = torch.sigmoid(logits)
            loss = F.cross_entropy(model(apply_mask(x, mask)), y, reduction="none")
            objective = torch.exp((loss - reference).square()).mean() + lam * mask.mean()
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            optimizer.step()
    return torch.sigmoid(logits).detach()


def mask_by_radius(mask: torch.Tensor, h: int, w: int) -> list[float]:
    """Mean mask value in each integer radial bin."""
    bins = half_plane_radius(h, w).floor().long().clamp(max=radial_bin_count(h, w) - 1).flatten()
    n = radial_bin_count(h, w)
    sums = torch.zeros(n, dtype=torch.float64).index_add(0, bins, mask.cpu().double().flatten())
    counts = torch.zeros(n, dtype=torch.float64).index_add(0, bins, torch.ones_like(sums[bins]))
    return (sums / counts.clamp(min=1)).tolist()


@torch.no_grad()
def masked_accuracy(model, batches, mask, device) -> tuple[float, float, float]:
    """Accuracy on the originals, with the mask, and with its complement ``1 − M``."""
    hits, n = torch.zeros(3), 0
    for x, y in batches:
        x, y = x.to(device), y.to(device)
        for i, view in enumerate((x, apply_mask(x, mask), apply_mask(x, 1 - mask))):
            hits[i] += float((model(view).argmax(1) == y).sum())
        n += len(y)
    return tuple((hits / max(n, 1)).tolist())


def plot_masks(masks: dict, profiles: dict, path: Path) -> Path:
    """Each learned half-plane mask (DC at fx = 0, fy = 0) and the masks' mean value by radius."""
    fig, axes = pyplot().subplots(1, len(masks) + 1, figsize=(3.3 * (len(masks) + 1), 3.2))
    for ax, (name, mask) in zip(axes, masks.items(), strict=False):
        h = mask.shape[0]
        ax.imshow(torch.fft.fftshift(mask, dim=0).numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto",
                  origin="lower", extent=(0, mask.shape[1] - 1, -(h // 2), h - h // 2 - 1))
        ax.set_title(f"{name}", fontsize=9)
        ax.set_xlabel("fx")
        ax.set_ylabel("fy")
    for name, profile in profiles.items():
        axes[-1].plot(profile, label=name)
    axes[-1].set_xlabel("radius (cycles per image)")
    axes[-1].set_ylabel("mean mask value")
    axes[-1].set_ylim(0, 1)
    axes[-1].legend(fontsize=7)
    axes[-1].grid(alpha=0.3)
    fig.suptitle("Learned Fourier masks (DC at fx = 0, fy = 0)")
    return save_and_close(path, fig)
