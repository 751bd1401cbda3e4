"""The op ``fourier_perturb`` (the Fourier heat map's perturbation) against independent computations: bases from
the inverse DFT of two spikes, the perturbation as basis times sign, compiled against reference, opcheck, CUDA
against the reference."""

from __future__ import annotations

import math

import pytest
import torch

from hfc_fast.fourier import heat_map_frequencies
from hfc_fast.fourier_perturb import fourier_basis, fourier_perturb, fourier_perturb_reference, fourier_signs

from op_contract import OpContract

SIZES = [(8, 8), (7, 6), (5, 9), (12, 12)]


def spike_basis(h: int, w: int, ky: int, kx: int) -> torch.Tensor:
    """The basis as the public implementations build it: the inverse DFT of spikes at (ky, kx) and (−ky, −kx)."""
    spectrum = torch.zeros(h, w, dtype=torch.complex128)
    spectrum[ky % h, kx % w] = 1
    spectrum[(-ky) % h, (-kx) % w] = 1
    image = torch.fft.ifft2(spectrum).real
    return image / image.norm()


@pytest.mark.parametrize("h, w", SIZES)
def test_bases_are_real_orthonormal_and_the_spike_images(h, w):
    freqs = heat_map_frequencies(h, w)
    conjugate_pairs = {((ky % h), (kx % w)) for ky, kx in freqs.tolist()} | \
        {((-ky) % h, (-kx) % w) for ky, kx in freqs.tolist()}
    assert len(conjugate_pairs) == h * w  # half the grid stands for all of it
    bases = torch.stack([fourier_basis(h, w, ky, kx) for ky, kx in freqs.tolist()]).flatten(1)
    torch.testing.assert_close(bases @ bases.T, torch.eye(len(freqs), dtype=torch.float64), atol=1e-12, rtol=0)
    for ky, kx in freqs.tolist():
        torch.testing.assert_close(fourier_basis(h, w, ky, kx), spike_basis(h, w, ky, kx), atol=1e-12, rtol=0)
        torch.testing.assert_close(fourier_basis(h, w, -ky, -kx), fourier_basis(h, w, ky, kx), atol=1e-12, rtol=0)


@pytest.mark.compiled
@pytest.mark.parametrize("shape", [(3, 2, 8, 8), (2, 3, 7, 10), (1, 1, 28, 28)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_compiled_perturbation_equals_the_reference(shape, dtype, device):
    x = torch.rand(shape, dtype=dtype, device=device)
    freqs = heat_map_frequencies(*shape[-2:])[torch.randperm(len(heat_map_frequencies(*shape[-2:])))[:9]]
    freqs = freqs.to(device)
    fast = fourier_perturb(x, freqs, 2.5, seed=11, image_offset=40)
    ref = fourier_perturb_reference(x, freqs, 2.5, seed=11, image_offset=40)
    assert fast.shape == (9 * shape[0], *shape[1:])
    torch.testing.assert_close(fast, ref, atol=1e-6 if dtype == torch.float32 else 1e-12, rtol=0)
    out = torch.empty_like(fast)
    assert fourier_perturb(x, freqs, 2.5, seed=11, image_offset=40, out=out) is out
    torch.testing.assert_close(out, fast)


def test_the_perturbation_is_the_basis_times_a_sign_per_image_and_channel():
    h, w = 9, 8
    x = torch.full((5, 3, h, w), 0.5, dtype=torch.float64)
    freqs = torch.tensor([[2, 3], [0, 4], [-4, 1]])
    out = fourier_perturb(x, freqs, 0.1, seed=3, image_offset=7, lo=-10, hi=10).view(3, 5, 3, h, w)
    for k, (ky, kx) in enumerate(freqs.tolist()):
        signs = fourier_signs(3, torch.arange(7, 12), 3, (ky % h) * w + (kx % w)).double()
        expected = 0.5 + 0.1 * signs[:, :, None, None] * spike_basis(h, w, ky, kx)
        torch.testing.assert_close(out[k], expected, atol=1e-12, rtol=0)
    all_signs = fourier_signs(0, torch.arange(4000), 3, 17)
    assert abs(float(all_signs.mean())) < 0.05  # unbiased signs


def test_clipping_and_bad_perturbation_input():
    x = torch.rand(2, 1, 8, 8)
    out = fourier_perturb(x, torch.tensor([[1, 1]]), 50.0)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    for kwargs, match in ((dict(eps=-1.0), "eps must be >= 0"), (dict(eps=math.nan), "eps must not be NaN"),
                          (dict(eps=1.0, seed=-2), "seed must be a non-negative integer")):
        with pytest.raises(ValueError, match=match):
            fourier_perturb(x, torch.tensor([[1, 1]]), **kwargs)
    with pytest.raises(ValueError, match="batch of images"):
        fourier_perturb(x[0], torch.tensor([[1, 1]]), 1.0)
    with pytest.raises(ValueError, match="out shares memory with x"):
        fourier_perturb(x, torch.tensor([[0, 1]]), 1.0, out=x)


@pytest.mark.compiled
def test_opcheck():
    x = torch.rand(2, 2, 6, 7)
    torch.library.opcheck(torch.ops.hfc_fast.fourier_perturb.default, (x, torch.tensor([[1, 2], [0, 3]]), 1.0, 3, 0,
                                                                        0.0, 1.0))


# ---------------------------------------------------------------------- the heat map
@pytest.mark.cuda
@pytest.mark.parametrize("shape", [(3, 2, 8, 8), (2, 3, 33, 20)])
def test_cuda_matches_the_reference(shape):
    x = torch.rand(shape)
    freqs = heat_map_frequencies(*shape[-2:])[:13]
    fast = fourier_perturb(x.cuda(), freqs.cuda(), 1.5, seed=4, image_offset=3).cpu()
    torch.testing.assert_close(fast, fourier_perturb_reference(x, freqs, 1.5, seed=4, image_offset=3), atol=1e-6,
                               rtol=0)


class TestContract(OpContract):
    """fourier_perturb's share of the one op-test template (tests/op_contract.py)."""

    compiles_only_as_an_op = True  # the reference builds each basis from the frequency's values

    bad = (("an integer image", lambda i: [i[0].to(torch.int32), *i[1:]], TypeError, "floating-point"),
           ("float frequencies", lambda i: [i[0], i[1].double(), *i[2:]], TypeError, "int64"),
           ("frequencies of the wrong shape", lambda i: [i[0], i[1][:, :1], *i[2:]], ValueError, r"\(K, 2\)"),
           ("a negative eps", lambda i: [i[0], i[1], -1.0, *i[3:]], ValueError, "eps"),
           ("a negative seed", lambda i: [*i[:3], -1, *i[4:]], ValueError, "seed"))

    def inputs(self, device, dtype):
        x = torch.rand(3, 2, 7, 8, device=device, dtype=dtype)
        freqs = heat_map_frequencies(7, 8)[torch.randperm(len(heat_map_frequencies(7, 8)))[:5]].to(device)
        return x, freqs, float(torch.rand(()) * 3), int(torch.randint(0, 1000, ())), 20, 0.0, 1.0

    def fast(self, *args):
        return fourier_perturb(*args)

    def reference(self, *args):
        return fourier_perturb_reference(*args)

    def calls(self, x, freqs, eps, seed, offset, lo, hi):
        out = torch.empty(len(freqs) * len(x), *x.shape[1:], dtype=x.dtype)
        return [(torch.ops.hfc_fast.fourier_perturb.default, (x, freqs, eps, seed, offset, lo, hi), {}),
                (torch.ops.hfc_fast.fourier_perturb.out, (x, freqs, eps, seed, offset, lo, hi), {"out": out})]

    def out(self, *args):
        x, freqs = args[:2]
        out = torch.empty(len(freqs) * len(x), *x.shape[1:], dtype=x.dtype, device=x.device)
        return (out,), lambda: fourier_perturb(*args, out=out)

    def alias(self, *args):
        x, freqs = args[:2]
        big = torch.empty(len(freqs) * len(x), *x.shape[1:], dtype=x.dtype, device=x.device)
        return fourier_perturb(big[:len(x)], freqs, *args[2:], out=big)
