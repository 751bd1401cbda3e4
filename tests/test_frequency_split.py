"""frequency_split: both backends against the authors' algorithm written plainly (tests/naive.py), the out=
form, autograd, opcheck, torch.compile, bad input, array interop and the CUDA kernels."""

import numpy as np
import pytest
import torch

import hfc_fast

from naive import split as naive_split
from op_contract import OpContract

TOL = {torch.float64: 1e-10, torch.float32: 1e-5, torch.float16: 2e-2, torch.bfloat16: 6e-2}


def assert_matches_naive(x, radii, inclusive=False, atol=None):
    low, high = hfc_fast.frequency_split(x, list(radii), inclusive=inclusive)
    assert low.shape == high.shape == (len(radii), *x.shape)
    assert low.dtype == high.dtype == x.dtype
    atol = TOL[x.dtype] if atol is None else atol
    for i, r in enumerate(radii):
        ref_low, ref_high = naive_split(x.double().cpu().numpy(), r, inclusive)
        np.testing.assert_allclose(low[i].double().cpu().numpy(), ref_low, atol=atol, rtol=0)
        np.testing.assert_allclose(high[i].double().cpu().numpy(), ref_high, atol=atol, rtol=0)


@pytest.mark.parametrize(
    "shape,radii",
    [
        ((2, 3, 32, 32), (4, 8, 12, 16)),
        ((2, 3, 32, 32), (20, 23, 28)),
        ((1, 31, 20), (0.5, 3, 5.5, 9.99)),
        ((2, 17, 16), (1, 2, 8)),
        ((3, 9, 33), (2, 4.5, 100)),
        ((8, 8), (1, 2, 3, 4, 5, 6)),
        ((1, 2, 64, 48), (8, 16, 32)),
        ((1, 1, 112, 100), (8, 30, 60)),  # above the fused size: the matrix-product route
    ],
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_split_matches_authors_algorithm(shape, radii, dtype, device):
    x = torch.rand(shape, dtype=dtype, device=device)
    assert_matches_naive(x, radii)


@pytest.mark.parametrize("shape", [(2, 3, 32, 32), (1, 31, 20), (1, 1, 112, 100)])
def test_split_inclusive_matches_authors_algorithm_with_le(shape, device):
    x = torch.randn(shape, dtype=torch.float64, device=device)
    assert_matches_naive(x, (1, 4, 5, 12.0), inclusive=True)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_split_reduced_precision_is_computed_in_float32(dtype, device):
    x = torch.rand(2, 3, 32, 32, device=device).to(dtype)
    low, high = hfc_fast.frequency_split(x, [4, 12])
    assert low.dtype == high.dtype == dtype
    ref_low, ref_high = hfc_fast.frequency_split_reference(x.float(), [4, 12])
    torch.testing.assert_close(low.float(), ref_low, atol=TOL[dtype], rtol=0)
    torch.testing.assert_close(high.float(), ref_high, atol=TOL[dtype], rtol=0)


def test_radius_zero_gives_zero_low_and_x_high(device):
    x = torch.randn(2, 3, 20, 24, device=device)
    low, high = hfc_fast.frequency_split(x, 0)
    assert torch.equal(low, torch.zeros_like(x))
    torch.testing.assert_close(high, x, atol=0, rtol=0)


@pytest.mark.parametrize("shape", [(2, 3, 32, 32), (1, 23, 17), (1, 1, 112, 100)])
def test_radius_past_half_diagonal_keeps_everything(shape, device):
    h, w = shape[-2:]
    radius = float(np.hypot(h // 2, w // 2)) + 0.01
    x = torch.randn(shape, dtype=torch.float64, device=device)
    low, high = hfc_fast.frequency_split(x, radius)
    torch.testing.assert_close(low, x, atol=1e-10, rtol=0)
    assert high.abs().max() < 1e-10
    low_inf, _ = hfc_fast.frequency_split(x, float("inf"))
    torch.testing.assert_close(low_inf, x, atol=1e-10, rtol=0)


def test_paper_claim_r23_keeps_whole_cifar_image(device):
    # DESIGN.md: at r >= 23 on 32x32 the low image is the whole image.
    x = torch.rand(4, 3, 32, 32, dtype=torch.float64, device=device)
    low, _ = hfc_fast.frequency_split(x, 23)
    torch.testing.assert_close(low, x, atol=1e-10, rtol=0)
    low22, _ = hfc_fast.frequency_split(x, 22)
    assert (low22 - x).abs().max() > 1e-6


def test_scalar_radius_drops_the_radii_dimension(device):
    x = torch.rand(2, 3, 16, 16, device=device)
    low, high = hfc_fast.frequency_split(x, 4)
    assert low.shape == x.shape
    low_seq, _ = hfc_fast.frequency_split(x, [4])
    assert low_seq.shape == (1, *x.shape)
    torch.testing.assert_close(low, low_seq[0])


@pytest.mark.parametrize("batch", [0, 1, 2])
def test_batch_sizes(batch, device):
    x = torch.rand(batch, 3, 32, 32, device=device)
    low, high = hfc_fast.frequency_split(x, [4, 8])
    assert low.shape == high.shape == (2, batch, 3, 32, 32)
    if batch:
        assert_matches_naive(x, (4, 8))


def test_non_contiguous_and_channels_last(device):
    base = torch.rand(2, 3, 40, 36, device=device)
    strided = base[:, :, ::2, 1::2]
    assert not strided.is_contiguous()
    assert_matches_naive(strided, (3, 7))
    transposed = torch.rand(2, 3, 24, 32, device=device).transpose(-1, -2)
    assert_matches_naive(transposed, (4, 9))
    channels_last = torch.rand(2, 3, 32, 32, device=device).to(memory_format=torch.channels_last)
    assert_matches_naive(channels_last, (4, 8, 12))
    low, high = hfc_fast.frequency_split(channels_last, 8)
    assert low.is_contiguous() and high.is_contiguous()


def test_every_output_element_is_written_and_sums_to_x(device):
    x = torch.randn(5, 3, 32, 32, device=device)
    for _ in range(3):  # fresh allocations may reuse memory holding earlier outputs
        low, high = hfc_fast.frequency_split(x, [0, 2, 7, 30])
        assert torch.isfinite(low).all() and torch.isfinite(high).all()
        torch.testing.assert_close(low + high, x.expand_as(low), atol=1e-5, rtol=0)


@pytest.mark.compiled
@pytest.mark.parametrize("shape", [(3, 2, 32, 32), (2, 19, 26), (1, 1, 112, 100)])
def test_compiled_matches_reference(shape, device):
    x = torch.randn(shape, device=device)
    radii = [0, 3, 6.5, 11, 40]
    low, high = hfc_fast.frequency_split(x, radii)
    ref_low, ref_high = hfc_fast.frequency_split_reference(x, radii)
    torch.testing.assert_close(low, ref_low, atol=1e-5, rtol=0)
    torch.testing.assert_close(high, ref_high, atol=1e-5, rtol=0)


@pytest.mark.parametrize("shape", [(3, 2, 32, 32), (1, 1, 112, 100)])
def test_out_buffers_are_written_completely(shape, device):
    x = torch.randn(shape, device=device)
    radii = [0, 4, 9.5]
    low = torch.full((3, *shape), float("nan"), device=device)
    high = torch.full((3, *shape), float("nan"), device=device)
    result = hfc_fast.frequency_split(x, radii, out=(low, high))
    assert result[0] is low and result[1] is high
    ref_low, ref_high = hfc_fast.frequency_split_reference(x, radii)
    torch.testing.assert_close(low, ref_low, atol=1e-5, rtol=0)
    torch.testing.assert_close(high, ref_high, atol=1e-5, rtol=0)
    one_low, one_high = torch.full_like(x, float("nan")), torch.full_like(x, float("nan"))
    hfc_fast.frequency_split(x, 4, out=(one_low, one_high))
    torch.testing.assert_close(one_low, ref_low[1], atol=1e-5, rtol=0)


def test_out_errors():
    x = torch.rand(2, 8, 8)
    good = torch.empty(2, 2, 8, 8)
    with pytest.raises(ValueError, match=r"out low must have shape \(2, 2, 8, 8\)"):
        hfc_fast.frequency_split(x, [1, 2], out=(torch.empty(2, 8, 8), good))
    with pytest.raises(TypeError, match="out high must have the dtype of x"):
        hfc_fast.frequency_split(x, [1, 2], out=(good, good.double()))
    with pytest.raises(ValueError, match="out low must be contiguous"):
        hfc_fast.frequency_split(x, [1, 2], out=(torch.empty(2, 2, 8, 8).transpose(-1, -2), good))
    with pytest.raises(TypeError, match="out must be a pair of tensors"):
        hfc_fast.frequency_split(x, [1, 2], out=good)
    with pytest.raises(RuntimeError, match="does not support automatic differentiation"):
        hfc_fast.frequency_split(x.requires_grad_(), [1, 2], out=(good, good.clone()))


@pytest.mark.compiled
def test_out_opcheck():
    x = torch.randn(2, 3, 10, 10)
    low, high = torch.empty(2, 2, 3, 10, 10), torch.empty(2, 2, 3, 10, 10)
    torch.library.opcheck(torch.ops.hfc_fast.frequency_split.out, (x, [2.0, 4.0], False),
                          {"low": low, "high": high})


def test_shortcuts(device):
    x = torch.rand(2, 3, 16, 16, device=device)
    low, high = hfc_fast.frequency_split(x, 5)
    torch.testing.assert_close(hfc_fast.low_pass(x, 5), low)
    torch.testing.assert_close(hfc_fast.high_pass(x, 5), high)


@pytest.mark.parametrize("radii", [4.0, [3.0, 7.5]])
@pytest.mark.parametrize("shape", [(2, 8, 8), (1, 9, 7), (1, 1, 100, 100)])
def test_gradcheck(radii, shape):
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    fast = x.numel() > 1000  # large images: check random projections of the Jacobian
    for fn in (hfc_fast.frequency_split, hfc_fast.low_pass, hfc_fast.high_pass):
        assert torch.autograd.gradcheck(lambda t, fn=fn: fn(t, radii), (x,), fast_mode=fast)


def test_gradgradcheck():
    x = torch.randn(1, 6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda t: hfc_fast.frequency_split(t, [2.0, 3.0]), (x,))


def test_gradient_matches_reference_gradient():
    x = torch.randn(2, 3, 16, 16, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(2, 2, 3, 16, 16, dtype=torch.float64)
    low, high = hfc_fast.frequency_split(x, [3, 6])
    (grad,) = torch.autograd.grad((low * weights).sum() + (high * weights.flip(0)).sum(), x)
    x_ref = x.detach().clone().requires_grad_()
    low, high = hfc_fast.frequency_split_reference(x_ref, [3, 6])
    (grad_ref,) = torch.autograd.grad((low * weights).sum() + (high * weights.flip(0)).sum(), x_ref)
    torch.testing.assert_close(grad, grad_ref, atol=1e-10, rtol=0)


@pytest.mark.compiled
def test_opcheck():
    for shape in [(2, 3, 12, 12), (1, 1, 100, 100)]:
        x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
        torch.library.opcheck(torch.ops.hfc_fast.frequency_split.default, (x, [2.0, 5.0], False))
    x = torch.randn(2, 10, 9)
    torch.library.opcheck(torch.ops.hfc_fast.frequency_split.default, (x, [0.0, 3.0], True))


def test_torch_compile_fullgraph(device):
    def lfc_gap(t):
        low, high = hfc_fast.frequency_split(t, [4.0, 8.0])
        return low.mean(dim=(-1, -2)) - high.pow(2).mean(dim=(-1, -2))

    x = torch.rand(4, 3, 32, 32, device=device)
    compiled = torch.compile(lfc_gap, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(x), lfc_gap(x))


# bad input to the public function: tests/test_bad_input.py


@pytest.mark.compiled
def test_compiled_op_checks_its_own_arguments():
    with pytest.raises(ValueError, match="radius must be non-negative"):
        torch.ops.hfc_fast.frequency_split(torch.ones(4, 4), [-1.0], False)
    with pytest.raises(TypeError, match="x must be a floating-point"):
        torch.ops.hfc_fast.frequency_split(torch.ones(4, 4, dtype=torch.int32), [1.0], False)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        torch.ops.hfc_fast.frequency_split(torch.ones(4), [1.0], False)


def test_numpy_in_numpy_out():
    x = np.random.rand(2, 3, 16, 16).astype(np.float32)
    low, high = hfc_fast.frequency_split(x, 4)
    assert isinstance(low, np.ndarray) and isinstance(high, np.ndarray)
    ref_low, ref_high = naive_split(x, 4)
    np.testing.assert_allclose(low, ref_low, atol=1e-5)
    assert isinstance(hfc_fast.low_pass(x, [2, 3]), np.ndarray)


def test_cupy_round_trip_without_copy():
    cupy = pytest.importorskip("cupy")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    x = cupy.random.rand(2, 3, 16, 16, dtype=cupy.float32)
    low, high = hfc_fast.frequency_split(x, 4)
    assert isinstance(low, cupy.ndarray)
    ref_low, _ = naive_split(cupy.asnumpy(x), 4)
    np.testing.assert_allclose(cupy.asnumpy(low), ref_low, atol=1e-5)


# ---------------------------------------------------------------------- the CUDA kernels (skipped without a GPU)
@pytest.mark.cuda
@pytest.mark.parametrize("shape,radii", [((4, 3, 32, 32), [0, 4, 8, 12, 16, 30]), ((2, 3, 224, 224), [8, 64]),
                                         ((2, 31, 20), [3, 5.5])])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_cuda_matches_the_reference(shape, radii, dtype):
    x = torch.rand(shape, dtype=dtype)
    low, high = hfc_fast.frequency_split(x.cuda(), radii)
    ref_low, ref_high = hfc_fast.frequency_split_reference(x, radii)
    tol = 2e-2 if dtype == torch.float16 else 1e-5
    torch.testing.assert_close(low.cpu(), ref_low, atol=tol, rtol=0)
    torch.testing.assert_close(high.cpu(), ref_high, atol=tol, rtol=0)


@pytest.mark.cuda
def test_cuda_gradcheck_and_opcheck():
    x = torch.randn(2, 8, 8, dtype=torch.float64, device="cuda", requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: hfc_fast.frequency_split(t, [2.0, 3.5]), (x,))
    torch.library.opcheck(torch.ops.hfc_fast.frequency_split.default, (x, [2.0, 5.0], False))


# ---------------------------------------------------------------------- out= that autograd and aliasing can trust
@pytest.mark.parametrize("shape", [(8, 3, 224, 224), (64, 3, 64, 64), (2, 1, 28, 28), (3, 31, 20)])
@pytest.mark.parametrize("slot", [0, 1])
def test_out_sharing_memory_with_x_is_refused(shape, slot, device):
    """The HFC once came back wrong at 224×224 when low overwrote x before high = x − low was read."""
    x = torch.rand(shape, device=device)
    out = [torch.empty(shape, device=device), torch.empty(shape, device=device)]
    out[slot] = x
    with pytest.raises(ValueError, match=f"out {('low', 'high')[slot]} shares memory with x"):
        hfc_fast.frequency_split(x, 8, out=tuple(out))
    big = torch.rand(2, *shape, device=device)  # a view into the same storage that overlaps x
    out = [torch.empty(shape, device=device), torch.empty(shape, device=device)]
    out[slot] = big.flatten()[1:1 + x.numel()].view(shape)
    with pytest.raises(ValueError, match="shares memory with x"):
        hfc_fast.frequency_split(big[0], 8, out=tuple(out))


def test_out_low_and_high_may_not_share_memory(device):
    x = torch.rand(2, 3, 16, 16, device=device)
    buf = torch.empty(2, 3, 16, 16, device=device)
    with pytest.raises(ValueError, match="out high shares memory with out low"):
        hfc_fast.frequency_split(x, 4, out=(buf, buf))


def test_disjoint_views_of_one_buffer_are_fine(device):
    buf = torch.rand(3, 2, 3, 16, 16, device=device)
    low, high = hfc_fast.frequency_split(buf[0], [4.0], out=(buf[1:2], buf[2:3]))
    ref_low, ref_high = hfc_fast.frequency_split_reference(buf[0], [4.0])
    torch.testing.assert_close(low, ref_low)
    torch.testing.assert_close(high, ref_high)


def test_autograd_sees_the_out_write(device):
    w = torch.rand(2, 3, 8, 8, device=device, requires_grad=True)
    low_buf, high_buf = torch.rand(1, 2, 3, 8, 8, device=device), torch.empty(1, 2, 3, 8, 8, device=device)
    y = w * low_buf[0]  # saves the buffer for w's gradient
    with torch.no_grad():
        hfc_fast.frequency_split(torch.rand(2, 3, 8, 8, device=device), [3.0], out=(low_buf, high_buf))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.compiled
def test_the_compiled_out_op_checks_aliasing_itself():
    x = torch.rand(2, 16, 16)
    with pytest.raises(ValueError, match="out low shares memory with x"):
        torch.ops.hfc_fast.frequency_split.out(x, [4.0], False, low=x.unsqueeze(0), high=torch.empty(1, 2, 16, 16))


def test_numpy_image_in_hwc_layout_warns():
    with pytest.warns(UserWarning, match="looks like colour channels"):
        hfc_fast.frequency_split(np.random.rand(32, 32, 3), 4)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hfc_fast.frequency_split(np.random.rand(3, 32, 32), 4)  # channels first: no warning


class TestContract(OpContract):
    """frequency_split's share of the one op-test template (tests/op_contract.py)."""

    grad_inputs = (0,)
    bad = (("an integer image", lambda i: [i[0].to(torch.int32), i[1]], TypeError, "floating-point"),
           ("a negative radius", lambda i: [i[0], [2.0, -1.0]], ValueError, "non-negative"),
           ("a vector, not an image", lambda i: [i[0].flatten(), i[1]], ValueError, "at least 2 dimensions"))

    def inputs(self, device, dtype):
        return torch.rand(2, 3, 12, 10, device=device, dtype=dtype), [2.0, 4.5]

    def fast(self, x, radii):
        return hfc_fast.frequency_split(x, radii)

    def reference(self, x, radii):
        return hfc_fast.frequency_split_reference(x, radii)

    def calls(self, x, radii):
        low, high = (torch.empty(len(radii), *x.shape, dtype=x.dtype) for _ in range(2))
        return [(torch.ops.hfc_fast.frequency_split.default, (x, list(radii), False), {}),
                (torch.ops.hfc_fast.frequency_split.out, (x, list(radii), False), {"low": low, "high": high})]

    def out(self, x, radii):
        low, high = (torch.empty(len(radii), *x.shape, dtype=x.dtype, device=x.device) for _ in range(2))
        return (low, high), lambda: hfc_fast.frequency_split(x, radii, out=(low, high))

    def alias(self, x, radii):
        low = torch.empty(len(radii), *x.shape, dtype=x.dtype, device=x.device)
        return hfc_fast.frequency_split(x, radii, out=(low, low))
