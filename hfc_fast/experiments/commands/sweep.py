"""``hfc sweep``: top-1/top-5 accuracy of a classifier on the originals, LFCs and HFCs over a radius grid.

The large-scale use: any supported data set (an ImageNet-style ImageFolder
included), a run's checkpoint or a torchvision classifier with a local weights
file. The counting is :func:`hfc_fast.track_frequencies`: each batch is split
once for all radii, rank r takes every r-th batch under ``torchrun``, and each
rank saves its counts atomically every ``--save-every`` batches, so a killed
sweep resumes where it stopped.
"""

from __future__ import annotations

from pathlib import Path

import torch

from hfc_fast.experiments.core import figures
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.files import save_torch
from hfc_fast.experiments.core.model_sources import IMAGENET_MEAN, IMAGENET_STD, load_run, torchvision_classifier
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import csv_text, markdown_table
from hfc_fast.radius import check_fits, radius_key, scaled_radii
from hfc_fast.tracking import TrackingState, track_frequencies

HELP = "top-1/top-5 accuracy of a classifier on originals, LFC and HFC over a radius grid"


def add_arguments(options) -> None:
    source = options.parser.add_mutually_exclusive_group()
    options.add("--checkpoint", default=None, type=Path, group=source,
                help="a training run: its directory or checkpoints/last.pt")
    options.add("--torchvision", default=None, group=source, help="a torchvision classifier by name (needs --weights)")
    options.add("--weights", default=None, type=Path, help="local state_dict of the --torchvision model")
    options.add("--num-classes", default=1000, spec=Spec("int", minimum=2),
                help="classes of the --torchvision model (1000)")
    options.add("--normalize", default="auto", spec=Spec("str", choices=("auto", "imagenet", "none")),
                help="mean/std normalisation after the split (auto: ImageNet's for --torchvision)")
    options.add("--radii", default=None, spec=Spec("numbers", above=0),
                help="comma-separated radii (default 4,8,12,16 scaled to the image)")
    options.add("--split", default="test", spec=Spec("str", choices=("test", "train")), help="which split")
    options.add("--batch-size", default=250, spec=Spec("int", minimum=1), help="images per batch (default 250)")
    options.add("--workers", default=4, spec=Spec("int", minimum=0),
                help="data-loader workers for ImageFolder (default 4)")
    options.add("--save-every", default=20, spec=Spec("int", minimum=1),
                help="batches between saved counts (default 20)")
    add_experiment_options(options, "sweep")


def source_model(exp, args, channels: int):
    """The model (on this process's device) and the normalisation to apply after the split."""
    if args.torchvision:
        if args.weights is None:
            raise ValueError("--torchvision needs --weights (a local state_dict file)")
        model = torchvision_classifier(args.torchvision, args.weights, args.num_classes)
    elif args.checkpoint:
        model = load_run(args.checkpoint)[0]
    else:
        model, _ = exp.trained("natural-s0", exp.config(seed=0))
    normalize = None
    if args.normalize == "imagenet" or (args.normalize == "auto" and args.torchvision):
        if channels != 3:
            raise ValueError("--normalize imagenet needs 3-channel images")
        normalize = (IMAGENET_MEAN, IMAGENET_STD)
    return model.to(exp.dist.device).eval(), normalize


def sweep(exp, args, model, normalize, data, radii) -> dict:
    """Top-1/top-5 on every view, resuming this rank's saved counts."""
    path = exp.out / "partial" / f"rank{exp.dist.rank}-of-{exp.dist.world}.pt"
    state = TrackingState.from_dict(torch.load(path, weights_only=True)) if path.exists() else None
    if state is not None:
        exp.log(f"resuming at batch {state.next_batch}")
    r = track_frequencies(model, data, radii, batch_size=args.batch_size, topk=(1, 5), normalize=normalize,
                          amp=exp.base.amp, device=exp.dist.device, workers=args.workers,
                          progress=exp.progress, state=state, save=lambda s: save_torch(path, s.to_dict()),
                          save_every=args.save_every)
    views = {"original": "acc", "lfc": "lfc", "hfc": "hfc"}
    return {"n": r["n"], "radii": radii, **{v: {"top1": r[k], "top5": r["top5"][k]} for v, k in views.items()}}


def run(exp, args) -> dict:
    data = exp.data(args.split)
    _, h, w = data.image_shape
    radii = args.radii or list(scaled_radii(min(h, w)))
    check_fits(radii, h, w, "--radii")
    model, normalize = source_model(exp, args, data.image_shape[0])
    result = exp.stage("sweep", lambda: sweep(exp, args, model, normalize, data, radii))
    source = args.torchvision or (str(args.checkpoint) if args.checkpoint else f"{exp.base.model} (trained here)")
    exp.figure(figures.plot_sweep, "sweep.png", result, f"{source} on {exp.base.dataset} ({result['n']} images)")
    rows = [["original", "", result["original"]["top1"], result["original"]["top5"]]] + [
        [band, radius_key(r), result[band]["top1"][radius_key(r)], result[band]["top5"][radius_key(r)]]
        for band in ("lfc", "hfc") for r in radii]
    exp.write_text("sweep.csv", csv_text(["view", "radius", "top1", "top5"], rows))
    report = "\n".join([
        f"# Accuracy on LFC and HFC: {source}", "",
        f"{result['n']} {args.split} images of {exp.base.dataset} ({h}×{w}); each image split at every radius "
        "(strict d < r, no normalisation).", "", "![sweep](sweep.png)", "",
        *markdown_table(["view", "radius", "top-1", "top-5"], rows), ""])
    return exp.finish(result, report)
