"""The one rule for a radius: the ops' rule (Python and C++ alike), the measurements' rule, and the grid."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import hfc_fast
from hfc_fast.attacks import BandProjection
from hfc_fast.radius import as_radii, check_fits, frequency_grid, radius_key, scaled_radii

OP_ACCEPTS = [0, 0.5, 3, 22.6, 1e6, math.inf]
OP_REFUSES = [(-1, ValueError, "non-negative"), (-1e-9, ValueError, "non-negative"), (math.nan, ValueError, "NaN")]


@pytest.mark.parametrize("r", OP_ACCEPTS)
def test_every_op_takes_what_the_rule_takes(r):
    x = torch.rand(2, 9, 8, dtype=torch.float64)
    low, high = hfc_fast.frequency_split(x, r)
    ref_low, _ = hfc_fast.frequency_split_reference(x, r)
    torch.testing.assert_close(low, ref_low)
    torch.testing.assert_close(low + high, x)
    assert as_radii(r) == ((float(r),), True)
    hfc_fast.radial_mask(9, 8, r)
    hfc_fast.LowPass(r)(torch.rand(1, 9, 8))


@pytest.mark.parametrize("r, error, match", OP_REFUSES)
def test_every_op_refuses_what_the_rule_refuses(r, error, match):
    x = torch.rand(2, 9, 8)
    for call in (lambda: hfc_fast.frequency_split(x, r), lambda: hfc_fast.frequency_split_reference(x, r),
                 lambda: hfc_fast.radial_mask(9, 8, r), lambda: hfc_fast.FrequencyFilter(r),
                 lambda: hfc_fast.HighPass(r), lambda: as_radii([1.0, r])):
        with pytest.raises(error, match=match):
            call()


@pytest.mark.compiled
@pytest.mark.parametrize("r", [v for v, _, _ in OP_REFUSES])
def test_the_compiled_check_is_the_same_rule(r):
    with pytest.raises(ValueError, match="radius"):
        torch.ops.hfc_fast.frequency_split(torch.rand(2, 9, 8), [4.0, r], False)


@pytest.mark.compiled
@pytest.mark.parametrize("r", OP_ACCEPTS)
def test_the_compiled_op_takes_every_radius_of_the_rule(r):
    x = torch.rand(2, 9, 8, dtype=torch.float64)
    low, _ = torch.ops.hfc_fast.frequency_split(x, [float(r)], False)
    torch.testing.assert_close(low[0], hfc_fast.frequency_split_reference(x, r)[0])


def test_measurement_radii():
    check_fits([0.5, 4, 32], 32, 32)
    check_fits([300.0])  # no image size: only positive and finite
    for bad in (0, -2, math.inf, math.nan):
        with pytest.raises(ValueError, match="positive finite radius"):
            check_fits([4, bad], 32, 32, "--radii")
    with pytest.raises(ValueError, match="--radii 40 does not fit a 28×32 image"):
        check_fits([4, 40], 28, 32, "--radii")
    with pytest.raises(ValueError, match="band"):
        BandProjection(("low", 0))


@pytest.mark.parametrize("h, w", [(8, 8), (7, 10), (1, 5), (32, 31)])
@pytest.mark.parametrize("half", [False, True])
def test_frequency_grid_is_numpys_fftfreq(h, w, half):
    fy = np.fft.fftfreq(h) * h
    fx = (np.fft.rfftfreq(w) if half else np.fft.fftfreq(w)) * w
    expected = np.round(fy)[:, None] ** 2 + np.round(fx)[None, :] ** 2
    grid = frequency_grid(h, w, half=half)
    assert grid.dtype == torch.float64
    np.testing.assert_array_equal(grid.numpy(), expected)


def test_keys_and_scaling():
    assert [radius_key(r) for r in (4.0, 3.5, 12, 128.0)] == ["4", "3.5", "12", "128"]
    assert scaled_radii(32) == (4, 8, 12, 16)
    assert scaled_radii(224) == (28, 56, 84, 112)
    assert scaled_radii(28, (12,)) == (10.5,)
