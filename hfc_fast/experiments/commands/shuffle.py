"""``hfc shuffle`` (paper Fig 3): natural vs shuffled labels, LFC accuracy of the train set along training."""

from __future__ import annotations

from hfc_fast.experiments.core import figures, paper
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import csv_text
from hfc_fast.experiments.core.verdicts import accuracy_part, mean, verdict, verdict_lines
from hfc_fast.radius import radius_key

HELP = "Fig 3: natural vs shuffled labels, LFC accuracy of the train set"


def add_arguments(options) -> None:
    options.add("--shuffled-epochs", default=None, spec=Spec("int", minimum=1, optional=True),
                help="epochs of the shuffled-label model (default: 3× the natural model's with --preset paper, "
                     "as the paper's 300 vs 100; the same otherwise)")
    add_experiment_options(options, "shuffle")


def run(exp, args) -> dict:
    shuffled_epochs = args.shuffled_epochs or (3 * exp.base.epochs if args.preset == "paper" else exp.base.epochs)
    radii = exp.scaled_radii()
    smallest = radius_key(radii[0])
    rows, first, n = [], {"natural": [], "shuffled": []}, None
    for seed in exp.seeds:
        histories = {
            "natural": exp.trained(f"natural-s{seed}", exp.config(seed=seed, radii=radii))[1],
            "shuffled": exp.trained(f"shuffled-s{seed}", exp.config(seed=seed, radii=radii, shuffle_labels=True,
                                                                    epochs=shuffled_epochs))[1],
        }
        exp.figure(figures.plot_shuffle, f"shuffle-s{seed}.png", histories)
        for name, history in histories.items():
            first[name].append(history[0]["train"]["lfc"][smallest])
            n = history[0]["train"]["n"]
            rows += [[name, seed, h["epoch"], h["train"]["acc"], *(h["train"]["lfc"][radius_key(r)] for r in radii)]
                     for h in history]
    exp.write_text("shuffle.csv", csv_text(["labels", "seed", "epoch", "train_acc",
                                            *(f"train_lfc_r{radius_key(r)}" for r in radii)], rows))
    verdicts = [verdict(paper.SHUFFLE_CLAIM, [accuracy_part(
        f"train accuracy on the LFC at r = {smallest} after epoch 1, natural − shuffled labels",
        [[a] for a in first["natural"]], [[a] for a in first["shuffled"]], n)],
        numbers=f"natural {mean(first['natural']):.3f}, shuffled {mean(first['shuffled']):.3f}",
        paper=paper.SHUFFLE_PAPER, budget=f"{exp.base.epochs} epochs natural, {shuffled_epochs} shuffled")]
    report = "\n".join([
        "# Natural vs shuffled labels (Fig 3)", "",
        f"{exp.base.model} on {exp.base.dataset}: natural labels {exp.base.epochs} epochs, shuffled labels "
        f"{shuffled_epochs} epochs. Curves: accuracy on the training set and on its LFC at radii "
        f"{', '.join(radius_key(r) for r in radii)} (the paper's 4, 8, 12, 16 scaled).", "",
        *[f"![seed {s}](shuffle-s{s}.png)" for s in exp.seeds], "",
        "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"first_epoch_train_lfc": first, "radius": radii[0], "verdicts": verdicts}, report)
