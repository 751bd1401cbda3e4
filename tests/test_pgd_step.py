"""pgd_step_: both backends against the update written in NumPy (tests/naive.py), per-sample ε and α,
layouts, opcheck, torch.compile, bad input and the CUDA kernel."""

import numpy as np
import pytest
import torch

import hfc_fast

from naive import pgd_step as naive_step
from op_contract import OpContract


def _inputs(shape, device, dtype=torch.float32):
    x0 = torch.rand(shape, device=device, dtype=dtype)
    x = (x0 + 0.05 * torch.randn(shape, device=device, dtype=dtype)).clamp(0, 1)
    g = torch.randn(shape, device=device, dtype=dtype)
    g[..., :2] = 0  # sign(0) = 0
    return x, g, x0


@pytest.mark.parametrize("shape", [(4, 3, 8, 8), (1, 5), (7, 1, 3, 2, 2), (3,)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_formula(shape, dtype, device):
    x, g, x0 = _inputs(shape, device, dtype)
    expected = naive_step(x.cpu(), g.cpu(), x0.cpu(), 0.03, 0.01)
    out = hfc_fast.pgd_step_(x, g, x0, 0.03, 0.01)
    assert out is x
    np.testing.assert_allclose(x.cpu().double().numpy(), expected, atol=1e-7 if dtype == torch.float32 else 1e-15)


def test_per_sample_eps_and_alpha(device):
    x, g, x0 = _inputs((5, 3, 4, 4), device)
    eps = torch.tensor([0.0, 0.01, 0.03, 0.1, 0.5], device=device)
    alpha = torch.tensor([0.02, 0.005, 0.01, 0.2, 1.0], device=device)
    expected = naive_step(x.cpu(), g.cpu(), x0.cpu(), eps.cpu().numpy(), alpha.cpu().numpy())
    hfc_fast.pgd_step_(x, g, x0, eps, alpha)
    np.testing.assert_allclose(x.cpu().double().numpy(), expected, atol=1e-7)
    assert torch.equal(x[0], x0[0])  # eps = 0 pins the sample to x0


def test_stays_in_ball_and_box_over_many_steps(device):
    x, g, x0 = _inputs((8, 3, 16, 16), device)
    x0.clamp_(0.1, 0.9)  # the ball's centre inside the box, as attacks guarantee
    x.copy_(x0)
    for _ in range(20):
        hfc_fast.pgd_step_(x, torch.randn_like(x), x0, 0.05, 0.02, lo=0.1, hi=0.9)
    assert (x - x0).abs().max() <= 0.05 + 1e-6
    assert x.min() >= 0.1 and x.max() <= 0.9


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_reduced_precision(dtype, device):
    x, g, x0 = _inputs((4, 3, 8, 8), device, dtype)
    expected = naive_step(x.float().cpu(), g.float().cpu(), x0.float().cpu(), 0.03, 0.01)
    hfc_fast.pgd_step_(x, g, x0, 0.03, 0.01)
    assert x.dtype == dtype
    np.testing.assert_allclose(x.float().cpu().numpy(), expected, atol=1e-2)


def test_non_contiguous_x_adv_is_updated_in_place(device):
    base_x, g, x0 = _inputs((6, 3, 8, 8), device)
    x = base_x.transpose(2, 3)
    g, x0 = g.transpose(2, 3), x0.transpose(2, 3)
    expected = naive_step(x.cpu(), g.cpu(), x0.cpu(), 0.02, 0.01)
    hfc_fast.pgd_step_(x, g, x0, 0.02, 0.01)
    np.testing.assert_allclose(base_x.transpose(2, 3).cpu().numpy(), expected, atol=1e-7)


def test_channels_last_per_sample_in_place(device):
    x, g, x0 = (t.contiguous(memory_format=torch.channels_last) for t in _inputs((5, 3, 6, 7), device))
    eps = torch.rand(5, device=device) * 0.1
    expected = naive_step(x.cpu(), g.cpu(), x0.cpu(), eps.cpu().numpy(), 0.01)
    storage = x.data_ptr()
    hfc_fast.pgd_step_(x, g, x0, eps, 0.01)
    assert x.data_ptr() == storage and x.is_contiguous(memory_format=torch.channels_last)
    np.testing.assert_allclose(x.cpu().numpy(), expected, atol=1e-7)


@pytest.mark.compiled
def test_compiled_matches_reference():
    x, g, x0 = _inputs((16, 3, 8, 8), "cpu")
    y = x.clone()
    hfc_fast.pgd_step_(x, g, x0, 0.03, 0.007)
    hfc_fast.pgd_step_reference_(y, g, x0, 0.03, 0.007)
    torch.testing.assert_close(x, y, atol=1e-7, rtol=0)


@pytest.mark.compiled
def test_opcheck():
    x, g, x0 = _inputs((4, 3, 4, 4), "cpu")
    torch.library.opcheck(torch.ops.hfc_fast.pgd_step_.default, (x, g, x0, None, None, 0.03, 0.01, 0.0, 1.0))
    eps = torch.rand(4) * 0.05
    torch.library.opcheck(torch.ops.hfc_fast.pgd_step_.default, (x, g, x0, eps, None, 0.0, 0.01, 0.0, 1.0))


def test_torch_compile_fullgraph():
    x, g, x0 = _inputs((4, 3, 4, 4), "cpu")
    y = x.clone()

    def step(a, b, c):
        hfc_fast.pgd_step_(a, b, c, 0.03, 0.01)
        return a

    torch.compile(step, fullgraph=True, backend="aot_eager")(x, g, x0)
    hfc_fast.pgd_step_reference_(y, g, x0, 0.03, 0.01)
    torch.testing.assert_close(x, y, atol=1e-7, rtol=0)


def test_bad_input():
    x, g, x0 = _inputs((4, 3, 4, 4), "cpu")
    with pytest.raises(ValueError, match="grad must have the shape of x_adv"):
        hfc_fast.pgd_step_(x, g[:2], x0, 0.03, 0.01)
    with pytest.raises(ValueError, match="x0 must be on the same device as x_adv"):
        hfc_fast.pgd_step_(x, g, x0.to("meta"), 0.03, 0.01)
    with pytest.raises(TypeError, match="grad must have the dtype of x_adv"):
        hfc_fast.pgd_step_(x, g.double(), x0, 0.03, 0.01)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        hfc_fast.pgd_step_(x, g, x0, -0.1, 0.01)
    with pytest.raises(ValueError, match="eps must be non-negative"):
        hfc_fast.pgd_step_(x, g, x0, torch.tensor([0.1, -0.1, 0.1, 0.1]), 0.01)
    with pytest.raises(ValueError, match=r"alpha must be a number or a tensor of shape \(4,\)"):
        hfc_fast.pgd_step_(x, g, x0, 0.03, torch.ones(3))
    with pytest.raises(ValueError, match="lo must not exceed hi"):
        hfc_fast.pgd_step_(x, g, x0, 0.03, 0.01, lo=1.0, hi=0.0)
    with pytest.raises(TypeError, match="x_adv must be a real floating-point"):
        hfc_fast.pgd_step_(x.long(), g, x0, 0.03, 0.01)
    with pytest.raises(ValueError, match="eps must not be NaN"):
        hfc_fast.pgd_step_(x, g, x0, float("nan"), 0.01)


@pytest.mark.compiled
def test_compiled_op_checks_its_own_arguments():
    x, g, x0 = _inputs((4, 3, 4, 4), "cpu")
    with pytest.raises(ValueError, match="grad must have the shape"):
        torch.ops.hfc_fast.pgd_step_(x, g[:1], x0, None, None, 0.03, 0.01, 0.0, 1.0)
    with pytest.raises(ValueError, match="eps must have|eps must be a number"):
        torch.ops.hfc_fast.pgd_step_(x, g, x0, torch.ones(2), None, 0.0, 0.01, 0.0, 1.0)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_cuda_matches_the_reference(dtype):
    x0 = torch.rand(6, 3, 8, 8, dtype=dtype)
    x, grad = (x0 + 0.01).clamp(0, 1), torch.randn(6, 3, 8, 8, dtype=dtype)
    eps = torch.rand(6, dtype=dtype) * 0.05
    a, b = x.clone().cuda(), x.clone()
    hfc_fast.pgd_step_(a, grad.cuda(), x0.cuda(), eps.cuda(), 0.01)
    hfc_fast.pgd_step_reference_(b, grad, x0, eps, 0.01)
    torch.testing.assert_close(a.cpu(), b)


def test_autograd_sees_the_in_place_step(device):
    """A tensor saved for backward and then stepped in place must make backward raise, as torch's own
    in-place ops do; silently using the stepped values would give a wrong gradient."""
    w = torch.rand(2, 3, 8, 8, device=device, requires_grad=True)
    xa = torch.rand(2, 3, 8, 8, device=device)
    x0, g = xa.clone(), torch.randn_like(xa)
    y = w * xa  # saves xa for the gradient of w
    before = xa._version
    hfc_fast.pgd_step_(xa, g, x0, 0.03, 0.01)
    assert xa._version > before
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_autograd_sees_the_step_through_a_channels_last_view():
    base = torch.rand(2, 3, 8, 8).contiguous(memory_format=torch.channels_last)
    w = torch.rand(2, 3, 8, 8, requires_grad=True)
    y = w * base
    hfc_fast.pgd_step_(base, torch.randn_like(base), base.clone(), 0.03, 0.01)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.compiled
def test_partly_overlapping_x_adv_is_refused_and_the_same_tensor_allowed():
    buf = torch.rand(10, 8)
    with pytest.raises(ValueError, match="x_adv shares memory with grad"):
        torch.ops.hfc_fast.pgd_step_(buf[1:9], buf[0:8], torch.rand(8, 8), None, None, 0.1, 0.01, 0.0, 1.0)
    x = torch.rand(4, 8)
    expected = x.clone()
    hfc_fast.pgd_step_reference_(expected, x.clone(), x.clone(), 0.1, 0.01)
    hfc_fast.pgd_step_(x, x, x.clone(), 0.1, 0.01)  # grad is x itself: element-wise, allowed
    torch.testing.assert_close(x, expected)


@pytest.mark.parametrize("bad, match", [(float("nan"), "eps must hold finite numbers"),
                                        (float("inf"), "eps must hold finite numbers"),
                                        (-0.1, "eps must be non-negative")])
def test_per_sample_eps_must_be_finite_and_non_negative(bad, match, device):
    x = torch.rand(3, 4, device=device)
    eps = torch.tensor([0.1, bad, 0.2], device=device)
    for step in (hfc_fast.pgd_step_, hfc_fast.pgd_step_reference_):
        with pytest.raises(ValueError, match=match):
            step(x.clone(), torch.randn_like(x), x.clone(), eps, 0.01)


class TestContract(OpContract):
    """pgd_step_'s share of the one op-test template (tests/op_contract.py); in place, so not differentiable."""

    bad = (("an integer iterate", lambda i: [i[0].to(torch.int32), *i[1:]], TypeError, "floating-point"),
           ("a gradient of another shape", lambda i: [i[0], i[1][:1], *i[2:]], ValueError, "shape"),
           ("a negative radius", lambda i: [*i[:3], -0.1, *i[4:]], ValueError, "eps"),
           ("lo above hi", lambda i: [*i[:5], 1.0, 0.0], ValueError, "lo must not exceed hi"))

    def inputs(self, device, dtype):
        x0 = torch.rand(4, 3, 6, 5, device=device, dtype=dtype)
        x = (x0 + 0.05 * torch.randn_like(x0)).clamp(0, 1)
        return x, torch.randn_like(x0), x0, 0.03, torch.rand(4, device=device, dtype=dtype) * 0.02, 0.0, 1.0

    def fast(self, x, g, x0, eps, alpha, lo, hi):
        return hfc_fast.pgd_step_(x, g, x0, eps, alpha, lo, hi)

    def reference(self, x, g, x0, eps, alpha, lo, hi):
        return hfc_fast.pgd_step_reference_(x, g, x0, eps, alpha, lo, hi)

    def calls(self, x, g, x0, eps, alpha, lo, hi):
        return [(torch.ops.hfc_fast.pgd_step_.default, (x, g, x0, None, alpha, eps, 0.0, lo, hi), {})]
