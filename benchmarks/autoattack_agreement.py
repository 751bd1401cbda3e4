"""AutoAttack's standard suite image by image: which images hfc_fast's preset and torchattacks' members (same
budgets, same cascade) each leave robust, over several attack seeds, with a confidence interval on the gap.

    pip install torchattacks==3.5.1           # a benchmark-only dependency
    python benchmarks/autoattack_agreement.py --images 450 --seeds 2

Robust accuracies that differ by an image or two cannot say whether one tool is weaker: both suites draw
random starts and random squares. Here each seed s runs ``robust_accuracy(model, batches, "autoattack", eps,
seed=s)`` and torchattacks' APGD, APGDT, FAB (targeted) and Square with ``seed=s`` as a cascade (each on the
images the ones before left robust, as its ``MultiAttack`` runs them, one ε at a time), on the models of
``autoattack_vs_torchattacks.py``. Per ε it counts the images only torchattacks fooled (ours is weaker there),
naming the member of theirs that found each, and the images only ours fooled; the gap ours − theirs in robust
accuracy gets a paired 95 % bootstrap interval over seeds and images (``hfc_fast.stats.effect_interval``).
An image one run of a tool missed and another seed of the same tool fooled is a miss of the random search;
the images no seed of ours fooled and some seed of theirs did are the ones that would show a weaker attack,
so each of those (and each the other way round) is attacked alone by each tool's APGD-CE and APGD-T with
``--probe`` seeds: a miss of a random start shows as both tools fooling it in some runs.

Each (model, seed) is stored in ``benchmarks/.cache`` as it finishes, so an interrupted run resumes there.
Writes ``benchmarks/results/autoattack-agreement-<machine>.{json,md}``.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hfc_fast import PassSettings  # noqa: E402
from hfc_fast.attacks import AUTOATTACK, robust_accuracy  # noqa: E402
from hfc_fast.data.idx import load_fashion_mnist  # noqa: E402
from hfc_fast.experiments.core.files import write_json  # noqa: E402
from hfc_fast.stats import effect_interval  # noqa: E402

from attacks import CACHE, EPS, trained_model  # noqa: E402
from autoattack_vs_torchattacks import robust_model, torchattacks_members  # noqa: E402
from run import machine_name, save_results  # noqa: E402

TOLERANCE = 0.3  # points: the gap in robust accuracy the suite may show against the reference


def upper_bound(k: int, n: int, level: float = 0.95) -> float:
    """The one-sided upper Clopper–Pearson bound on a rate seen ``k`` times in ``n`` trials."""
    if k >= n:
        return 1.0

    def at_most_k(p: float) -> float:  # P(X <= k) for X ~ Binomial(n, p)
        return sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p)
                            + (n - i) * math.log1p(-p)) for i in range(k + 1))

    low, high = 0.0, 1.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if at_most_k(mid) > 1 - level else (low, mid)
    return high


def theirs_cascade(members: dict, model, batches, eps_list) -> tuple[torch.Tensor, list[list[str]], float]:
    """torchattacks' members as a cascade per ε: (E, N) robust to every member, per ε and image the member
    that fooled it first ("" when none or when the clean image was wrong), and the wall time."""
    robust, first = [], []
    start = time.perf_counter()
    for eps in eps_list:
        attacks = {name: make(model, eps) for name, make in members.items()}
        alive_eps, first_eps = [], []
        for x, y in batches:
            with torch.no_grad():
                alive = model(x).argmax(1) == y
            found = [""] * len(y)
            for name, attack in attacks.items():
                idx = alive.nonzero().squeeze(1)
                if not len(idx):
                    break
                adv = attack(x[idx], y[idx])
                with torch.no_grad():
                    fooled = model(adv).argmax(1) != y[idx]
                for i in idx[fooled].tolist():
                    found[i] = name
                alive[idx[fooled]] = False
            alive_eps.append(alive)
            first_eps += found
        robust.append(torch.cat(alive_eps))
        first.append(first_eps)
    return torch.stack(robust), first, time.perf_counter() - start


def ours_mask(model, batches, eps_list, seed: int, *, channels_last: bool) -> tuple[torch.Tensor, float]:
    start = time.perf_counter()
    report = robust_accuracy(model, batches, "autoattack", eps_list, seed=seed, progress=False,
                             settings=PassSettings(channels_last=channels_last))
    return report.robust_mask(), time.perf_counter() - start


def probe(model, net, x, y, eps: float, seeds: int, *, channels_last: bool) -> dict:
    """One image alone: of ``seeds`` seeds, how many runs of each tool's APGD-CE and APGD-T fool it at ``eps``."""
    counts = {}
    shaped = x.contiguous(memory_format=torch.channels_last) if channels_last else x
    for name in ("apgd-ce", "apgd-t"):
        ours = sum(bool(AUTOATTACK[name](model, x, y, [eps], seed=s, channels_last=channels_last).fooled[0, 0])
                   for s in range(seeds))
        theirs = 0
        for s in range(seeds):
            adv = torchattacks_members(s)[name](net, eps)(shaped, y)
            with torch.no_grad():
                theirs += int(net(adv).argmax(1) != y)
        counts[name] = {"hfc_fast": ours, "torchattacks": theirs}
    return counts


def measured(cache: Path, key: str, run) -> dict:
    """``run()``'s JSON-able result under ``key`` in the checkpoint file ``cache`` (run once, kept)."""
    import json

    done = json.loads(cache.read_text()) if cache.exists() else {}
    if key not in done:
        done[key] = run()
        cache.parent.mkdir(exist_ok=True)
        write_json(cache, done)
    return done[key]


def main(argv=None) -> int:
    import torchattacks

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=450)
    parser.add_argument("--batch", type=int, default=150)
    parser.add_argument("--seeds", type=int, default=2, help="attack seeds 0 … N−1 for both tools (default 2)")
    parser.add_argument("--models", nargs="+", choices=("natural", "adversarial"), default=["natural", "adversarial"])
    parser.add_argument("--probe", type=int, default=10,
                        help="seeds of each tool's APGD-CE and APGD-T on each image only one tool ever fooled, "
                             "one image at a time (default 10; 0: none)")
    parser.add_argument("--layout", choices=("as-given", "channels-last"), default="channels-last",
                        help="the model and images as given (NCHW) or channels-last (default: faster on a CPU)")
    args = parser.parse_args(argv)
    if args.images < 1 or args.batch < 1 or args.seeds < 1:
        parser.error("--images, --batch and --seeds must be at least 1")
    x, y = load_fashion_mnist(split="test")
    x, y = x[:args.images], y[:args.images]
    cl = args.layout == "channels-last"
    makers = {"natural": lambda: trained_model(10), "adversarial": lambda: robust_model(2, 20000)}
    machine = machine_name("cpu")
    cache = CACHE / f"autoattack-agreement-{machine}-{args.layout}-n{args.images}-b{args.batch}.json"
    rows, probes = [], []
    for name in args.models:
        model = makers[name]()
        net = copy.deepcopy(model).to(memory_format=torch.channels_last) if cl else model
        batches = [(x[i:i + args.batch], y[i:i + args.batch]) for i in range(0, len(x), args.batch)]
        shaped = [(xb.contiguous(memory_format=torch.channels_last), yb) for xb, yb in batches] if cl else batches
        runs = []
        for seed in range(args.seeds):
            def measure(seed=seed):
                mine, t_o = ours_mask(model, batches, EPS, seed, channels_last=cl)
                their, first, t_t = theirs_cascade(torchattacks_members(seed), net, shaped, EPS)
                return {"ours": mine.tolist(), "theirs": their.tolist(), "first": first,
                        "hfc_fast_seconds": t_o, "torchattacks_seconds": t_t}
            runs.append(measured(cache, f"{name}-s{seed}", measure))
            print(f"{name} seed {seed}: ours {runs[-1]['hfc_fast_seconds']:.0f} s, torchattacks "
                  f"{runs[-1]['torchattacks_seconds']:.0f} s", flush=True)
        ours_all = torch.tensor([r["ours"] for r in runs])  # (S, E, N)
        theirs_all = torch.tensor([r["theirs"] for r in runs])
        for k, eps in enumerate(EPS):
            only_theirs = ours_all[:, k] & ~theirs_all[:, k]  # we left robust, they fooled
            only_ours = theirs_all[:, k] & ~ours_all[:, k]
            by_member = {}
            for s, r in enumerate(runs):
                for i in only_theirs[s].nonzero().squeeze(1).tolist():
                    by_member[r["first"][k][i]] = by_member.get(r["first"][k][i], 0) + 1
            effect = effect_interval([o.double() for o in ours_all[:, k]], [t.double() for t in theirs_all[:, k]])
            never_ours = ours_all[:, k].all(0) & ~theirs_all[:, k].all(0)  # no seed of ours fooled, one of theirs did
            never_theirs = theirs_all[:, k].all(0) & ~ours_all[:, k].all(0)
            rows.append({"model": name, "eps": eps, "seeds": args.seeds, "images": args.images,
                         "torchattacks": theirs_all[:, k].double().mean().item(),
                         "hfc_fast": ours_all[:, k].double().mean().item(),
                         "only_torchattacks_fooled": int(only_theirs.sum()), "by_member": by_member,
                         "only_hfc_fast_fooled": int(only_ours.sum()),
                         "no_seed_of_ours_fooled": never_ours.nonzero().squeeze(1).tolist(),
                         "no_seed_of_theirs_fooled": never_theirs.nonzero().squeeze(1).tolist(),
                         "weaker_at_most_points": 100 * upper_bound(int(only_theirs.sum()), only_theirs.numel()),
                         "gap_points": 100 * effect.estimate, "gap_low": 100 * effect.low,
                         "gap_high": 100 * effect.high,
                         "hfc_fast_seconds": sum(r["hfc_fast_seconds"] for r in runs) / len(runs),
                         "torchattacks_seconds": sum(r["torchattacks_seconds"] for r in runs) / len(runs)})
            for side, images in (("only torchattacks", rows[-1]["no_seed_of_ours_fooled"]),
                                 ("only hfc_fast", rows[-1]["no_seed_of_theirs_fooled"])):
                for i in images if args.probe else ():
                    probes.append({"model": name, "eps": eps, "image": i, "fooled_by": side,
                                   "runs": probe(model, net, x[i:i + 1], y[i:i + 1], eps, args.probe,
                                                 channels_last=cl)})
    lines = [f"# AutoAttack image by image: hfc_fast against torchattacks {torchattacks.__version__} ({machine})", "",
             f"{args.images} Fashion-MNIST test images, {args.layout}, attack seeds 0–{args.seeds - 1} for both tools "
             "(the standard suite at its published budgets, as a cascade). Robust accuracy is the mean over seeds; "
             "'only theirs fooled' counts, over seeds, the images ours left robust and torchattacks' suite fooled "
             "(with the member of theirs that fooled each), 'only ours fooled' the reverse; 'no seed' counts the "
             "images that every seed of one tool left robust while some seed of the other fooled them. The gap is "
             "ours − theirs in points with a paired 95 % bootstrap interval over seeds and images. The gap is at "
             "most the share of image-runs where only theirs fooled; 'weaker by at most' is the one-sided 95 % "
             f"Clopper–Pearson bound on that share, and 'within {TOLERANCE:g}' is yes when it is at most "
             f"{TOLERANCE:g} points, no when the gap's interval lies above {TOLERANCE:g}, and not settled "
             f"otherwise (with no image only theirs fooled, it takes about {math.ceil(300 / TOLERANCE)} image-runs "
             "to say yes).", "",
             "| model | ε | torchattacks | hfc_fast | only theirs fooled (their member) | only ours fooled | "
             "no seed of ours / of theirs | gap, points (95 % CI) | weaker by at most | "
             f"within {TOLERANCE:g} |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        members = ", ".join(f"{m} {c}" for m, c in sorted(r["by_member"].items())) or "—"
        verdict = "yes" if r["weaker_at_most_points"] <= TOLERANCE else "no" if r["gap_low"] > TOLERANCE \
            else "not settled"
        lines.append(f"| {r['model']} | {r['eps']:g} | {r['torchattacks']:.4f} | {r['hfc_fast']:.4f} | "
                     f"{r['only_torchattacks_fooled']} ({members}) | {r['only_hfc_fast_fooled']} | "
                     f"{len(r['no_seed_of_ours_fooled'])} / {len(r['no_seed_of_theirs_fooled'])} | "
                     f"{r['gap_points']:+.2f} ({r['gap_low']:+.2f} to {r['gap_high']:+.2f}) | "
                     f"{r['weaker_at_most_points']:.2f} | {verdict} |")
    if probes:
        lines += ["", f"Each image that only one tool's suite ever fooled, attacked alone by each tool's APGD-CE and "
                      f"APGD-T with seeds 0–{args.probe - 1}: the runs that fooled it (a miss of a random start "
                      "shows as both tools fooling it in some runs).", "",
                  "| model | ε | image | fooled only by | APGD-CE: ours / theirs | APGD-T: ours / theirs |",
                  "|---|---|---|---|---|---|"]
        for q in probes:
            ce, t = q["runs"]["apgd-ce"], q["runs"]["apgd-t"]
            lines.append(f"| {q['model']} | {q['eps']:g} | {q['image']} | {q['fooled_by']} | "
                         f"{ce['hfc_fast']} / {ce['torchattacks']} of {args.probe} | "
                         f"{t['hfc_fast']} / {t['torchattacks']} of {args.probe} |")
    payload = {"machine": machine, "torch": torch.__version__, "torchattacks": torchattacks.__version__,
               "images": args.images, "batch": args.batch, "seeds": args.seeds, "layout": args.layout,
               "eps": list(EPS), "rows": rows, "probe_seeds": args.probe, "probes": probes}
    return save_results(f"autoattack-agreement-{machine}", payload, "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
