"""``hfc heuristics`` (paper Figs 4–5 and "Other tests"): one setting changed at a time from the vanilla set-up."""

from __future__ import annotations

import json

from hfc_fast.experiments.core import figures
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.files import slug
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import csv_text, markdown_table
from hfc_fast.experiments.core.verdicts import accuracy_part, mean, verdict, verdict_lines
from hfc_fast.radius import radius_key

HELP = "Figs 4-5: batch size, dropout, mixup, BatchNorm, adversarial training, architectures, optimizers"


# ---------------------------------------------------------------------- Figs 4–5 and "other tests" (§5)
HEURISTICS_NOTES = {
    "batch_size": "smaller batches reach higher train and test accuracy; bigger ones close the generalisation gap "
                  "and capture less HFC (Fig 4).",
    "heuristics": "dropout behaves like the vanilla set-up; mixup catches much more HFC; BatchNorm picks up more "
                  "of both LFC and HFC; adversarial training is less accurate, with a smaller gap and invariant "
                  "to HFC at large r (Fig 5).",
    "architectures": "ResNet has the best test accuracy, the smallest gap and the weakest tendency to capture HFC.",
    "optimizers": "SGD alone tends to capture HFC significantly; the rest are on par.",
}
# claim -> the comparisons that measure it: (variant, minus variant, band whose test accuracy is compared)
HEURISTICS_CLAIMS = {
    "smaller batches capture more HFC (§5, Fig 4)": [("batch 25", "batch 400", "hfc")],
    "mixup captures more HFC than the vanilla set-up (§5, Fig 5)": [("mixup 0.5", "vanilla", "hfc")],
    "BatchNorm picks up more of both the LFC and the HFC (§5, Fig 5)": [("batchnorm", "vanilla", "lfc"),
                                                                       ("batchnorm", "vanilla", "hfc")],
}
HEURISTICS_PAPER = "CIFAR-10, read from Figs 4–5 (no table)"
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
    options.add("--groups", default=list(HEURISTICS_NOTES), spec=Spec("names", choices=tuple(groups(0.0))),
                help=f"comma-separated groups (default all: {', '.join(HEURISTICS_NOTES)})")
    add_experiment_options(options, "heuristics")


def final(histories: list[list[dict]], keys: list[str]) -> dict:
    """A variant's last-epoch numbers, averaged over its seeds' histories."""
    last = [h[-1] for h in histories]
    train, test = mean(h["train"]["acc"] for h in last), mean(h["test"]["acc"] for h in last)
    return {"train": train, "test": test, "gap": train - test,
            "test_lfc": {k: mean(h["test"]["lfc"][k] for h in last) for k in keys},
            "test_hfc": {k: mean(h["test"]["hfc"][k] for h in last) for k in keys}}


def claims(histories: dict, budget: str) -> list[dict]:
    """The claims of Figs 4–5 whose variants ran: test accuracy on the HFC (or LFC) averaged over radii, one
    variant minus another."""
    def uptake(name, band):
        return [[mean(h[-1]["test"][band].values())] for h in histories[name]]

    verdicts = []
    for claim, comparisons in HEURISTICS_CLAIMS.items():
        if all(a in histories and b in histories for a, b, _ in comparisons):
            n = histories[comparisons[0][0]][0][-1]["test"]["n"]
            verdicts.append(verdict(claim, [accuracy_part(f"test accuracy on the {band.upper()} (mean over radii), "
                                                          f"{a} − {b}", uptake(a, band), uptake(b, band), n)
                                            for a, b, band in comparisons], budget=budget,
                                    paper=HEURISTICS_PAPER))
    return verdicts


def run(exp, args) -> dict:
    table = groups(exp.base.lr)
    chosen = list(dict.fromkeys(args.groups))
    radii = exp.scaled_radii()
    keys = [radius_key(r) for r in radii]
    results, rows, lines, everything = {}, [], [], {}
    trained = {}  # variants of different groups that are the same run (batch 100, adam: the vanilla set-up) train once
    for group in chosen:
        histories = {}
        for name, changes in table[group].items():
            for seed in exp.seeds:
                config = exp.config(radii=radii, seed=seed, **changes)
                signature = json.dumps(config.to_dict(), sort_keys=True)
                if signature not in trained:
                    trained[signature] = exp.trained(f"{group}-{slug(name)}-s{seed}", config)[1]
                histories.setdefault(name, []).append(trained[signature])
        everything.update(histories)
        exp.figure(figures.plot_variants, f"{group}.png", {n: h[0] for n, h in histories.items()},
                   title=f"{group.replace('_', ' ')} (seed 0)")
        finals = {name: final(h, keys) for name, h in histories.items()}
        rows += [[group, n, histories[n][0][-1]["epoch"], f["train"], f["test"], f["gap"],
                  *(f["test_lfc"][k] for k in keys), *(f["test_hfc"][k] for k in keys)] for n, f in finals.items()]
        results[group] = finals
        lines += [f"## {group.replace('_', ' ')}", "", f"![{group}]({group}.png)", "",
                  *markdown_table(["variant", "train", "test", "gap", *(f"test HFC r={k}" for k in keys)],
                                  [[n, f["train"], f["test"], f["gap"], *(f["test_hfc"][k] for k in keys)]
                                   for n, f in finals.items()]), "",
                  f"Paper (CIFAR-10): {HEURISTICS_NOTES[group]}", ""]
    exp.write_text("heuristics.csv", csv_text(["group", "variant", "epochs", "train", "test", "gap",
                                               *(f"test_lfc_r{k}" for k in keys), *(f"test_hfc_r{k}" for k in keys)],
                                              rows))
    verdicts = claims(everything, exp.budget)
    report = "\n".join([
        "# Training heuristics and LFC/HFC (Figs 4–5, other tests)", "",
        f"Each variant changes one setting of the vanilla run ({exp.base.model}, {exp.base.optimizer} "
        f"{exp.base.lr:g}, batch {exp.base.batch_size}, {exp.base.epochs} epochs, {exp.base.dataset}); "
        f"{len(exp.seeds)} seed(s), means in the tables. Panels: train and test accuracy on the originals, test "
        "accuracy on the LFC (solid) and HFC (dotted); final values below.", "", *lines,
        *(["## Verdicts", "", *verdict_lines(verdicts), ""] if verdicts else [])])
    return exp.finish({"groups": results, "radii": radii, "verdicts": verdicts}, report)
