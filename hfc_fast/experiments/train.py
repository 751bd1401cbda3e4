"""The training runner: frequency tracking every epoch, atomic checkpoints, resume, torchrun.

Each epoch records training loss and accuracy and the accuracy on the
original, LFC and HFC images of the (tracked) train set and the test set at
every tracking radius (paper §4–5). The run directory holds ``config.json``,
``metrics.jsonl`` (a line per epoch), ``checkpoints/last.pt`` and
``curves.png``; every file is replaced atomically at the end of each epoch, so
a killed run resumes from its last finished epoch and ends with the metrics of
an uninterrupted run.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from hfc_fast.attacks import pgd
from hfc_fast.data.augment import random_affine
from hfc_fast.data.registry import TensorData, load_dataset
from hfc_fast.data.views import band_view, check_radii, shuffle_labels, tracking_radii
from hfc_fast.experiments import distributed
from hfc_fast.experiments.curves import plot_tracking
from hfc_fast.experiments.rundir import save_torch, write_json, write_text
from hfc_fast.experiments.tracking import evaluate_tracking, iterate_batches
from hfc_fast.experiments.train_config import RESUMABLE_CHANGES, TrainConfig
from hfc_fast.models.registry import build_model

CHECKPOINT = Path("checkpoints") / "last.pt"


def make_optimizer(name: str, params, lr: float, momentum: float, weight_decay: float) -> torch.optim.Optimizer:
    """One of sgd, adam, adagrad, adadelta, rmsprop."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=weight_decay)
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be sgd, adam, adagrad, adadelta or rmsprop, got {name!r}")


def _tracked_subset(data, n: int | None, seed: int):
    """A fixed random subset of ``n`` training images (all when ``n`` is None or larger)."""
    if n is None or n >= len(data):
        return data
    idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed + 7919))[:n].sort().values
    if isinstance(data, TensorData):
        return TensorData(data.images[idx], data.labels[idx], data.num_classes)
    return torch.utils.data.Subset(data, idx.tolist())


def _epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffle of epoch ``epoch``: a function of the seed and the epoch only, so resuming repeats it."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))


class Run:
    """One training run: data, model, optimiser and the run directory."""

    def __init__(self, config: TrainConfig, out: Path, *, resume: bool, progress: bool) -> None:
        self.config = config.validate()
        self.out = Path(out)
        self.progress = progress
        self.dist = distributed.setup(config.device)
        self._load_data()
        self._build()
        self.history: list[dict] = []
        self.start_epoch = 0
        if resume:
            self._resume()
        elif (self.out / CHECKPOINT).exists() or (self.out / "metrics.jsonl").exists():
            raise FileExistsError(f"{self.out} already holds a run; pass --resume to continue it or choose "
                                  "another --out")

    # ------------------------------------------------------------------ set-up
    def _load_data(self) -> None:
        c = self.config
        train = load_dataset(c.dataset, "train", c.data_root, image_size=c.image_size)
        test = load_dataset(c.dataset, "test", c.data_root, image_size=c.image_size)
        if isinstance(train, TensorData):
            train, test = train.subset(c.train_limit), test.subset(c.test_limit)
        self.permutation = None
        if c.shuffle_labels:
            if not isinstance(train, TensorData):
                raise ValueError("shuffle_labels needs an in-memory data set (Fashion-MNIST, MNIST or CIFAR-10)")
            labels, self.permutation = shuffle_labels(train.labels, c.seed)
            train = TensorData(train.images, labels, train.num_classes)
        self.train_set, self.test_set = train, test
        self.tracked_train = _tracked_subset(train, c.track_train, c.seed)
        channels, height, width = train.image_shape
        self.image_shape = (channels, height, width)
        self.radii = [float(r) for r in (c.radii or tracking_radii(min(height, width)))]
        check_radii(self.radii, height, width, "tracking radius")
        if c.train_band != "original":
            check_radii([c.train_radius], height, width, "train_radius")

    def _build(self) -> None:
        c = self.config
        torch.manual_seed(c.seed)  # the same initial weights on every rank
        channels, height, _ = self.image_shape
        self.model = build_model(c.model, in_channels=channels, num_classes=self.train_set.num_classes,
                                 image_size=height, batchnorm=c.batchnorm, dropout=c.dropout,
                                 **c.model_options).to(self.dist.device)
        self.core = self.model
        if self.dist.world > 1:
            ids = [self.dist.device.index] if self.dist.device.type == "cuda" else None
            self.model = torch.nn.parallel.DistributedDataParallel(self.core, device_ids=ids)
        self.optimizer = make_optimizer(c.optimizer, self.model.parameters(), c.lr, c.momentum, c.weight_decay)
        torch.manual_seed(c.seed + self.dist.rank)  # dropout and mixup draw differently on each rank

    def _resume(self) -> None:
        path = self.out / CHECKPOINT
        if not path.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {path}; start the run without --resume")
        state = torch.load(path, map_location="cpu", weights_only=True)
        saved = state["config"]
        defaults = TrainConfig().to_dict()  # settings added since the checkpoint was written
        for key, value in self.config.to_dict().items():
            if key not in RESUMABLE_CHANGES and saved.get(key, defaults[key]) != value:
                raise ValueError(f"--resume: setting {key!r} is {value!r} but the run was started with "
                                 f"{saved.get(key)!r}; only {', '.join(RESUMABLE_CHANGES)} may change")
        self.core.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.history = list(state["history"])
        self.start_epoch = int(state["epoch"])
        rng = state["rng"][self.dist.rank] if self.dist.rank < len(state["rng"]) else state["rng"][0]
        torch.set_rng_state(rng["cpu"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state(rng["cuda"], self.dist.device)

    # ------------------------------------------------------------------ one epoch
    def _batches(self, epoch: int):
        order = _epoch_order(len(self.train_set), self.config.seed, epoch)
        size = self.config.batch_size
        for start in range(0, len(order), size):
            shard = order[start:start + size].tensor_split(self.dist.world)[self.dist.rank]
            yield from iterate_batches(self.train_set, shard, len(shard), workers=self.config.workers)

    def _prepare(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        c = self.config
        if c.augment == "affine":
            x = random_affine(x)
        if c.train_band != "original":
            x = band_view(x, c.train_band, c.train_radius, normalize=True)
        if c.adv_eps > 0:
            alpha = c.adv_alpha if c.adv_alpha is not None else c.adv_eps / 10
            x = pgd(self.core, x, y, c.adv_eps, alpha=alpha, steps=c.adv_steps, random_start=c.adv_random_start,
                    amp=c.amp, early_exit=False, return_adversarials=True).adversarials[0]
        return x

    def train_epoch(self, epoch: int) -> dict:
        c, device = self.config, self.dist.device
        self.model.train()
        loss_sum = correct = seen = 0.0
        n_batches = math.ceil(len(self.train_set) / c.batch_size)
        bar = tqdm(self._batches(epoch), total=n_batches, desc=f"epoch {epoch + 1}/{c.epochs}", unit="batch",
                   disable=not self.progress or not self.dist.is_main, leave=False)
        for x, y in bar:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            x = self._prepare(x, y)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=c.amp):
                if c.mixup > 0:
                    lam = float(torch.distributions.Beta(c.mixup, c.mixup).sample())
                    perm = torch.randperm(len(x), device=device)
                    logits = self.model(lam * x + (1 - lam) * x[perm]).float()
                    loss = lam * F.cross_entropy(logits, y) + (1 - lam) * F.cross_entropy(logits, y[perm])
                else:
                    logits = self.model(x).float()
                    loss = F.cross_entropy(logits, y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            loss_sum += float(loss.detach()) * len(y)
            correct += float((logits.argmax(1) == y).sum())
            seen += len(y)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
        loss_sum, correct, seen = self.dist.all_sum([loss_sum, correct, seen])
        return {"train_loss": loss_sum / seen, "train_running_acc": correct / seen}

    def track(self) -> dict:
        c = self.config
        kwargs = dict(dist=self.dist, batch_size=c.eval_batch, amp=c.amp, workers=c.workers)
        return {"train": evaluate_tracking(self.core, self.tracked_train, self.radii, **kwargs),
                "test": evaluate_tracking(self.core, self.test_set, self.radii, **kwargs)}

    # ------------------------------------------------------------------ files
    def _rng_states(self) -> list[dict]:
        state = {"cpu": torch.get_rng_state()}
        if self.dist.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.dist.device)
        if self.dist.world == 1:
            return [state]
        gathered = [None] * self.dist.world
        torch.distributed.all_gather_object(gathered, state)
        return gathered

    def save(self, epoch: int) -> None:
        rng = self._rng_states()  # every rank takes part in the gather
        if not self.dist.is_main:
            return
        write_text(self.out / "metrics.jsonl", "".join(json.dumps(h, sort_keys=True) + "\n" for h in self.history))
        save_torch(self.out / CHECKPOINT, {
            "config": self.config.to_dict(), "epoch": epoch, "model": self.core.state_dict(),
            "optimizer": self.optimizer.state_dict(), "history": self.history, "rng": rng,
            "image_shape": list(self.image_shape), "num_classes": self.train_set.num_classes,
        })
        plot_tracking(self.history, self.out / "curves.png", title=self.title())

    def title(self) -> str:
        c = self.config
        band = c.train_band if c.train_band == "original" else f"trained on {c.train_band} r={c.train_radius:g}"
        labels = ", shuffled labels" if c.shuffle_labels else ""
        return f"{c.model} on {c.dataset} ({band}{labels})"

    def write_config(self) -> None:
        if not self.dist.is_main:
            return
        write_json(self.out / "config.json", {**self.config.to_dict(), "tracking_radii": self.radii,
                                             "world_size": self.dist.world,
                                             "image_shape": list(self.image_shape)})
        if self.permutation is not None:
            save_torch(self.out / "label_permutation.pt", self.permutation)

    # ------------------------------------------------------------------ the loop
    def run(self, *, stop_after_epoch: int | None = None) -> list[dict]:
        self.write_config()
        bar = tqdm(range(self.start_epoch, self.config.epochs), initial=self.start_epoch, total=self.config.epochs,
                   desc="training", unit="epoch", disable=not self.progress or not self.dist.is_main)
        for epoch in bar:
            start = time.perf_counter()
            record = {"epoch": epoch + 1, **self.train_epoch(epoch)}
            record["train_seconds"] = time.perf_counter() - start
            record.update(self.track())
            record["seconds"] = time.perf_counter() - start
            self.history.append(record)
            self.save(epoch + 1)
            self.dist.barrier()
            bar.set_postfix(test=f"{record['test']['acc']:.3f}", train=f"{record['train']['acc']:.3f}")
            if stop_after_epoch is not None and epoch + 1 >= stop_after_epoch:
                break
        return self.history


def train(config: TrainConfig, out: str | Path, *, resume: bool = False, progress: bool = True,
          stop_after_epoch: int | None = None) -> list[dict]:
    """Train with frequency tracking; returns the per-epoch metrics (also in ``out/metrics.jsonl``).

    ``stop_after_epoch`` ends the process's work after that epoch, as an
    interruption would (the run stays resumable).
    """
    run = Run(config, Path(out), resume=resume, progress=progress)
    try:
        return run.run(stop_after_epoch=stop_after_epoch)
    finally:
        run.dist.close()
