"""Fourier heat maps, the one-pass map and band noise, against independent computations: the heat map as a plain
loop over spike bases, closed forms on linear models. The perturbation op itself: test_fourier_perturb.py."""

from __future__ import annotations

import copy
import math

import pytest
import torch

import hfc_fast
from hfc_fast.fourier import (
    band_noise,
    band_noise_profile,
    fourier_heat_map,
    heat_map_frequencies,
    linearised_map,
    rank_correlation,
)
from hfc_fast.fourier_perturb import fourier_signs

from attack_models import linear_problem, train_tiny_cnn

SIZES = [(8, 8), (7, 6), (5, 9), (12, 12)]


def spike_basis(h: int, w: int, ky: int, kx: int) -> torch.Tensor:
    """The basis as the public implementations build it: the inverse DFT of spikes at (ky, kx) and (−ky, −kx)."""
    spectrum = torch.zeros(h, w, dtype=torch.complex128)
    spectrum[ky % h, kx % w] = 1
    spectrum[(-ky) % h, (-kx) % w] = 1
    image = torch.fft.ifft2(spectrum).real
    return image / image.norm()


def test_stride_and_max_radius_thin_the_grid():
    full = heat_map_frequencies(16, 16)
    strided = heat_map_frequencies(16, 16, stride=4)
    assert all(ky % 4 == 0 and kx % 4 == 0 for ky, kx in strided.tolist())
    assert {tuple(f) for f in strided.tolist()} <= {tuple(f) for f in full.tolist()}
    near = heat_map_frequencies(16, 16, max_radius=3)
    assert all(ky * ky + kx * kx <= 9 for ky, kx in near.tolist()) and len(near) == (29 + 1) // 2


@pytest.mark.parametrize("bad, match", [(dict(stride=0), "stride must be a positive integer"),
                                        (dict(max_radius=12), "max_radius 12 lies past the 16×16 grid"),
                                        (dict(max_radius=-1), "max_radius must be >= 0")])
def test_bad_grids_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        heat_map_frequencies(16, 16, **bad)


@pytest.fixture(scope="module")
def trained():
    return train_tiny_cnn(steps=150, seed=5)


def plain_heat_map(model, x, y, eps, seed):
    """One basis at a time over the whole batch, as the public implementations do (full grid, spike bases)."""
    h, w = x.shape[-2:]
    errors = torch.zeros(h, w)
    with torch.no_grad():
        for iy in range(h):
            for ix in range(w):
                ky, kx = (iy if iy < (h + 1) // 2 else iy - h), (ix if ix < (w + 1) // 2 else ix - w)
                canonical = min((iy, ix), ((-iy) % h, (-ix) % w))  # the signs belong to one of each pair
                signs = fourier_signs(seed, torch.arange(len(x)), x.shape[1], canonical[0] * w + canonical[1])
                basis = spike_basis(h, w, ky, kx)
                perturbed = (x.double() + eps * signs[:, :, None, None] * basis).float().clamp(0, 1)
                errors[iy, ix] = float((model(perturbed).argmax(1) != y).sum())
    return torch.fft.fftshift(errors)


def test_the_batched_map_equals_a_plain_loop_count_for_count(trained):
    model, x, y = trained
    result = fourier_heat_map(model, (x, y), 3.0, batch_size=40, images_per_pass=200, seed=9)
    assert result.n == len(x)
    counts = result.grid(result.errors)
    torch.testing.assert_close(counts.float(), plain_heat_map(model, x, y, 3.0, 9), atol=0, rtol=0)
    assert torch.equal(counts, counts.flip(0, 1).roll((1, 1), (0, 1)))  # conjugate cells carry the same count
    assert result.clean_errors == float((model(x).argmax(1) != y).sum())
    loss = result.loss_map()
    assert bool((loss[torch.isfinite(loss)] > 0).all())


def test_batching_and_an_interruption_do_not_change_the_counts(trained):
    model, x, y = trained
    whole = fourier_heat_map(model, (x, y), 2.0, batch_size=32, images_per_pass=64, seed=1)
    saved = []

    def dies(state):
        saved.append(hfc_fast.FourierHeatMap.from_state_dict(state.state_dict()))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fourier_heat_map(model, (x, y), 2.0, batch_size=32, images_per_pass=1000, seed=1, save=dies, save_every=1)
    resumed = fourier_heat_map(model, (x, y), 2.0, batch_size=32, images_per_pass=7, seed=1, state=saved[-1])
    assert saved[-1].next_batch == 1 and resumed.n == whole.n
    assert torch.equal(resumed.errors, whole.errors)
    torch.testing.assert_close(resumed.loss, whole.loss, rtol=1e-12, atol=1e-9)


def test_a_model_returning_probabilities_is_refused(trained):
    model, x, y = trained
    with pytest.raises(ValueError, match="model must return logits"):
        fourier_heat_map(torch.nn.Sequential(model, torch.nn.Softmax(1)), (x, y), 1.0)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        fourier_heat_map(model, (x, y), -1.0)


@pytest.mark.parametrize("evaluation", [
    lambda m, data: fourier_heat_map(m, data, 1.0, max_radius=2, channels_last=False),
    lambda m, data: fourier_heat_map(m, data, 1.0, max_radius=2, channels_last=True),
    lambda m, data: linearised_map(m, data),
    lambda m, data: band_noise_profile(m, data, 1.0),
    lambda m, data: hfc_fast.track_frequencies(m, data, [2]),
], ids=["heat map", "heat map, channels last", "linearised map", "band noise", "tracking"])
def test_an_evaluation_leaves_every_module_and_parameter_as_it_found_them(trained, evaluation):
    model, x, y = trained
    model = copy.deepcopy(model).train()
    first, last = list(model.children())[0], list(model.parameters())[-1]
    first.eval()  # a frozen part inside a model in training, as fine-tuning loops have
    last.requires_grad_(False)
    modes = {n: m.training for n, m in model.named_modules()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    evaluation(model, (x[:40], y[:40]))
    assert {n: m.training for n, m in model.named_modules()} == modes
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    assert all(p.grad is None for p in model.parameters())


# ---------------------------------------------------------------------- the one-pass map
def test_the_linearised_map_of_a_linear_model_is_its_weights_spectrum():
    model, w, b, x, score, y = linear_problem(50, 6, 7, torch.Generator().manual_seed(2))
    model = model.double()
    found = linearised_map(model, (x, y), batch_size=20).map()
    # dL/dx = (p1 − [y = 1]) · w, so mean |DFT(∇L)| = mean |p1 − [y = 1]| · |DFT(w)|
    p1 = torch.sigmoid(score)
    expected = (p1 - y.double()).abs().mean() * torch.fft.fft2(w.view(6, 7), norm="ortho").abs()
    torch.testing.assert_close(found, torch.fft.fftshift(expected), atol=1e-12, rtol=1e-10)


def test_rank_correlation_hand_cases():
    a = torch.tensor([1.0, 2.0, 3.0, 4.0, math.nan])
    assert rank_correlation(a, a * 10) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    assert rank_correlation(torch.tensor([1.0, 2, 3, 4]), torch.tensor([1.0, 3, 2, 4])) == pytest.approx(0.8)
    assert rank_correlation(torch.tensor([1.0, 1, 2]), torch.tensor([1.0, 2, 3])) == pytest.approx(math.sqrt(3) / 2)


# ---------------------------------------------------------------------- band noise
@pytest.mark.parametrize("h, w", [(28, 28), (15, 22)])
@pytest.mark.parametrize("low, high", [(0.0, 1.0), (3.0, 5.0), (7.5, 12.0)])
def test_band_noise_lives_in_its_annulus_at_the_asked_norm(h, w, low, high):
    noise = band_noise((4, 3, h, w), low, high, 2.5, generator=torch.Generator().manual_seed(0),
                       dtype=torch.float64)
    torch.testing.assert_close(noise.flatten(1).norm(dim=1), torch.full((4,), 2.5, dtype=torch.float64))
    spectrum = torch.fft.fft2(noise)
    fy = torch.fft.fftfreq(h, 1 / h, dtype=torch.float64)
    fx = torch.fft.fftfreq(w, 1 / w, dtype=torch.float64)
    d = (fy[:, None] ** 2 + fx[None, :] ** 2).sqrt()
    outside = (d < low) | (d >= high)
    assert float(spectrum[..., outside].abs().square().sum()) < 1e-10 * float(spectrum.abs().square().sum())


def test_band_noise_profile_on_a_trained_model(trained):
    model, x, y = trained
    profile = band_noise_profile(model, (x, y), 1.0, edges=[0, 2, 4, 9], batch_size=32)
    assert len(profile["accuracy"]) == 3 and profile["n"] == len(x)
    assert profile["clean"] == pytest.approx(float((model(x).argmax(1) == y).float().mean()))
    assert all(0 <= a <= 1 for a in [*profile["accuracy"], profile["white"]])
    zero = band_noise_profile(model, (x, y), 0.0, edges=[0, 2, 9], batch_size=32)
    assert zero["accuracy"] == [zero["clean"]] * 2 and zero["white"] == zero["clean"]
