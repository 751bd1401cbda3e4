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
import torch.nn.functional as F
from tqdm.auto import tqdm

from hfc_fast.attacks._model import attack_mode
from hfc_fast.experiments.rundir import save_and_close
from hfc_fast.experiments.suite import markdown_table, mean
from hfc_fast.spectrum import radial_bin_count

MODELS = {"naive": {}, "adversarial": {"adv_eps": 0.03, "adv_steps": 10}, "augmented": {"augment": "affine"}}


def apply_mask(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``x`` (..., H, W) filtered by ``mask`` (H, W//2+1) over its real-input spectrum."""
    return torch.fft.irfft2(torch.fft.rfft2(x) * mask, s=x.shape[-2:])


def half_plane_radius(h: int, w: int) -> torch.Tensor:
    """|f| in cycles per image of each rfft2 coefficient: (H, W//2+1)."""
    fy = torch.fft.fftfreq(h) * h
    fx = torch.fft.rfftfreq(w) * w
    return (fy[:, None] ** 2 + fx[None, :] ** 2).sqrt()


def learn_mask(model, batches, shape, *, steps: int, lam: float, lr: float = 0.05, device="cpu",
               progress: bool = False) -> torch.Tensor:
    """The mask (H, W//2+1) learned on ``batches`` of ``(x, y)`` with ``model`` frozen."""
    h, w = shape[-2:]
    logits = torch.full((h, w // 2 + 1), 3.0, device=device, requires_grad=True)  # sigmoid(3) ≈ 0.95: start open
    optimizer = torch.optim.Adam([logits], lr=lr)
    with attack_mode(model):
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


def plot_masks(masks: dict, profiles: dict, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(masks) + 1, figsize=(3.3 * (len(masks) + 1), 3.2))
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


def add_arguments(parser) -> None:
    parser.add_argument("--mask-steps", type=int, default=300, help="optimisation steps of each mask (default 300)")
    parser.add_argument("--lam", type=float, default=1.0, help="weight λ of the L1 sparsity term (default 1.0)")
    parser.add_argument("--mask-images", type=int, default=1000,
                        help="test images the masks are learned and scored on (default 1000)")


def run(exp, args) -> dict:
    if args.mask_steps < 1 or args.lam < 0 or args.mask_images < 1:
        raise ValueError("--mask-steps and --mask-images must be >= 1 and --lam >= 0")
    _, h, w = exp.test_set().image_shape
    batches = exp.batches(args.mask_images, size=100)
    results, masks, profiles = {}, {}, {}
    for name, changes in MODELS.items():
        model, _ = exp.trained(f"{name}-s0", exp.config(seed=0, **changes))

        def compute(model=model):
            torch.manual_seed(0)
            mask = learn_mask(model, batches, (h, w), steps=args.mask_steps, lam=args.lam, device=exp.dist.device,
                              progress=exp.progress and exp.dist.is_main)
            clean, kept, complement = masked_accuracy(model, batches, mask, exp.dist.device)
            radius = half_plane_radius(h, w).to(mask.device)
            high = radius > min(h, w) / 4
            return {"mask": mask.cpu().tolist(), "by_radius": mask_by_radius(mask, h, w), "accuracy": clean,
                    "accuracy_masked": kept, "accuracy_complement": complement,
                    "mean_mask": float(mask.mean()), "kept_share": float((mask > 0.5).float().mean()),
                    "high_frequency_mass": float(mask[high].sum() / mask.sum().clamp_min(1e-12))}
        results[name] = exp.stage(f"mask-{name}", compute)
        masks[name] = torch.tensor(results[name]["mask"])
        profiles[name] = results[name]["by_radius"]
    if exp.dist.is_main:
        plot_masks(masks, profiles, exp.out / "masks.png")
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
        "Lecture: important frequencies are sparse; accuracy is kept with the mask and drops with its complement; "
        "the common hypothesis is that adversarial training lowers the reliance on high frequencies.", "",
        "Mean mask value over radii: " + ", ".join(f"{n} {mean(r['by_radius']):.3f}" for n, r in results.items())
        + ".", ""])
    return exp.finish({n: {k: v for k, v in r.items() if k != "mask"} for n, r in results.items()}, report)
