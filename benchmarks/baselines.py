"""Plain-PyTorch formulations that hfc_fast is measured against.

Each function computes what the fused op computes, written as ordinary torch
ops. ``frequency_split_*`` return ``(low, high)`` of shape (R, ..., H, W).
"""

from __future__ import annotations

import torch


def _masks(h: int, w: int, radii, *, half: bool, device=None, dtype=torch.float32) -> torch.Tensor:
    fy = torch.fft.fftfreq(h, d=1.0 / h, dtype=torch.float64, device=device)
    fx = (torch.fft.rfftfreq if half else torch.fft.fftfreq)(w, d=1.0 / w, dtype=torch.float64, device=device)
    dist2 = fy[:, None] ** 2 + fx[None, :] ** 2
    return torch.stack([dist2 < r * r for r in radii]).to(dtype)


def _naive_band(x: torch.Tensor, radius: float, keep_low: bool) -> torch.Tensor:
    h, w = x.shape[-2:]
    mask = torch.fft.fftshift(_masks(h, w, [radius], half=False, device=x.device, dtype=x.dtype)[0])
    if not keep_low:
        mask = 1 - mask
    spectrum = torch.fft.fftshift(torch.fft.fft2(x), dim=(-2, -1))
    return torch.fft.ifft2(torch.fft.ifftshift(spectrum * mask, dim=(-2, -1))).real


def frequency_split_naive(x: torch.Tensor, radii):
    """The paper's route, per radius and separately for low and high:
    fft2, fftshift, mask, ifftshift, ifft2, real."""
    lows = [_naive_band(x, r, True) for r in radii]
    highs = [_naive_band(x, r, False) for r in radii]
    return torch.stack(lows), torch.stack(highs)


def frequency_split_rfft2(x: torch.Tensor, radii, masks=None, out=None):
    """rfft2 once, masks broadcast over radii, one batched irfft2, subtraction.

    ``out=(low, high)`` writes into reused buffers."""
    h, w = x.shape[-2:]
    if masks is None:
        masks = _masks(h, w, radii, half=True, device=x.device)
    masks = masks.view(len(radii), *([1] * (x.dim() - 2)), *masks.shape[-2:])
    if out is None:
        low = torch.fft.irfft2(torch.fft.rfft2(x).unsqueeze(0) * masks, s=(h, w))
        return low, x - low
    low, high = out
    torch.fft.irfft2(torch.fft.rfft2(x).unsqueeze(0) * masks, s=(h, w), out=low)
    torch.sub(x, low, out=high)
    return low, high


def frequency_split_rfft_axes(x: torch.Tensor, radii, masks=None, out=None):
    """As frequency_split_rfft2 with the inverse as ifft along H then irfft along W."""
    h, w = x.shape[-2:]
    if masks is None:
        masks = _masks(h, w, radii, half=True, device=x.device)
    masks = masks.view(len(radii), *([1] * (x.dim() - 2)), *masks.shape[-2:])
    spectrum = torch.fft.ifft(torch.fft.rfft2(x).unsqueeze(0) * masks, dim=-2)
    if out is None:
        low = torch.fft.irfft(spectrum, n=w, dim=-1)
        return low, x - low
    low, high = out
    torch.fft.irfft(spectrum, n=w, dim=-1, out=low)
    torch.sub(x, low, out=high)
    return low, high


def frequency_split_fft2(x: torch.Tensor, radii, masks=None):
    """Complex fft2 once, masks broadcast, ifft2, real part, subtraction."""
    h, w = x.shape[-2:]
    if masks is None:
        masks = _masks(h, w, radii, half=False, device=x.device)
    masks = masks.view(len(radii), *([1] * (x.dim() - 2)), *masks.shape[-2:])
    low = torch.fft.ifft2(torch.fft.fft2(x).unsqueeze(0) * masks).real
    return low, x - low


# The plain formulations a user would write; the best of them is the bar.
PLAIN_SPLITS = {
    "rfft2": frequency_split_rfft2,
    "rfft_axes": frequency_split_rfft_axes,
    "fft2": frequency_split_fft2,
}


# The plain formulations that can write into reused output buffers.
PLAIN_SPLITS_OUT = {"rfft2": frequency_split_rfft2, "rfft_axes": frequency_split_rfft_axes}


def plain_masks(x: torch.Tensor, radii) -> dict:
    """Precomputed masks for each plain formulation (a fair baseline caches them)."""
    h, w = x.shape[-2:]
    return {
        "rfft2": _masks(h, w, radii, half=True, device=x.device),
        "rfft_axes": _masks(h, w, radii, half=True, device=x.device),
        "fft2": _masks(h, w, radii, half=False, device=x.device),
    }


@torch.no_grad()
def pgd_step_plain_(x_adv, grad, x0, eps: float, alpha: float, lo: float = 0.0, hi: float = 1.0):
    """The L∞ PGD step as torch ops (torchattacks' formulation)."""
    x_adv = x_adv + alpha * grad.sign()
    delta = torch.clamp(x_adv - x0, min=-eps, max=eps)
    return torch.clamp(x0 + delta, min=lo, max=hi)


def _loop_model_logits(model, x):
    return model(x)


def fgsm_loop(model, x, y, eps: float) -> torch.Tensor:
    """FGSM as attack libraries write it (one ε per call); returns the adversarial images."""
    x_adv = x.clone().detach().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(_loop_model_logits(model, x_adv), y)
    grad = torch.autograd.grad(loss, x_adv)[0]
    return torch.clamp(x + eps * grad.sign(), 0, 1).detach()


def pgd_loop(model, x, y, eps: float, alpha: float, steps: int) -> torch.Tensor:
    """L∞ PGD as attack libraries write it: one ε per call, every image every
    step, input gradients, separate torch ops for the step; returns the final iterates."""
    x_adv = x.clone().detach()
    for _ in range(steps):
        x_adv.requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(_loop_model_logits(model, x_adv), y)
        grad = torch.autograd.grad(loss, x_adv)[0]
        x_adv = x_adv.detach() + alpha * grad.sign()
        delta = torch.clamp(x_adv - x, min=-eps, max=eps)
        x_adv = torch.clamp(x + delta, 0, 1).detach()
    return x_adv


def robust_accuracy_loop(model, batches, eps_values, attack) -> list[float]:
    """Robust accuracy per ε: attack every batch at every ε, then evaluate the result."""
    correct = [0] * len(eps_values)
    total = 0
    for x, y in batches:
        total += len(x)
        for k, eps in enumerate(eps_values):
            x_adv = attack(model, x, y, eps)
            with torch.no_grad():
                correct[k] += int((model(x_adv).argmax(1) == y).sum())
    return [c / total for c in correct]
