"""What every experiment subcommand shares: presets, common options, trained variants, run files.

A subcommand is a module with ``add_arguments(parser)`` and ``run(exp, args) -> dict``.
:class:`Experiment` gives it the run directory, the preset's training settings
(overridable from the command line), trained variants (each a resumable
``hfc train`` run under ``runs/``), cached stages, verdicts and the report.
Under ``torchrun`` one process group serves the whole command: training is
data-parallel, attacks and evaluations shard their batches, and only rank 0
writes files.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from hfc_fast.data.registry import DATASETS, TensorData, load_dataset
from hfc_fast.data.views import check_radii, tracking_radii
from hfc_fast.experiments import distributed
from hfc_fast.experiments.pages import write_page
from hfc_fast.experiments.rundir import write_json, write_text
from hfc_fast.experiments.train import CHECKPOINT, train
from hfc_fast.experiments.train_config import TrainConfig
from hfc_fast.models.registry import MODELS, build_model

# Training settings of each preset. "paper": §4.2's vanilla set-up on the authors' ResNet;
# "quick": a small CNN on slices of the data, minutes on a laptop CPU.
PRESETS = {
    "paper": dict(model="paper_resnet", optimizer="adam", lr=1e-4, batch_size=100, epochs=100, train_limit=None,
                  test_limit=None, track_train=10000),
    "quick": dict(model="small_cnn", optimizer="adam", lr=1e-3, batch_size=100, epochs=3, train_limit=6000,
                  test_limit=2000, track_train=2000),
}

RESUMABLE = ("device",)  # settings a rerun into the same directory may change
IN_MEMORY_LIMIT = 10_000  # ImageFolder test images held in memory when --test-limit is not given

CLASS_NAMES = {
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"],
    "mnist": [str(d) for d in range(10)],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
}

def _limit(text: str) -> int | None:
    return None if text.lower() in ("none", "all") else int(text)


def add_common_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """The options every subcommand takes."""
    g = parser.add_argument_group("common options")
    g.add_argument("--out", type=Path, default=Path("runs") / name, help=f"run directory (default runs/{name})")
    g.add_argument("--preset", default="quick", help="quick (minutes on a CPU, default) or paper (the papers' "
                                                      "settings: paper_resnet, Adam 1e-4, batch 100, 100 epochs)")
    g.add_argument("--dataset", default="fashion-mnist", help=f"one of {', '.join(DATASETS)} (default fashion-mnist)")
    g.add_argument("--data-root", default=None, help="the data set's folder (Fashion-MNIST: Debian's by default)")
    g.add_argument("--image-size", type=int, default=None, help="ImageFolder crop size (default 224)")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    g.add_argument("--model", default=None, help=f"override the preset's model ({', '.join(MODELS)})")
    g.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    g.add_argument("--train-limit", type=_limit, default=argparse.SUPPRESS,
                   help="use only the first N training images ('all': every one)")
    g.add_argument("--test-limit", type=_limit, default=argparse.SUPPRESS, help="use only the first N test images")
    g.add_argument("--seeds", type=int, default=1, help="seeds per trained variant, for the verdicts (default 1)")
    g.add_argument("--amp", action="store_true", help="bfloat16 autocast")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")


def parse_numbers(text: str, option: str, *, minimum: float | None = None) -> list[float]:
    """``"4,8,12"`` as floats; a clear error naming ``option`` otherwise."""
    try:
        values = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{option} must be comma-separated numbers, got {text!r}") from None
    if not values or (minimum is not None and any(v < minimum for v in values)):
        bound = f" >= {minimum:g}" if minimum is not None else ""
        raise ValueError(f"{option} must be comma-separated numbers{bound}, got {text!r}")
    return values


def add_paper_radii_argument(parser: argparse.ArgumentParser, what: str = "radii") -> None:
    parser.add_argument("--paper-radii", default="4,8,12,16",
                        help=f"{what} on the paper's 32×32 scale, scaled to the image (default 4,8,12,16)")


def key(r: float) -> str:
    """A radius as the metrics files spell it."""
    return f"{r:g}"


class Experiment:
    """One subcommand's run directory and the settings its trained variants share."""

    def __init__(self, name: str, args: argparse.Namespace) -> None:
        if args.preset not in PRESETS:
            raise ValueError(f"--preset must be one of {', '.join(PRESETS)}, got {args.preset!r}")
        if args.dataset not in DATASETS:
            raise ValueError(f"--dataset must be one of {', '.join(DATASETS)}, got {args.dataset!r}")
        if args.model is not None and args.model not in MODELS:
            raise ValueError(f"--model must be one of {', '.join(MODELS)}, got {args.model!r}")
        if args.seeds < 1:
            raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
        self.name = name
        self.out = Path(args.out)
        self.progress = not args.no_progress
        self.seeds = list(range(args.seeds))
        settings = dict(PRESETS[args.preset])
        for field in ("model", "epochs"):
            if getattr(args, field) is not None:
                settings[field] = getattr(args, field)
        for field in ("train_limit", "test_limit"):  # given only when asked for ("all" gives None)
            if field in vars(args):
                settings[field] = getattr(args, field)
        self.base = TrainConfig(dataset=args.dataset, data_root=args.data_root, image_size=args.image_size,
                                device=args.device, amp=args.amp, **settings).validate()
        self.settings = {"command": name, "preset": args.preset,
                         **{k: (str(v) if isinstance(v, Path) else v) for k, v in sorted(vars(args).items())
                            if k not in ("command", "no_progress", "out", "runs")}}
        self.dist = distributed.setup(args.device)
        self.started = time.perf_counter()
        self._test: TensorData | None = None
        self._claim_config()

    # ------------------------------------------------------------------ files
    def _claim_config(self) -> None:
        """Write config.json; a directory holding another configuration's results is refused."""
        path = self.out / "config.json"
        if path.exists():
            before = json.loads(path.read_text())
            if before.get("command") != self.name:
                raise FileExistsError(f"{self.out} holds a '{before.get('command')}' run; choose another --out")
            changed = sorted(k for k in set(before) | set(self.settings)
                             if k not in RESUMABLE and before.get(k) != self.settings.get(k))
            if changed:
                raise FileExistsError(f"{self.out} holds a '{self.name}' run with other settings "
                                      f"({', '.join(changed)}); choose another --out")
        if self.dist.is_main:
            write_json(path, self.settings)

    def stage(self, name: str, compute):
        """``name``'s result: read back from ``name.json`` when finished before, else computed and written.

        Every rank computes (attacks and evaluations shard their batches); rank 0 writes.
        """
        path = self.out / f"{name}.json"
        if path.exists():
            self.log(f"{name}: done before, reusing {path}")
            return json.loads(path.read_text())
        self.log(f"{name} ...")
        result = compute()
        if self.dist.is_main:
            write_json(path, result)
        self.dist.barrier()
        return result

    def log(self, message: str) -> None:
        if self.progress and self.dist.is_main:
            print(f"{self.name}: {message}", flush=True)

    def write_text(self, relative: str, text: str) -> None:
        if self.dist.is_main:
            write_text(self.out / relative, text)

    def finish(self, results: dict, report: str) -> dict:
        """Write ``results.json`` and the report; returns ``results`` with the run time added."""
        results = {**results, "seconds": time.perf_counter() - self.started, "world_size": self.dist.world}
        if self.dist.is_main:
            write_json(self.out / "results.json", results)
            write_page(self.out, report, title=f"hfc {self.name}")
        self.dist.barrier()
        return results

    def close(self) -> None:
        self.dist.close()

    # ------------------------------------------------------------------ data
    def test_set(self) -> TensorData:
        """The (limited) test set in memory."""
        if self._test is None:
            c = self.base
            data = load_dataset(c.dataset, "test", c.data_root, image_size=c.image_size)
            if not isinstance(data, TensorData):
                # analyses that hold the test set in memory read at most IN_MEMORY_LIMIT images of a folder
                limit = min(len(data), c.test_limit or IN_MEMORY_LIMIT)
                if c.test_limit is None and len(data) > limit:
                    self.log(f"holding the first {limit} of {len(data)} test images in memory (--test-limit "
                             "to change)")
                items = [data[i] for i in range(limit)]
                data = TensorData(torch.stack([x for x, _ in items]), torch.tensor([int(y) for _, y in items]),
                                  data.num_classes)
            self._test = data.subset(c.test_limit)
        return self._test

    def class_names(self) -> list[str]:
        test = self.test_set()
        return CLASS_NAMES.get(self.base.dataset) or [str(i) for i in range(test.num_classes)]

    def scaled_radii(self, base=(4, 8, 12, 16)) -> list[float]:
        """The paper's CIFAR radii scaled to this data set's image size."""
        side = min(self.test_set().image_shape[1:])
        return list(tracking_radii(side, base))

    def paper_radii(self, text: str) -> tuple[list[float], list[float]]:
        """``--paper-radii``: the radii as given (32×32 scale) and scaled to this data set, checked."""
        given = parse_numbers(text, "--paper-radii", minimum=0)
        radii = self.scaled_radii(given)
        self.check_radii(radii, "--paper-radii (scaled)")
        return given, radii

    def check_radii(self, radii, name: str = "--radii") -> None:
        _, h, w = self.test_set().image_shape
        check_radii(radii, h, w, name)

    def batches(self, n: int | None = None, size: int = 500):
        """``(x, y)`` batches of the first ``n`` test images."""
        test = self.test_set()
        n = len(test) if n is None else min(n, len(test))
        return [(test.images[i:i + size], test.labels[i:i + size]) for i in range(0, n, size)]

    # ------------------------------------------------------------------ trained variants
    def config(self, **changes) -> TrainConfig:
        """The base training settings with ``changes``."""
        return TrainConfig.from_dict({**self.base.to_dict(), **changes}).validate()

    def trained(self, variant: str, config: TrainConfig):
        """Train (or resume, or reuse) ``runs/<variant>``; returns its model in eval mode and its history."""
        folder = self.out / "runs" / variant
        checkpoint = folder / CHECKPOINT
        state = torch.load(checkpoint, map_location="cpu", weights_only=True) if checkpoint.exists() else None
        if state is None or int(state["epoch"]) < config.epochs:
            self.log(f"training {variant}")
            train(config, folder, resume=state is not None, progress=self.progress)
            state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        model = model_from_state(state).to(self.dist.device)
        return model.eval(), state["history"]


def model_from_state(state: dict) -> torch.nn.Module:
    """The model a training checkpoint (``checkpoints/last.pt`` loaded) holds."""
    c = TrainConfig.from_dict(state["config"])
    shape = state.get("image_shape")
    if shape is None:
        data = load_dataset(c.dataset, "test", c.data_root, image_size=c.image_size)
        shape = data.image_shape
        num_classes = data.num_classes
    else:
        num_classes = state["num_classes"]
    model = build_model(c.model, in_channels=shape[0], num_classes=num_classes, image_size=shape[1],
                        batchnorm=c.batchnorm, dropout=c.dropout, **c.model_options)
    model.load_state_dict(state["model"])
    return model.eval()


def load_run(path: str | Path) -> tuple[torch.nn.Module, TrainConfig, list[dict]]:
    """A finished training run (its directory or checkpoint file): model, settings and history."""
    path = Path(path)
    checkpoint = path / CHECKPOINT if path.is_dir() else path
    if not checkpoint.exists():
        raise FileNotFoundError(f"no training checkpoint at {checkpoint}: expected a run directory of "
                                "'hfc train' (or of a subcommand's runs/) or its checkpoints/last.pt")
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    return model_from_state(state), TrainConfig.from_dict(state["config"]), state["history"]


def verdict(claim: str, per_seed: list[bool], numbers: str) -> dict:
    """A claim of the paper checked on each seed; supported when a majority of seeds agree."""
    held = sum(bool(v) for v in per_seed)
    return {"claim": claim, "supported": held * 2 > len(per_seed), "seeds": len(per_seed), "seeds_holding": held,
            "numbers": numbers}


def verdict_lines(verdicts: list[dict]) -> list[str]:
    return [f"- **{'supported' if v['supported'] else 'not supported'}** — {v['claim']}: {v['numbers']} "
            f"(holds on {v['seeds_holding']} of {v['seeds']} seed{'s' if v['seeds'] > 1 else ''})."
            for v in verdicts]


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def csv_text(header: list[str], rows: list[list]) -> str:
    """A CSV table; floats with 4 decimals."""
    def cell(v):
        return f"{v:.4f}" if isinstance(v, float) else str(v)
    return "\n".join([",".join(header)] + [",".join(cell(v) for v in row) for row in rows]) + "\n"


def markdown_table(header: list[str], rows: list[list]) -> list[str]:
    def cell(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
        ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
