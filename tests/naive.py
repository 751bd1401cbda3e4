"""Independent float64 implementations, written plainly after the authors'
released code (numpy fft2, fftshift, a loop-built mask, real part)."""

import numpy as np


def loop_mask(h: int, w: int, radius: float, inclusive: bool = False) -> np.ndarray:
    """Centred mask: 1 where the distance to (h // 2, w // 2) is < r (<= r)."""
    mask = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            d2 = (i - h // 2) ** 2 + (j - w // 2) ** 2
            if (d2 <= radius * radius) if inclusive else (d2 < radius * radius):
                mask[i, j] = 1.0
    return mask


def split(x: np.ndarray, radius: float, inclusive: bool = False):
    """(low, high) of x (..., H, W) in float64."""
    x = np.asarray(x, dtype=np.float64)
    h, w = x.shape[-2:]
    spectrum = np.fft.fftshift(np.fft.fft2(x), axes=(-2, -1))
    mask = loop_mask(h, w, radius, inclusive)
    low = np.real(np.fft.ifft2(np.fft.ifftshift(spectrum * mask, axes=(-2, -1))))
    high = np.real(np.fft.ifft2(np.fft.ifftshift(spectrum * (1 - mask), axes=(-2, -1))))
    return low, high


def smooth(weight: np.ndarray, rho: float) -> np.ndarray:
    """Paper Eq. 3 with explicit loops and edge replication."""
    weight = np.asarray(weight, dtype=np.float64)
    o, i, kh, kw = weight.shape
    out = np.empty_like(weight)
    for a in range(o):
        for b in range(i):
            for y in range(kh):
                for x in range(kw):
                    total = 0.0
                    for dy in (-1, 0, 1):
                        for dx in (-1, 0, 1):
                            if dy == 0 and dx == 0:
                                continue
                            yy = min(max(y + dy, 0), kh - 1)
                            xx = min(max(x + dx, 0), kw - 1)
                            total += weight[a, b, yy, xx]
                    out[a, b, y, x] = weight[a, b, y, x] + rho * total
    return out


def radial_power(x: np.ndarray) -> np.ndarray:
    """Mean |fft2|^2 / (H W) per integer radius b <= d < b + 1, by loops over bins."""
    x = np.asarray(x, dtype=np.float64)
    h, w = x.shape[-2:]
    power = np.abs(np.fft.fft2(x)) ** 2 / (h * w)
    fy = np.fft.fftfreq(h) * h
    fx = np.fft.fftfreq(w) * w
    n_bins = int(np.floor(np.hypot(h // 2, w // 2))) + 1
    out = np.zeros(x.shape[:-2] + (n_bins,))
    for b in range(n_bins):
        cells = [(i, j) for i in range(h) for j in range(w) if b <= np.hypot(fy[i], fx[j]) < b + 1]
        if cells:
            out[..., b] = np.mean([power[..., i, j] for i, j in cells], axis=0)
    return out


def pgd_step(x, g, x0, eps, alpha, lo=0.0, hi=1.0):
    """DESIGN.md's step in float64: clip(x0 + clip(x + a sign(g) - x0, -e, e), lo, hi)."""
    x, g, x0 = (np.asarray(t, dtype=np.float64) for t in (x, g, x0))
    shape = (-1,) + (1,) * (x.ndim - 1)
    eps = np.asarray(eps, dtype=np.float64).reshape(shape) if np.ndim(eps) else eps
    alpha = np.asarray(alpha, dtype=np.float64).reshape(shape) if np.ndim(alpha) else alpha
    delta = np.clip(x + alpha * np.sign(g) - x0, -eps, eps)
    return np.clip(x0 + delta, lo, hi)
