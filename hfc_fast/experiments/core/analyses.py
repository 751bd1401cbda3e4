"""Reusable measurements behind the commands, each a function of models and tensors.

The split's energy statistics (§3), Fig-2 examples, the truncated-SVD split
(§8), Table 2's robustness rows, perturbation and feature spectra (Caro et
al.), learned Fourier masks and the implicit-bias experiment (lecture).
"""

from __future__ import annotations

import time
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from hfc_fast._model import frozen_eval
from hfc_fast.attacks import ATTACKS, AUTOATTACK, apgd, pgd, robust_accuracy, square
from hfc_fast.errors import InputError
from hfc_fast.experiments.core.paper import EPS, NEAR_ZERO, RHOS
from hfc_fast.frequency import frequency_split
from hfc_fast.models import build_model
from hfc_fast.radius import frequency_grid
from hfc_fast.smoothing import smooth_first_conv
from hfc_fast.spectrum import high_frequency_share, high_frequency_shares, radial_bin_count, radial_power_spectrum


def split_energy(images: torch.Tensor, radii, batch_size: int, fn, desc: str, progress: bool = True):
    """The split of every image by ``fn`` (``frequency_split`` or its reference), batch by batch.

    Returns:
        ``(seconds, lfc_energy_share, mean_abs_hfc)``: the time of the split calls alone, the LFC's share
        of the energy at each radius, and the mean absolute HFC pixel at each radius.
    """
    energy = images.pow(2).sum()
    low_energy = torch.zeros(len(radii), dtype=torch.float64)
    high_abs = torch.zeros(len(radii), dtype=torch.float64)
    fn(images[:batch_size], list(radii))  # warm-up: the first call pays for allocations and page faults
    seconds = 0.0
    for batch in tqdm(images.split(batch_size), desc=desc, unit="batch", leave=False, disable=not progress):
        start = time.perf_counter()
        low, high = fn(batch, list(radii))
        seconds += time.perf_counter() - start  # the statistics below would swamp the split's own time
        low_energy += low.double().pow(2).flatten(1).sum(1)
        high_abs += high.double().abs().flatten(1).sum(1)
    return seconds, (low_energy / energy).tolist(), (high_abs / images.numel()).tolist()


@torch.no_grad()
def find_examples(model, images: torch.Tensor, labels: torch.Tensor, radius: float, *,
                  batch_size: int = 500) -> dict:
    """Indices and confidences of the images right on x and x_h but wrong on x_l.

    Returns:
        ``{"indices": (M,), "confidence": {"x","low","high"}: (M,), "pred_low": (M,), "n": N}``; the
        confidence is the softmax probability of the predicted class.
    """
    model.eval()
    device = next(model.parameters()).device
    found, conf, pred_low = [], {"x": [], "low": [], "high": []}, []
    for start in range(0, len(images), batch_size):
        x, y = images[start:start + batch_size].to(device), labels[start:start + batch_size].to(device)
        low, high = frequency_split(x, radius)
        probs = {k: torch.softmax(model(v), dim=1) for k, v in (("x", x), ("low", low), ("high", high))}
        pred = {k: p.argmax(1) for k, p in probs.items()}
        hit = (pred["x"] == y) & (pred["high"] == y) & (pred["low"] != y)
        found.append(hit.nonzero().squeeze(1).cpu() + start)
        for k in conf:
            conf[k].append(probs[k].max(1).values[hit].cpu())
        pred_low.append(pred["low"][hit].cpu())
    return {"indices": torch.cat(found), "confidence": {k: torch.cat(v) for k, v in conf.items()},
            "pred_low": torch.cat(pred_low), "n": len(images)}


def svd_split(x: torch.Tensor, rank: torch.Tensor | int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(dominant, trailing)`` of ``x`` (..., H, W): each matrix rebuilt from its ``rank`` largest
    singular values, and the rest (``dominant + trailing == x``).

    Args:
        x: real tensor (..., H, W).
        rank: an int, or a tensor of shape ``x.shape[:-2]`` giving each matrix its own rank.
    """
    u, s, vh = torch.linalg.svd(x.double(), full_matrices=False)
    rank = torch.as_tensor(rank, device=x.device).expand(x.shape[:-2])
    keep = torch.arange(s.shape[-1], device=x.device) < rank[..., None]
    dominant = (u * (s * keep).unsqueeze(-2)) @ vh
    dominant = dominant.to(x.dtype)
    return dominant, x - dominant


def energy_matched_rank(x: torch.Tensor, share: torch.Tensor) -> torch.Tensor:
    """The smallest rank whose singular values hold at least ``share`` of each matrix's energy.

    Args:
        x: (..., H, W); share: same leading shape, in [0, 1].
    Returns:
        int64 ranks of shape ``x.shape[:-2]``.
    """
    s2 = torch.linalg.svdvals(x.double()).square()
    cumulative = s2.cumsum(-1) / s2.sum(-1, keepdim=True).clamp_min(1e-300)
    share = share.double()
    below = (cumulative < share.unsqueeze(-1) - 1e-12).sum(-1)  # values needed before the share is reached
    return (below + (share > 0).long()).clamp(max=s2.shape[-1])


def lfc_share(x: torch.Tensor, radius: float) -> torch.Tensor:
    """Share of each channel's energy in its LFC at ``radius``: shape ``x.shape[:-2]``."""
    low, _ = frequency_split(x, radius)
    return low.double().square().sum((-2, -1)) / x.double().square().sum((-2, -1)).clamp_min(1e-300)


@torch.no_grad()
def story_flags(models: list, images, labels, split, *, batch_size: int = 500) -> torch.Tensor:
    """Per model and image, (M, N) bool: right on x and on the second part, wrong on the first (the Fig-2
    story). Each batch is split once for all the models."""
    device = next(models[0].parameters()).device
    flags = []
    for start in range(0, len(images), batch_size):
        x, y = images[start:start + batch_size].to(device), labels[start:start + batch_size].to(device)
        first, second = split(x)
        per_model = []
        for model in models:
            right = [model(v).argmax(1) == y for v in (x, first, second)]
            per_model.append(right[0] & ~right[1] & right[2])
        flags.append(torch.stack(per_model).cpu())
    return torch.cat(flags, dim=1) if flags else torch.zeros(len(models), 0, dtype=torch.bool)


def robustness_table(models: dict, batches, *, rhos=RHOS, eps=EPS, pgd_steps: int = 10, attacks=("fgsm", "pgd"),
                     apgd_steps: int = 100, autoattack: bool = False, progress: bool = True):
    """Rows ``{"model", "rho", "clean", <attack>: [per ε], ..., "worst": [per ε], "n"}`` for each model and ρ.

    PGD uses ``pgd_steps`` steps of ε/4 without random start, APGD ``apgd_steps`` iterations (with
    ``autoattack``, the members of AutoAttack's suite run with its budgets); ``worst`` counts an image robust
    only if every attack failed. Smoothing is applied to a copy of each model.
    """
    chosen = {name: name for name in attacks}
    rows = []
    for name, model in models.items():
        for rho in rhos:
            smoothed = smooth_first_conv(model, rho) if rho else model
            report = robust_accuracy(smoothed, batches, _attack_callables(chosen, eps, pgd_steps, apgd_steps,
                                                                          autoattack=autoattack), eps,
                                     progress=progress)
            rows.append({"model": name, "rho": rho, "clean": report.clean_accuracy, "n": report.n,
                         **{a: report.accuracy(a) for a in attacks}, "worst": report.worst_case})
    return rows


def _pgd(eps, steps: int):
    """PGD as Table 2 runs it over the radii ``eps``: ``steps`` steps of ε/4, no random start."""
    return partial(pgd, steps=steps, alpha=[e / 4 for e in sorted(eps)])


def _attack_callables(names: dict, eps, pgd_steps: int, apgd_steps: int, *, autoattack: bool = False) -> dict:
    """name -> attack with this toolkit's Table 2 settings: PGD steps of ε/4 without random start, APGD with its
    own schedule and a fixed seed; the others as the registry (:data:`~hfc_fast.attacks.ATTACKS`) has them,
    FAB-T and Square with AutoAttack's budgets."""
    made = {**{n: partial(a, seed=0) if n in ("fab-t", "square") else a for n, a in ATTACKS.items()},
            **AUTOATTACK, "pgd": _pgd(eps, pgd_steps),
            "apgd-ce": partial(apgd, loss="ce", steps=apgd_steps, seed=0),
            "apgd-dlr": partial(apgd, loss="dlr", steps=apgd_steps, seed=0),
            "apgd-t": partial(apgd, loss="dlr-targeted", steps=apgd_steps, seed=0)}
    if autoattack:
        made.update(AUTOATTACK)
    unknown = [n for n in names if n not in made]
    if unknown:
        raise InputError(f"--attacks must name some of {', '.join(made)}, got {', '.join(unknown)}")
    return {n: made[names[n]] for n in names}


SQUARE_TOLERANCE = 0.005  # Square may fool this share of the images every white-box attack failed on


def masking_checks(smoothed, source, batches, *, eps, large_eps: float = 0.3, steps=(10, 50),
                   square_queries: int = 1000, progress: bool = False) -> dict:
    """Gradient-masking checks of a defended model (Athalye et al.'s and Carlini et al.'s usual list):

    * ``monotone``: PGD robust accuracy does not rise with ε (over ``eps`` + ``large_eps``), nor with more
      steps (``steps`` against each other, within one image of slack);
    * ``large_eps``: at ``large_eps`` the worst case reaches about 0 (at most :data:`~paper.NEAR_ZERO` of the
      images);
    * ``transfer``: PGD examples crafted on the undefended ``source`` do not beat the white-box attack on the
      defended model (transfer accuracy >= white-box accuracy);
    * ``square``: the gradient-free Square Attack (``square_queries`` queries) at the largest ε fools at most
      :data:`SQUARE_TOLERANCE` of the images (and at most one image on small sets) that PGD and APGD-CE both
      failed on: white-box attacks at least as strong as a black-box one.
    """
    grid = sorted(set(eps) | {large_eps})
    few, many = (robust_accuracy(smoothed, batches, {"pgd": _pgd(grid, s)}, grid, progress=progress).accuracy("pgd")
                 for s in steps)
    n = sum(len(y) for _, y in batches)
    worst = robust_accuracy(smoothed, batches, _attack_callables({"pgd": "pgd", "apgd-ce": "apgd-ce"}, [large_eps],
                                                                 steps[-1], 100), [large_eps], progress=progress)
    transfer_hits = 0
    for x, y in batches:
        crafted = pgd(source, x, y, max(eps), alpha=max(eps) / 4, steps=steps[0], early_exit=False,
                      return_adversarials=True).adversarials[0]
        with torch.no_grad():
            transfer_hits += int((smoothed(crafted).argmax(1) == y).sum())
    white = robust_accuracy(smoothed, batches, {"pgd": _pgd([max(eps)], steps[0])}, [max(eps)],
                            progress=progress).accuracy("pgd")[0]
    box = robust_accuracy(smoothed, batches, _attack_callables({"pgd": "pgd", "apgd-ce": "apgd-ce"}, [max(eps)],
                                                               steps[0], 100), [max(eps)], progress=progress)
    black = robust_accuracy(smoothed, batches, {"square": partial(square, queries=square_queries, seed=0)},
                            [max(eps)], progress=progress)
    beyond = int((box.robust_mask()[0] & ~black.robust_mask()[0]).sum())
    square_not_stronger = beyond <= max(1, SQUARE_TOLERANCE * n)
    monotone = all(a >= b - 1e-12 for a, b in zip(few, few[1:], strict=False)) and \
        all(m <= f + 1 / max(n, 1) for f, m in zip(few, many, strict=True))
    reaches_zero = worst.worst_case[0] <= NEAR_ZERO
    transfer_not_stronger = transfer_hits / n >= white - 1e-12
    return {"n": n, "eps": grid, "steps": list(steps), "pgd_few_steps": few, "pgd_many_steps": many,
            "monotone": monotone, "large_eps": large_eps, "worst_at_large_eps": worst.worst_case[0],
            "reaches_zero": reaches_zero, "transfer_eps": max(eps), "transfer": transfer_hits / n,
            "white_box": white, "transfer_not_stronger": transfer_not_stronger,
            "square_queries": square_queries, "white_box_worst": box.worst_case[0], "square": black.worst_case[0],
            "square_beyond_white_box": beyond, "square_not_stronger": square_not_stronger,
            "passed": monotone and reaches_zero and transfer_not_stronger and square_not_stronger}


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


def separable_data(n: int, size: int, *, frequencies: int = 3, seed: int = 0):
    """``n`` Gaussian images (n, 1, size, size) labelled by a teacher that is sparse in Fourier space.

    Returns ``(x, y, teacher)`` with ``y = 1[⟨teacher, x⟩ > 0]``; the data are separable by construction.
    """
    g = torch.Generator().manual_seed(seed)
    spectrum = torch.zeros(size, size, dtype=torch.complex128)
    idx = torch.randint(0, size, (frequencies, 2), generator=g)
    spectrum[idx[:, 0], idx[:, 1]] = torch.randn(frequencies, dtype=torch.complex128, generator=g)
    teacher = torch.fft.ifft2(spectrum, norm="ortho").real
    teacher = (teacher / teacher.norm()).float()
    x = torch.randn(n, 1, size, size, generator=g)
    y = ((x[:, 0] * teacher).sum((-2, -1)) > 0).long()
    return x, y, teacher


def fourier_norms(beta: torch.Tensor) -> dict:
    """``‖F(β)‖₁`` (orthonormal DFT), ``‖β‖₂`` and their ratio, for β (..., H, W)."""
    l1 = float(torch.fft.fft2(beta.double(), norm="ortho").abs().sum())
    l2 = float(beta.double().norm())
    return {"fourier_l1": l1, "l2": l2, "ratio": l1 / l2 if l2 > 0 else float("nan")}


def train_linear(name: str, x, y, *, steps: int, lr: float, log_every: int, seed: int) -> list[dict]:
    """Gradient descent on the logistic loss; norms of the effective predictor every ``log_every`` steps."""
    torch.manual_seed(seed)
    model = build_model(name, in_channels=1, num_classes=1, image_size=x.shape[-1], init="default")
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    target = y.float()
    curve = []
    for step in range(steps + 1):
        logits = model(x)[:, 0]
        loss = F.binary_cross_entropy_with_logits(logits, target)
        if step % log_every == 0 or step == steps:
            beta = model.effective_predictor()[0, 0]
            hits = (logits.detach() > 0).long() == y
            curve.append({"step": step, "loss": loss.item(), "train_acc": hits.float().mean().item(),
                          **fourier_norms(beta)})
        if step == steps:
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    curve[-1]["beta"] = model.effective_predictor()[0, 0].tolist()
    return curve


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
