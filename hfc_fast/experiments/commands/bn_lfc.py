"""``hfc bn-lfc`` (paper Fig 6): models with and without BatchNorm, trained on the LFC."""

from __future__ import annotations

from hfc_fast.experiments.core import figures, paper
from hfc_fast.experiments.core.experiment import add_experiment_options, add_paper_radii_option
from hfc_fast.experiments.core.pages import csv_text, markdown_table
from hfc_fast.radius import radius_key

HELP = "Fig 6: with vs without BatchNorm, trained on LFC"


def add_arguments(options) -> None:
    add_paper_radii_option(options, "training radii")
    add_experiment_options(options, "bn-lfc")


def run(exp, args) -> dict:
    paper_radii, radii = exp.paper_radii(args.paper_radii)
    histories, rows = {}, []
    for paper_r, r in zip(paper_radii, radii, strict=True):
        for bn in (False, True):
            name = f"LFC r={radius_key(r)}, {'with' if bn else 'without'} BatchNorm"
            config = exp.config(train_band="lfc", train_radius=r, batchnorm=bn, radii=radii)
            histories[name] = exp.trained(f"lfc-r{radius_key(paper_r)}-{'bn' if bn else 'plain'}", config)[1]
            rows += [[radius_key(r), int(bn), h["epoch"], h["train_running_acc"], h["test"]["acc"],
                      h["test"]["lfc"][radius_key(r)]] for h in histories[name]]
    exp.figure(figures.plot_variants, "bn_lfc.png", histories, title="trained on LFC: with vs without BatchNorm")
    exp.write_text("bn_lfc.csv", csv_text(["radius", "batchnorm", "epoch", "train_acc", "test_acc",
                                           "test_lfc_acc"], rows))
    final = {name: {"train": h[-1]["train_running_acc"], "test": h[-1]["test"]["acc"],
                    "first_epoch_train": h[0]["train_running_acc"]} for name, h in histories.items()}
    report = "\n".join([
        "# BatchNorm on LFC-trained models (Fig 6)", "",
        f"{exp.base.model} on {exp.base.dataset}, trained on the LFC (max-normalised) at each radius, "
        f"{exp.base.epochs} epochs.", "", "![bn-lfc](bn_lfc.png)", "",
        *markdown_table(["model", "train acc. after epoch 1", "final train acc.", "test acc. (original)"],
                        [[n, f["first_epoch_train"], f["train"], f["test"]] for n, f in final.items()]), "",
        paper.BN_LFC_NOTE, ""])
    return exp.finish({"final": final, "radii": radii}, report)
