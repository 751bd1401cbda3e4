import pytest
import torch

import hfc_fast


@pytest.mark.parametrize("keep", ["low", "high"])
@pytest.mark.parametrize("radius", [4, [4, 8]])
def test_frequency_filter_equals_function(keep, radius, device):
    x = torch.rand(2, 3, 16, 16, device=device)
    module = hfc_fast.FrequencyFilter(radius, keep=keep)
    low, high = hfc_fast.frequency_split(x, radius)
    torch.testing.assert_close(module(x), low if keep == "low" else high)
    assert "keep=" in repr(module)


def test_frequency_filter_in_a_model_trains():
    model = torch.nn.Sequential(hfc_fast.FrequencyFilter(6), torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 2))
    x = torch.rand(4, 3, 16, 16)
    model(x).sum().backward()
    assert model[2].weight.grad is not None and torch.isfinite(model[2].weight.grad).all()


def test_frequency_filter_errors():
    with pytest.raises(ValueError, match="keep must be one of 'low', 'high'"):
        hfc_fast.FrequencyFilter(4, keep="band")
    with pytest.raises(ValueError, match="radius must be non-negative"):
        hfc_fast.FrequencyFilter(-4)


@pytest.mark.parametrize("cls,keep", [(hfc_fast.LowPass, 0), (hfc_fast.HighPass, 1)])
def test_transforms_match_split_and_normalise_by_max(cls, keep):
    img = torch.rand(3, 32, 32)
    plain = cls(8)(img)
    torch.testing.assert_close(plain, hfc_fast.frequency_split(img, 8)[keep])
    normalised = cls(8, normalize="max")(img)
    torch.testing.assert_close(normalised, plain / plain.max())
    batch = torch.rand(5, 3, 32, 32)
    out = cls(8, normalize="max")(batch)
    per_image = torch.stack([cls(8, normalize="max")(b) for b in batch])
    torch.testing.assert_close(out, per_image)


def test_normalize_by_max_keeps_sign_and_skips_non_positive_images():
    x = torch.tensor([[[[-1.0, 2.0], [0.5, -4.0]]], [[[-1.0, -2.0], [-0.5, -4.0]]]])
    out = hfc_fast.normalize_by_max(x)
    torch.testing.assert_close(out[0], x[0] / 2.0)
    torch.testing.assert_close(out[1], x[1])


def test_transform_errors():
    with pytest.raises(ValueError, match="normalize must be one of None, 'max'"):
        hfc_fast.LowPass(4, normalize="std")
    with pytest.raises(ValueError, match="radius must be a single number"):
        hfc_fast.HighPass([4, 8])
    with pytest.raises(ValueError, match=r"x must be a \(C, H, W\) or \(B, C, H, W\) tensor"):
        hfc_fast.LowPass(4)(torch.rand(32, 32))
