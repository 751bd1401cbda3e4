"""``hfc bn-lfc`` (paper Fig 6): models with and without BatchNorm, trained on the LFC."""

from __future__ import annotations

from hfc_fast.experiments.curves import plot_variants
from hfc_fast.experiments.suite import add_paper_radii_argument, csv_text, key, markdown_table


def add_arguments(parser) -> None:
    add_paper_radii_argument(parser, "training radii")


def run(exp, args) -> dict:
    paper_radii, radii = exp.paper_radii(args.paper_radii)
    histories, rows = {}, []
    for paper_r, r in zip(paper_radii, radii, strict=True):
        for bn in (False, True):
            name = f"LFC r={key(r)}, {'with' if bn else 'without'} BatchNorm"
            config = exp.config(train_band="lfc", train_radius=r, batchnorm=bn, radii=radii)
            _, history = exp.trained(f"lfc-r{key(paper_r)}-{'bn' if bn else 'plain'}", config)
            histories[name] = history
            for h in history:
                rows.append([key(r), int(bn), h["epoch"], h["train_running_acc"], h["test"]["acc"],
                             h["test"]["lfc"][key(r)]])
    if exp.dist.is_main:
        plot_variants(histories, exp.out / "bn_lfc.png", title="trained on LFC: with vs without BatchNorm")
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
        "Paper (CIFAR-10): trained on the LFC, BatchNorm does not always help test accuracy, the less so the "
        "smaller the radius, but it speeds up the convergence of training accuracy, least at r = 4.", ""])
    return exp.finish({"final": final, "radii": radii}, report)
