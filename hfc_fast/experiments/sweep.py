"""``hfc sweep``: top-1/top-5 accuracy of a classifier on the originals, LFCs and HFCs over a radius grid.

The large-scale use: any supported data set (an ImageNet-style ImageFolder
included), a run's checkpoint or a torchvision classifier with a local weights
file. Batches are split once for all radii; under ``torchrun`` rank r takes
every r-th batch; each rank saves its counts atomically every
``--save-every`` batches, so a killed sweep resumes where it stopped.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from hfc_fast.data.registry import TensorData, load_dataset
from hfc_fast.data.views import check_radii, tracking_radii
from hfc_fast.experiments.rundir import save_and_close, save_torch
from hfc_fast.experiments.suite import csv_text, key, load_run, markdown_table, parse_numbers
from hfc_fast.experiments.tracking import iterate_batches
from hfc_fast.frequency import frequency_split

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Normalized(nn.Module):
    """``model((x − mean) / std)``: the split runs on [0, 1] pixels, the model sees what it was trained on."""

    def __init__(self, model: nn.Module, mean, std) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x):
        return self.model((x - self.mean) / self.std)


def torchvision_classifier(name: str, weights: Path, num_classes: int) -> nn.Module:
    """A torchvision classification model built by name, its weights read from a local file."""
    import torchvision

    if name not in torchvision.models.list_models(module=torchvision.models):
        raise ValueError(f"--torchvision {name!r} is not a torchvision classification model; e.g. resnet50, "
                         "vgg16, vit_b_16")
    weights = Path(weights)
    if not weights.exists():
        raise FileNotFoundError(f"--weights {weights} does not exist: nothing is downloaded, give a local "
                                "state_dict file")
    model = torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    model.load_state_dict(state.get("model", state) if isinstance(state, dict) else state)
    return model.eval()


def add_arguments(parser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--checkpoint", type=Path, default=None,
                        help="a training run: its directory or checkpoints/last.pt")
    source.add_argument("--torchvision", default=None, help="a torchvision classifier by name (needs --weights)")
    parser.add_argument("--weights", type=Path, default=None, help="local state_dict of the --torchvision model")
    parser.add_argument("--num-classes", type=int, default=1000, help="classes of the --torchvision model (1000)")
    parser.add_argument("--normalize", choices=("auto", "imagenet", "none"), default="auto",
                        help="mean/std normalisation inside the model (auto: ImageNet's for --torchvision)")
    parser.add_argument("--radii", default=None, help="comma-separated radii (default 4,8,12,16 scaled to the image)")
    parser.add_argument("--split", choices=("test", "train"), default="test", help="which split (default test)")
    parser.add_argument("--batch-size", type=int, default=250, help="images per batch (default 250)")
    parser.add_argument("--workers", type=int, default=4, help="data-loader workers for ImageFolder (default 4)")
    parser.add_argument("--save-every", type=int, default=20, help="batches between saved counts (default 20)")


def _data(exp, split: str):
    c = exp.base
    data = load_dataset(c.dataset, split, c.data_root, image_size=c.image_size)
    limit = c.test_limit if split == "test" else c.train_limit
    if isinstance(data, TensorData):
        return data.subset(limit)
    if limit is not None and limit < len(data):
        data = torch.utils.data.Subset(data, range(limit))
        data.num_classes, data.image_shape = data.dataset.num_classes, data.dataset.image_shape
    return data


def _model(exp, args, data) -> nn.Module:
    if args.torchvision:
        if args.weights is None:
            raise ValueError("--torchvision needs --weights (a local state_dict file)")
        model = torchvision_classifier(args.torchvision, args.weights, args.num_classes)
    elif args.checkpoint:
        model = load_run(args.checkpoint)[0]
    else:
        model, _ = exp.trained("natural-s0", exp.config(seed=0))
    normalize = args.normalize == "imagenet" or (args.normalize == "auto" and args.torchvision)
    if normalize:
        if data.image_shape[0] != 3:
            raise ValueError("--normalize imagenet needs 3-channel images")
        model = Normalized(model, IMAGENET_MEAN, IMAGENET_STD)
    return model.to(exp.dist.device).eval()


def _counts(exp, args, model, data, radii) -> tuple[torch.Tensor, int]:
    """Summed top-1 and top-5 hits per view ``(2, 1 + 2R)`` and the image count, resuming saved counts."""
    dist = exp.dist
    state_path = exp.out / "partial" / f"rank{dist.rank}-of-{dist.world}.pt"
    state = {"next_batch": 0, "hits": torch.zeros(2, 1 + 2 * len(radii), dtype=torch.float64), "n": 0}
    if state_path.exists():
        state = torch.load(state_path, weights_only=True)
        exp.log(f"resuming at batch {state['next_batch']}")
    n_batches = -(-len(data) // args.batch_size)
    mine = [i for i in range(n_batches) if i % dist.world == dist.rank and i >= state["next_batch"]]
    indices = torch.arange(len(data))
    done_since_save = 0
    bar = tqdm(total=len(mine), desc="sweep", unit="batch", disable=not exp.progress or not dist.is_main)
    with torch.no_grad():
        for i in mine:
            x, y = next(iterate_batches(data, indices[i * args.batch_size:(i + 1) * args.batch_size],
                                        args.batch_size, workers=args.workers))
            x, y = x.to(dist.device, non_blocking=True), y.to(dist.device, non_blocking=True)
            low, high = frequency_split(x, radii)
            for v, view in enumerate([x, *low, *high]):
                with torch.autocast(dist.device.type, dtype=torch.bfloat16, enabled=exp.base.amp):
                    logits = model(view)
                top = logits.float().topk(min(5, logits.shape[1]), dim=1).indices
                state["hits"][0, v] += float((top[:, 0] == y).sum())
                state["hits"][1, v] += float((top == y[:, None]).any(1).sum())
            state["n"] += len(y)
            state["next_batch"] = i + 1
            done_since_save += 1
            if done_since_save >= args.save_every:
                save_torch(state_path, state)
                done_since_save = 0
            bar.update()
    bar.close()
    save_torch(state_path, state)
    totals = dist.all_sum([float(state["n"]), *state["hits"].flatten().tolist()])
    return torch.tensor(totals[1:], dtype=torch.float64).view(2, -1), int(totals[0])


def plot_sweep(result: dict, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    radii = [float(r) for r in result["lfc"]["top1"]]
    fig, ax = plt.subplots(figsize=(6, 4))
    for metric, style in (("top1", "-"), ("top5", "--")):
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


def run(exp, args) -> dict:
    for name in ("batch_size", "save_every"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    data = _data(exp, args.split)
    _, h, w = data.image_shape
    radii = parse_numbers(args.radii, "--radii") if args.radii else list(tracking_radii(min(h, w)))
    check_radii(radii, h, w, "--radii")
    model = _model(exp, args, data)

    def compute():
        hits, n = _counts(exp, args, model, data, radii)
        acc = (hits / max(n, 1)).tolist()
        k = len(radii)
        result = {"n": n, "radii": radii, "original": {"top1": acc[0][0], "top5": acc[1][0]}}
        for band, offset in (("lfc", 1), ("hfc", 1 + k)):
            result[band] = {m: {key(r): acc[row][offset + i] for i, r in enumerate(radii)}
                            for row, m in enumerate(("top1", "top5"))}
        return result
    result = exp.stage("sweep", compute)
    source = args.torchvision or (str(args.checkpoint) if args.checkpoint else f"{exp.base.model} (trained here)")
    if exp.dist.is_main:
        plot_sweep(result, exp.out / "sweep.png", f"{source} on {exp.base.dataset} ({result['n']} images)")
    rows = [["original", "", result["original"]["top1"], result["original"]["top5"]]] + [
        [band, key(r), result[band]["top1"][key(r)], result[band]["top5"][key(r)]]
        for band in ("lfc", "hfc") for r in radii]
    exp.write_text("sweep.csv", csv_text(["view", "radius", "top1", "top5"], rows))
    report = "\n".join([
        f"# Accuracy on LFC and HFC: {source}", "",
        f"{result['n']} {args.split} images of {exp.base.dataset} ({h}×{w}); each image split at every radius "
        "(strict d < r, no normalisation).", "", "![sweep](sweep.png)", "",
        *markdown_table(["view", "radius", "top-1", "top-5"], rows), ""])
    return exp.finish(result, report)
