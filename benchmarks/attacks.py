"""Robust-accuracy evaluation: hfc_fast.attacks against a plain attack-library loop.

    python benchmarks/attacks.py            # trains (or reuses) the model, then times both
    python benchmarks/attacks.py --rounds 1

An undefended small CNN trained on Fashion-MNIST (Debian's dataset-fashion-mnist),
2,000 test images in batches of 250, FGSM and PGD-10 (step ε/4) at
ε ∈ {0.03, 0.06, 0.09}. The plain loop attacks one ε at a time, every image every
step, and scores the final iterate (the way attack libraries are used);
hfc_fast runs every ε in one call with early exit and nested balls. Both are
timed in the same process, alternating, and the table gives median wall times,
their ratio and the robust accuracies (hfc_fast's must not be higher: it
counts an image as fooled at any fooling iterate).

Writes ``benchmarks/results/attacks-<machine>.{json,md}``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hfc_fast.attacks import pgd, robust_accuracy  # noqa: E402
from hfc_fast.data.idx import load_fashion_mnist  # noqa: E402

import baselines  # noqa: E402
from run import machine_name, save_results  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"
EPS = (0.03, 0.06, 0.09)


def small_cnn() -> nn.Module:
    """conv(16)-pool-conv(32)-pool-fc(128)-fc(10) for 1×28×28 images."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def trained_model(epochs: int, seed: int = 0, *, adversarial: bool = False, images: int | None = None) -> nn.Module:
    """Adam 1e-3, batch 128, on the first ``images`` training images (default all); ``adversarial``: on PGD
    examples (ε = 0.03, 10 steps of ε/10, no random start), as the demo trains. Cached on disk so reruns time
    the attacks only."""
    model = small_cnn()
    path = CACHE / (f"small_cnn_fmnist_adv_e{epochs}_n{images}_s{seed}.pt" if adversarial
                    else f"small_cnn_fmnist_e{epochs}_s{seed}.pt")
    if path.exists():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()
    torch.manual_seed(seed)
    x, y = load_fashion_mnist(split="train")
    x, y = x[:images], y[:images]
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    for epoch in range(epochs):
        order = torch.randperm(len(x))
        for start in range(0, len(x), 128):
            idx = order[start:start + 128]
            inputs = x[idx]
            if adversarial:
                inputs = pgd(model, inputs, y[idx], 0.03, alpha=0.003, steps=10, random_start=False,
                             early_exit=False, return_adversarials=True).adversarials[0]
                model.train()
            loss = F.cross_entropy(model(inputs), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"{'adversarially ' if adversarial else ''}trained epoch {epoch + 1}/{epochs}", flush=True)
    CACHE.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(model.state_dict(), tmp)
    tmp.replace(path)
    return model.eval()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds (median reported)")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs of the attacked model")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=250)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    model = trained_model(args.epochs)
    model_cl = copy.deepcopy(model).to(memory_format=torch.channels_last)
    x, y = load_fashion_mnist(split="test")
    x, y = x[:args.images], y[:args.images]
    batches = [(x[i:i + args.batch], y[i:i + args.batch]) for i in range(0, len(x), args.batch)]
    with torch.no_grad():
        clean = float((model(x).argmax(1) == y).float().mean())
    alphas = [e / 4 for e in EPS]

    contenders = {
        "loop_fgsm": lambda: baselines.robust_accuracy_loop(model, batches, EPS, baselines.fgsm_loop),
        "loop_pgd": lambda: baselines.robust_accuracy_loop(
            model, batches, EPS, lambda m, a, b, e: baselines.pgd_loop(m, a, b, e, e / 4, 10)),
        "hfc_fgsm": lambda: robust_accuracy(model, batches, ["fgsm"], EPS, progress=False).accuracy("fgsm"),
        "hfc_pgd": lambda: robust_accuracy(model, batches, ["pgd"], EPS, progress=False, steps=10,
                                           alpha=alphas).accuracy("pgd"),
        "hfc_fgsm_cl": lambda: robust_accuracy(model_cl, batches, ["fgsm"], EPS, progress=False,
                                               channels_last=True).accuracy("fgsm"),
        "hfc_pgd_cl": lambda: robust_accuracy(model_cl, batches, ["pgd"], EPS, progress=False, steps=10,
                                              alpha=alphas, channels_last=True).accuracy("pgd"),
    }
    times = {name: [] for name in contenders}
    accuracy = {}
    for r in range(args.rounds):
        for name, fn in contenders.items():
            start = time.perf_counter()
            accuracy[name] = fn()
            times[name].append(time.perf_counter() - start)
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{n} {t[-1]:.2f}s" for n, t in times.items()), flush=True)
    median = {name: statistics.median(t) for name, t in times.items()}

    rows = []
    for variant, suffix in (("fp32, NCHW", ""), ("fp32, channels_last", "_cl")):
        loop_total = median["loop_fgsm"] + median["loop_pgd"]
        ours_total = median[f"hfc_fgsm{suffix}"] + median[f"hfc_pgd{suffix}"]
        rows.append({
            "variant": variant,
            "fgsm": {"loop_s": median["loop_fgsm"], "hfc_s": median[f"hfc_fgsm{suffix}"],
                     "speedup": median["loop_fgsm"] / median[f"hfc_fgsm{suffix}"],
                     "loop_acc": accuracy["loop_fgsm"], "hfc_acc": accuracy[f"hfc_fgsm{suffix}"]},
            "pgd": {"loop_s": median["loop_pgd"], "hfc_s": median[f"hfc_pgd{suffix}"],
                    "speedup": median["loop_pgd"] / median[f"hfc_pgd{suffix}"],
                    "loop_acc": accuracy["loop_pgd"], "hfc_acc": accuracy[f"hfc_pgd{suffix}"]},
            "total_speedup": loop_total / ours_total,
        })
    machine = machine_name("cpu")
    payload = {"machine": machine, "torch": torch.__version__, "threads": torch.get_num_threads(),
               "images": len(x), "batch": args.batch, "epochs": args.epochs, "clean_accuracy": clean,
               "eps": list(EPS), "rounds": args.rounds, "times_s": times, "rows": rows}
    return save_results(f"attacks-{machine}", payload, markdown(payload))


def _acc(values) -> str:
    return " / ".join(f"{100 * v:.2f}" for v in values)


def markdown(p: dict) -> str:
    lines = [
        f"# Robust-accuracy evaluation on {p['machine']} (CPU, {p['threads']} threads, torch {p['torch']})",
        "",
        f"Small CNN trained {p['epochs']} epochs on Fashion-MNIST (clean accuracy {100 * p['clean_accuracy']:.2f}%), "
        f"{p['images']} test images in batches of {p['batch']}, ε = {', '.join(map(str, p['eps']))}; "
        f"FGSM and PGD-10 with step ε/4, no random start. Median of {p['rounds']} alternating rounds; "
        "the loop attacks one ε at a time and scores the final iterate (the way attack libraries are used).",
        "",
        "| variant | attack | loop (s) | hfc_fast (s) | speed-up | robust acc. loop (%) | robust acc. hfc_fast (%) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in p["rows"]:
        for attack in ("fgsm", "pgd"):
            c = row[attack]
            lines.append(f"| {row['variant']} | {attack.upper()} | {c['loop_s']:.2f} | {c['hfc_s']:.2f} | "
                         f"{c['speedup']:.2f}× | {_acc(c['loop_acc'])} | {_acc(c['hfc_acc'])} |")
        lines.append(f"| {row['variant']} | **both** | | | **{row['total_speedup']:.2f}×** | | |")
    lines.append("")
    lines.append("The loop runs the model in NCHW in every row; channels_last rows give hfc_fast a channels-last copy "
                 "of the model (`pgd(..., channels_last=True)`).")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
