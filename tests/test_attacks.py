"""hfc_fast.attacks against plainly written attacks, closed forms and invariants."""

from __future__ import annotations

import copy
import math
import os

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hfc_fast import frequency_split_reference
from hfc_fast.attacks import deepfool, fgsm, noise_attack, pgd, robust_accuracy

from attack_models import TinyCNN, linear_problem, train_tiny_cnn


@pytest.fixture(scope="module")
def trained():
    """(model, x, y) in float32, trained afresh for this module."""
    return train_tiny_cnn()


@pytest.fixture(scope="module")
def trained64(trained):
    model, x, y = trained
    return copy.deepcopy(model).double(), x.double(), y


def _fresh_generator() -> torch.Generator:
    return torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))


def _frozen(model):
    frozen = copy.deepcopy(model).eval()
    for p in frozen.parameters():
        p.requires_grad_(False)
    return frozen


def plain_pgd_fooled(model, x, y, eps, alpha, steps):
    """The attack written plainly: every image, every step; fooled if any iterate fools it."""
    model = _frozen(model)
    with torch.no_grad():
        fooled = model(x).argmax(1) != y
    x_adv = x.clone()
    for _ in range(steps):
        x_adv.requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(model(x_adv), y, reduction="sum"), x_adv)
        x_adv = torch.clamp(x + torch.clamp(x_adv.detach() + alpha * grad.sign() - x, -eps, eps), 0, 1)
        with torch.no_grad():
            fooled |= model(x_adv).argmax(1) != y
    return fooled


# ---------------------------------------------------------------- agreement with the plain attack


def test_pgd_matches_plain_attack_with_nested_balls(trained64):
    model, x, y = trained64
    eps, alpha, steps = (0.02, 0.05, 0.1), (0.006, 0.015, 0.03), 6
    result = pgd(model, x, y, eps, alpha=alpha, steps=steps)
    union = torch.zeros_like(y, dtype=torch.bool)
    for k, (e, a) in enumerate(zip(eps, alpha, strict=True)):
        union |= plain_pgd_fooled(model, x, y, e, a, steps)
        assert torch.equal(result.fooled[k], union), f"eps={e}"
    assert result.fooled.shape == (3, len(x))


def test_eps_given_in_any_order_is_reported_ascending(trained64):
    model, x, y = trained64
    a = pgd(model, x, y, [0.1, 0.02], alpha=[0.03, 0.006], steps=4)
    b = pgd(model, x, y, [0.02, 0.1], alpha=[0.006, 0.03], steps=4)
    assert a.eps == (0.02, 0.1)
    assert torch.equal(a.fooled, b.fooled)


def test_early_exit_does_not_change_who_is_fooled(trained64):
    model, x, y = trained64
    fast = pgd(model, x, y, [0.03, 0.08], alpha=0.01, steps=8)
    full = pgd(model, x, y, [0.03, 0.08], alpha=0.01, steps=8, early_exit=False)
    assert torch.equal(fast.fooled, full.fooled)
    assert fast.backwards < full.backwards


def test_without_early_exit_adversarials_are_final_iterates(trained64):
    model, x, y = trained64
    eps, alpha, steps = 0.05, 0.02, 5
    result = pgd(model, x, y, eps, alpha=alpha, steps=steps, early_exit=False, return_adversarials=True)
    model = _frozen(model)  # the same input-only backward, so near-zero gradients round alike
    x_adv = x.clone()
    for _ in range(steps):
        x_adv.requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(model(x_adv), y, reduction="sum"), x_adv)
        x_adv = torch.clamp(x + torch.clamp(x_adv.detach() + alpha * grad.sign() - x, -eps, eps), 0, 1)
    torch.testing.assert_close(result.adversarials[0], x_adv, atol=1e-12, rtol=0)  # misclassified ones too


def test_fgsm_matches_formula(trained64):
    model, x, y = trained64
    eps = (0.03, 0.07, 0.12)
    result = fgsm(model, x, y, eps, return_adversarials=True)
    x_req = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x_req), y, reduction="sum"), x_req)
    clean_right = model(x).argmax(1) == y
    union = ~clean_right
    for k, e in enumerate(eps):
        x_adv = (x + e * grad.sign()).clamp(0, 1)
        fooled_here = model(x_adv).argmax(1) != y
        union = union | fooled_here
        assert torch.equal(result.fooled[k], union)
        first = clean_right & fooled_here & ~(result.fooled[k - 1] if k else torch.zeros_like(union))
        torch.testing.assert_close(result.adversarials[k][first], x_adv[first])
    assert result.forwards < 2 * len(x) + len(eps) * len(x)  # one shared gradient pass
    assert result.backwards == len(x)


# ---------------------------------------------------------------- invariants


def test_eps_zero_gives_exactly_clean_accuracy(trained):
    model, x, y = trained
    result = pgd(model, x, y, [0.0, 0.05], steps=3)
    with torch.no_grad():
        clean = float((model(x).argmax(1) == y).float().mean())
    assert result.robust_accuracy[0] == clean == result.clean_accuracy


@pytest.mark.parametrize("kwargs", [
    {},
    {"random_start": True, "seed": 3},
    {"band": ("low", 3)},
    {"band": ("high", 3)},
    {"amp": True},
    {"early_exit": False},
])
def test_adversarials_stay_in_ball_and_box(trained, kwargs):
    model, x, y = trained
    eps = (0.02, 0.06, 0.15)
    result = pgd(model, x, y, eps, steps=5, return_adversarials=True, **kwargs)
    assert result.adversarials.shape == (3, *x.shape)
    assert result.adversarials.dtype == x.dtype
    for k, e in enumerate(eps):
        adv = result.adversarials[k]
        assert float((adv - x).abs().max()) <= e + 1e-6
        assert float(adv.min()) >= 0 and float(adv.max()) <= 1
        with torch.no_grad():
            logits = model(adv)
        newly = result.fooled[k] & result.clean_correct
        # bfloat16 logits may disagree with float32 ones near the boundary; early_exit=False keeps final iterates
        if not kwargs.get("amp") and kwargs.get("early_exit", True):
            # a recorded adversarial fools the model; the batch it was scored in differed, so allow float ties
            margin = logits.gather(1, y[:, None]).squeeze(1) - logits.scatter(1, y[:, None], -1e9).amax(1)
            assert bool((margin[newly] < 1e-4).all()), "a recorded adversarial must fool the model"


def test_fgsm_stays_in_ball_and_box(trained):
    model, x, y = trained
    result = fgsm(model, x, y, [0.05, 0.2], return_adversarials=True)
    for k, e in enumerate(result.eps):
        assert float((result.adversarials[k] - x).abs().max()) <= e + 1e-6
        assert 0 <= float(result.adversarials[k].min()) <= float(result.adversarials[k].max()) <= 1


def test_robust_accuracy_falls_with_eps_and_steps(trained):
    model, x, y = trained
    eps = (0.01, 0.03, 0.06, 0.1)
    short = pgd(model, x, y, eps, alpha=0.01, steps=3)
    long = pgd(model, x, y, eps, alpha=0.01, steps=9)
    for result in (short, long):
        acc = result.robust_accuracy
        assert all(a >= b for a, b in zip(acc, acc[1:], strict=False))
    assert bool((short.fooled <= long.fooled).all())  # same trajectory, more iterates
    assert all(s >= t for s, t in zip(short.robust_accuracy, long.robust_accuracy, strict=True))


def test_fgsm_is_no_stronger_than_pgd(trained):
    model, x, y = trained
    eps = (0.03, 0.06, 0.1)
    weak = fgsm(model, x, y, eps)
    strong = pgd(model, x, y, eps, alpha=[e / 4 for e in eps], steps=20)
    assert all(f >= p for f, p in zip(weak.robust_accuracy, strong.robust_accuracy, strict=True))
    assert strong.robust_accuracy[-1] < strong.clean_accuracy  # the attack does something


def test_seed_makes_random_start_repeatable(trained):
    model, x, y = trained
    runs = [pgd(model, x, y, 0.08, steps=3, random_start=True, restarts=2, seed=s, return_adversarials=True)
            for s in (7, 7, 8)]
    assert torch.equal(runs[0].adversarials, runs[1].adversarials)
    assert torch.equal(runs[0].fooled, runs[1].fooled)
    assert not torch.equal(runs[0].adversarials, runs[2].adversarials)


def test_targeted_attack_reaches_the_target(trained):
    model, x, y = trained
    target = (y + 1) % 4
    result = pgd(model, x, target, 0.3, steps=20, alpha=0.03, targeted=True, return_adversarials=True)
    hit = result.fooled[0] & result.clean_correct
    assert bool(hit.any())
    with torch.no_grad():
        assert bool((model(result.adversarials[0][hit]).argmax(1) == target[hit]).all())


def test_channels_last_gives_the_same_answer(trained64):
    model, x, y = trained64
    ref = pgd(model, x, y, [0.03, 0.08], alpha=0.01, steps=5)
    cl = pgd(copy.deepcopy(model).to(memory_format=torch.channels_last), x, y, [0.03, 0.08], alpha=0.01, steps=5,
             channels_last=True)
    assert torch.equal(ref.fooled, cl.fooled)


def test_band_limited_perturbation_lives_in_its_band():
    """Box and ε never bind here, so the perturbation must be exactly in the band."""
    g = _fresh_generator()
    model = TinyCNN().double().eval()
    x = 0.45 + 0.1 * torch.rand(16, 1, 12, 12, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (16,), generator=g)
    for kind, other in (("low", 1), ("high", 0)):
        result = pgd(model, x, y, 5.0, alpha=0.01, steps=4, band=(kind, 3), lo=-10, hi=10,
                     return_adversarials=True, early_exit=False)
        delta = result.adversarials[0] - x
        assert float(delta.abs().max()) > 1e-3
        leaked = frequency_split_reference(delta, 3.0)[other]
        assert float(leaked.abs().max()) < 1e-10, kind


# ---------------------------------------------------------------- hand-worked cases (linear models)


def test_linf_pgd_on_linear_model_fools_exactly_beyond_margin_over_l1():
    model, w, b, x, score, y = linear_problem(200, 6, 6, _fresh_generator(), low=0.45, width=0.1)
    threshold = score.abs() / w.abs().sum()  # the L∞ distance to the boundary
    eps = (0.005, 0.01, 0.02, 0.04)
    result = pgd(model, x, y, eps, alpha=[e / 2 for e in eps], steps=4)
    for k, e in enumerate(eps):
        clear = (threshold - e).abs() > 1e-9
        assert torch.equal(result.fooled[k][clear], (threshold < e)[clear]), f"eps={e}"


def test_deepfool_binary_linear_closed_form():
    model, w, b, x, _, y = linear_problem(30, 6, 8, _fresh_generator())
    result = deepfool(model, x, y, overshoot=0.0, lo=None, hi=None)
    x0 = x.flatten(1)
    expected = x0 - ((x0 @ w + b) / w.dot(w))[:, None] * w  # lecture Theorem 2
    torch.testing.assert_close(result.adversarials.flatten(1), expected, atol=2e-4 / float(w.norm()), rtol=0)
    assert bool(result.fooled.all())
    assert bool((result.iterations == 1).all())
    torch.testing.assert_close(result.norms, ((x0 @ w + b).abs() / w.norm()), atol=1e-3, rtol=1e-3)


def test_deepfool_linf_binary_linear_distance():
    model, w, _, x, score, y = linear_problem(25, 5, 8, _fresh_generator())
    result = deepfool(model, x, y, overshoot=0.0, norm="linf", lo=None, hi=None)
    torch.testing.assert_close(result.norms, score.abs() / w.abs().sum(), atol=1e-4, rtol=1e-3)
    assert bool(result.fooled.all())


def test_deepfool_multiclass_fools_trained_model(trained):
    model, x, y = trained
    result = deepfool(model, x, y, steps=50)
    moved = result.clean_correct
    assert float(result.fooled[moved].float().mean()) > 0.9
    with torch.no_grad():
        pred = model(result.adversarials).argmax(1)
    assert torch.equal(pred != y, result.fooled)
    assert bool((result.norms[moved & result.fooled] > 0).all())
    assert float(result.adversarials.min()) >= 0 and float(result.adversarials.max()) <= 1
    assert torch.equal(result.adversarials[~moved], x[~moved])


def test_noise_attack_matches_erfc_prediction_for_linear_model():
    model, w, _, x, score, y = linear_problem(40, 8, 8, _fresh_generator())
    sigma = float(score.abs().median() / w.norm())  # about a quarter of trials succeed
    trials = 2000
    result = noise_attack(model, x, y, sigma, trials, lo=None, hi=None, clip=False, seed=5)
    expected = torch.tensor([0.5 * math.erfc(float(m) / (sigma * float(w.norm()) * math.sqrt(2)))
                             for m in score.abs()]).mean()
    torch.testing.assert_close(result.predicted_rate[0], expected.float(), atol=1e-6, rtol=1e-5)
    std = math.sqrt(0.25 / (len(x) * trials))
    assert abs(float(result.trial_success_rate[0]) - float(expected)) < 6 * std


def test_noise_attack_on_trained_model(trained):
    model, x, y = trained
    result = noise_attack(model, x, y, [0.0, 0.05, 0.5], trials=8, seed=1)
    assert float(result.trial_success_rate[0]) == 0.0
    assert float(result.trial_success_rate[2]) >= float(result.trial_success_rate[1])
    assert result.fooled_any.shape == (3, len(x))
    summary = result.to_dict()
    assert len(summary["predicted_rate"]) == 3


# ---------------------------------------------------------------- what the attack leaves behind


def test_model_state_and_parameter_grads_are_restored():
    model = TinyCNN(dropout=0.3)
    x = torch.rand(8, 1, 12, 12)
    y = torch.randint(0, 4, (8,))
    F.cross_entropy(model(x), y).backward()  # leaves .grad on every parameter
    model.train()
    model.drop.eval()  # a mixed state must come back as it was
    model.conv.weight.requires_grad_(False)
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    modes = {n: m.training for n, m in model.named_modules()}
    pgd(model, x, y, [0.05, 0.1], steps=2)
    fgsm(model, x, y, 0.1)
    deepfool(model, x, y, steps=3)
    noise_attack(model, x, y, 0.1, trials=2)
    for n, p in model.named_parameters():
        assert torch.equal(p.grad, grads[n]), n
        assert p.requires_grad == flags[n], n
    assert {n: m.training for n, m in model.named_modules()} == modes


def test_attack_runs_in_eval_mode():
    seen = []

    class Probe(TinyCNN):
        def forward(self, x):
            seen.append(self.training)
            return super().forward(x)

    model = Probe(dropout=0.5).train()
    pgd(model, torch.rand(4, 1, 12, 12), torch.randint(0, 4, (4,)), 0.1, steps=2)
    assert seen and not any(seen)
    assert model.training


# ---------------------------------------------------------------- bad input


def _batch():
    return TinyCNN(), torch.rand(4, 1, 12, 12), torch.randint(0, 4, (4,))


@pytest.mark.parametrize("change, error, match", [
    (lambda m, x, y: (m, x * 2 + 0.1, y, {}), ValueError, "x must lie in"),
    (lambda m, x, y: (m, x - 0.5, y, {}), ValueError, "x must lie in"),
    (lambda m, x, y: (m, x, y, {"eps": -0.1}), ValueError, "eps must be >= 0"),
    (lambda m, x, y: (m, x, y[:3], {}), ValueError, "y must have shape"),
    (lambda m, x, y: (m, x, y.float(), {}), TypeError, "y must hold integer"),
    (lambda m, x, y: (m, x.long(), y, {}), TypeError, "x must be a real floating-point"),
    (lambda m, x, y: (m, x, y, {"restarts": 2}), ValueError, "random_start"),
    (lambda m, x, y: (m, x, y, {"steps": 0}), ValueError, "steps must be an integer >= 1"),
    (lambda m, x, y: (m, x, y, {"band": ("mid", 3)}), ValueError, "band"),
    (lambda m, x, y: (m, x, y, {"band": ("low", -1)}), ValueError, "band"),
    (lambda m, x, y: (m, x, y, {"eps": [0.1, 0.2], "alpha": [0.1, 0.2, 0.3]}), ValueError, "alpha"),
    (lambda m, x, y: (m, x, y, {"lo": 1.0, "hi": 0.0}), ValueError, "lo must be below hi"),
])
def test_pgd_rejects_bad_input(change, error, match):
    model, x, y, kwargs = change(*_batch())
    eps = kwargs.pop("eps", 0.1)
    with pytest.raises(error, match=match):
        pgd(model, x, y, eps, **kwargs)


def test_other_attacks_reject_bad_input():
    model, x, y = _batch()
    with pytest.raises(ValueError, match="norm"):
        deepfool(model, x, y, norm="l1")
    with pytest.raises(ValueError, match="x must lie in"):
        deepfool(model, x + 2, y)
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        noise_attack(model, x, y, -1.0)
    with pytest.raises(ValueError, match="trials"):
        noise_attack(model, x, y, 0.1, trials=0)
    with pytest.raises(ValueError, match="unknown attack"):
        robust_accuracy(model, [(x, y)], ["cw"], 0.1, progress=False)


def test_model_returning_probabilities_warns():
    model, x, y = _batch()
    softmaxed = nn.Sequential(model, nn.Softmax(dim=1))
    with pytest.warns(UserWarning, match="probabilities"):
        pgd(softmaxed, x, y, 0.1, steps=1)
    with pytest.warns(UserWarning, match="log-probabilities"):
        fgsm(nn.Sequential(model, nn.LogSoftmax(dim=1)), x, y, 0.1)


def test_model_with_wrong_output_shape_is_named():
    _, x, y = _batch()
    with pytest.raises(ValueError, match="model must return logits"):
        pgd(lambda images: images.sum(dim=(1, 2, 3)), x, y, 0.1)


# ---------------------------------------------------------------- data-set evaluation


def test_robust_accuracy_sums_batches(trained):
    model, x, y = trained
    loader = [(x[i:i + 32], y[i:i + 32]) for i in range(0, len(x), 32)]
    eps = (0.03, 0.1)
    report = robust_accuracy(model, loader, ["fgsm", "pgd"], eps, progress=False, steps=4, alpha=0.02)
    whole_fgsm = fgsm(model, x, y, eps)
    whole_pgd = pgd(model, x, y, eps, steps=4, alpha=0.02)
    assert report.n == len(x)
    assert report.clean_accuracy == pytest.approx(whole_pgd.clean_accuracy)
    assert report.accuracy("fgsm") == pytest.approx(list(whole_fgsm.robust_accuracy), abs=1 / len(x))
    assert report.accuracy("pgd") == pytest.approx(list(whole_pgd.robust_accuracy), abs=2 / len(x))
    assert set(report.to_dict()["robust_accuracy"]) == {"fgsm", "pgd"}


def _distributed_worker(rank, world, init_file, state, x, y, out):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        model = TinyCNN()
        model.load_state_dict(state)
        loader = [(x[i:i + 16], y[i:i + 16]) for i in range(0, len(x), 16)]
        report = robust_accuracy(model, loader, ["pgd"], (0.03, 0.1), progress=False, steps=3, alpha=0.02)
        torch.save(report.to_dict(), f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


def test_robust_accuracy_under_torch_distributed(trained, tmp_path):
    import torch.multiprocessing as mp

    model, x, y = trained
    state = model.state_dict()
    mp.spawn(_distributed_worker, args=(2, str(tmp_path / "init"), state, x, y, str(tmp_path / "report")),
             nprocs=2, join=True)
    single = robust_accuracy(model, [(x[i:i + 16], y[i:i + 16]) for i in range(0, len(x), 16)], ["pgd"],
                             (0.03, 0.1), progress=False, steps=3, alpha=0.02).to_dict()
    for rank in range(2):
        shard = torch.load(tmp_path / f"report.{rank}", weights_only=False)
        assert shard["n"] == len(x)
        assert shard["robust_accuracy"]["pgd"] == pytest.approx(single["robust_accuracy"]["pgd"], abs=1e-9)
        assert shard["clean_accuracy"] == pytest.approx(single["clean_accuracy"])


@pytest.mark.cuda
def test_pgd_on_cuda_matches_cpu(trained64):
    model, x, y = trained64
    cpu = pgd(model, x, y, [0.03, 0.08], alpha=0.01, steps=5, random_start=False)
    gpu = pgd(copy.deepcopy(model).cuda(), x.cuda(), y.cuda(), [0.03, 0.08], alpha=0.01, steps=5)
    assert torch.equal(cpu.fooled, gpu.fooled.cpu())
