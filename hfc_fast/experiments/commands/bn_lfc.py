"""``hfc bn-lfc`` (paper Fig 6): models with and without BatchNorm, trained on the LFC."""

from __future__ import annotations

from hfc_fast.experiments.core import figures
from hfc_fast.experiments.core.experiment import add_experiment_options, add_paper_radii_option
from hfc_fast.experiments.core.pages import csv_text, markdown_table
from hfc_fast.experiments.core.verdicts import accuracy_part, mean, verdict, verdict_lines
from hfc_fast.radius import radius_key

HELP = "Fig 6: with vs without BatchNorm, trained on LFC"


# ---------------------------------------------------------------------- Fig 6 (§5.1)
BN_LFC_CLAIM = "trained on the LFC, BatchNorm speeds up the convergence of training accuracy (§5.1, Fig 6)"
BN_LFC_PAPER = "CIFAR-10, read from Fig 6: faster at every radius, least at r = 4"
BN_LFC_NOTE = "Paper (CIFAR-10): trained on the LFC, BatchNorm does not always help test accuracy, the less so " \
              "the smaller the radius, but it speeds up the convergence of training accuracy, least at r = 4."


def add_arguments(options) -> None:
    add_paper_radii_option(options, "training radii")
    add_experiment_options(options, "bn-lfc")


def claim(first_epoch: dict, n: int, budget: str) -> dict:
    """Fig 6's claim: trained on the LFC, BatchNorm raises the training accuracy of the first epoch (faster
    convergence), averaged over radii; ``first_epoch[bn]`` holds per seed the accuracy at each radius."""
    return verdict(BN_LFC_CLAIM, [accuracy_part("train accuracy in epoch 1 on the LFC (mean over radii), "
                                                      "with − without BatchNorm", first_epoch[True],
                                                      first_epoch[False], n)],
                   paper=BN_LFC_PAPER, budget=budget)


def run(exp, args) -> dict:
    paper_radii, radii = exp.paper_radii(args.paper_radii)
    tracked = sorted({*exp.scaled_radii(), *radii})  # the default tracking radii and these
    histories, rows, first_epoch, n = {}, [], {False: [], True: []}, None
    for seed in exp.seeds:
        for bn in (False, True):
            first_epoch[bn].append([])
            for paper_r, r in zip(paper_radii, radii, strict=True):
                name = f"LFC r={radius_key(r)}, {'with' if bn else 'without'} BatchNorm"
                config = exp.config(train_band="lfc", train_radius=r, batchnorm=bn, radii=tracked, seed=seed)
                history = exp.trained(f"lfc-r{radius_key(paper_r)}-{'bn' if bn else 'plain'}-s{seed}", config)[1]
                histories.setdefault(name, []).append(history)
                first_epoch[bn][-1].append(history[0]["train_running_acc"])
                n = history[0].get("train_seen", history[0]["train"]["n"])
                rows += [[radius_key(r), int(bn), seed, h["epoch"], h["train_running_acc"], h["test"]["acc"],
                          h["test"]["lfc"][radius_key(r)]] for h in history]
    exp.figure(figures.plot_variants, "bn_lfc.png", {k: h[0] for k, h in histories.items()},
               title="trained on LFC: with vs without BatchNorm (seed 0)")
    exp.write_text("bn_lfc.csv", csv_text(["radius", "batchnorm", "seed", "epoch", "train_acc", "test_acc",
                                           "test_lfc_acc"], rows))
    final = {name: {"train": mean(h[-1]["train_running_acc"] for h in hs),
                    "test": mean(h[-1]["test"]["acc"] for h in hs),
                    "first_epoch_train": mean(h[0]["train_running_acc"] for h in hs)}
             for name, hs in histories.items()}
    verdicts = [claim(first_epoch, n, exp.budget)]
    report = "\n".join([
        "# BatchNorm on LFC-trained models (Fig 6)", "",
        f"{exp.base.model} on {exp.base.dataset}, trained on the LFC (max-normalised) at each radius, "
        f"{exp.base.epochs} epochs; {len(exp.seeds)} seed(s), means below.", "", "![bn-lfc](bn_lfc.png)", "",
        *markdown_table(["model", "train acc. after epoch 1", "final train acc.", "test acc. (original)"],
                        [[n, f["first_epoch_train"], f["train"], f["test"]] for n, f in final.items()]), "",
        BN_LFC_NOTE, "", "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"final": final, "radii": radii, "verdicts": verdicts}, report)
