"""``hfc detect train``: train or fine-tune a torchvision detector on a COCO-format set.

Writes ``config.json``, ``metrics.jsonl`` (a line per epoch), ``losses.png`` and
``checkpoints/last.pt`` (model, optimiser, epoch, config, ``num_classes``),
all atomically at the end of each epoch; ``--resume`` continues a killed run.
The checkpoint is what ``hfc detect --weights`` reads. Under ``torchrun`` the
model is wrapped in DDP and each rank takes its slice of every batch.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from hfc_fast.data.coco import CocoDetection
from hfc_fast.experiments import distributed
from hfc_fast.experiments.detectors import build_detector, read_weights
from hfc_fast.experiments.rundir import save_and_close, save_torch, write_json, write_text

CHECKPOINT = Path("checkpoints") / "last.pt"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images", type=Path, required=True, help="image folder (e.g. train2017/)")
    parser.add_argument("--annotations", type=Path, required=True, help="COCO instances JSON")
    parser.add_argument("--model", default="retinanet_resnet50_fpn", help="torchvision detection builder")
    parser.add_argument("--weights", type=Path, default=None, help="start from these local weights (fine-tuning)")
    parser.add_argument("--num-classes", type=int, default=None,
                        help="classes incl. background (default: largest category id + 1)")
    parser.add_argument("--min-size", type=int, default=None, help="model resize bound (torchvision default 800)")
    parser.add_argument("--max-size", type=int, default=None, help="model resize bound (torchvision default 1333)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (default 0.01)")
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/detect-train"),
                        help="run directory (default runs/detect-train)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--amp", action="store_true", help="bfloat16 autocast")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _config(args, num_classes: int) -> dict:
    return {"images": str(args.images), "annotations": str(args.annotations), "model": args.model,
            "weights": str(args.weights) if args.weights else None, "num_classes": num_classes,
            "min_size": args.min_size, "max_size": args.max_size, "epochs": args.epochs,
            "batch_size": args.batch_size, "lr": args.lr, "momentum": args.momentum,
            "weight_decay": args.weight_decay, "limit": args.limit, "seed": args.seed, "amp": args.amp}


def plot_losses(history: list[dict], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    epochs = [h["epoch"] for h in history]
    for name in history[0]["losses"]:
        ax.plot(epochs, [h["losses"][name] for h in history], marker="o", label=name)
    ax.plot(epochs, [h["loss"] for h in history], "k-", lw=2, label="total")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean training loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_and_close(path, fig)


def train_detector(args) -> list[dict]:
    """Train, saving every epoch; returns the per-epoch history."""
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.lr <= 0:
        raise ValueError(f"--lr must be positive, got {args.lr}")
    data = CocoDetection(args.images, args.annotations, limit=args.limit)
    num_classes = args.num_classes or data.num_classes
    if num_classes < data.num_classes:
        raise ValueError(f"--num-classes {num_classes} is too small: the largest category id is "
                         f"{data.num_classes - 1}")
    out = Path(args.out)
    config = _config(args, num_classes)
    dist = distributed.setup(args.device)
    try:
        torch.manual_seed(args.seed)
        core = build_detector(args.model, num_classes, min_size=args.min_size, max_size=args.max_size)
        if args.weights:
            core.load_state_dict(read_weights(args.weights)["model"])
        core.to(dist.device)
        model = core
        if dist.world > 1:
            ids = [dist.device.index] if dist.device.type == "cuda" else None
            model = torch.nn.parallel.DistributedDataParallel(core, device_ids=ids)
        params = [p for p in core.parameters() if p.requires_grad]
        optimizer = torch.optim.SGD(params, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
        history, start = [], 0
        checkpoint = out / CHECKPOINT
        if args.resume:
            if not checkpoint.exists():
                raise FileNotFoundError(f"--resume: no checkpoint at {checkpoint}")
            state = torch.load(checkpoint, map_location="cpu", weights_only=True)
            changed = [k for k in config if k != "epochs" and state["config"].get(k) != config[k]]
            if changed:
                raise ValueError(f"--resume: settings {', '.join(changed)} differ from the run's")
            core.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            history, start = list(state["history"]), int(state["epoch"])
            torch.set_rng_state(state["rng"])  # the detector's sampling continues as if never stopped
        elif checkpoint.exists():
            raise FileExistsError(f"{out} already holds a run; pass --resume or choose another --out")
        if dist.is_main:
            write_json(out / "config.json", config)
        for epoch in range(start, args.epochs):
            began = time.perf_counter()
            model.train()
            order = torch.randperm(len(data), generator=torch.Generator().manual_seed(args.seed * 1009 + epoch))
            sums, seen = {}, 0
            batches = range(0, len(order), args.batch_size)
            bar = tqdm(batches, desc=f"epoch {epoch + 1}/{args.epochs}", unit="batch",
                       disable=args.no_progress or not dist.is_main, leave=False)
            for begin in bar:
                shard = order[begin:begin + args.batch_size].tensor_split(dist.world)[dist.rank]
                images, targets = [], []
                for index in shard.tolist():
                    image, target = data[index]
                    images.append(image.to(dist.device))
                    targets.append({"boxes": target["boxes"].to(dist.device),
                                    "labels": target["labels"].to(dist.device)})
                if not images:
                    continue
                with torch.autocast(dist.device.type, dtype=torch.bfloat16, enabled=args.amp):
                    losses = model(images, targets)
                loss = sum(v.float() for v in losses.values())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(images)
                seen += len(images)
                bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
            totals = dist.all_sum([float(seen), *(sums[k] for k in sorted(sums))])
            means = {k: t / max(totals[0], 1.0) for k, t in zip(sorted(sums), totals[1:], strict=True)}
            history.append({"epoch": epoch + 1, "loss": sum(means.values()), "losses": means,
                            "seconds": time.perf_counter() - began})
            if dist.is_main:
                write_text(out / "metrics.jsonl", "".join(json.dumps(h, sort_keys=True) + "\n" for h in history))
                save_torch(checkpoint, {"model": core.state_dict(), "optimizer": optimizer.state_dict(),
                                        "epoch": epoch + 1, "config": config, "history": history,
                                        "num_classes": num_classes, "rng": torch.get_rng_state()})
                plot_losses(history, out / "losses.png")
            dist.barrier()
        return history
    finally:
        dist.close()
