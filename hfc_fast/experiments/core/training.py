"""Training: the loop every trainer shares, and the classifier run with frequency tracking every epoch.

:class:`Trainer` owns what any training run in a run directory needs: the
process group under torchrun (DDP), resuming from ``checkpoints/last.pt``
(model, optimiser, history and each rank's RNG state, so a resumed run repeats
an uninterrupted one), the epoch loop with its progress bar, and the files
written atomically at the end of every epoch (``metrics.jsonl``, the
checkpoint, a figure). A trainer subclass builds its data, model and optimiser
and trains one epoch; :class:`Run` trains a classifier and records the accuracy
on the original, LFC and HFC images of the (tracked) train set and the test set
at every tracking radius (paper §4–5); the detector trainer lives in
``core/detectors.py``.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from hfc_fast._model import probe_classes
from hfc_fast.attacks import pgd
from hfc_fast.bands import MAX
from hfc_fast.data.augment import random_affine
from hfc_fast.data.batching import iterate_batches
from hfc_fast.data.registry import TensorData, load_dataset
from hfc_fast.data.views import band_view, shuffle_labels
from hfc_fast.errors import InputError, NonFiniteError
from hfc_fast.experiments.core import distributed
from hfc_fast.experiments.core.config import RESUMABLE_CHANGES, TrainConfig
from hfc_fast.experiments.core.figures import plot_tracking
from hfc_fast.experiments.core.files import remove_temporary_files, save_torch, write_text
from hfc_fast.experiments.core.model_sources import checkpoint_state, load_weights, non_finite_tensors
from hfc_fast.experiments.core.rundir import CHECKPOINT, RunDirectory
from hfc_fast.fourier import band_noise_profile
from hfc_fast.models.registry import build_model
from hfc_fast.radius import check_fits, scaled_radii
from hfc_fast.tracking import track_frequencies


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
    raise InputError(f"optimizer must be sgd, adam, adagrad, adadelta or rmsprop, got {name!r}")


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffle of epoch ``epoch``: a function of the seed and the epoch only, so resuming repeats it."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))


class Trainer:
    """One training run in a claimed run directory.

    A subclass sets ``self.core`` (the model), ``self.optimizer`` and the data in :meth:`build`, trains an
    epoch in :meth:`train_epoch` and may add measurements after it (:meth:`measure`), checkpoint fields
    (:meth:`checkpoint_extra`), a figure (:meth:`plot`) and progress-bar numbers (:meth:`postfix`).
    """

    def __init__(self, rundir: RunDirectory, *, epochs: int, device: str, resume: bool, progress: bool,
                 tensorboard: bool = False) -> None:
        self.rundir = rundir
        self.out = rundir.path
        self.epochs = epochs
        self.progress = progress
        self.board = None
        self.dist = distributed.setup(device)
        self.build()
        self.model = self.core
        if self.dist.world > 1:
            ids = [self.dist.device.index] if self.dist.device.type == "cuda" else None
            self.model = torch.nn.parallel.DistributedDataParallel(self.core, device_ids=ids)
        self.history: list[dict] = []
        self.start_epoch = 0
        if resume:
            self._resume()
        if tensorboard and self.dist.is_main:
            self.board = tensorboard_writer(self.out / "tensorboard")

    # ------------------------------------------------------------------ what a trainer defines
    def build(self) -> None:
        raise NotImplementedError

    def train_epoch(self, epoch: int) -> dict:
        raise NotImplementedError

    def measure(self, record: dict, started: float) -> dict:
        return {}

    def checkpoint_extra(self) -> dict:
        """What the checkpoint holds besides the model, optimiser, epoch, history and RNG states."""
        return {}

    def plot(self) -> None:
        pass

    def postfix(self, record: dict) -> dict:
        return {}

    def on_start(self) -> None:
        pass

    def describe_model(self) -> str:
        return type(self.core).__name__

    # ------------------------------------------------------------------ resume and save
    def _resume(self) -> None:
        path = self.out / CHECKPOINT
        if not path.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {path}; start the run without --resume")
        state = checkpoint_state(path)
        saved = state.get("config", {}).get("model") if isinstance(state.get("config"), dict) else None
        load_weights(self.core, state["model"], f"the weights in {path}",
                     f"the model config.json asks for ({self.describe_model()})"
                     + (f"; they are a {saved}'s" if saved else ""))
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except (ValueError, RuntimeError, KeyError) as err:
            raise InputError(f"the optimiser state in {path} does not fit the optimiser config.json asks for: "
                             f"{str(err).strip().splitlines()[0]}") from None
        self.history = list(state["history"])
        self.start_epoch = int(state["epoch"])
        check_epochs(self.epochs, self.start_epoch, self.out)
        if self.dist.is_main:
            write_metrics(self.out, self.history)  # repairs a metrics file a kill left one epoch behind
        rng = state["rng"][self.dist.rank] if self.dist.rank < len(state["rng"]) else state["rng"][0]
        torch.set_rng_state(rng["cpu"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state(rng["cuda"], self.dist.device)

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
        """The checkpoint first (it holds the history: the run's one source of truth), then what derives
        from it; a kill in between leaves a metrics file one epoch behind, which resuming rewrites."""
        rng = self._rng_states()  # every rank takes part in the gather
        bad = non_finite_tensors(self.core.state_dict())
        if bad:  # never saved: the last checkpoint stays the last finite one
            raise NonFiniteError(f"training diverged: after epoch {epoch} the weights hold NaN or infinite values "
                                 f"({', '.join(bad[:3])}); {kept_checkpoint(epoch - 1)}. Lower the learning rate "
                                 "(--lr) and train again")
        if not self.dist.is_main:
            return
        save_torch(self.out / CHECKPOINT, {
            "epoch": epoch, "model": self.core.state_dict(),
            "optimizer": self.optimizer.state_dict(), "history": self.history, "rng": rng,
            **self.checkpoint_extra()})
        write_metrics(self.out, self.history)
        self.plot()
        if self.board is not None:
            for name, value in scalars(self.history[-1]).items():
                self.board.add_scalar(name, value, epoch)
            self.board.flush()

    # ------------------------------------------------------------------ the loop
    def run(self, *, stop_after_epoch: int | None = None) -> list[dict]:
        self.on_start()
        bar = tqdm(range(self.start_epoch, self.epochs), initial=self.start_epoch, total=self.epochs,
                   desc="training", unit="epoch", disable=not self.progress or not self.dist.is_main)
        for epoch in bar:
            started = time.perf_counter()
            record = {"epoch": epoch + 1, **self.train_epoch(epoch)}
            record.update(self.measure(record, started))
            record["seconds"] = time.perf_counter() - started
            self.history.append(record)
            self.save(epoch + 1)
            self.dist.barrier()
            bar.set_postfix(**self.postfix(record))
            if stop_after_epoch is not None and epoch + 1 >= stop_after_epoch:
                break
        return self.history

    def close(self) -> None:
        if self.board is not None:
            self.board.close()
        self.dist.close()


def kept_checkpoint(epoch: int) -> str:
    """What a stopped training keeps, in words."""
    return f"the checkpoint of epoch {epoch} is kept" if epoch > 0 else "no checkpoint was written"


def check_epochs(epochs: int, trained: int, out) -> None:
    """A resumed run may ask for more epochs than it has, never fewer (its config.json would then disagree
    with its checkpoint)."""
    if epochs < trained:
        raise InputError(f"epochs {epochs} is fewer than the {trained} epochs {out} has trained: give "
                         f"--epochs {trained} or more to continue it")


def trained_epochs(out) -> int | None:
    """The epochs the checkpoint in run directory ``out`` holds, or None without one."""
    path = Path(out) / CHECKPOINT
    return int(checkpoint_state(path)["epoch"]) if path.is_file() else None


def scalars(record: dict, prefix: str = "") -> dict[str, float]:
    """The numbers of a metrics record under slash-joined names (``test/lfc/4``), the epoch left out."""
    out = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(scalars(value, f"{name}/"))
        elif isinstance(value, int | float) and not isinstance(value, bool) and key != "epoch":
            out[name] = float(value)
    return out


def tensorboard_writer(folder: Path):
    """A ``torch.utils.tensorboard`` writer into ``folder``; an ImportError that says what to install."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ImportError("--tensorboard needs the tensorboard package: pip install tensorboard") from None
    return SummaryWriter(log_dir=str(folder))


def write_metrics(out: Path, history: list[dict]) -> None:
    """``metrics.jsonl``: a line per epoch of ``history``, written atomically."""
    write_text(Path(out) / "metrics.jsonl", "".join(json.dumps(h, sort_keys=True) + "\n" for h in history))


def repair_finished(folder: Path, state: dict) -> None:
    """Make a finished run's files describe its checkpoint: no temporary files, metrics of every epoch."""
    rundir = RunDirectory(folder)
    if not rundir.is_main:
        return
    rundir.lock()
    try:
        remove_temporary_files(folder)
        metrics = Path(folder) / "metrics.jsonl"
        lines = metrics.read_text().splitlines() if metrics.exists() else []
        if len(lines) != len(state["history"]):
            write_metrics(folder, state["history"])
    finally:
        rundir.release()


def _first(data, n: int):
    """The first ``n`` items of a data set."""
    if isinstance(data, TensorData):
        return data.subset(n)
    return data if n >= len(data) else torch.utils.data.Subset(data, range(n))


def _tracked_subset(data, n: int | None, seed: int):
    """A fixed random subset of ``n`` training images (all when ``n`` is None or larger)."""
    if n is None or n >= len(data):
        return data
    idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed + 7919))[:n].sort().values
    if isinstance(data, TensorData):
        return TensorData(data.images[idx], data.labels[idx], data.num_classes)
    return torch.utils.data.Subset(data, idx.tolist())


class Run(Trainer):
    """A classifier trained with frequency tracking every epoch (``hfc train``)."""

    def __init__(self, config: TrainConfig, rundir: RunDirectory, *, resume: bool, progress: bool,
                 tensorboard: bool = False) -> None:
        self.config = config.validate()
        super().__init__(rundir, epochs=config.epochs, device=config.device, resume=resume, progress=progress,
                         tensorboard=tensorboard)

    # ------------------------------------------------------------------ set-up
    def build(self) -> None:
        self._load_data()
        c = self.config
        torch.manual_seed(c.seed)  # the same initial weights on every rank
        channels, height, _ = self.image_shape
        self.core = build_model(c.model, in_channels=channels, num_classes=self.train_set.num_classes,
                                image_size=height, batchnorm=c.batchnorm, dropout=c.dropout,
                                **c.model_options).to(self.dist.device)
        probe_classes(self.core, self.image_shape, what=f"model {c.model}")  # a size it cannot take: one line
        self.optimizer = make_optimizer(c.optimizer, self.core.parameters(), c.lr, c.momentum, c.weight_decay)
        torch.manual_seed(c.seed + self.dist.rank)  # dropout and mixup draw differently on each rank

    def _load_data(self) -> None:
        c = self.config
        train = load_dataset(c.dataset, "train", c.data_root, image_size=c.image_size)
        test = load_dataset(c.dataset, "test", c.data_root, image_size=c.image_size)
        if isinstance(train, TensorData):
            train, test = train.subset(c.train_limit), test.subset(c.test_limit)
        self.permutation = None
        if c.shuffle_labels:
            if not isinstance(train, TensorData):
                raise InputError("shuffle_labels needs an in-memory data set (Fashion-MNIST, MNIST or CIFAR-10)")
            labels, self.permutation = shuffle_labels(train.labels, c.seed)
            train = TensorData(train.images, labels, train.num_classes)
        self.train_set, self.test_set = train, test
        self.tracked_train = _tracked_subset(train, c.track_train, c.seed)
        channels, height, width = train.image_shape
        self.image_shape = (channels, height, width)
        self.radii = [float(r) for r in (c.radii or scaled_radii(min(height, width)))]
        check_fits(self.radii, height, width, "radii")
        if c.train_band != "original":
            check_fits([c.train_radius], height, width, "train_radius")

    def on_start(self) -> None:
        self.rundir.record(tracking_radii=self.radii, world_size=self.dist.world, image_shape=list(self.image_shape))
        if self.permutation is not None and self.dist.is_main:
            save_torch(self.out / "label_permutation.pt", self.permutation)

    # ------------------------------------------------------------------ one epoch
    def _batches(self, epoch: int):
        order = epoch_order(len(self.train_set), self.config.seed, epoch)
        size = self.config.batch_size
        for start in range(0, len(order), size):
            shard = order[start:start + size].tensor_split(self.dist.world)[self.dist.rank]
            yield from iterate_batches(self.train_set, shard, len(shard), workers=self.config.workers)

    def _prepare(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        c = self.config
        if c.augment == "affine":
            x = random_affine(x)
        if c.train_band != "original":
            x = band_view(x, c.train_band, c.train_radius, normalize=MAX)
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
            value = float(loss.detach())
            if not math.isfinite(value):  # stop before the step: the weights stay as the last batch left them
                raise NonFiniteError(f"training diverged: the loss is {value} in epoch {epoch + 1}, batch "
                                     f"{int(seen) // max(len(y), 1) + 1}; {kept_checkpoint(epoch)}. Lower the "
                                     f"learning rate (--lr, now {c.lr:g}) and train again")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            loss_sum += value * len(y)
            correct += float((logits.argmax(1) == y).sum())
            seen += len(y)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
        loss_sum, correct, seen = self.dist.all_sum([loss_sum, correct, seen])
        return {"train_loss": loss_sum / seen, "train_running_acc": correct / seen, "train_seen": int(seen)}

    def measure(self, record: dict, started: float) -> dict:
        """The epoch's training time, then LFC/HFC tracking of the tracked train set and the test set."""
        seconds = time.perf_counter() - started
        c = self.config
        kwargs = dict(batch_size=c.eval_batch, amp=c.amp, device=self.dist.device, workers=c.workers)
        record = {"train_seconds": seconds,
                  "train": track_frequencies(self.core, self.tracked_train, self.radii, **kwargs).to_dict(),
                  "test": track_frequencies(self.core, self.test_set, self.radii, **kwargs).to_dict()}
        if c.band_noise > 0:
            record["band_noise"] = band_noise_profile(self.core, _first(self.test_set, c.band_noise_images),
                                                      c.band_noise, seed=c.seed, **kwargs).to_dict()
        return record

    # ------------------------------------------------------------------ files
    def checkpoint_extra(self) -> dict:
        return {"config": self.config.to_dict(), "image_shape": list(self.image_shape),
                "num_classes": self.train_set.num_classes}

    def plot(self) -> None:
        plot_tracking(self.history, self.out / "curves.png", title=self.title())

    def postfix(self, record: dict) -> dict:
        return {"test": f"{record['test']['acc']:.3f}", "train": f"{record['train']['acc']:.3f}"}

    def describe_model(self) -> str:
        return self.config.model

    def title(self) -> str:
        c = self.config
        band = c.train_band if c.train_band == "original" else f"trained on {c.train_band} r={c.train_radius:g}"
        labels = ", shuffled labels" if c.shuffle_labels else ""
        return f"{c.model} on {c.dataset} ({band}{labels})"


def train(config: TrainConfig, out: str | Path | RunDirectory, *, resume: bool = False, progress: bool = True,
          stop_after_epoch: int | None = None, tensorboard: bool = False) -> list[dict]:
    """Train with frequency tracking; returns the per-epoch metrics (also in ``out/metrics.jsonl``).

    ``out`` is a run directory's path (claimed here: a directory holding another run's settings is refused)
    or an already claimed :class:`RunDirectory`. ``stop_after_epoch`` ends the process's work after that
    epoch, as an interruption would (the run stays resumable). ``tensorboard`` also writes every metric as
    TensorBoard scalars under ``out/tensorboard``.
    """
    own = not isinstance(out, RunDirectory)
    rundir = RunDirectory(out) if own else out
    if resume and own and (done := trained_epochs(rundir.path)) is not None:
        check_epochs(config.epochs, done, rundir.path)  # before config.json is rewritten
    try:
        if own:
            rundir.claim("train", config.validate().to_dict(), resumable=RESUMABLE_CHANGES, fresh=not resume)
        run = Run(config, rundir, resume=resume, progress=progress, tensorboard=tensorboard)
        try:
            return run.run(stop_after_epoch=stop_after_epoch)
        finally:
            run.close()
    finally:
        if own:
            rundir.release()
