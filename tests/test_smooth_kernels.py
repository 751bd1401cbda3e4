"""smooth_kernels (paper Eq. 3): both backends against the stencil written as loops (tests/naive.py), a
hand-worked case, autograd, opcheck, torch.compile, bad input, smooth_first_conv and the CUDA kernels."""

import numpy as np
import pytest
import torch
from torch import nn

import hfc_fast

from naive import smooth as naive_smooth
from op_contract import OpContract


@pytest.mark.parametrize(
    "shape", [(4, 3, 3, 3), (2, 2, 1, 1), (2, 1, 5, 7), (3, 2, 1, 4), (1, 1, 2, 2), (16, 3, 11, 11)]
)
@pytest.mark.parametrize("rho", [0.0, 0.1, 0.5, -0.3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_loops(shape, rho, dtype, device):
    w = torch.randn(shape, dtype=dtype, device=device)
    out = hfc_fast.smooth_kernels(w, rho)
    assert out.shape == w.shape and out.dtype == dtype
    np.testing.assert_allclose(out.double().cpu().numpy(), naive_smooth(w.cpu().numpy(), rho),
                               atol=1e-5 if dtype == torch.float32 else 1e-12, rtol=0)
    torch.testing.assert_close(hfc_fast.smooth_kernels_reference(w, rho), out)


def test_hand_worked_2x2():
    # Every neighbour of a 2x2 kernel, edges replicated: corner (0,0) sees
    # (0,0) x3, (0,1) x2, (1,0) x2, (1,1) x1.
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    out = hfc_fast.smooth_kernels(w, 1.0)
    expected = torch.tensor([[1 + 3 * 1 + 2 * 2 + 2 * 3 + 4, 2 + 3 * 2 + 2 * 1 + 2 * 4 + 3],
                             [3 + 3 * 3 + 2 * 1 + 2 * 4 + 2, 4 + 3 * 4 + 2 * 2 + 2 * 3 + 1]],
                            dtype=torch.float32).view(1, 1, 2, 2)
    torch.testing.assert_close(out, expected)


def test_channels_are_not_mixed(device):
    w = torch.zeros(2, 3, 3, 3, device=device)
    w[1, 2] = torch.randn(3, 3, device=device)
    out = hfc_fast.smooth_kernels(w, 0.7)
    mask = torch.zeros_like(w, dtype=torch.bool)
    mask[1, 2] = True
    assert torch.count_nonzero(out[~mask]) == 0


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_reduced_precision(dtype, device):
    w = torch.randn(8, 3, 3, 3, device=device)
    out = hfc_fast.smooth_kernels(w.to(dtype), 0.25)
    assert out.dtype == dtype
    torch.testing.assert_close(out.float(), hfc_fast.smooth_kernels_reference(w.to(dtype).float(), 0.25),
                               atol=5e-2, rtol=1e-2)


def test_non_contiguous(device):
    w = torch.randn(6, 4, 5, 5, device=device)[::2, :, 1:, :].transpose(0, 1)
    np.testing.assert_allclose(hfc_fast.smooth_kernels(w, 0.3).cpu().numpy(),
                               naive_smooth(w.cpu().numpy(), 0.3), atol=1e-5)


@pytest.mark.parametrize("shape", [(2, 2, 3, 3), (1, 2, 1, 4), (1, 1, 2, 5)])
def test_gradcheck(shape):
    w = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: hfc_fast.smooth_kernels(t, 0.4), (w,))
    assert torch.autograd.gradgradcheck(lambda t: hfc_fast.smooth_kernels(t, 0.4), (w,))


@pytest.mark.compiled
def test_opcheck():
    w = torch.randn(3, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    torch.library.opcheck(torch.ops.hfc_fast.smooth_kernels.default, (w, 0.5))
    torch.library.opcheck(torch.ops.hfc_fast.smooth_kernels_backward.default, (w, 0.5))


def test_torch_compile_fullgraph():
    w = torch.randn(4, 3, 3, 3)
    compiled = torch.compile(lambda t: hfc_fast.smooth_kernels(t, 0.5).sum(dim=(2, 3)), fullgraph=True,
                             backend="aot_eager")
    torch.testing.assert_close(compiled(w), hfc_fast.smooth_kernels(w, 0.5).sum(dim=(2, 3)))


# bad input to the public function: tests/test_bad_input.py


@pytest.mark.compiled
def test_compiled_op_checks_its_own_arguments():
    with pytest.raises(ValueError, match="weight must be 4-D"):
        torch.ops.hfc_fast.smooth_kernels(torch.randn(3, 3), 0.1)
    with pytest.raises(ValueError, match="rho must be a finite"):
        torch.ops.hfc_fast.smooth_kernels(torch.randn(1, 1, 3, 3), float("nan"))


def _small_model():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3))


def test_smooth_first_conv_copies_by_default():
    model = _small_model()
    before = model[0].weight.detach().clone()
    smoothed = smooth_first = hfc_fast.smooth_first_conv(model, 0.5)
    assert smooth_first is not model
    torch.testing.assert_close(model[0].weight.detach(), before)
    torch.testing.assert_close(smoothed[0].weight.detach(), hfc_fast.smooth_kernels(before, 0.5))
    torch.testing.assert_close(smoothed[2].weight, model[2].weight)  # later layers untouched


def test_smooth_first_conv_inplace():
    model = _small_model()
    before = model[0].weight.detach().clone()
    assert hfc_fast.smooth_first_conv(model, 0.25, inplace=True) is model
    torch.testing.assert_close(model[0].weight.detach(), hfc_fast.smooth_kernels(before, 0.25))


def test_smooth_first_conv_errors():
    with pytest.raises(ValueError, match="model must contain an nn.Conv2d"):
        hfc_fast.smooth_first_conv(nn.Linear(3, 3), 0.1)
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        hfc_fast.smooth_first_conv(torch.randn(3), 0.1)


@pytest.mark.cuda
@pytest.mark.parametrize("shape", [(8, 3, 5, 5), (64, 3, 7, 7), (2, 2, 1, 4)])
def test_cuda_matches_the_reference_forward_and_backward(shape):
    w, g = torch.randn(shape), torch.randn(shape)
    torch.testing.assert_close(hfc_fast.smooth_kernels(w.cuda(), 0.3).cpu(), hfc_fast.smooth_kernels_reference(w, 0.3))
    torch.testing.assert_close(torch.ops.hfc_fast.smooth_kernels_backward(g.cuda(), 0.3).cpu(),
                               torch.ops.hfc_fast.smooth_kernels_backward(g, 0.3))


class TestContract(OpContract):
    """smooth_kernels' share of the one op-test template (tests/op_contract.py)."""

    grad_inputs = (0,)
    bad = (("an integer weight", lambda i: [i[0].to(torch.int64), i[1]], TypeError, "floating-point"),
           ("a NaN strength", lambda i: [i[0], float("nan")], ValueError, "rho"),
           ("a vector, not kernels", lambda i: [i[0].flatten(), i[1]], ValueError, "4-D"))

    def inputs(self, device, dtype):
        return torch.randn(4, 3, 5, 5, device=device, dtype=dtype), float(torch.rand(()) * 2 - 0.5)

    def fast(self, weight, rho):
        return hfc_fast.smooth_kernels(weight, rho)

    def reference(self, weight, rho):
        return hfc_fast.smooth_kernels_reference(weight, rho)

    def calls(self, weight, rho):
        return [(torch.ops.hfc_fast.smooth_kernels.default, (weight, rho), {}),
                (torch.ops.hfc_fast.smooth_kernels_backward.default, (weight, rho), {})]
