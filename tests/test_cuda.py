"""The CUDA kernels against the CPU path, on fresh inputs (skipped without a GPU)."""

import pytest
import torch

import hfc_fast

pytestmark = pytest.mark.cuda


@pytest.mark.parametrize("shape,radii", [((4, 3, 32, 32), [0, 4, 8, 12, 16, 30]), ((2, 3, 224, 224), [8, 64]),
                                         ((2, 31, 20), [3, 5.5])])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_split_cuda_matches_cpu(shape, radii, dtype):
    x = torch.rand(shape, dtype=dtype)
    low, high = hfc_fast.frequency_split(x.cuda(), radii)
    ref_low, ref_high = hfc_fast.frequency_split_reference(x, radii)
    tol = 2e-2 if dtype == torch.float16 else 1e-5
    torch.testing.assert_close(low.cpu(), ref_low, atol=tol, rtol=0)
    torch.testing.assert_close(high.cpu(), ref_high, atol=tol, rtol=0)


def test_split_cuda_gradcheck_and_opcheck():
    x = torch.randn(2, 8, 8, dtype=torch.float64, device="cuda", requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: hfc_fast.frequency_split(t, [2.0, 3.5]), (x,))
    torch.library.opcheck(torch.ops.hfc_fast.frequency_split.default, (x, [2.0, 5.0], False))


def test_smooth_pgd_spectrum_mask_cuda_match_cpu():
    w = torch.randn(8, 3, 5, 5)
    torch.testing.assert_close(hfc_fast.smooth_kernels(w.cuda(), 0.3).cpu(), hfc_fast.smooth_kernels_reference(w, 0.3))
    g = torch.randn(8, 3, 5, 5)
    torch.testing.assert_close(torch.ops.hfc_fast.smooth_kernels_backward(g.cuda(), 0.3).cpu(),
                               torch.ops.hfc_fast.smooth_kernels_backward(g, 0.3))
    x0 = torch.rand(6, 3, 8, 8)
    x, grad = (x0 + 0.01).clamp(0, 1), torch.randn(6, 3, 8, 8)
    eps = torch.rand(6) * 0.05
    a, b = x.clone().cuda(), x.clone()
    hfc_fast.pgd_step_(a, grad.cuda(), x0.cuda(), eps.cuda(), 0.01)
    hfc_fast.pgd_step_reference_(b, grad, x0, eps, 0.01)
    torch.testing.assert_close(a.cpu(), b)
    s = torch.randn(3, 17, 12)
    torch.testing.assert_close(hfc_fast.radial_power_spectrum(s.cuda()).cpu(),
                               hfc_fast.radial_power_spectrum_reference(s), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(hfc_fast.radial_mask(9, 12, 3.5, device="cuda").cpu(),
                               hfc_fast.radial_mask_reference(9, 12, 3.5))
