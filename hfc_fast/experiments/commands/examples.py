"""``hfc examples`` (paper Fig 2): images the model gets right on x and on its HFC but wrong on its LFC."""

from __future__ import annotations

from pathlib import Path

import torch

from hfc_fast.errors import InputError
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.figures import pyplot
from hfc_fast.experiments.core.files import save_and_close
from hfc_fast.experiments.core.model_sources import add_checkpoint_option, load_run
from hfc_fast.experiments.core.options import Spec
from hfc_fast.frequency import frequency_split

HELP = "Fig 2: test images right on x and x_h but wrong on x_l"


def add_arguments(options) -> None:
    add_checkpoint_option(options)
    options.add("--radius", default=None, spec=Spec("float", above=0),
                help="LFC/HFC radius (default: 12 scaled to the image)")
    options.add("--grid", default=8, spec=Spec("int", minimum=1), help="examples in the grid (default 8)")
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
    found = find_examples(model, test.images, test.labels, radius)
    exp.figure(plot_examples, "examples.png", test.images, test.labels, found, radius, exp.class_names(),
               n=args.grid)
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


@torch.no_grad()
def find_examples(model, images: torch.Tensor, labels: torch.Tensor, radius: float, *,
                  batch_size: int = 500) -> dict:
    """Indices and confidences of the images right on x and x_h but wrong on x_l.

    Returns:
        ``{"indices": (M,), "confidence": {"x","low","high"}: (M,), "pred_low": (M,), "n": N}``; the
        confidence is the softmax probability of the predicted class.
    """
    model.eval()
    device = next(model.parameters()).device
    found, conf, pred_low = [], {"x": [], "low": [], "high": []}, []
    for start in range(0, len(images), batch_size):
        x, y = images[start:start + batch_size].to(device), labels[start:start + batch_size].to(device)
        low, high = frequency_split(x, radius)
        probs = {k: torch.softmax(model(v), dim=1) for k, v in (("x", x), ("low", low), ("high", high))}
        pred = {k: p.argmax(1) for k, p in probs.items()}
        hit = (pred["x"] == y) & (pred["high"] == y) & (pred["low"] != y)
        found.append(hit.nonzero().squeeze(1).cpu() + start)
        for k in conf:
            conf[k].append(probs[k].max(1).values[hit].cpu())
        pred_low.append(pred["low"][hit].cpu())
    return {"indices": torch.cat(found), "confidence": {k: torch.cat(v) for k, v in conf.items()},
            "pred_low": torch.cat(pred_low), "n": len(images)}


def plot_examples(images, labels, found: dict, radius: float, class_names, path: Path, *, n: int = 8) -> Path:
    """Columns of x, x_l, x_h with predictions and confidences, like the paper's Fig 2."""
    from hfc_fast.frequency import frequency_split

    picks = found["indices"][:n]
    cols = max(1, len(picks))
    fig, axes = pyplot().subplots(3, cols, figsize=(1.9 * cols, 6.2), squeeze=False)
    for j in range(cols):
        for i in range(3):
            axes[i][j].axis("off")
        if j >= len(picks):
            continue
        x = images[picks[j]:picks[j] + 1]
        low, high = frequency_split(x, radius)
        y = int(labels[picks[j]])
        panels = ((x, "x", class_names[y], found["confidence"]["x"][j]),
                  (low, "x_l", class_names[int(found["pred_low"][j])], found["confidence"]["low"][j]),
                  (high, "x_h", class_names[y], found["confidence"]["high"][j]))
        for i, (img, name, pred, c) in enumerate(panels):
            shown = img[0].permute(1, 2, 0).squeeze(-1)
            if name == "x_h":
                shown = (shown - shown.min()) / (shown.max() - shown.min()).clamp_min(1e-8)
            axes[i][j].imshow(shown.clamp(0, 1).numpy(), cmap="gray" if shown.dim() == 2 else None)
            axes[i][j].set_title(f"{name}: {pred}\n{100 * float(c):.0f}%", fontsize=7)
    fig.suptitle(f"right on x and on x_h, wrong on x_l (r = {radius:g}): {len(found['indices'])} of {found['n']}")
    return save_and_close(path, fig)
