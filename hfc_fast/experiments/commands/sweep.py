"""``hfc sweep``: top-1/top-5 accuracy of a classifier on the originals, LFCs and HFCs over a radius grid.

The large-scale use: any supported data set (an ImageNet-style ImageFolder
included), a run's checkpoint or a torchvision or timm classifier with a local
weights file (its normalisation, and for timm its input size, applied after the
split). The counting is :func:`hfc_fast.track_frequencies`: each batch is split
once for all radii, rank r takes every r-th batch under ``torchrun``, and each
rank saves its counts atomically every ``--save-every`` batches, so a killed
sweep resumes where it stopped.
"""

from __future__ import annotations

from pathlib import Path

from hfc_fast._model import probe_classes
from hfc_fast.bands import HFC, LFC, ORIGINAL, SPLIT_VIEWS
from hfc_fast.data.decode import DECODE
from hfc_fast.errors import InputError
from hfc_fast.evaluation import PassSettings, default_workers
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.figures import pyplot
from hfc_fast.experiments.core.files import save_and_close, save_torch
from hfc_fast.experiments.core.model_sources import (
    add_classifier_options,
    check_classifier_options,
    checkpoint_state,
    classifier,
    classifier_name,
)
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import csv_text, markdown_table
from hfc_fast.radius import check_fits, radius_key, scaled_radii
from hfc_fast.tracking import FrequencyTracking, Normalize, track_frequencies

HELP = "top-1/top-5 accuracy of a classifier on originals, LFC and HFC over a radius grid"
RESUMABLE = ("device", "workers", "save_every", "decode")  # not the batch size: saved counts are by batch


def check_args(args) -> None:
    check_classifier_options(args)


def add_arguments(options) -> None:
    add_classifier_options(options)
    options.add("--radii", default=None, spec=Spec("numbers", above=0),
                help="comma-separated radii (default 4,8,12,16 scaled to the image)")
    options.add("--split", default="test", spec=Spec("str", choices=("test", "train")), help="which split")
    options.add("--batch-size", default=250, spec=Spec("int", minimum=1), help="images per batch (default 250)")
    options.add("--workers", default=default_workers(), spec=Spec("int", minimum=0),
                help=f"data-loader workers for ImageFolder (default {default_workers()}: this machine's cores, "
                     "shared among torchrun's processes)")
    options.add("--decode", default="auto", spec=Spec("str", choices=DECODE),
                help="where an ImageFolder's JPEGs are decoded: auto (default: on a CUDA device with nvJPEG, a batch "
                     "at a time; in the workers otherwise), device or workers")
    options.add("--save-every", default=20, spec=Spec("int", minimum=1),
                help="batches between saved counts (default 20)")
    add_experiment_options(options, "sweep")


def sweep(exp, args, model, normalize, data, radii) -> dict:
    """Top-1/top-5 on every view, resuming this rank's saved counts."""
    path = exp.partial_dir() / f"rank{exp.dist.rank}-of-{exp.dist.world}.pt"
    state = FrequencyTracking.from_state_dict(checkpoint_state(path, "saved sweep state")) if path.exists() else None
    if state is not None:
        exp.log(f"resuming at batch {state.next_batch}")
    classes = probe_classes(Normalize(model, *normalize) if normalize else model, data.image_shape,
                            device=exp.dist.device, what="the classifier")
    if data.num_classes > classes:
        raise InputError(f"the classifier scores {classes} classes but the data set has {data.num_classes}: "
                         "its labels would name classes the model does not have")
    if data.num_classes < classes:
        exp.notice(f"the data set has {data.num_classes} classes and the classifier {classes}: label i is read as "
                   f"the model's class i, so the folders must be the model's first {data.num_classes} classes in "
                   "its order")
    topk = (1, 5) if classes > 5 else (1,)
    r = track_frequencies(model, data, radii, batch_size=args.batch_size, topk=topk, normalize=normalize,
                          amp=exp.base.amp, device=exp.dist.device, workers=args.workers,
                          progress=exp.progress, state=state, save=lambda s: save_torch(path, s.state_dict()),
                          save_every=args.save_every, settings=PassSettings(decode=args.decode))
    views = {ORIGINAL: "acc", LFC: "lfc", HFC: "hfc"}
    top5 = r.get("top5", {"acc": None, "lfc": None, "hfc": None})  # None: the model has 5 classes or fewer
    return {"n": r["n"], "radii": radii, "classes": classes,
            **{v: {"top1": r[k], "top5": top5[k]} for v, k in views.items()}}


def run(exp, args) -> dict:
    data = exp.data(args.split)
    _, h, w = data.image_shape
    radii = args.radii or list(scaled_radii(min(h, w)))
    check_fits(radii, h, w, "--radii")
    model, normalize = classifier(exp, args, data.image_shape[0])
    result = exp.stage("sweep", lambda: sweep(exp, args, model, normalize, data, radii))
    source = classifier_name(exp, args)
    exp.figure(plot_sweep, "sweep.png", result, f"{source} on {exp.base.dataset} ({result['n']} images)")
    def top5(band, key):
        values = result[band]["top5"]
        return "" if values is None else values[key] if key else values

    rows = [["original", "", result["original"]["top1"], top5("original", "")]] + [
        [band, radius_key(r), result[band]["top1"][radius_key(r)], top5(band, radius_key(r))]
        for band in SPLIT_VIEWS for r in radii]
    exp.write_text("sweep.csv", csv_text(["view", "radius", "top1", "top5"], rows))
    report = "\n".join([
        f"# Accuracy on LFC and HFC: {source}", "",
        f"{result['n']} {args.split} images of {exp.base.dataset} ({h}×{w}); each image split at every radius "
        "(strict d < r, no normalisation).", "", "![sweep](sweep.png)", "",
        *markdown_table(["view", "radius", "top-1", "top-5"], rows), ""])
    return exp.finish(result, report)


def plot_sweep(result: dict, title: str, path: Path) -> Path:
    """Top-1/top-5 accuracy on the LFC and the HFC by radius, the originals' as lines."""
    radii = [float(r) for r in result["lfc"]["top1"]]
    fig, ax = pyplot().subplots(figsize=(6, 4))
    for metric, style in (("top1", "-"), ("top5", "--")):
        if result["original"][metric] is None:  # no top-5 for a model of 5 classes or fewer
            continue
        ax.axhline(result["original"][metric], color="black", ls=style, lw=1, label=f"original {metric}")
        ax.plot(radii, list(result["lfc"][metric].values()), "o" + style, color="tab:blue", label=f"LFC {metric}")
        ax.plot(radii, list(result["hfc"][metric].values()), "s" + style, color="tab:red", label=f"HFC {metric}")
    ax.set_xlabel("radius r (cycles per image)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    return save_and_close(path, fig)
