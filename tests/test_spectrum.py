import numpy as np
import pytest
import torch

import hfc_fast
from hfc_fast import _ext

from naive import radial_power

COMPILED = pytest.mark.skipif(not _ext.LOADED, reason="hfc_fast._C is not built")


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (1, 7, 10), (3, 5, 5), (2, 1, 3), (4, 16, 9)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_loops(shape, dtype, device):
    x = torch.randn(shape, dtype=dtype, device=device)
    out = hfc_fast.radial_power_spectrum(x)
    assert out.shape == (*shape[:-2], hfc_fast.radial_bin_count(*shape[-2:]))
    np.testing.assert_allclose(out.double().cpu().numpy(), radial_power(x.cpu().numpy()),
                               rtol=1e-5 if dtype == torch.float32 else 1e-12, atol=1e-6)
    torch.testing.assert_close(hfc_fast.radial_power_spectrum_reference(x), out, rtol=1e-5, atol=1e-6)


def test_parseval(device):
    x = torch.randn(3, 12, 12, dtype=torch.float64, device=device)
    spectrum = hfc_fast.radial_power_spectrum(x)
    fy = torch.fft.fftfreq(12, d=1 / 12, dtype=torch.float64)
    bins = torch.floor(torch.sqrt(fy[:, None] ** 2 + fy[None, :] ** 2)).long().flatten()
    counts = torch.bincount(bins).to(device)
    torch.testing.assert_close((spectrum * counts).sum(-1), x.pow(2).sum(dim=(-1, -2)))


def test_a_pure_tone_lands_in_its_bin():
    t = torch.arange(16, dtype=torch.float64)
    x = torch.cos(2 * torch.pi * 5 * t / 16)[None, :].expand(16, 16)  # fx = ±5, fy = 0
    spectrum = hfc_fast.radial_power_spectrum(x)
    assert spectrum.argmax().item() == 5
    assert spectrum[torch.arange(len(spectrum)) != 5].abs().max() < 1e-20


def test_gradcheck():
    x = torch.randn(2, 6, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(hfc_fast.radial_power_spectrum, (x,))


@COMPILED
def test_opcheck():
    x = torch.randn(2, 6, 6, dtype=torch.float64, requires_grad=True)
    torch.library.opcheck(torch.ops.hfc_fast.radial_power_spectrum.default, (x,))


def test_errors():
    with pytest.raises(TypeError, match="x must be a floating-point"):
        hfc_fast.radial_power_spectrum(torch.ones(4, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="x must have at least 2 dimensions"):
        hfc_fast.radial_power_spectrum(torch.ones(4))
    with pytest.raises(ValueError, match="non-empty spatial"):
        hfc_fast.radial_power_spectrum(torch.ones(2, 0, 4))
