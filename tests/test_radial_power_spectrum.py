"""radial_power_spectrum against loops over the grid (tests/naive.py), Parseval and hand cases; the kernel
spectra and their high-frequency share beside it."""

import numpy as np
import pytest
import torch

import hfc_fast

from naive import radial_power
from op_contract import OpContract


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


@pytest.mark.compiled
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


# ---------------------------------------------------------------------- kernel spectra (Fig 7's smoothness)
def test_kernel_spectra_is_the_centred_padded_dft():
    w = torch.randn(4, 3, 5, 5)
    padded = torch.zeros(4, 3, 16, 16, dtype=torch.float64)
    padded[..., :5, :5] = w.double()
    expected = np.fft.fftshift(np.abs(np.fft.fft2(padded.numpy())) ** 2, axes=(-2, -1))
    np.testing.assert_allclose(hfc_fast.kernel_spectra(w).numpy(), expected, rtol=1e-12, atol=1e-12)


def test_high_frequency_share_hand_cases():
    assert hfc_fast.high_frequency_share(torch.ones(2, 1, 16, 16)) == pytest.approx(0.0, abs=1e-12)  # DC only
    assert hfc_fast.high_frequency_share(torch.zeros(1, 1, 3, 3)) == 0.0
    # a single tone on a 16-grid lands wholly above (k = 5 > 16/4) or below (k = 3) the cut
    t = torch.arange(16, dtype=torch.float64)
    assert hfc_fast.high_frequency_share(torch.cos(2 * torch.pi * 5 * t / 16)[None, None, None].expand(1, 1, 16, 16)) \
        == pytest.approx(1.0, abs=1e-12)
    assert hfc_fast.high_frequency_share(torch.cos(2 * torch.pi * 3 * t / 16)[None, None, None].expand(1, 1, 16, 16)) \
        == pytest.approx(0.0, abs=1e-12)


def test_high_frequency_share_against_a_loop():
    w = torch.randn(3, 2, 4, 4, dtype=torch.float64)
    power = np.abs(np.fft.fft2(w.numpy(), s=(16, 16))) ** 2
    high = sum(power[..., i, j].sum() for i in range(16) for j in range(16)
               if np.hypot(min(i, 16 - i), min(j, 16 - j)) > 4)
    assert hfc_fast.high_frequency_share(w) == pytest.approx(high / power.sum(), rel=1e-12)


def test_high_frequency_shares_per_item_against_a_loop():
    w = torch.randn(5, 3, 3, 3, dtype=torch.float64)
    w[2] = 0  # an empty filter has share 0
    power = np.abs(np.fft.fft2(w.numpy(), s=(16, 16))) ** 2
    for k, share in enumerate(hfc_fast.high_frequency_shares(w).tolist()):
        high = sum(power[k, :, i, j].sum() for i in range(16) for j in range(16)
                   if np.hypot(min(i, 16 - i), min(j, 16 - j)) > 4)
        assert share == (0.0 if k == 2 else pytest.approx(high / power[k].sum(), rel=1e-12))
    with pytest.raises(ValueError, match="weight"):
        hfc_fast.high_frequency_shares(torch.ones(3, 3))


@pytest.mark.cuda
@pytest.mark.parametrize("shape", [(3, 17, 12), (2, 3, 32, 32), (1, 1, 224, 224)])
def test_cuda_matches_the_reference(shape):
    s = torch.randn(shape)
    torch.testing.assert_close(hfc_fast.radial_power_spectrum(s.cuda()).cpu(),
                               hfc_fast.radial_power_spectrum_reference(s), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [(0, 3, 8, 8), (0, 5, 4), (2, 0, 7, 7)])
def test_an_empty_batch_gives_an_empty_result(shape, device):
    x = torch.rand(shape, device=device)
    for fn in (hfc_fast.radial_power_spectrum, hfc_fast.radial_power_spectrum_reference):
        out = fn(x)
        assert out.shape == (*shape[:-2], hfc_fast.radial_bin_count(*shape[-2:]))


class TestContract(OpContract):
    """radial_power_spectrum's share of the one op-test template (tests/op_contract.py)."""

    grad_inputs = (0,)
    bad = (("an integer image", lambda i: [i[0].to(torch.int32)], TypeError, "floating-point"),
           ("a vector, not an image", lambda i: [i[0].flatten()], ValueError, "at least 2 dimensions"))

    def inputs(self, device, dtype):
        return (torch.randn(2, 3, 9, 12, device=device, dtype=dtype),)

    def fast(self, x):
        return hfc_fast.radial_power_spectrum(x)

    def reference(self, x):
        return hfc_fast.spectrum.radial_power_spectrum_reference(x)

    def calls(self, x):
        return [(torch.ops.hfc_fast.radial_power_spectrum.default, (x,), {})]
