"""Effects and their bootstrap intervals against closed forms, hand-worked cases and simulated coverage."""

from __future__ import annotations

import pytest
import torch

from hfc_fast.stats import Effect, effect_interval, three_way


def test_two_units_give_the_hand_worked_interval():
    # resampling (0, 1) twice: means 0, 0.5, 0.5, 1 with probabilities 1/4, 1/2, 1/4 → 95 % interval [0, 1]
    e = effect_interval(torch.tensor([0.0, 1.0]), resamples=20000, seed=1)
    assert e.estimate == 0.5 and (e.low, e.high) == (0.0, 1.0)
    assert (e.units, e.seeds, e.paired) == (2, 1, True)


def test_seeds_are_resampled_too():
    # two seeds, constant differences 1 and 3 within each: the mean over resampled seeds is 1, 2 or 3
    e = effect_interval([torch.full((7,), 1.0), torch.full((7,), 3.0)], resamples=20000, seed=2)
    assert e.estimate == 2.0 and (e.low, e.high) == (1.0, 3.0) and e.seeds == 2


def test_one_value_per_seed():
    e = effect_interval([0.5, 0.5, 0.5], resamples=500)
    assert (e.estimate, e.low, e.high, e.units) == (0.5, 0.5, 0.5, 0)


def test_paired_differences_are_the_differences_of_the_arms():
    g = torch.Generator().manual_seed(3)
    a, b = torch.rand(50, generator=g), torch.rand(50, generator=g)
    paired = effect_interval(a, b, seed=4)
    direct = effect_interval(a - b, seed=4)
    assert paired == direct
    assert paired.estimate == pytest.approx(float((a - b).mean()))


def test_unpaired_arms_against_the_normal_approximation():
    g = torch.Generator().manual_seed(5)
    a, b = torch.randn(4000, generator=g).double() + 1.0, torch.randn(3000, generator=g).double() * 2
    e = effect_interval(a, b, paired=False, resamples=4000, seed=6)
    se = float((a.var() / len(a) + b.var() / len(b)).sqrt())
    d = float(a.mean() - b.mean())
    assert e.estimate == pytest.approx(d)
    assert e.low == pytest.approx(d - 1.96 * se, abs=0.15 * se)
    assert e.high == pytest.approx(d + 1.96 * se, abs=0.15 * se)


def test_the_interval_covers_a_known_difference_at_the_nominal_rate():
    """1,000 simulated paired experiments with a known mean difference: about 950 intervals cover it."""
    g = torch.Generator().manual_seed(int(torch.randint(0, 2**31, (1,))))
    truth, covered = 0.3, 0
    for trial in range(1000):
        d = torch.randn(200, generator=g).double() + truth
        e = effect_interval(d, resamples=1000, seed=trial)
        covered += e.low <= truth <= e.high
    assert 925 <= covered <= 975, covered


def test_the_interval_covers_an_accuracy_difference_at_the_nominal_rate():
    """Two arms scored on the same 400 images (correct / wrong), a known accuracy difference of 0.05."""
    g = torch.Generator().manual_seed(int(torch.randint(0, 2**31, (1,))))
    covered = 0
    for trial in range(1000):
        u = torch.rand(400, generator=g)
        a, b = (u < 0.80).double(), (u < 0.75).double()  # the same image is easier for both arms
        flip = torch.rand(400, generator=g) < 0.2  # and some images are scored independently
        b[flip] = (torch.rand(int(flip.sum()), generator=g) < 0.75).double()
        truth = 0.80 - 0.75
        e = effect_interval(a, b, resamples=1000, seed=trial)
        covered += e.low <= truth <= e.high
    assert 925 <= covered <= 975, covered


@pytest.mark.parametrize(("low", "high", "expect", "verdict"), [
    (0.1, 0.2, "positive", "supported"), (-0.2, -0.1, "positive", "contradicted"),
    (-0.1, 0.2, "positive", "inconclusive"), (-0.2, -0.1, "negative", "supported"),
    (0.1, 0.2, "negative", "contradicted"), (0.0, 0.2, "positive", "inconclusive")])
def test_three_way(low, high, expect, verdict):
    e = Effect(estimate=(low + high) / 2, low=low, high=high, level=0.95, units=10, seeds=1, paired=True,
               resamples=100)
    assert three_way(e, expect=expect) == verdict


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="level"):
        effect_interval(torch.ones(3), level=1.5)
    with pytest.raises(ValueError, match="resamples"):
        effect_interval(torch.ones(3), resamples=10)
    with pytest.raises(ValueError, match="control"):
        effect_interval([torch.ones(3)], [torch.ones(3), torch.ones(3)])
    with pytest.raises(ValueError, match="same units"):
        effect_interval(torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match=r"treated\[0\]"):
        effect_interval(torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match="expect"):
        three_way(effect_interval(torch.ones(3), resamples=100), expect="up")
