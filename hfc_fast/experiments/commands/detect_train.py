"""``hfc detect train``: train or fine-tune a torchvision detector on a COCO-format set.

Writes ``config.json``, ``metrics.jsonl`` (a line per epoch), ``losses.png`` and
``checkpoints/last.pt`` (model, optimiser, epoch, settings, ``num_classes``),
all atomically at the end of each epoch through the trainer every training run
shares; ``--resume`` continues a killed run. The checkpoint is what
``hfc detect --weights`` reads. Under ``torchrun`` the model is wrapped in DDP
and each rank takes its slice of every batch.
"""

from __future__ import annotations

from pathlib import Path

from hfc_fast.experiments.core.config import DetectTrainConfig
from hfc_fast.experiments.core.detectors import DetectorRun

HELP = "train or fine-tune a detector on a COCO-format set"
RESUMABLE = ("epochs", "device")


def add_arguments(options) -> None:
    options.add_config(DetectTrainConfig)
    options.add("--out", default=Path("runs/detect-train"), type=Path, help="run directory (default runs/detect-train)")
    options.add("--resume", default=False, action="store_true", help="continue the run in --out from its checkpoint")
    options.add("--no-progress", default=False, action="store_true", help="no progress bars")


def config(args) -> DetectTrainConfig:
    return DetectTrainConfig(**{k: v for k, v in vars(args).items() if k in DetectTrainConfig.__dataclass_fields__})


def check_args(args) -> None:
    config(args).validate()


def run(exp, args) -> dict:
    trainer = DetectorRun(config(args), exp.dir, resume=args.resume, progress=exp.progress)
    try:
        return {"history": trainer.run()}
    finally:
        trainer.close()


def summary(results: dict, args) -> list[str]:
    last = results["history"][-1]
    return [f"epoch {last['epoch']}: loss {last['loss']:.4f}; wrote {args.out}/checkpoints/last.pt"]
