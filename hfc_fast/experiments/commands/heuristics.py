"""``hfc heuristics`` (paper Figs 4–5 and "Other tests"): one setting changed at a time from the vanilla set-up."""

from __future__ import annotations

import json

from hfc_fast.experiments.core import figures, paper
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import csv_text, markdown_table
from hfc_fast.radius import radius_key

HELP = "Figs 4-5: batch size, dropout, mixup, BatchNorm, adversarial training, architectures, optimizers"
# learning rates for the optimizers whose scale differs from Adam's (the rest take the preset's)
OPTIMIZER_LR = {"sgd": 1e-2, "adagrad": 1e-2, "adadelta": 1.0}


def groups(lr: float) -> dict[str, dict[str, dict]]:
    """group -> variant -> settings changed from the vanilla set-up."""
    return {
        "batch_size": {f"batch {b}": {"batch_size": b} for b in (25, 100, 400)},
        "heuristics": {"vanilla": {}, "dropout 0.5": {"dropout": 0.5}, "mixup 0.5": {"mixup": 0.5},
                       "batchnorm": {"batchnorm": True}, "adversarial (PGD 0.03)": {"adv_eps": 0.03}},
        "architectures": {name: {"model": name} for name in ("lenet", "alexnet", "vgg11", "paper_resnet")},
        "optimizers": {name: {"optimizer": name, "lr": OPTIMIZER_LR.get(name, lr)}
                       for name in ("sgd", "adam", "adagrad", "adadelta", "rmsprop")},
    }


def add_arguments(options) -> None:
    options.add("--groups", default=list(paper.HEURISTICS_NOTES), spec=Spec("names", choices=tuple(groups(0.0))),
                help=f"comma-separated groups (default all: {', '.join(paper.HEURISTICS_NOTES)})")
    add_experiment_options(options, "heuristics")


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-")


def run(exp, args) -> dict:
    table = groups(exp.base.lr)
    chosen = list(dict.fromkeys(args.groups))
    radii = exp.scaled_radii()
    keys = [radius_key(r) for r in radii]
    results, rows, lines = {}, [], []
    trained = {}  # variants of different groups that are the same run (batch 100, adam: the vanilla set-up) train once
    for group in chosen:
        histories = {}
        for name, changes in table[group].items():
            config = exp.config(radii=radii, **changes)
            signature = json.dumps(config.to_dict(), sort_keys=True)
            if signature not in trained:
                trained[signature] = exp.trained(f"{group}-{_slug(name)}", config)[1]
            histories[name] = trained[signature]
        exp.figure(figures.plot_variants, f"{group}.png", histories, title=group.replace("_", " "))
        finals = {name: {"train": h[-1]["train"]["acc"], "test": h[-1]["test"]["acc"],
                         "gap": h[-1]["train"]["acc"] - h[-1]["test"]["acc"], "test_lfc": h[-1]["test"]["lfc"],
                         "test_hfc": h[-1]["test"]["hfc"]} for name, h in histories.items()}
        rows += [[group, n, histories[n][-1]["epoch"], f["train"], f["test"], f["gap"],
                  *(f["test_lfc"][k] for k in keys), *(f["test_hfc"][k] for k in keys)] for n, f in finals.items()]
        results[group] = finals
        lines += [f"## {group.replace('_', ' ')}", "", f"![{group}]({group}.png)", "",
                  *markdown_table(["variant", "train", "test", "gap", *(f"test HFC r={k}" for k in keys)],
                                  [[n, f["train"], f["test"], f["gap"], *(f["test_hfc"][k] for k in keys)]
                                   for n, f in finals.items()]), "",
                  f"Paper (CIFAR-10): {paper.HEURISTICS_NOTES[group]}", ""]
    exp.write_text("heuristics.csv", csv_text(["group", "variant", "epochs", "train", "test", "gap",
                                               *(f"test_lfc_r{k}" for k in keys), *(f"test_hfc_r{k}" for k in keys)],
                                              rows))
    report = "\n".join([
        "# Training heuristics and LFC/HFC (Figs 4–5, other tests)", "",
        f"Each variant changes one setting of the vanilla run ({exp.base.model}, {exp.base.optimizer} "
        f"{exp.base.lr:g}, batch {exp.base.batch_size}, {exp.base.epochs} epochs, {exp.base.dataset}). Panels: train "
        "and test accuracy on the originals, test accuracy on the LFC (solid) and HFC (dotted); final values below.",
        "", *lines])
    return exp.finish({"groups": results, "radii": radii}, report)
