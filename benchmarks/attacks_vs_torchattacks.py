"""APGD and PGD of hfc_fast against torchattacks itself, in the same run.

    pip install torchattacks==3.5.1           # a benchmark-only dependency
    python benchmarks/attacks_vs_torchattacks.py
    python benchmarks/attacks_vs_torchattacks.py --device cuda --model resnet18 --size 32 --images 10000

The same trained Fashion-MNIST CNN as benchmarks/attacks.py, 2,000 test images
in batches of 250, ε ∈ {0.03, 0.06, 0.09}. torchattacks attacks one ε at a time,
as its API requires, every image through every step, and its robust accuracy
is the accuracy on the returned (final) images; hfc_fast attacks every ε in one
call with early exit and nested balls and counts an image fooled at any fooling
iterate. Settings match: APGD-CE and APGD-DLR with the same iterations, one
restart, ρ = 0.75; PGD with random start, step ε/4. The table gives wall time
for the whole set of ε and robust accuracy per ε. Writes
``benchmarks/results/attacks-vs-torchattacks-<model>-<machine>.{json,md}``.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hfc_fast.attacks import apgd, pgd  # noqa: E402
from hfc_fast.data.idx import load_fashion_mnist  # noqa: E402
from hfc_fast.models import build_model  # noqa: E402

from attacks import trained_model  # noqa: E402
from run import machine_name, save_results  # noqa: E402

EPS = (0.03, 0.06, 0.09)


def torchattacks_accuracy(attack_cls, model, batches, eps_list, **kwargs) -> tuple[list[float], float]:
    """Robust accuracy per ε of torchattacks' final images, and the wall time of all ε."""
    correct = [0] * len(eps_list)
    n = 0
    start = time.perf_counter()
    for k, eps in enumerate(eps_list):
        extra = {"alpha": eps / 4} if "alpha" in kwargs else {}
        attack = attack_cls(model, eps=eps, **{**kwargs, **extra})
        for x, y in batches:
            adv = attack(x, y)
            with torch.no_grad():
                correct[k] += int((model(adv).argmax(1) == y).sum())
            n += len(y) if k == 0 else 0
    _sync()
    return [c / n for c in correct], time.perf_counter() - start


def ours_accuracy(attack, model, batches, eps_list) -> tuple[list[float], float]:
    robust = [0] * len(eps_list)
    n = 0
    start = time.perf_counter()
    for x, y in batches:
        result = attack(model, x, y, list(eps_list))
        robust = [a + int(b) for a, b in zip(robust, (~result.fooled).sum(1).tolist(), strict=True)]
        n += len(y)
    _sync()
    return [r / n for r in robust], time.perf_counter() - start


def _sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def cifar_size_model(name: str, size: int, device) -> torch.nn.Module:
    """A model of the zoo on Fashion-MNIST resized to size×size RGB, trained for one epoch."""
    x, y = load_fashion_mnist(split="train")
    x = F.interpolate(x, size=size, mode="bilinear").clamp(0, 1).repeat(1, 3, 1, 1).to(device)
    torch.manual_seed(0)
    model = build_model(name, in_channels=3, image_size=size).to(device)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    for start in range(0, len(x), 128):
        loss = F.cross_entropy(model(x[start:start + 128]), y[start:start + 128].to(device))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def main(argv=None) -> int:
    import torchattacks

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--steps", type=int, default=20, help="APGD iterations and PGD steps (default 20)")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs of the small CNN")
    parser.add_argument("--model", default="small_cnn", help="small_cnn, or a zoo model trained here (resnet18)")
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds (median reported)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    x, y = load_fashion_mnist(split="test")
    x, y = x[:args.images], y[:args.images]
    if args.model == "small_cnn":
        model = trained_model(args.epochs).to(device)
    else:
        model = cifar_size_model(args.model, args.size, device)
        x = F.interpolate(x, size=args.size, mode="bilinear").clamp(0, 1).repeat(1, 3, 1, 1)
    for p in model.parameters():
        p.requires_grad_(False)
    batches = [(x[i:i + args.batch].to(device), y[i:i + args.batch].to(device)) for i in range(0, len(x), args.batch)]
    s = args.steps
    contenders = {
        "APGD-CE": (functools.partial(apgd, loss="ce", steps=s, seed=0),
                    (torchattacks.APGD, dict(norm="Linf", steps=s, n_restarts=1, seed=0, loss="ce", rho=0.75))),
        "APGD-DLR": (functools.partial(apgd, loss="dlr", steps=s, seed=0),
                     (torchattacks.APGD, dict(norm="Linf", steps=s, n_restarts=1, seed=0, loss="dlr", rho=0.75))),
        f"PGD-{s}": (lambda m, xb, yb, eps: pgd(m, xb, yb, eps, steps=s, alpha=[e / 4 for e in eps],
                                                random_start=True, seed=0),
                     (torchattacks.PGD, dict(steps=s, random_start=True, alpha=None))),
    }
    torch.manual_seed(0)  # torchattacks' PGD draws its random start from the global generator
    timings = {name: ([], []) for name in contenders}
    accuracy = {}
    for round_ in range(args.rounds):  # alternate the contenders; report the median wall time
        for name, (ours, (cls, kwargs)) in contenders.items():
            their_acc, their_s = torchattacks_accuracy(cls, model, batches, EPS, **kwargs)
            our_acc, our_s = ours_accuracy(ours, model, batches, EPS)
            timings[name][0].append(their_s)
            timings[name][1].append(our_s)
            accuracy.setdefault(name, (their_acc, our_acc))
            print(f"round {round_ + 1}/{args.rounds} {name}: torchattacks {their_s:.2f} s, hfc_fast {our_s:.2f} s",
                  flush=True)
    rows = []
    for name, (theirs, ours) in timings.items():
        their_acc, our_acc = accuracy[name]
        their_s, our_s = statistics.median(theirs), statistics.median(ours)
        rows.append({"attack": name, "torchattacks_s": their_s, "hfc_fast_s": our_s, "speedup": their_s / our_s,
                     "torchattacks_s_rounds": theirs, "hfc_fast_s_rounds": ours,
                     "torchattacks_acc": their_acc, "hfc_fast_acc": our_acc,
                     "max_weaker_points": max(100 * (o - t) for o, t in zip(our_acc, their_acc, strict=True))})
    machine = machine_name(args.device)
    payload = {"machine": machine, "device": args.device, "torch": torch.__version__,
               "torchattacks": torchattacks.__version__, "threads": torch.get_num_threads(), "images": len(x),
               "batch": args.batch, "eps": list(EPS), "steps": s, "rounds": args.rounds, "model": args.model,
               "size": args.size,
               "rows": rows}
    stem = f"attacks-vs-torchattacks-{args.model}-{machine}"
    eps = " / ".join(f"{e:g}" for e in EPS)
    lines = [f"# hfc_fast against torchattacks {torchattacks.__version__} on {machine} ({args.device}, "
             f"{payload['threads']} threads, torch {payload['torch']})", "",
             f"{args.model} on {len(x)} Fashion-MNIST test images ({args.size}×{args.size}), batches of {args.batch}, "
             f"ε = {eps}, {s} iterations; median wall time of {args.rounds} alternating rounds for all three "
             "ε; robust accuracy of the first round.", "",
             f"| attack | torchattacks (s) | hfc_fast (s) | speed-up | torchattacks acc. ({eps}) | "
             f"hfc_fast acc. ({eps}) | hfc_fast weaker by at most (points) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['attack']} | {r['torchattacks_s']:.2f} | {r['hfc_fast_s']:.2f} | {r['speedup']:.2f}× | "
                     f"{' / '.join(f'{a:.4f}' for a in r['torchattacks_acc'])} | "
                     f"{' / '.join(f'{a:.4f}' for a in r['hfc_fast_acc'])} | {max(0.0, r['max_weaker_points']):.2f} |")
    lines += ["", "hfc_fast counts an image fooled at any fooling iterate and attacks every ε in one call with early "
              "exit; torchattacks scores its final images, one ε at a time."]
    return save_results(stem, payload, "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
