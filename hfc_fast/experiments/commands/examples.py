"""``hfc examples`` (paper Fig 2): images the model gets right on x and on its HFC but wrong on its LFC."""

from __future__ import annotations

from pathlib import Path

from hfc_fast.errors import InputError
from hfc_fast.experiments.core import analyses, figures
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.model_sources import load_run
from hfc_fast.experiments.core.options import Spec

HELP = "Fig 2: test images right on x and x_h but wrong on x_l"


def add_arguments(options) -> None:
    options.add("--checkpoint", default=None, type=Path,
                help="a training run (directory or checkpoint) to use; default: train the preset's model")
    options.add("--radius", default=None, spec=Spec("float", above=0),
                help="LFC/HFC radius (default: 12 scaled to the image)")
    options.add("--images", default=8, spec=Spec("int", minimum=1), help="examples in the grid (default 8)")
    add_experiment_options(options, "examples")


def run(exp, args) -> dict:
    radius = args.radius if args.radius is not None else exp.scaled_radii((12,))[0]
    exp.check_radii([radius], "--radius")
    if args.checkpoint is not None:
        model, config, _ = load_run(args.checkpoint)
        if config.dataset != exp.base.dataset:
            raise InputError(f"--checkpoint {args.checkpoint} was trained on {config.dataset}, not on --dataset "
                             f"{exp.base.dataset}")
        model = model.to(exp.dist.device)
    else:
        model, _ = exp.trained("natural-s0", exp.config(seed=0))
    test = exp.test_set()
    found = analyses.find_examples(model, test.images, test.labels, radius)
    exp.figure(figures.plot_examples, "examples.png", test.images, test.labels, found, radius, exp.class_names(),
               n=args.images)
    count = len(found["indices"])
    results = {"radius": radius, "count": count, "n": found["n"], "fraction": count / max(1, found["n"]),
               "indices": found["indices"].tolist(),
               "confidence": {k: v.tolist() for k, v in found["confidence"].items()},
               "pred_low": found["pred_low"].tolist()}
    report = "\n".join([
        "# Images right on x and on x_h, wrong on x_l (Fig 2)", "",
        f"{count} of {found['n']} test images ({100 * results['fraction']:.2f}%) are classified correctly on the "
        f"original and on its HFC but wrongly on its LFC at r = {radius:g} (the paper's r = 12 on 32×32 images).",
        "The paper shows such CIFAR-10 images in its Fig 2 to argue that a CNN can use high-frequency "
        "components humans do not perceive.", "", "![examples](examples.png)", ""])
    return exp.finish(results, report)
