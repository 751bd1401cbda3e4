"""AutoAttack's standard suite: hfc_fast's preset against torchattacks' AutoAttack, on a natural and an
adversarially trained model, in the same run.

    pip install torchattacks==3.5.1           # a benchmark-only dependency
    python benchmarks/autoattack_vs_torchattacks.py --images 300

The natural model is benchmarks/attacks.py's Fashion-MNIST CNN; the robust one is the same CNN adversarially
trained as the demo trains it (PGD ε = 0.03, 10 steps of ε/10, no random start, Adam 1e-3), cached in
``benchmarks/.cache``. For each model and ε: robust accuracy and wall time of torchattacks'
suite (one ε per call, as its API takes) and of
``robust_accuracy(model, batches, "autoattack", eps)`` (every ε in one call, cascade, early exit, nested
balls), and the same for each member of the suite against its torchattacks counterpart (APGD, APGDT, FAB
targeted, Square). Both sides run the published budgets (100 steps, 9 targets, 5,000 queries): torchattacks'
suite is its ``MultiAttack`` of those members, because its ``AutoAttack(version="standard")`` gives APGD,
APGD-T and FAB their default 10 steps and Square its schedule scaled to the budget, where AutoAttack's code
reads it unscaled. The passes each of ours made are counted, so the table also says how
far our time is from the model's own time for those passes, and how fast both tools could be at best: the
model's time for the passes the suite needs (ours) against torchattacks' wall time.

Each model is run twice by both tools (``--layouts``): as given (NCHW), and as a channels-last copy on
channels-last images (``PassSettings(channels_last=True)`` for ours; the same copy and images for
torchattacks), where the CPU's max-pooling and convolutions are faster. Writes
``benchmarks/results/autoattack-<machine>.{json,md}``.
"""

from __future__ import annotations

import argparse
import copy
import functools
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hfc_fast import PassSettings  # noqa: E402
from hfc_fast.attacks import AUTOATTACK, robust_accuracy  # noqa: E402
from hfc_fast.data.idx import load_fashion_mnist  # noqa: E402

from attacks import EPS, trained_model  # noqa: E402
from pass_floor import best_rate  # noqa: E402
from run import machine_name, save_results  # noqa: E402


def robust_model(epochs: int, images: int, seed: int = 0):
    """The small CNN adversarially trained as the demo trains it, cached on disk."""
    return trained_model(epochs, seed, adversarial=True, images=images)


def torchattacks_members(seed: int = 0) -> dict:
    """name -> ``make(model, eps)``: torchattacks' members of the standard suite at the published budgets."""
    import torchattacks

    return {
        "apgd-ce": lambda m, e: torchattacks.APGD(m, eps=e, steps=100, n_restarts=1, loss="ce", seed=seed),
        "apgd-t": lambda m, e: torchattacks.APGDT(m, eps=e, steps=100, n_restarts=1, n_classes=10, seed=seed),
        "fab-t": lambda m, e: torchattacks.FAB(m, eps=e, steps=100, n_restarts=1, multi_targeted=True, n_classes=10,
                                               seed=seed),
        # AutoAttack's own code reads Square's window schedule unscaled (resc_schedule=False); torchattacks'
        # AutoAttack keeps Square's default, the schedule scaled to 5,000 queries, so it is set here
        "square": lambda m, e: torchattacks.Square(m, eps=e, n_queries=5000, n_restarts=1, seed=seed,
                                                   resc_schedule=False)}


def theirs(make, model, batches, eps_list) -> tuple[list[float], float]:
    """torchattacks: one ε per attack object, robust accuracy on the images it returns."""
    correct, n = [0] * len(eps_list), 0
    start = time.perf_counter()
    for k, eps in enumerate(eps_list):
        attack = make(model, eps)
        for x, y in batches:
            adv = attack(x, y)
            with torch.no_grad():
                correct[k] += int((model(adv).argmax(1) == y).sum())
            n += len(y) if k == 0 else 0
    return [c / n for c in correct], time.perf_counter() - start


def ours(attacks, model, batches, eps_list, *, channels_last: bool) -> tuple[list[float], float, int, int]:
    start = time.perf_counter()
    report = robust_accuracy(model, batches, attacks, eps_list, settings=PassSettings(channels_last=channels_last))
    seconds = time.perf_counter() - start
    return report.worst_case, seconds, sum(report.forwards.values()), sum(report.backwards.values())


def main(argv=None) -> int:
    import torchattacks

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--batch", type=int, default=150)
    parser.add_argument("--epochs", type=int, default=10, help="training epochs of the natural CNN")
    parser.add_argument("--adv-epochs", type=int, default=2)
    parser.add_argument("--adv-images", type=int, default=20000)
    parser.add_argument("--members", action="store_true", help="also each member against its counterpart")
    parser.add_argument("--layouts", nargs="+", choices=("as-given", "channels-last"),
                        default=["as-given", "channels-last"],
                        help="as-given (NCHW) and/or channels-last (default both)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    x, y = load_fashion_mnist(split="test")
    x, y = x[:args.images], y[:args.images]
    batches = [(x[i:i + args.batch], y[i:i + args.batch]) for i in range(0, len(x), args.batch)]
    models = {"natural": trained_model(args.epochs), "adversarial": robust_model(args.adv_epochs, args.adv_images)}
    members = torchattacks_members()
    # the standard suite at its published budgets: torchattacks' own AutoAttack(version="standard") builds its
    # members with their defaults (10 steps for APGD, APGD-T and FAB), so the cascade is built here from them
    suite = {"autoattack": ("autoattack", lambda m, e: torchattacks.MultiAttack([make(m, e) for make in
                                                                                  members.values()]))}
    if args.members:
        suite.update({name: ({name: functools.partial(AUTOATTACK[name])}, make) for name, make in members.items()})
    rows = []
    for model_name, model in models.items():
        for layout in args.layouts:
            cl = layout == "channels-last"
            net = copy.deepcopy(model).to(memory_format=torch.channels_last) if cl else model
            shaped = [(xb.contiguous(memory_format=torch.channels_last), yb) for xb, yb in batches] if cl \
                else batches
            f_rate = best_rate(net, shaped[0][0], shaped[0][1], grad=False)
            g_rate = best_rate(net, shaped[0][0], shaped[0][1], grad=True)
            for name, (mine, make) in suite.items():
                acc_t, t_t = theirs(make, net, shaped, EPS)
                acc_o, t_o, fwd, bwd = ours(mine, model, batches, EPS, channels_last=cl)
                floor = (fwd - bwd) / f_rate + bwd / g_rate
                rows.append({"model": model_name, "layout": layout, "attack": name, "torchattacks": acc_t,
                             "hfc_fast": acc_o, "torchattacks_seconds": t_t, "hfc_fast_seconds": t_o,
                             "speedup": t_t / t_o, "forwards": fwd, "gradients": bwd, "floor_seconds": floor,
                             "over_floor": t_o / floor, "best_speedup": t_t / floor,
                             "max_gap_points": max(100 * (a - b) for a, b in zip(acc_o, acc_t, strict=True))})
                print(rows[-1], flush=True)
    machine = machine_name("cpu")
    lines = [f"# AutoAttack: hfc_fast against torchattacks {torchattacks.__version__} ({machine})", "",
             f"{args.images} Fashion-MNIST test images in batches of {args.batch}, ε = {', '.join(map(str, EPS))}; "
             "robust accuracy per ε (ours: the per-image worst case of the cascade), wall time for all ε, and our "
             "time over the model's own time for the passes we made (floor); the last column is torchattacks' "
             "time over that floor, the most any tool running the suite's passes could gain. Both tools get the "
             "same model and images in each layout.", "",
             "| model | layout | attack | torchattacks | hfc_fast | gap (points, ours − theirs, max) | "
             "torchattacks s | hfc_fast s | speed-up | over floor | at best |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['layout']} | {r['attack']} | "
                     f"{' / '.join(f'{v:.3f}' for v in r['torchattacks'])} | "
                     f"{' / '.join(f'{v:.3f}' for v in r['hfc_fast'])} | {r['max_gap_points']:+.2f} | "
                     f"{r['torchattacks_seconds']:.1f} | {r['hfc_fast_seconds']:.1f} | **{r['speedup']:.2f}×** | "
                     f"{r['over_floor']:.2f} | {r['best_speedup']:.2f}× |")
    payload = {"machine": machine, "torch": torch.__version__, "torchattacks": torchattacks.__version__,
               "images": args.images, "batch": args.batch, "eps": list(EPS), "rows": rows}
    return save_results(f"autoattack-{machine}", payload, "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
