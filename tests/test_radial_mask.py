"""radial_mask: the centred low-pass mask, against a loop over the grid written in the test."""

import numpy as np
import pytest
import torch

import hfc_fast

from naive import loop_mask
from op_contract import OpContract


@pytest.mark.parametrize("h,w", [(8, 8), (7, 10), (32, 32), (1, 5)])
@pytest.mark.parametrize("radius", [0, 1, 2.5, 4, 30])
@pytest.mark.parametrize("inclusive", [False, True])
def test_radial_mask_matches_loop(h, w, radius, inclusive, device):
    expected = loop_mask(h, w, radius, inclusive)
    centred = hfc_fast.radial_mask(h, w, radius, inclusive=inclusive, device=device)
    np.testing.assert_array_equal(centred.cpu().numpy(), expected)
    uncentred = hfc_fast.radial_mask(h, w, radius, inclusive=inclusive, centered=False, device=device)
    np.testing.assert_array_equal(uncentred.cpu().numpy(), np.fft.ifftshift(expected))
    ref = hfc_fast.radial_mask_reference(h, w, radius, inclusive=inclusive, device=device)
    torch.testing.assert_close(centred, ref)


def test_radial_mask_dtypes_and_errors():
    assert hfc_fast.radial_mask(4, 4, 2, dtype=torch.bool).dtype == torch.bool
    assert hfc_fast.radial_mask(4, 4, 2, dtype=torch.float64).dtype == torch.float64
    with pytest.raises(ValueError, match="h must be positive"):
        hfc_fast.radial_mask(0, 4, 2)
    with pytest.raises(TypeError, match="w must be an int"):
        hfc_fast.radial_mask(4, 4.0, 2)
    with pytest.raises(ValueError, match="radius must be non-negative"):
        hfc_fast.radial_mask(4, 4, -2)


@pytest.mark.compiled
def test_compiled_fill_checks_the_radius():
    out = torch.empty(4, 4)
    for bad, match in ((-1.0, "non-negative"), (float("nan"), "NaN")):
        with pytest.raises(ValueError, match=match):
            torch.ops.hfc_fast.radial_mask_fill_(out, bad, False, True)


@pytest.mark.compiled
def test_opcheck():
    torch.library.opcheck(torch.ops.hfc_fast.radial_mask_fill_.default, (torch.empty(9, 12), 3.5, False, True))


@pytest.mark.cuda
@pytest.mark.parametrize("h,w,radius", [(9, 12, 3.5), (64, 48, 20), (1, 7, 0)])
def test_cuda_matches_the_reference(h, w, radius):
    torch.testing.assert_close(hfc_fast.radial_mask(h, w, radius, device="cuda").cpu(),
                               hfc_fast.radial_mask_reference(h, w, radius))


class TestContract(OpContract):
    """radial_mask's share of the one op-test template (tests/op_contract.py): a mask from sizes, not
    differentiable."""

    bad = (("a negative radius", lambda i: [i[0], i[1], -2.0], ValueError, "non-negative"),
           ("a NaN radius", lambda i: [i[0], i[1], float("nan")], ValueError, "NaN"))

    def inputs(self, device, dtype):
        return int(torch.randint(1, 20, ())), int(torch.randint(1, 20, ())), float(torch.rand(()) * 12), dtype, \
            device

    def fast(self, h, w, radius, dtype=torch.float32, device="cpu"):
        return hfc_fast.radial_mask(h, w, radius, dtype=dtype, device=device)

    def reference(self, h, w, radius, dtype=torch.float32, device="cpu"):
        return hfc_fast.frequency.radial_mask_reference(h, w, radius, dtype=dtype, device=device)

    def calls(self, h, w, radius, dtype=torch.float32, device="cpu"):
        return [(torch.ops.hfc_fast.radial_mask_fill_.default, (torch.empty(h, w, dtype=dtype), radius, False, True),
                 {})]
