"""``hfc claims``: every claim of the three works that this data can test, re-tested on one page.

Each claim's command runs as a sub-run in ``<out>/<command>/`` on the same data
set and seeds, with the training settings of the chosen budget and the
command's own settings of that budget (:data:`CLAIMS`). Trainings live in
``<out>/runs/``, one folder per distinct training, so that the claims needing
the same model (the natural and adversarial models of Fig 7, Table 2 and the
learned masks, the vanilla model of Figs 3–5 and §8) train it once. A finished
sub-run is read back from its ``results.json``; an interrupted one resumes
its trainings and stages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from hfc_fast.errors import InputError
from hfc_fast.experiments.commands import (
    archs,
    bn_lfc,
    heuristics,
    implicit_bias,
    kernels,
    masks,
    robustness,
    shuffle,
    svd,
    table1,
)
from hfc_fast.experiments.core import figures
from hfc_fast.experiments.core.config import PRESETS, TrainConfig
from hfc_fast.experiments.core.experiment import resolve_args, run_command
from hfc_fast.experiments.core.options import Options, Parser, Spec
from hfc_fast.experiments.core.pages import markdown_table
from hfc_fast.experiments.core.verdicts import VERDICT_WORDS, interval_text, verdict_lines

HELP = "every testable claim of the three works, with several seeds: effect, 95 % CI and verdict on one page"
RESUMABLE = ("device", "only")

# the training settings the claims share, per budget: epochs, training and test images
TRAINING = {
    "quick": {"epochs": 1, "train_limit": 600, "test_limit": 300},
    "full": {"epochs": 4, "train_limit": 10000, "test_limit": 2000},
}
# Table 1 and Fig 6 train 24 + 6 models on split images, Caro et al.'s comparison a ViT and locally connected
# layers (a ViT epoch costs about six of the small CNN's on a CPU): fewer training images there keep the full
# budget near an hour on 2 cores, and Fig 6 shares its plain models with Table 1
FEWER = {"train_limit": 5000}
TRAINING_WORDS = {"epochs": "epochs", "train_limit": "training images", "test_limit": "test images"}


@dataclass(frozen=True)
class Claim:
    """A claim's command, what it re-tests, and per budget its own options and the training settings that
    differ from the budget's shared ones."""

    module: ModuleType
    title: str
    options: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)


CLAIMS = {
    "table1": Claim(table1, "Table 1: LFC- vs HFC-trained", training={"full": FEWER}),
    "bn-lfc": Claim(bn_lfc, "Fig 6: BatchNorm on the LFC", {"quick": ["--paper-radii", "4,12"],
                                                            "full": ["--paper-radii", "4,12"]},
                    training={"full": FEWER}),
    "shuffle": Claim(shuffle, "Fig 3: natural vs shuffled labels"),
    "heuristics": Claim(heuristics, "Figs 4–5: batch size, dropout, mixup, BatchNorm, adversarial training",
                        {"quick": ["--groups", "batch_size,heuristics"],
                         "full": ["--groups", "batch_size,heuristics"]}),
    "kernels": Claim(kernels, "Fig 7: adversarial kernels smoother"),
    "robustness": Claim(robustness, "Table 2: smoothing trades accuracy for robustness; stronger attacks",
                        {"quick": ["--rhos", "0,1", "--attack-images", "150", "--masking-images", "100",
                                   "--apgd-steps", "10", "--pgd-steps", "5"],
                         "full": ["--rhos", "0,1", "--attack-images", "1000", "--masking-images", "300",
                                  "--apgd-steps", "20"]}),
    "svd": Claim(svd, "§8: SVD vs FFT split"),
    "archs": Claim(archs, "Caro et al.: kernel size, local conv vs FC and ViT",
                   {"quick": ["--attack-images", "100", "--steps", "5"], "full": ["--attack-images", "500"]},
                   training={"full": {"epochs": 3, **FEWER}}),
    "implicit-bias": Claim(implicit_bias, "lecture: Fourier-ℓ1 bias of linear conv nets",
                           {"quick": ["--steps", "300"]}),
    "masks": Claim(masks, "lecture: learned Fourier masks sparse",
                   {"quick": ["--mask-steps", "30", "--mask-images", "150"], "full": ["--mask-images", "500"]}),
}
IMPLICIT_BIAS_SEEDS = 10  # its units are seeds (one data set and training each), and they cost seconds


def add_arguments(options) -> None:
    g = options.group("common options")
    options.add("--out", default=Path("runs") / "claims", type=Path, help="run directory (default runs/claims)",
                group=g)
    options.add("--budget", default="full", spec=Spec("str", choices=tuple(TRAINING)), group=g,
                help="full (default: " + _budget_text("full") + "; about an hour on a 2-core CPU) or quick ("
                     + _budget_text("quick") + "; minutes, a check that everything runs)")
    options.add("--only", default=list(CLAIMS), spec=Spec("names", choices=tuple(CLAIMS)), group=g,
                help="the claims' commands to run (default all)")
    options.add("--seeds", default=3, spec=Spec("int", minimum=1), group=g,
                help=f"seeds per trained variant (default 3; implicit-bias takes at least {IMPLICIT_BIAS_SEEDS})")
    options.add_config(TrainConfig, ("dataset", "data_root", "image_size", "device", "model"), group=g,
                       defaults={"model": PRESETS["quick"]["model"]},
                       helps={"model": "the model of the claims that train one model kind "
                                       f"(default {PRESETS['quick']['model']})"})
    options.add("--no-progress", default=False, action="store_true", help="no progress bars", group=g)


def _budget_text(budget: str) -> str:
    t = TRAINING[budget]
    return f"{t['epochs']} epoch{'s' if t['epochs'] != 1 else ''} on {t['train_limit']} training images, " \
           f"{t['test_limit']} test images"


def _exceptions(budget: str) -> str:
    """The claims whose training settings differ from the budget's shared ones, in words."""
    words = [f"{claim.title.split(':')[0]}: " + ", ".join(f"{TRAINING_WORDS[k]} {v}"
                                                         for k, v in claim.training[budget].items())
             for claim in CLAIMS.values() if claim.training.get(budget)]
    return f" (except {'; '.join(words)})" if words else ""


def sub_argv(command: str, args) -> list[str]:
    """The command line of ``command``'s sub-run."""
    claim = CLAIMS[command]
    training = {**TRAINING[args.budget], **claim.training.get(args.budget, {})}
    seeds = max(args.seeds, IMPLICIT_BIAS_SEEDS) if command == "implicit-bias" else args.seeds
    argv = ["--out", str(args.out / command), "--seeds", str(seeds), "--dataset", args.dataset,
            "--device", args.device, "--model", args.model,
            *(f"--{k.replace('_', '-')}={v}" for k, v in training.items())]
    if args.data_root is not None:
        argv += ["--data-root", str(args.data_root)]
    if args.image_size is not None:
        argv += ["--image-size", str(args.image_size)]
    if args.no_progress:
        argv.append("--no-progress")
    return argv + claim.options.get(args.budget, [])


def sub_run(exp, command: str, args) -> dict:
    """``command``'s results: read back when its sub-run finished before, else run (resuming what it left)."""
    finished = args.out / command / "results.json"
    if finished.exists():
        exp.log(f"{command}: done before, reusing {finished}")
        return json.loads(finished.read_text())
    module, argv = CLAIMS[command].module, sub_argv(command, args)
    options = Options(Parser(prog=f"hfc {command}"))
    module.add_arguments(options)
    given, sub_args = resolve_args(command, module, options, options.parser.parse_args(argv))
    exp.log(f"{command}: hfc {command} {' '.join(argv)}")
    return run_command(command, module, sub_args, given, runs=args.out / "runs")


def trainings(runs: Path) -> list[list]:
    """One row per trained variant (its seeds together): what differs from the vanilla settings, epochs,
    training images, seeds, final train and test accuracy (mean, min–max over seeds)."""
    vanilla = {**TrainConfig().to_dict(), **PRESETS["quick"]}
    ignore = {"seed", "radii", "device", "workers", "eval_batch", "dataset", "data_root", "image_size",
              "track_train", "epochs", "train_limit", "test_limit", "command", "image_shape", "tracking_radii",
              "world_size", "band_noise_images"}
    groups: dict[tuple, list] = {}
    for folder in sorted(runs.glob("*")) if runs.exists() else []:
        config, metrics = folder / "config.json", folder / "metrics.jsonl"
        if not (config.exists() and metrics.exists()):
            continue
        settings = json.loads(config.read_text())
        lines = metrics.read_text().strip().splitlines()
        if not lines:
            continue
        last = json.loads(lines[-1])
        changed = ", ".join(f"{k}={v}" for k, v in sorted(settings.items())
                            if k not in ignore and v != vanilla.get(k)) or "vanilla"
        groups.setdefault((changed, settings.get("epochs"), settings.get("train_limit")), []).append(
            ((last.get("train") or {}).get("acc", last.get("train_running_acc")), last["test"]["acc"]))
    rows = []
    for (changed, epochs, images), accs in sorted(groups.items(), key=lambda g: (g[0][0] != "vanilla", g[0])):
        train, test = [a for a, _ in accs], [b for _, b in accs]
        rows.append([changed, epochs, images or "all", len(accs), f"{sum(train) / len(train):.3f}",
                     f"{sum(test) / len(test):.3f} ({min(test):.3f}–{max(test):.3f})"])
    return rows


def plain_summary(verdicts: list[dict]) -> list[str]:
    """What held, what did not and what this budget cannot tell, in words."""
    lines = []
    for state in VERDICT_WORDS:
        claims = [v["claim"] for v in verdicts if v["verdict"] == state]
        if claims:
            lines.append(f"- {VERDICT_WORDS[state]} ({len(claims)} of {len(verdicts)}): " + "; ".join(claims) + ".")
    return lines


def run(exp, args) -> dict:
    claims, verdicts = {}, []
    for command in [c for c in CLAIMS if c in args.only]:
        try:
            results = sub_run(exp, command, args)
        except InputError as err:  # a claim this data set cannot test (say, an image too small for a radius)
            exp.log(f"{command}: not run: {err}")
            claims[command] = {"error": str(err)}
            continue
        claims[command] = {"verdicts": results.get("verdicts", []), "seconds": results.get("seconds")}
        verdicts += claims[command]["verdicts"]
    if verdicts:
        exp.figure(figures.plot_verdicts, "verdicts.png", verdicts)
    trained = trainings(args.out / "runs")
    rows = []
    for command, entry in claims.items():
        link = f"[{CLAIMS[command].title}]({command}/report.md)"
        if "error" in entry:
            rows.append([link, "", "", "", "not run: " + entry["error"]])
        for v in entry.get("verdicts", []):
            more = f" (first of {len(v['parts'])} parts)" if len(v["parts"]) > 1 else ""
            rows.append([link, v["claim"], v["paper"] or "—",
                         f"{interval_text(v['parts'][0]['effect'])}, {v['seeds']} seeds{more}",
                         f"**{v['verdict']}**"])
    report = "\n".join([
        "# Every claim re-tested", "",
        f"{args.model} and the claims' own models on {args.dataset}; budget {args.budget}: "
        f"{_budget_text(args.budget)}{_exceptions(args.budget)}, {args.seeds} seeds per variant. Each effect is "
        "the difference the claim predicts with a 95 % percentile-bootstrap interval over test images (or "
        "kernels, or seeds) and seeds; "
        "*supported* when the interval lies on the claimed side of zero, *contradicted* when on the other, "
        "*inconclusive* when it straddles zero.", "",
        "## In short", "", *plain_summary(verdicts), "",
        *(["![verdicts](verdicts.png)", ""] if verdicts else []),
        *markdown_table(["re-test (report and figures)", "claim", "paper", "ours: effect [95 % CI]", "verdict"],
                        rows), "",
        "## Every part of every claim", "", *verdict_lines(verdicts), "",
        "## Trainings behind the claims", "",
        "Final-epoch accuracy of each trained variant (mean over seeds; test: min–max over seeds).", "",
        *markdown_table(["settings changed from vanilla", "epochs", "training images", "seeds", "train acc.",
                                        "test acc."], trained),
        ""])
    return exp.finish({"budget": args.budget, "claims": claims, "verdicts": verdicts}, report)
