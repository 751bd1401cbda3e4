"""``hfc shuffle`` (paper Fig 3): natural vs shuffled labels, LFC accuracy of the train set along training."""

from __future__ import annotations

from pathlib import Path

from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.figures import colours, epoch_axis, pyplot
from hfc_fast.experiments.core.files import save_and_close
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import csv_text
from hfc_fast.experiments.core.verdicts import accuracy_part, mean, verdict, verdict_lines
from hfc_fast.radius import radius_key

HELP = "Fig 3: natural vs shuffled labels, LFC accuracy of the train set"


# ---------------------------------------------------------------------- Fig 3 (§4.2)
SHUFFLE_CLAIM = "a natural model picks up the LFC early and a shuffled-label model does not (§4.2, Fig 3)"
SHUFFLE_PAPER = "CIFAR-10, r = 4, read from Fig 3: about 0.4 natural vs about 0.1 shuffled"


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
        exp.figure(plot_shuffle, f"shuffle-s{seed}.png", histories)
        for name, history in histories.items():
            first[name].append(history[0]["train"]["lfc"][smallest])
            n = history[0]["train"]["n"]
            rows += [[name, seed, h["epoch"], h["train"]["acc"], *(h["train"]["lfc"][radius_key(r)] for r in radii)]
                     for h in history]
    exp.write_text("shuffle.csv", csv_text(["labels", "seed", "epoch", "train_acc",
                                            *(f"train_lfc_r{radius_key(r)}" for r in radii)], rows))
    verdicts = [verdict(SHUFFLE_CLAIM, [accuracy_part(
        f"train accuracy on the LFC at r = {smallest} after epoch 1, natural − shuffled labels",
        [[a] for a in first["natural"]], [[a] for a in first["shuffled"]], n)],
        numbers=f"natural {mean(first['natural']):.3f}, shuffled {mean(first['shuffled']):.3f}",
        paper=SHUFFLE_PAPER, budget=f"{exp.base.epochs} epochs natural, {shuffled_epochs} shuffled")]
    report = "\n".join([
        "# Natural vs shuffled labels (Fig 3)", "",
        f"{exp.base.model} on {exp.base.dataset}: natural labels {exp.base.epochs} epochs, shuffled labels "
        f"{shuffled_epochs} epochs. Curves: accuracy on the training set and on its LFC at radii "
        f"{', '.join(radius_key(r) for r in radii)} (the paper's 4, 8, 12, 16 scaled).", "",
        *[f"![seed {s}](shuffle-s{s}.png)" for s in exp.seeds], "",
        "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"first_epoch_train_lfc": first, "radius": radii[0], "verdicts": verdicts}, report)


def plot_shuffle(histories: dict, path: Path) -> Path:
    """Train accuracy on originals (black) and on the LFC at each radius, natural (solid) vs shuffled (dashed)."""
    fig, ax = pyplot().subplots(figsize=(6.5, 4))
    styles = {"natural": "-", "shuffled": "--"}
    for name, history in histories.items():
        epochs = [h["epoch"] for h in history]
        ax.plot(epochs, [h["train"]["acc"] for h in history], color="black", ls=styles[name], label=f"{name}: train")
        radii = list(history[0]["train"]["lfc"])
        for r, colour in zip(radii, colours(len(radii)), strict=True):
            ax.plot(epochs, [h["train"]["lfc"][r] for h in history], color=colour, ls=styles[name],
                    label=f"{name}: train LFC r={r}")
    epoch_axis(ax, "accuracy on the training set")
    ax.legend(fontsize=6, ncol=2)
    ax.set_title("Natural vs shuffled labels (Fig 3)")
    return save_and_close(path, fig)
