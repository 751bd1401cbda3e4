"""APGD, the worst case over attacks, the ε × band surface and the gradient-masking checks, against closed forms,
hand-worked cases and the single attacks they are made of."""

from __future__ import annotations

import copy
import functools

import pytest
import torch
from torch import nn

from hfc_fast import frequency_split_reference
from hfc_fast.attacks import (
    WORST_CASE,
    apgd,
    apgd_checkpoints,
    dlr_loss,
    dlr_targeted_loss,
    fgsm,
    pgd,
    robust_accuracy,
    robustness_surface,
)

from attack_models import linear_problem, train_tiny_cnn


@pytest.fixture(scope="module")
def trained():
    return train_tiny_cnn(steps=150, seed=11)


def test_the_schedule_is_the_papers_in_whole_steps():
    # windows int(0.22 N), shrinking by int(0.03 N) down to int(0.06 N), each at least one step
    assert apgd_checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]  # the paper's checkpoints
    assert apgd_checkpoints(20) == [4, 7, 9, *range(10, 20)]  # windows 4, 3, 2, then 1
    assert apgd_checkpoints(10) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert apgd_checkpoints(50) == [11, 21, 30, 38, 45]  # windows 11, 10, 9, 8, 7
    assert apgd_checkpoints(1) == []


def test_dlr_losses_on_hand_worked_logits():
    logits = torch.tensor([[3.0, 1.0, 2.0, 0.0], [3.0, 1.0, 2.0, 0.0], [0.5, 0.5, 4.0, -1.0]])
    y = torch.tensor([1, 0, 2])
    # sorted rows: (3, 2, 1, 0) twice, (4, 0.5, 0.5, −1)
    expected = torch.tensor([-(1 - 3) / (3 - 1), -(3 - 2) / (3 - 1), -(4 - 0.5) / (4 - 0.5)])
    torch.testing.assert_close(dlr_loss(logits, y), expected)
    target = torch.tensor([2, 2, 0])
    expected_t = torch.tensor([-(1 - 2) / (3 - (1 + 0) / 2), -(3 - 2) / (3 - (1 + 0) / 2),
                               -(4 - 0.5) / (4 - (0.5 - 1) / 2)])
    torch.testing.assert_close(dlr_targeted_loss(logits, y, target), expected_t)


def test_the_step_halves_at_every_checkpoint_when_the_loss_never_rises():
    """A constant model: no step raises the loss, so condition 1 holds at every checkpoint."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    nn.init.zeros_(model[1].weight)
    x, y = torch.rand(5, 1, 4, 4), torch.randint(0, 3, (5,))
    result = apgd(model, x, y, 0.05, steps=20, record_steps=True, early_exit=False, seed=0)
    checkpoints = apgd_checkpoints(20)
    history = torch.tensor(result.method["step_history"])
    for k in range(20):  # iteration k makes x(k+1): halved by every checkpoint w <= k
        halvings = sum(1 for w in checkpoints if w <= k)
        torch.testing.assert_close(history[k], torch.full((5,), 0.1 / 2 ** halvings))


def test_on_a_linear_model_apgd_fools_exactly_beyond_margin_over_l1():
    model, w, b, x, score, y = linear_problem(150, 6, 6, torch.Generator().manual_seed(4), low=0.45, width=0.1)
    threshold = score.abs() / w.abs().sum()
    eps = (0.005, 0.01, 0.02, 0.04)
    result = apgd(model, x, y, eps, steps=5, seed=1)
    for k, e in enumerate(eps):
        clear = (threshold - e).abs() > 1e-9
        assert torch.equal(result.fooled[k][clear], (threshold < e)[clear]), f"eps={e}"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_apgd_is_never_weaker_than_pgd_with_the_same_budget(seed):
    """APGD-CE against PGD on the same loss and iterations; APGD-DLR optimises another loss, so it joins the
    worst case rather than standing alone."""
    model, x, y = train_tiny_cnn(steps=150, seed=20 + seed)
    eps = [0.02, 0.04, 0.08]
    plain = pgd(model, x, y, eps, steps=20, alpha=[e / 4 for e in eps])
    strong = apgd(model, x, y, eps, steps=20, loss="ce", seed=seed)
    assert all(a <= p for a, p in zip(strong.robust_accuracy, plain.robust_accuracy, strict=True)), \
        (strong.robust_accuracy, plain.robust_accuracy)
    both = strong.fooled | apgd(model, x, y, eps, steps=20, loss="dlr", seed=seed).fooled
    assert bool((both.sum(1) >= plain.fooled.sum(1)).all())


def test_invariants(trained):
    model, x, y = trained
    model = copy.deepcopy(model)
    model.train()
    model.conv.weight.requires_grad_(True)
    model.head.bias.requires_grad_(False)
    eps = [0.0, 0.03, 0.06]
    result = apgd(model, x, y, eps, steps=10, return_adversarials=True, seed=3)
    assert model.training and model.conv.weight.requires_grad and not model.head.bias.requires_grad
    assert model.conv.weight.grad is None
    for k, e in enumerate(eps):
        assert float((result.adversarials[k] - x).abs().max()) <= e + 1e-6
        assert float(result.adversarials[k].min()) >= 0 and float(result.adversarials[k].max()) <= 1
    with torch.no_grad():
        clean = float((model.eval()(x).argmax(1) == y).float().mean())
    assert result.robust_accuracy[0] == pytest.approx(clean)
    assert list(result.robust_accuracy) == sorted(result.robust_accuracy, reverse=True)
    again = apgd(model, x, y, eps, steps=10, seed=3)
    assert torch.equal(again.fooled, result.fooled)  # seeded: repeatable


def test_band_limited_apgd_keeps_its_perturbation_in_the_band(trained):
    model, x, y = trained
    model = copy.deepcopy(model).double()
    x = 0.45 + 0.1 * x.double()  # the box never binds
    for kind, other in (("low", 1), ("high", 0)):
        result = apgd(model, x, y, 5.0, steps=4, band=(kind, 3), lo=-10, hi=10, return_adversarials=True,
                      early_exit=False, seed=0)
        delta = result.adversarials[0] - x
        assert float(delta.abs().max()) > 1e-3
        assert float(frequency_split_reference(delta, 3.0)[other].abs().max()) < 1e-10, kind


def test_the_targeted_dlr_runs_each_target_and_counts_misclassification(trained):
    model, x, y = trained
    result = apgd(model, x, y, 0.05, steps=8, loss="dlr-targeted", target_classes=2, seed=0)
    assert result.method["target_classes"] == 2
    with pytest.raises(ValueError, match="needs a model of at least 4 classes"):
        apgd(nn.Sequential(nn.Flatten(), nn.Linear(144, 3)), x, y % 3, 0.05, loss="dlr-targeted")


# ---------------------------------------------------------------------- the worst case over attacks
def single_fooled(model, x, y, eps):
    out = {"fgsm": fgsm(model, x, y, eps).fooled, "pgd": pgd(model, x, y, eps, steps=10).fooled}
    for name in ("apgd-ce", "apgd-dlr"):
        out[name] = apgd(model, x, y, eps, steps=10, loss=name.split("-")[1], seed=5).fooled
    return out


def test_the_worst_case_is_the_and_of_the_single_attacks(trained):
    model, x, y = trained
    eps = [0.02, 0.05]
    batches = [(x[:40], y[:40]), (x[40:], y[40:])]
    attacks = {"fgsm": fgsm, "pgd": functools.partial(pgd, steps=10),
               "apgd-ce": functools.partial(apgd, loss="ce", steps=10, seed=5),
               "apgd-dlr": functools.partial(apgd, loss="dlr", steps=10, seed=5)}
    report = robust_accuracy(model, batches, attacks, eps, progress=False)
    robust_all = torch.ones(len(eps), len(x), dtype=torch.bool)
    for i, (xb, yb) in enumerate(batches):
        part = single_fooled(model, xb, yb, eps)
        rows = slice(0, 40) if i == 0 else slice(40, len(x))
        for fooled in part.values():
            robust_all[:, rows] &= ~fooled
    assert report.worst_count == robust_all.sum(1).tolist()
    cascaded = robust_accuracy(model, batches, attacks, eps, progress=False, cascade=True)
    by_hand = [0] * len(eps)  # each attack in turn on the images robust at some ε to every earlier one
    for xb, yb in batches:
        alive = torch.ones(len(eps), len(xb), dtype=torch.bool)
        for attack in attacks.values():
            idx = alive.any(0).nonzero().squeeze(1)
            if len(idx):
                alive[:, idx] &= ~attack(model, xb[idx], yb[idx], eps).fooled
        by_hand = [a + int(b) for a, b in zip(by_hand, alive.sum(1), strict=True)]
    assert cascaded.worst_count == by_hand
    assert cascaded.robust_count["apgd-dlr"] == cascaded.worst_count  # cumulative: the last attack has the worst case
    assert sum(cascaded.forwards.values()) <= sum(report.forwards.values())
    assert WORST_CASE == ("fgsm", "pgd", "apgd-ce", "apgd-dlr")


# ---------------------------------------------------------------------- the ε × band surface
def test_every_cell_of_the_surface_is_a_single_band_limited_pgd(trained):
    model, x, y = trained
    eps, radii = [0.03, 0.08], [2.0, 4.5]
    surface = robustness_surface(model, [(x, y)], eps, radii, steps=5, progress=False)
    assert surface["n"] == len(x)
    alphas = [e / 4 for e in eps]
    torch.testing.assert_close(torch.tensor(surface["full"], dtype=torch.float64),
                               torch.tensor(pgd(model, x, y, eps, steps=5, alpha=alphas).robust_accuracy,
                                            dtype=torch.float64))
    for r in radii:
        for kind in ("low", "high"):
            single = pgd(model, x, y, eps, steps=5, alpha=alphas, band=(kind, r)).robust_accuracy
            key = f"{r:g}"
            torch.testing.assert_close(torch.tensor(surface[kind][key], dtype=torch.float64),
                                       torch.tensor(single, dtype=torch.float64))


# ---------------------------------------------------------------------- gradient-masking checks
class Quantised(nn.Module):
    """A textbook masked defence: inputs rounded to 4 levels before the model, so input gradients vanish."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x + ((x * 3).round() / 3 - x).detach())


def test_masking_checks_pass_an_honest_model_and_fail_a_masked_one(trained):
    from hfc_fast.experiments.commands.robustness import masking_checks

    model, x, y = trained
    batches = [(x, y)]
    honest = masking_checks(copy.deepcopy(model), model, batches, eps=[0.03, 0.06], large_eps=0.5, steps=(5, 20))
    assert honest["monotone"] and honest["reaches_zero"] and honest["passed"]
    masked = masking_checks(Quantised(copy.deepcopy(model)), model, batches, eps=[0.03, 0.06], large_eps=0.5,
                            steps=(5, 20))
    assert not masked["passed"]
    assert not masked["transfer_not_stronger"] or not masked["reaches_zero"]


def test_the_unmasked_verdict_has_a_square_part_measured_per_seed():
    """The verdict's Square part is Square's accuracy minus the white-box worst case at the transfer ε, mean
    over seeds (a closed form of the check's numbers); Square stronger than the white-box attacks contradicts."""
    from hfc_fast.experiments.commands.robustness import unmasked_parts

    g = torch.Generator().manual_seed(int(torch.randint(0, 2**31, ())))
    n = 400

    def check(square_gain):
        few = sorted((torch.randint(0, n + 1, (4,), generator=g) / n).tolist(), reverse=True)
        white = int(torch.randint(n // 4, n // 2, (), generator=g)) / n
        return {"n": n, "eps": [0.03, 0.06, 0.09, 0.3], "large_eps": 0.3, "transfer_eps": 0.09,
                "pgd_few_steps": few, "worst_at_large_eps": 0.0, "transfer": white + 0.05, "white_box": white,
                "square_queries": 1000, "white_box_worst": white, "square": white + square_gain}

    for gain, state in ((0.2, "supported"), (-0.2, "contradicted")):
        checks = [check(gain) for _ in range(3)]
        square = unmasked_parts(checks)[-1]
        assert "Square (1000 queries)" in square["measure"] and "ε = 0.09" in square["measure"]
        expected = sum(round(c["square"] * n) - round(c["white_box_worst"] * n) for c in checks) / (3 * n)
        assert square["effect"]["estimate"] == pytest.approx(expected, abs=1e-12)
        assert square["verdict"] == state
