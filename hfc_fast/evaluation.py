"""One engine for every pass of a model over a data set.

Tracking and sweeps, the Fourier heat map, the linearised map, the band-noise
profile, robust accuracy and the ε × band surface are each a per-batch step on
top of :func:`run_pass`, which does what they all need:

* **Settings in one place** (:class:`PassSettings`): batch size, device, bfloat16
  autocast, channels-last, loader workers, pinned memory, progress, and the
  model's normalisation applied after the instrument's transform.
* **Sharding by index.** Under an initialised ``torch.distributed`` process
  group, rank r takes the batches whose number is r modulo the world size, and
  reads only those: a Dataset is batched by index, a DataLoader is re-made over
  its dataset with a sampler of this rank's batches (its batch size, workers,
  collate function and pinned memory kept), an ``(images, labels)`` pair is
  sliced. No image is read twice over all ranks. An iterable with no dataset
  cannot be sharded so, and is refused under world > 1.
* **Resume by index.** A state records the next batch; a resumed pass starts
  there without reading the batches before it.
* **The model as found**: eval mode with frozen parameters for the pass, every
  module's mode put back afterwards (:mod:`hfc_fast._model`).
* A progress bar on rank 0, a ``save`` callback every few batches, and counts
  summed over the ranks at the end.

Every instrument's result is a :class:`Counts` dataclass: integer or float
**counts** (summed over images and ranks) with properties for the **rates**
they give, and ``state_dict`` / ``load_state_dict`` for saving and resuming.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, default_collate
from tqdm.auto import tqdm

from hfc_fast._distributed import all_sum, rank_and_world
from hfc_fast._model import Normalize, frozen_eval, model_device
from hfc_fast.data.decode import DECODE, torchvision_decoder
from hfc_fast.data.folder import ImageFolder, collate_encoded, decode_batch
from hfc_fast.data.registry import TensorData
from hfc_fast.errors import InputError

__all__ = ["Batch", "Counts", "MappingAccess", "PassSettings", "default_workers", "rank_share", "run_pass"]


def default_workers() -> int:
    """Loader workers for data read from files: the cores this process may use, shared among the processes of
    this machine when ``torchrun`` started several (``LOCAL_WORLD_SIZE``), at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        local = 1
    return max(1, cores // local)


@dataclass(frozen=True)
class PassSettings:
    """How a pass runs, whatever it measures.

    Attributes:
        batch_size: images per batch of a Dataset or an ``(images, labels)`` pair (a DataLoader keeps its own).
        device: where batches go (default: the model's device).
        amp: run the model under bfloat16 autocast.
        channels_last: run a channels-last copy of the model on channels-last batches (the caller's model is
            untouched).
        workers: loader workers for a Dataset (default: :func:`default_workers` for data read from files, 0
            for tensors) or a DataLoader (default: its own).
        pin_memory: pinned host memory for the batches (default: when the device is CUDA).
        progress: a progress bar (rank 0 only).
        normalize: ``(mean, std)`` or ``(mean, std, (H, W))`` applied to what the model sees, after the
            instrument's own transform (the split, the perturbation), for models trained on normalised inputs.
        save_every: batches between calls of a pass's ``save`` callback.
        decode: where an :class:`~hfc_fast.data.ImageFolder`'s JPEGs are decoded: ``"auto"`` (on the pass's
            device when it is CUDA: nvJPEG, a batch per call, resized there; in the loader's workers
            otherwise), ``"device"`` (on the pass's device, whatever it is) or ``"workers"``.
    """

    batch_size: int = 250
    device: torch.device | str | None = None
    amp: bool = False
    channels_last: bool = False
    workers: int | None = None
    pin_memory: bool | None = None
    progress: bool = False
    normalize: tuple | None = None
    save_every: int = 20
    decode: str = "auto"

    def __post_init__(self) -> None:
        for name in ("batch_size", "save_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        if self.workers is not None and (isinstance(self.workers, bool) or not isinstance(self.workers, int)
                                         or self.workers < 0):
            raise InputError(f"workers must be an integer >= 0, got {self.workers!r}")
        for name in ("amp", "channels_last", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.normalize is not None and (not isinstance(self.normalize, tuple | list)
                                           or len(self.normalize) not in (2, 3)):
            raise InputError(f"normalize must be (mean, std) or (mean, std, (H, W)), got {self.normalize!r}")
        if self.decode not in DECODE:
            raise InputError(f"decode must be one of {', '.join(DECODE)}, got {self.decode!r}")
        if self.device is not None:
            try:
                torch.device(self.device)
            except (RuntimeError, TypeError):
                raise InputError(f"device must name a torch device, got {self.device!r}") from None

    def replace(self, **changes) -> PassSettings:
        return dataclasses.replace(self, **changes)


def settings_from(settings: PassSettings | None, defaults: dict | None = None, **given) -> PassSettings:
    """``settings`` with an instrument's keyword arguments (those not None) set, or settings made of them and
    of the instrument's own ``defaults`` (which a given ``settings`` object overrides)."""
    extra = {k: v for k, v in given.items() if v is not None}
    if settings is not None:
        return settings.replace(**extra) if extra else settings
    return PassSettings(**{**(defaults or {}), **extra})


class MappingAccess:
    """Read a result as the dict of its ``to_dict()`` (``result["acc"]``), as the JSON it is saved as."""

    def __getitem__(self, key):
        return self.to_dict()[key]

    def get(self, key, default=None):
        return self.to_dict().get(key, default)

    def keys(self):
        return self.to_dict().keys()

    def __contains__(self, key) -> bool:
        return key in self.to_dict()


@dataclass
class Batch:
    """One batch of a pass: its number among all ranks' batches, the data-set index of its first image, and
    ``x`` (B, C, H, W) and ``y`` (B,) on the pass's device."""

    number: int
    first: int
    x: torch.Tensor
    y: torch.Tensor


# ---------------------------------------------------------------------- a rank's share, by index
def _as_tensors(data):
    if isinstance(data, tuple | list) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        if len(data[0]) != len(data[1]):
            raise InputError(f"data: images and labels must be as many, got {len(data[0])} and {len(data[1])}")
        return data[0], data[1]
    if isinstance(data, TensorData):
        return data.images, data.labels
    return None


def _index_batches(n: int, size: int, drop_last: bool = False) -> list[list[int]]:
    count = n // size if drop_last else math.ceil(n / size)
    return [list(range(i * size, min(n, (i + 1) * size))) for i in range(count)]


def rank_share(data, batch_size: int = 250, *, workers: int | None = None, pin_memory: bool = False,
               start: int = 0, decode_on: torch.device | None = None
               ) -> tuple[Iterator[tuple[int, int, torch.Tensor, torch.Tensor]], int | None]:
    """This rank's batches of ``data`` from batch ``start`` on, as ``(number, first index, x, y)``, and how many
    there are (None when unknown).

    ``data``: an ``(images, labels)`` pair or an in-memory data set (sliced), a map-style Dataset (batched
    by index, ``batch_size`` images a batch), a DataLoader over one (re-made with a sampler of this rank's
    batches, keeping its batch size or batch sampler, workers, collate function and pinned memory; the
    order of its sampler is not kept: every image is still read once), or any other iterable of batches
    (one process only). Only this rank's batches from ``start`` on are read.

    ``decode_on``: a device on which an :class:`~hfc_fast.data.ImageFolder`'s JPEGs (read, not decoded, by
    the workers) are decoded a batch at a time (a DataLoader with its own collate function is read as it is).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    rank, world = rank_and_world()
    tensors = _as_tensors(data)
    if tensors is not None:
        images, labels = tensors
        batches = _index_batches(len(labels), batch_size)
        mine = [i for i in range(start, len(batches)) if i % world == rank]

        def sliced():
            for i in mine:
                lo, hi = i * batch_size, min(len(labels), (i + 1) * batch_size)
                yield i, lo, images[lo:hi], labels[lo:hi]
        return sliced(), len(mine)
    loader_settings = {}
    if isinstance(data, DataLoader):
        loader = data
        if isinstance(loader.dataset, IterableDataset):
            return _iterable(loader, start, world)
        dataset = loader.dataset
        batches = _index_batches(len(dataset), loader.batch_size, loader.drop_last) \
            if loader.batch_size is not None else [list(b) for b in loader.batch_sampler]
        loader_settings = dict(collate_fn=loader.collate_fn, num_workers=loader.num_workers if workers is None
                               else workers, pin_memory=loader.pin_memory or pin_memory,
                               worker_init_fn=loader.worker_init_fn, timeout=loader.timeout,
                               multiprocessing_context=loader.multiprocessing_context)
        if loader_settings["num_workers"] > 0 and loader.prefetch_factor is not None:
            loader_settings["prefetch_factor"] = loader.prefetch_factor
    elif isinstance(data, Dataset) and hasattr(data, "__len__") and not isinstance(data, IterableDataset):
        dataset = data
        batches = _index_batches(len(dataset), batch_size)
        loader_settings = dict(num_workers=default_workers() if workers is None else workers, pin_memory=pin_memory)
    elif isinstance(data, list | tuple):  # batches held in memory: taken by position
        sizes = [len(b[1]) for b in data]
        firsts = [sum(sizes[:i]) for i in range(len(sizes))]
        mine = [i for i in range(start, len(data)) if i % world == rank]

        def listed():
            for i in mine:
                x, y = data[i][0], data[i][1]
                yield i, firsts[i], x, y
        return listed(), len(mine)
    else:
        if isinstance(data, Dataset | str | bytes) or not hasattr(data, "__iter__"):
            raise InputError(f"data must be a DataLoader, a Dataset, an (images, labels) pair or an iterable of "
                             f"(x, y) batches, got {type(data).__name__}")
        return _iterable(data, start, world)
    firsts, position = [], 0
    for b in batches:
        firsts.append(position)
        position += len(b)
    mine = [i for i in range(start, len(batches)) if i % world == rank]
    if not mine:
        return iter(()), 0
    if loader_settings.get("num_workers", 0) == 0:
        loader_settings.pop("prefetch_factor", None)
    decode = None
    if decode_on is not None and isinstance(dataset, ImageFolder) and dataset.decoder == "auto" \
            and loader_settings.get("collate_fn", default_collate) is default_collate and torchvision_decoder():
        image_size = dataset.image_size
        dataset, loader_settings["collate_fn"] = dataset.encoded(), collate_encoded

        def decode(payloads):
            return decode_batch(payloads, image_size, decode_on)
    reader = DataLoader(dataset, batch_sampler=[batches[i] for i in mine], **loader_settings)

    def indexed():
        for i, (x, y) in zip(mine, reader, strict=True):
            yield i, firsts[i], x if decode is None else decode(x), y
    return indexed(), len(mine)


def _iterable(data, start: int, world: int):
    if world > 1:
        raise InputError(f"data is an iterable without a dataset, which cannot be shared out by index among "
                         f"{world} processes (each would read all of it): pass a map-style Dataset, a DataLoader "
                         "over one, or an (images, labels) pair")
    try:
        total = len(data)
    except TypeError:  # an iterable (or a DataLoader over one) without a length
        total = None

    def enumerated():
        first = 0
        for i, batch in enumerate(data):
            if not (isinstance(batch, tuple | list) and len(batch) >= 2):
                raise InputError(f"data must yield (x, y) batches, got {type(batch).__name__}")
            x, y = batch[0], batch[1]
            if i >= start:  # an iterable cannot be skipped without reading what it yields
                yield i, first, x, y
            first += len(x)
    return enumerated(), None if total is None else max(0, total - start)


# ---------------------------------------------------------------------- counts, saved and summed
@dataclass(eq=False)
class Counts:
    """An instrument's counts of a pass: summed over images (and ranks at the end), saved to resume.

    A subclass names its summed fields in ``SUMMED`` (numbers or float64 tensors); ``next_batch`` is the first
    batch number of this rank not yet counted.
    """

    SUMMED = ()

    def __eq__(self, other) -> bool:
        """The same kind of counts with equal fields (tensors compared element for element)."""
        if type(other) is not type(self):
            return NotImplemented
        a, b = self.state_dict(), other.state_dict()
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)

    def state_dict(self) -> dict:
        """Every field, tensors as they are (``torch.save``-able with ``weights_only``)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def load_state_dict(self, state: dict) -> None:
        """Fields from :meth:`state_dict` (a copy: the saved state stays as it was)."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(state) - names
        if unknown:
            raise InputError(f"state holds fields this {type(self).__name__} does not have: {sorted(unknown)}")
        for name, value in state.items():
            if isinstance(value, torch.Tensor):
                value = value.clone()
            elif isinstance(value, list | tuple):
                value = type(value)(value)
            elif isinstance(value, dict):
                value = copy.deepcopy(value)
            setattr(self, name, value)

    @classmethod
    def from_state_dict(cls, state: dict):
        out = cls.__new__(cls)
        for f in dataclasses.fields(cls):
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            setattr(out, f.name, None if default is dataclasses.MISSING else default)
        out.load_state_dict(state)
        return out

    def summed(self, device) -> Counts:
        """A copy with the ``SUMMED`` fields summed over the ranks (the same object's values in one process)."""
        out = copy.deepcopy(self)
        if rank_and_world()[1] == 1:
            return out
        flat, shapes = [], []
        for name in self.SUMMED:
            value = getattr(self, name)
            if isinstance(value, torch.Tensor):
                flat += value.double().flatten().tolist()
                shapes.append(("tensor", value.shape, value.dtype))
            elif isinstance(value, dict):
                for k in sorted(value):
                    flat += [float(v) for v in value[k]] if isinstance(value[k], list) else [float(value[k])]
                shapes.append(("dict", {k: len(value[k]) if isinstance(value[k], list) else None
                                        for k in sorted(value)}, None))
            elif isinstance(value, list):
                flat += [float(v) for v in value]
                shapes.append(("list", len(value), type(value[0]) if value else float))
            else:
                flat.append(float(value))
                shapes.append(("number", None, type(value)))
        totals = all_sum(flat, device)
        pos = 0
        for name, (kind, shape, kind_type) in zip(self.SUMMED, shapes, strict=True):
            if kind == "tensor":
                size = math.prod(shape)
                setattr(out, name, torch.tensor(totals[pos:pos + size], dtype=torch.float64).view(shape).to(kind_type))
                pos += size
            elif kind == "dict":
                merged = {}
                for k, length in shape.items():
                    if length is None:
                        merged[k] = _like(totals[pos], type(getattr(self, name)[k]))
                        pos += 1
                    else:
                        item = getattr(self, name)[k]
                        merged[k] = [_like(v, type(item[0]) if item else float) for v in totals[pos:pos + length]]
                        pos += length
                setattr(out, name, merged)
            elif kind == "list":
                setattr(out, name, [_like(v, kind_type) for v in totals[pos:pos + shape]])
                pos += shape
            else:
                setattr(out, name, _like(totals[pos], kind_type))
                pos += 1
        return out


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape and \
            bool(torch.equal(a.cpu(), b.cpu()))
    return a == b


def _like(value: float, kind: type):
    return int(round(value)) if kind is int else float(value)


# ---------------------------------------------------------------------- the pass
def run_pass(model, data, step: Callable[[Batch, object, Counts], None], state: Counts, *,
             settings: PassSettings, desc: str, save: Callable[[Counts], None] | None = None,
             unit: str = "batch", units_per_batch: int = 1, grad: bool = False) -> Counts:
    """Run ``step(batch, net, state)`` on this rank's batches of ``data`` from ``state.next_batch`` on, and
    return ``state`` summed over the ranks.

    ``net`` is the model as the step should call it: on the pass's device, behind the normalisation, a
    channels-last copy when asked, in eval mode with frozen parameters (the caller's model is restored
    afterwards). ``save(state)`` (this rank's counts) is called every ``settings.save_every`` batches and at
    the end. ``grad``: the step takes input gradients (autograd stays on).
    """
    device = torch.device(settings.device) if settings.device is not None else model_device(model)
    pin = settings.pin_memory if settings.pin_memory is not None else device.type == "cuda"
    on_device = settings.decode == "device" or (settings.decode == "auto" and device.type == "cuda")
    batches, total = rank_share(data, settings.batch_size, workers=settings.workers, pin_memory=pin,
                                start=state.next_batch, decode_on=device if on_device else None)
    net = model if settings.normalize is None else Normalize(model, *settings.normalize).to(device)
    layout = torch.contiguous_format
    if settings.channels_last:
        net = copy.deepcopy(net).eval().to(memory_format=torch.channels_last)
        layout = torch.channels_last
    rank, _ = rank_and_world()
    bar = tqdm(total=None if total is None else total * units_per_batch, desc=desc, unit=unit, leave=False,
               unit_scale=units_per_batch > 1, disable=not settings.progress or rank != 0)
    since_save = 0
    try:
        with frozen_eval(model), torch.set_grad_enabled(grad):
            for number, first, x, y in batches:
                x = x.to(device, non_blocking=pin)
                if x.dim() == 4:
                    x = x.contiguous(memory_format=layout)
                batch = Batch(number, first, x, y.to(device, non_blocking=pin))
                step(batch, net, state)
                state.next_batch = number + 1
                bar.update(units_per_batch)
                since_save += 1
                if save is not None and since_save >= settings.save_every:
                    save(state)
                    since_save = 0
    finally:
        bar.close()
    if save is not None:
        save(state)
    return state.summed(device)
