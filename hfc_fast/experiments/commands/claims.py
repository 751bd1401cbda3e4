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

from hfc_fast.attacks import WORST_CASE
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
from hfc_fast.experiments.core.config import PRESETS, TrainConfig
from hfc_fast.experiments.core.experiment import resolve_args, run_command
from hfc_fast.experiments.core.figures import pyplot
from hfc_fast.experiments.core.files import read_json, save_and_close
from hfc_fast.experiments.core.options import Options, Parser, Spec, flag
from hfc_fast.experiments.core.pages import markdown_table
from hfc_fast.experiments.core.verdicts import VERDICT_WORDS, interval_text, verdict_lines

HELP = "every testable claim of the three works, with several seeds: effect, 95 % CI and verdict on one page"
VERDICT_COLOURS = {"supported": "tab:green", "contradicted": "tab:red", "inconclusive": "tab:grey"}
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
    """A claim's command, what it re-tests, and per budget its own settings (option destination -> value, as
    parsing would give it) and the training settings that differ from the budget's shared ones."""

    module: ModuleType
    title: str
    options: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)


CLAIMS = {
    "table1": Claim(table1, "Table 1: LFC- vs HFC-trained", training={"full": FEWER}),
    "bn-lfc": Claim(bn_lfc, "Fig 6: BatchNorm on the LFC", {"quick": {"paper_radii": [4.0, 12.0]},
                                                            "full": {"paper_radii": [4.0, 12.0]}},
                    training={"full": FEWER}),
    "shuffle": Claim(shuffle, "Fig 3: natural vs shuffled labels"),
    "heuristics": Claim(heuristics, "Figs 4–5: batch size, dropout, mixup, BatchNorm, adversarial training",
                        {"quick": {"groups": ["batch_size", "heuristics"]},
                         "full": {"groups": ["batch_size", "heuristics"]}}),
    "kernels": Claim(kernels, "Fig 7: adversarial kernels smoother"),
    "robustness": Claim(robustness, "Table 2: smoothing trades accuracy for robustness; stronger attacks",
                        {"quick": {"rhos": [0.0, 1.0], "attack_images": 150, "masking_images": 100,
                                   "apgd_steps": 10, "pgd_steps": 5},
                         "full": {"rhos": [0.0, 1.0], "attack_images": 1000, "masking_images": 300,
                                  "apgd_steps": 20, "attacks": [*WORST_CASE, "autoattack"]}}),
    "svd": Claim(svd, "§8: SVD vs FFT split"),
    "archs": Claim(archs, "Caro et al.: kernel size, local conv vs FC and ViT",
                   {"quick": {"attack_images": 100, "steps": 5}, "full": {"attack_images": 500}},
                   training={"full": {"epochs": 3, **FEWER}}),
    "implicit-bias": Claim(implicit_bias, "lecture: Fourier-ℓ1 bias of linear conv nets",
                           {"quick": {"steps": 300}}),
    "masks": Claim(masks, "lecture: learned Fourier masks sparse",
                   {"quick": {"mask_steps": 30, "mask_images": 150}, "full": {"mask_images": 500}}),
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


def sub_settings(command: str, args) -> dict:
    """The settings ``command``'s sub-run is given (option destination -> value)."""
    claim = CLAIMS[command]
    seeds = max(args.seeds, IMPLICIT_BIAS_SEEDS) if command == "implicit-bias" else args.seeds
    settings = {"out": args.out / command, "seeds": seeds, "dataset": args.dataset, "device": args.device,
                "model": args.model, **TRAINING[args.budget], **claim.training.get(args.budget, {})}
    settings.update({k: getattr(args, k) for k in ("data_root", "image_size") if getattr(args, k) is not None})
    if args.no_progress:
        settings["no_progress"] = True
    return {**settings, **claim.options.get(args.budget, {})}


def command_line(command: str, settings: dict) -> str:
    """``settings`` as the ``hfc`` command line that gives them (for the log: a sub-run a person can rerun)."""
    def text(v):
        return ",".join(f"{x:g}" if isinstance(x, float) else str(x) for x in v) if isinstance(v, list) else str(v)

    return " ".join([f"hfc {command}", *(flag(k) if v is True else f"{flag(k)} {text(v)}"
                                         for k, v in settings.items())])


def sub_run(exp, command: str, args) -> dict:
    """``command``'s results: read back when its sub-run finished before, else run (resuming what it left)."""
    finished = args.out / command / "results.json"
    if finished.exists():
        exp.log(f"{command}: done before, reusing {finished}")
        return json.loads(finished.read_text())
    module, settings = CLAIMS[command].module, sub_settings(command, args)
    options = Options(Parser(prog=f"hfc {command}"))
    module.add_arguments(options)
    given, sub_args = resolve_args(command, module, options, options.namespace(settings))
    exp.log(f"{command}: {command_line(command, settings)}")
    return run_command(command, module, sub_args, given, runs=args.out / "runs")


def trainings(runs: Path, kept: list[list] = ()) -> list[list]:
    """One row per trained variant (its seeds together): what differs from the vanilla settings, epochs,
    training images, seeds, final train and test accuracy (mean, min–max over seeds). ``kept``: rows of an
    earlier table (its ``results.json``), kept for variants whose runs are no longer in ``runs``."""
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
    rows = {tuple(row[:3]): list(row) for row in kept}
    for (changed, epochs, images), accs in groups.items():
        train, test = [a for a, _ in accs], [b for _, b in accs]
        rows[changed, epochs, images or "all"] = [changed, epochs, images or "all", len(accs),
                                                  f"{sum(train) / len(train):.3f}",
                                                  f"{sum(test) / len(test):.3f} ({min(test):.3f}–{max(test):.3f})"]
    def order(key):  # vanilla first, then by settings, epochs and training images ("all" last), numbers as numbers
        changed, epochs, images = key
        return changed != "vanilla", changed, epochs or 0, images == "all", 0 if images == "all" else images

    return [rows[key] for key in sorted(rows, key=order)]


def earlier_trainings(out: Path) -> list[list]:
    """The trainings table an earlier overview in ``out`` recorded (empty when there is none)."""
    earlier = out / "results.json"
    return read_json(earlier, "claims overview").get("trainings", []) if earlier.exists() else []


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
        exp.figure(plot_verdicts, "verdicts.png", verdicts)
    trained = trainings(args.out / "runs", earlier_trainings(args.out))
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
    return exp.finish({"budget": args.budget, "claims": claims, "verdicts": verdicts, "trainings": trained}, report)


def plot_verdicts(verdicts: list[dict], path: Path) -> Path:
    """Every measured part of every claim as its effect and 95 % interval, each row scaled by its largest
    absolute bound so that all fit one axis, flipped so that the claimed side is always right of zero and
    coloured by its verdict."""
    rows = [(v["claim"], p) for v in verdicts for p in v["parts"]]
    fig, ax = pyplot().subplots(figsize=(8, 0.32 * len(rows) + 1.2))
    for i, (_, p) in enumerate(reversed(rows)):
        e, sign = p["effect"], 1 if p["expect"] == "positive" else -1
        low, high, estimate = sorted((sign * e["low"], sign * e["high"])) + [sign * e["estimate"]]
        scale = max(abs(low), abs(high)) or 1.0
        colour = VERDICT_COLOURS[p["verdict"]]
        ax.plot([low / scale, high / scale], [i, i], color=colour, lw=3)
        ax.plot([estimate / scale], [i], "o", color=colour, ms=4)
    labels = [f"{claim[:48]}… | {p['measure'][:40]}" if len(claim) > 48 else f"{claim} | {p['measure'][:40]}"
              for claim, p in reversed(rows)]
    ax.set_yticks(range(len(rows)), labels, fontsize=6)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlim(-1.1, 1.1)
    ax.set_xlabel("effect / largest |bound| (claimed side to the right)")
    ax.set_title("95 % intervals: green supported, red contradicted, grey inconclusive", fontsize=9)
    return save_and_close(path, fig)
