"""FAB-T, Square and AutoAttack's standard suite, against closed forms: on a linear classifier the smallest L∞
perturbation that changes the class is known exactly, so a minimum-norm attack must find it (and can never beat
it), a random search must never claim less, and the suite's cascade must add up attack by attack."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from torch import nn

from hfc_fast.attacks import AUTOATTACK, apgd, fab, project_linf, robust_accuracy, square
from hfc_fast.errors import InputError

from attack_models import train_tiny_cnn


def linear_classifier(classes: int = 4, d: int = 36, seed: int = 0):
    """A linear classifier of 1×6×6 images and images well inside the box, with the exact smallest L∞ distance
    of each image to another class: min over t ≠ y of (z_y − z_t) / ‖w_y − w_t‖₁ (the box never binds)."""
    g = torch.Generator().manual_seed(seed)
    weight, bias = torch.randn(classes, d, generator=g, dtype=torch.float64), 0.1 * torch.randn(classes, generator=g,
                                                                                                  dtype=torch.float64)
    model = nn.Sequential(nn.Flatten(), nn.Linear(d, classes)).double()
    with torch.no_grad():
        model[1].weight.copy_(weight)
        model[1].bias.copy_(bias)
    x = 0.35 + 0.3 * torch.rand(80, 1, 6, 6, generator=g, dtype=torch.float64)
    with torch.no_grad():
        z = model(x)
    y = z.argmax(1)
    distance = torch.full((len(x),), float("inf"), dtype=torch.float64)
    for t in range(classes):
        gap = (z.gather(1, y[:, None]).squeeze(1) - z[:, t]) / (weight[y] - weight[t]).abs().sum(1)
        distance = torch.where(y == t, distance, torch.minimum(distance, gap))
    return model, x, y, distance


def test_the_linf_projection_onto_a_hyperplane_in_a_box_is_the_linear_programs_optimum():
    from scipy.optimize import linprog

    g = torch.Generator().manual_seed(3)
    for _ in range(20):
        d = 7
        p = torch.rand(1, d, generator=g, dtype=torch.float64)
        w = torch.randn(1, d, generator=g, dtype=torch.float64)
        b = (w * torch.rand(1, d, generator=g, dtype=torch.float64)).sum(1)  # a hyperplane that meets the box
        got = project_linf(p, w, b, 0.0, 1.0)[0]
        # minimise t over (delta, t): -t <= delta_i <= t, w·(p + delta) = b, 0 <= p + delta <= 1
        c = np.r_[np.zeros(d), 1.0]
        a_ub = np.block([[np.eye(d), -np.ones((d, 1))], [-np.eye(d), -np.ones((d, 1))]])
        bounds = [(-pi, 1 - pi) for pi in p[0].tolist()] + [(0, None)]
        lp = linprog(c, A_ub=a_ub, b_ub=np.zeros(2 * d), A_eq=np.r_[w[0].numpy(), 0.0][None, :],
                     b_eq=[float(b - (w * p).sum())], bounds=bounds)
        assert lp.status == 0
        assert abs(float(got.abs().max()) - lp.fun) < 1e-9
        assert abs(float((w[0] * (p[0] + got)).sum() - b)) < 1e-9
        assert bool(((p[0] + got) >= -1e-12).all() and ((p[0] + got) <= 1 + 1e-12).all())


def test_fab_finds_the_closest_adversarial_of_a_linear_classifier():
    model, x, y, distance = linear_classifier()
    result = fab(model, x, y, [0.001], steps=50, early_exit=False)
    norms = torch.tensor(result.method["norms"], dtype=torch.float64)
    assert bool((norms >= distance - 1e-9).all())  # no attack beats the true distance
    assert bool((norms <= distance * 1.01 + 1e-9).all())  # and FAB finds it within 1 %
    eps = sorted(float(e) for e in distance.quantile(torch.tensor([0.2, 0.5, 0.8], dtype=torch.float64)) * 1.02)
    quick = fab(model, x, y, eps, steps=50)  # early exit, every ε from one run
    within = distance[None, :] <= torch.tensor(eps, dtype=torch.float64)[:, None]
    assert bool((quick.fooled <= within).all())  # sound: fooled only where the true distance allows it
    near = distance[None, :] * 1.05 >= torch.tensor(eps, dtype=torch.float64)[:, None]
    assert bool((~quick.fooled <= near).all())  # complete but for η = 1.05's overshoot of 5 % at most


def plain_fab(model, x, y, steps: int, targets: int):
    """FAB-T written as the published algorithm reads, one image at a time: per target, from x_0, a forward and
    a backward for the boundary, the biased step, then a forward to check the new point."""
    from hfc_fast.attacks.fab import ALPHA_MAX, BETA, ETA

    norms = []
    for x0, label in zip(x, y, strict=True):
        x0 = x0[None]
        with torch.no_grad():
            clean = model(x0)[0]
        if int(clean.argmax()) != int(label):
            norms.append(0.0)
            continue
        ranked = clean.clone()
        ranked[label] = float("-inf")
        best = float("inf")
        for t in ranked.argsort(descending=True)[:targets].tolist():
            z = x0.clone()
            for _ in range(steps):
                u = z.clone().requires_grad_(True)
                out = model(u)[0]
                g = out[label] - out[t]
                (w,) = torch.autograd.grad(g, u)
                w = w.flatten(1)
                b = (w * z.flatten(1)).sum(1) - g.detach()
                d_z = project_linf(z.flatten(1), w, b, 0.0, 1.0).view_as(z)
                d_0 = project_linf(x0.flatten(1), w, b, 0.0, 1.0).view_as(z)
                n_z, n_0 = max(float(d_z.abs().max()), 1e-8), max(float(d_0.abs().max()), 1e-8)
                alpha = min(n_z / (n_z + n_0), ALPHA_MAX)
                z = ((1 - alpha) * (z + ETA * d_z) + alpha * (x0 + ETA * d_0)).clamp(0.0, 1.0)
                with torch.no_grad():
                    wrong = int(model(z)[0].argmax()) != int(label)
                if wrong:
                    best = min(best, float((z - x0).abs().max()))
                    z = x0 + BETA * (z - x0)
        norms.append(best)
    return torch.tensor(norms, dtype=torch.float64)


def test_fab_is_the_published_algorithm_written_plainly():
    model, x, y = train_tiny_cnn(steps=60, seed=int(torch.randint(0, 2**31, ())))
    model = model.double()
    x = x[:24].double()
    y = y[:24]
    result = fab(model, x, y, [0.05], steps=12, target_classes=3, early_exit=False)
    norms = torch.tensor(result.method["norms"], dtype=torch.float64)
    expected = plain_fab(model, x, y, steps=12, targets=3)
    assert torch.equal(torch.isinf(norms), torch.isinf(expected))
    finite = torch.isfinite(expected)
    torch.testing.assert_close(norms[finite], expected[finite], rtol=1e-9, atol=1e-12)
    runs = int(result.clean_correct.sum()) * 3  # without early exit every target runs every step
    assert result.forwards == len(x) + runs * 2 * 12 and result.backwards == runs * 12


def test_square_never_claims_an_image_a_linear_classifier_keeps_and_finds_the_easy_ones():
    model, x, y, distance = linear_classifier(seed=1)
    eps = [float(distance.median()) * 0.5, float(distance.median()) * 2.0]
    result = square(model, x, y, eps, queries=400, return_adversarials=True)
    for k, e in enumerate(eps):
        assert not bool((result.fooled[k] & (distance > e)).any())  # sound: never below the true distance
        adv = result.adversarials[k][result.fooled[k]]
        if len(adv):
            assert float((adv - x[result.fooled[k]]).abs().amax()) <= e + 1e-12
            with torch.no_grad():
                assert bool((model(adv).argmax(1) != y[result.fooled[k]]).all())
    # an image whose distance is well within ε is found (a linear margin falls at every accepted square)
    assert bool(result.fooled[1][distance < eps[1] / 2].all())
    assert result.backwards == 0


def test_square_is_seeded_and_counts_its_queries():
    model, x, y, _ = linear_classifier(seed=2)
    a = square(model, x, y, [0.02], queries=50, seed=4)
    b = square(model, x, y, [0.02], queries=50, seed=4)
    assert torch.equal(a.fooled, b.fooled) and a.forwards == b.forwards
    assert a.forwards <= len(x) * 51  # the clean pass, then at most 50 queries per image


def paper_window_share(proposal: int, budget: int, p_init: float = 0.8) -> float:
    """The Square Attack paper's schedule for 10,000 queries, read at ``proposal`` (from 0) of ``budget``:
    p_init, halved after proposals 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000."""
    at = int(proposal / budget * 10000)
    share = p_init
    for mark in (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000):
        if at > mark:
            share /= 2
    return share


def plain_square(model, x0, label, eps: float, queries: int, schedule: int, seed: int):
    """Square L∞ on one image, as the paper reads, with the attack's draws (one generator, in its order): the
    stripes start, then per proposal a window of side round(sqrt(p·H·W)) at a uniform position, a random ±ε per
    channel relative to x0 (drawn again once when the window holds it already), kept when the margin falls.
    Returns (fooled, the point kept, queries made)."""
    g = torch.Generator().manual_seed(seed)

    def signs(*shape):
        return torch.where(torch.rand(shape, generator=g) < 0.5, -1.0, 1.0).to(x0.dtype)

    def margin_of(z):
        with torch.no_grad():
            out = model(z[None])[0]
        others = out.clone()
        others[label] = float("-inf")
        return float(out[label] - others.max())

    c, h, w = x0.shape
    z = (x0 + eps * signs(1, c, 1, w)[0]).clamp(0, 1)
    best, made = margin_of(z), 1
    if best < 0:
        return True, z, made
    for proposal in range(queries - 1):
        side = min(max(round(math.sqrt(paper_window_share(proposal, schedule) * h * w)), 1), h - 1)
        top = min(int(float(torch.rand(1, generator=g)) * (h - side + 1)), h - side)
        left = min(int(float(torch.rand(1, generator=g)) * (w - side + 1)), w - side)
        sign = signs(1, c, 1, 1)[0]
        window = (slice(None), slice(top, top + side), slice(left, left + side))
        if bool(((z - x0)[window] - eps * sign).abs().le(1e-7 * eps).all()):
            sign = signs(1, c, 1, 1)[0]
        proposal_point = z.clone()
        proposal_point[window] = (x0 + eps * sign).clamp(0, 1)[window]
        value = margin_of(proposal_point)
        made += 1
        if value < best:
            z, best = proposal_point, value
        if best < 0:
            return True, z, made
    return False, z, made


def test_square_is_the_published_random_search_written_plainly():
    from hfc_fast.attacks.square import square_window_share

    for budget in (5001, 10000, 300, int(torch.randint(20, 20000, ()))):
        for proposal in [0, 10, 11, 50, 51, 4000, 4001, budget - 2, int(torch.randint(0, budget, ()))]:
            assert square_window_share(proposal, budget) == paper_window_share(proposal, budget)
    model, x, y = train_tiny_cnn(steps=40, seed=int(torch.randint(0, 2**31, ())))
    model = model.double()
    x = x.double()
    eps, queries = 0.06, 160
    for i in range(12):
        seed = int(torch.randint(0, 2**31, ()))
        for schedule in (None, 10000):  # scaled to the budget (the paper's code), and AutoAttack's unscaled
            got = square(model, x[i:i + 1], y[i:i + 1], [eps], queries=queries, schedule_queries=schedule, seed=seed,
                         return_adversarials=True)
            with torch.no_grad():
                clean_wrong = int(model(x[i:i + 1]).argmax()) != int(y[i])
            if clean_wrong:
                assert bool(got.fooled[0, 0]) and got.forwards == 1
                continue
            fooled, point, made = plain_square(model, x[i], int(y[i]), eps, queries, schedule or queries, seed)
            assert bool(got.fooled[0, 0]) == fooled
            assert torch.equal(got.adversarials[0, 0], point)
            assert got.forwards == 1 + made  # the clean pass, then each query


def test_band_limited_square_and_fab_stay_in_their_band():
    from hfc_fast.frequency import frequency_split

    model, x, y = train_tiny_cnn(steps=60, seed=0)
    for attack in (functools.partial(square, queries=60), functools.partial(fab, steps=10)):
        result = attack(model, x, y, [0.1], band=("low", 3), return_adversarials=True)
        delta = result.adversarials[0] - x
        low, high = frequency_split(delta, 3)
        moved = result.fooled[0] & ~(~result.clean_correct)
        if bool(moved.any()):  # what stays out of the band is the box's clipping alone
            assert float(high[moved].abs().max()) <= float(low[moved].abs().max()) + 1e-6


def test_autoattack_is_the_standard_suite_as_a_cascade_and_two_calls_agree():
    model, x, y = train_tiny_cnn(steps=80, seed=1)
    batches = [(x[:30], y[:30]), (x[30:], y[30:])]
    fast = {"apgd-ce": functools.partial(AUTOATTACK["apgd-ce"], steps=10),
            "apgd-t": functools.partial(AUTOATTACK["apgd-t"], steps=10, target_classes=3),
            "fab-t": functools.partial(AUTOATTACK["fab-t"], steps=10, target_classes=3),
            "square": functools.partial(AUTOATTACK["square"], queries=100)}
    assert list(AUTOATTACK) == ["apgd-ce", "apgd-t", "fab-t", "square"]
    report = robust_accuracy(model, batches, fast, [0.05, 0.1], cascade=True, progress=False)
    again = robust_accuracy(model, batches, fast, [0.05, 0.1], cascade=True, progress=False)
    assert report == again
    # each attack's new fools, added up, are the clean-correct images the suite fooled
    fooled = [report.clean_correct - w for w in report.worst_count]
    assert [sum(report.new_count[a][k] for a in fast) for k in range(2)] == fooled
    mask = report.robust_mask()
    assert mask.shape == (2, len(x)) and mask.sum(1).tolist() == report.worst_count


@pytest.mark.parametrize("kind", ["taking upto", "callables"])
def test_the_cascade_attacks_each_image_at_the_radii_it_is_still_robust_at(kind):
    """The per-image worst case, image by image, is each attack's in turn on what the ones before left, the
    attacks here deterministic so that one call with ``upto=`` and one call per depth must agree exactly."""
    from hfc_fast.attacks import fgsm, pgd

    model, x, y = train_tiny_cnn(steps=80, seed=int(torch.randint(0, 1000, ())))
    batches = [(x[:30], y[:30]), (x[30:64], y[30:64])]
    eps = [0.03, 0.06, 0.1]
    attacks = {"fgsm": fgsm, "pgd": functools.partial(pgd, steps=4, alpha=0.02),
               "fab-t": functools.partial(fab, steps=8, target_classes=3)}
    if kind == "callables":  # a caller's own attacks, without upto=: one call per depth
        attacks = {n: (lambda model, x, y, eps, a=a: a(model, x, y, eps)) for n, a in attacks.items()}
    report = robust_accuracy(model, batches, attacks, eps, cascade=True, progress=False)
    assert torch.equal(report.robust_mask(), plain_cascade(model, batches, attacks, eps))


def test_nested_balls_attacks_an_image_only_within_its_count():
    from hfc_fast.attacks.result import nested_balls

    calls = []

    def attack_ball(k, run, idx, row, adv):
        calls.append((k, run, idx.tolist()))
        if k == 1 and 0 in idx.tolist():
            row[0] = True

    x = torch.zeros(4, 1, 2, 2)
    clean_fooled = torch.tensor([False, False, False, True])
    upto = torch.tensor([3, 1, 0, 2])
    fooled, _ = nested_balls(x, clean_fooled, (0.1, 0.2, 0.3), runs=2, early_exit=True, return_adversarials=False,
                             attack_ball=attack_ball, upto=upto)
    assert calls == [(0, 0, [0, 1]), (0, 1, [0, 1]), (1, 0, [0])]
    assert fooled.T.tolist() == [[False, True, True], [False] * 3, [False] * 3, [True] * 3]
    calls.clear()
    nested_balls(x, clean_fooled, (0.1, 0.2, 0.3), runs=1, early_exit=False, return_adversarials=False,
                 attack_ball=attack_ball, upto=upto)
    assert calls == [(0, 0, [0, 1, 3]), (1, 0, [0, 3]), (2, 0, [0])]


def test_fab_searches_alike_whatever_the_count_and_carries_the_largest_counted_radius():
    model, x, y = train_tiny_cnn(steps=60, seed=int(torch.randint(0, 1000, ())))
    x, y = x[:40], y[:40]
    eps = [0.03, 0.06, 0.1]
    upto = torch.randint(0, 4, (40,))
    full = fab(model, x, y, eps, steps=8, target_classes=3)
    counted = fab(model, x, y, eps, steps=8, target_classes=3, upto=upto)
    for i in range(40):
        m = int(upto[i])
        expect = full.fooled[:m, i].tolist() + [bool(full.fooled[m - 1, i]) if m else not bool(full.clean_correct[i])] \
            * (3 - m)
        assert counted.fooled[:, i].tolist() == expect, i
    assert counted.forwards <= full.forwards


@pytest.mark.parametrize("name", ["fgsm", "pgd", "apgd-ce", "fab-t", "square"])
@pytest.mark.parametrize(("upto", "error", "message"), [
    (torch.ones(4), TypeError, "upto must be a tensor of integer radius counts, got torch.float32"),
    ([1, 1, 1, 1], TypeError, "upto must be a tensor of integer radius counts, got list"),
    (torch.tensor([1, 1, 1]), InputError, r"upto must have shape \(4,\), one count per image of x, got \(3,\)"),
    (torch.tensor([0, 1, 3, 1]), InputError, r"upto must count radii in \[0, 2\], got values from 0 to 3"),
])
def test_a_bad_upto_is_named(name, upto, error, message):
    from hfc_fast.attacks import ATTACKS

    model, x, y = train_tiny_cnn(steps=5, seed=0)
    with pytest.raises(error, match=message):
        ATTACKS[name](model, x[:4], y[:4], [0.05, 0.1], upto=upto)


def plain_cascade(model, batches, attacks: dict, eps: list) -> torch.Tensor:
    """AutoAttack's cascade written plainly: (E, N) robust to every attack. The first attack runs on every
    image at every radius; after it, an image whose largest radius still robust is eps[m - 1] is attacked at
    eps[:m] only (AutoAttack attacks per ε what is robust at it), the images of one depth of a batch together."""
    n = sum(len(yb) for _, yb in batches)
    alive = torch.ones(len(eps), n, dtype=torch.bool)
    for a, attack in enumerate(attacks.values()):
        first = 0
        for xb, yb in batches:
            rows = alive[:, first:first + len(yb)]
            depth = torch.tensor([max([m + 1 for m in range(len(eps)) if rows[m, i]], default=0)
                                  for i in range(len(yb))]) if a else torch.full((len(yb),), len(eps))
            for m in range(1, len(eps) + 1):
                idx = (depth == m).nonzero().squeeze(1)
                if len(idx):
                    alive[:m, first + idx] &= ~attack(model, xb[idx], yb[idx], eps[:m]).fooled
            first += len(yb)
    return alive


def test_table2_with_the_suite_has_its_own_columns_and_the_worst_case_of_the_cascade():
    from hfc_fast.experiments.commands.robustness import attack_callables, table_row

    model, x, y = train_tiny_cnn(steps=60, seed=int(torch.randint(0, 1000, ())))
    batches = [(x[:24], y[:24]), (x[24:48], y[24:48])]
    eps = [0.04, 0.08, 0.12]
    own = attack_callables({"fgsm": "fgsm", "pgd": "pgd"}, 3, 5)  # Table 2's PGD: steps of ε/4 at each radius
    cascade = {**own, "fab-t": functools.partial(AUTOATTACK["fab-t"], steps=5, target_classes=3)}  # deterministic
    row = table_row("natural", 0.5, model, batches, own, eps, cascade=cascade, progress=False)
    assert (row.model, row.rho, row.n) == ("natural", 0.5, 48)
    assert row.clean == float((model(x[:48]).argmax(1) == y[:48]).double().mean())
    for name, attack in own.items():  # a column: the attack alone on every image
        alone = torch.cat([~attack(model, xb, yb, eps).fooled for xb, yb in batches], 1)
        assert row.accuracy[name] == (alone.sum(1).double() / 48).tolist(), name
    worst = plain_cascade(model, batches, cascade, eps)
    assert row.accuracy["worst"] == (worst.sum(1).double() / 48).tolist()
    assert list(row.found) == list(cascade) and set(row.accuracy) == {"fgsm", "pgd", "worst"}
    clean = int((model(x[:48]).argmax(1) == y[:48]).sum())
    assert [sum(c[k] for c in row.found.values()) for k in range(3)] == (clean - worst.sum(1)).tolist()


def test_the_preset_keeps_its_budgets_and_is_seeded():
    model, x, y = train_tiny_cnn(steps=40, seed=2)
    x, y = x[:6], y[:6]
    report = robust_accuracy(model, (x, y), "autoattack", [0.3], progress=False)
    assert report.cascade and list(report.robust_count) == list(AUTOATTACK)
    direct = AUTOATTACK["apgd-ce"](model, x, y, [0.3])
    assert report.forwards["apgd-ce"] == direct.forwards and direct.method["steps"] == 100
    assert robust_accuracy(model, (x, y), "autoattack", [0.3], progress=False) == report


@pytest.mark.parametrize("given", [{"steps": 3}, {"queries": 2, "target_classes": 3}, {"loss": "ce"}])
def test_the_preset_refuses_keywords_that_would_change_its_budgets(given):
    model, x, y = train_tiny_cnn(steps=10, seed=2)
    names = ", ".join(f"{k}=" for k in sorted(given))
    with pytest.raises(InputError, match=f"^{names}: the 'autoattack' preset keeps AutoAttack's budgets"):
        robust_accuracy(model, (x[:4], y[:4]), "autoattack", [0.1], progress=False, **given)


def test_the_presets_seed_reaches_its_random_members():
    from hfc_fast.attacks.evaluate import prepared_attacks

    model, x, y = train_tiny_cnn(steps=40, seed=5)
    x, y = x[:6], y[:6]
    seed = int(torch.randint(1, 1000, ()))
    resolved, cascade = prepared_attacks("autoattack", seed=seed)
    assert cascade and list(resolved) == list(AUTOATTACK)
    mine = resolved["square"](model, x, y, [0.02], return_adversarials=True).adversarials[0]
    plain = square(model, x, y, [0.02], queries=5001, schedule_queries=10000, p_init=0.8, seed=seed,
                   return_adversarials=True).adversarials[0]
    assert torch.equal(mine, plain)
    other = square(model, x, y, [0.02], queries=5001, schedule_queries=10000, p_init=0.8, seed=seed + 1,
                   return_adversarials=True)
    assert not torch.equal(mine, other.adversarials[0])  # another seed draws other squares
    start = resolved["apgd-ce"](model, x, y, [0.02], return_adversarials=True).adversarials[0]
    assert torch.equal(start, apgd(model, x, y, [0.02], loss="ce", steps=100, seed=seed,
                                   return_adversarials=True).adversarials[0])


def test_a_surface_of_other_attacks_is_each_bands_worst_case_over_them():
    from hfc_fast.attacks import robustness_surface

    model, x, y = train_tiny_cnn(steps=60, seed=3)
    x, y = x[:24], y[:24]
    eps, radii = [0.05, 0.12], [3.0]
    fast = {"apgd-ce": functools.partial(AUTOATTACK["apgd-ce"], steps=6),
            "square": functools.partial(AUTOATTACK["square"], queries=40)}
    surface = robustness_surface(model, [(x, y)], eps, radii, attacks=fast, progress=False)
    for kind, band, cell in [("full", None, surface["full"]), ("low", ("low", 3.0), surface["low"]["3"]),
                             ("high", ("high", 3.0), surface["high"]["3"])]:
        alive = torch.ones(len(eps), len(x), dtype=torch.bool)
        for attack in fast.values():  # no cascade: each attack on every image of the one batch
            alive &= ~attack(model, x, y, eps, band=band).fooled
        assert cell == (alive.sum(1).double() / len(x)).tolist(), kind
    assert surface["clean"] == float((model(x).argmax(1) == y).double().mean())


def test_a_surface_refuses_an_unknown_attack_naming_it():
    from hfc_fast.attacks import robustness_surface

    model, x, y = train_tiny_cnn(steps=20, seed=4)
    with pytest.raises(InputError, match="attacks: unknown attack 'cw'"):
        robustness_surface(model, (x[:4], y[:4]), [0.1], [3.0], attacks=["cw"], progress=False)
    with pytest.raises(InputError, match="attacks: 'mine' takes no band= argument"):
        robustness_surface(model, (x[:4], y[:4]), [0.1], [3.0], attacks={"mine": lambda m, x, y, eps: None},
                           progress=False)


@pytest.mark.parametrize("loss", ["dlr", "dlr-targeted"])
def test_a_two_class_model_with_a_dlr_loss_is_one_line(loss):
    from hfc_fast.attacks import apgd

    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    with pytest.raises(InputError, match=f"loss '{loss}' needs a model of at least"):
        apgd(model, torch.rand(3, 1, 4, 4), torch.zeros(3, dtype=torch.long), 0.1, loss=loss, steps=2)


def test_bad_square_and_fab_settings_are_named():
    model, x, y, _ = linear_classifier()
    with pytest.raises(InputError, match="queries must be an integer >= 1, got 0"):
        square(model, x, y, 0.1, queries=0)
    with pytest.raises(InputError, match=r"p_init must be a number in \(0, 1\], got 2"):
        square(model, x, y, 0.1, p_init=2)
    with pytest.raises(InputError, match="schedule_queries must be an integer >= 1, got 2.5"):
        square(model, x, y, 0.1, schedule_queries=2.5)
    with pytest.raises(InputError, match="target_classes must be an integer >= 1"):
        fab(model, x, y, 0.1, target_classes=0)
