"""``hfc train``: a model trained with LFC/HFC accuracy tracking every epoch (paper §4–5).

Every option is a field of :class:`~hfc_fast.experiments.core.config.TrainConfig`;
the defaults are the paper's vanilla set-up (Adam 1e-4, batch 100, 100 epochs,
Xavier init).
"""

from __future__ import annotations

from pathlib import Path

from hfc_fast.experiments.core.config import RESUMABLE_CHANGES, TrainConfig
from hfc_fast.experiments.core.training import check_epochs, train, trained_epochs

HELP = "train a model with LFC/HFC accuracy tracking every epoch"
RESUMABLE = (*RESUMABLE_CHANGES, "tensorboard")


def add_arguments(options) -> None:
    options.add("--out", default=Path("runs/train"), type=Path, help="run directory (default runs/train)")
    options.add("--resume", default=False, action="store_true",
                help="continue the run in --out from its last checkpoint")
    options.add("--no-progress", default=False, action="store_true", help="no progress bars")
    options.add("--tensorboard", default=False, action="store_true",
                help="also write the metrics as TensorBoard scalars under OUT/tensorboard")
    options.add_config(TrainConfig)


def config(args) -> TrainConfig:
    return TrainConfig.from_dict({k: v for k, v in vars(args).items() if k in TrainConfig.__dataclass_fields__})


def check_args(args) -> None:
    config(args).validate()
    if args.resume and (done := trained_epochs(args.out)) is not None:
        check_epochs(args.epochs, done, args.out)  # before config.json is rewritten


def run(exp, args) -> dict:
    return {"history": train(config(args), exp.dir, resume=args.resume, progress=exp.progress,
                             tensorboard=args.tensorboard)}


def summary(results: dict, args) -> list[str]:
    last = results["history"][-1]
    return [f"epoch {last['epoch']}: train {last['train']['acc']:.4f}, test {last['test']['acc']:.4f}; "
            f"wrote {args.out}/metrics.jsonl, curves.png, checkpoints/last.pt"]
