"""Everything a training run depends on, checked before any work starts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from hfc_fast.data.registry import DATASETS
from hfc_fast.data.views import BANDS
from hfc_fast.models.registry import MODELS

OPTIMIZERS = ("sgd", "adam", "adagrad", "adadelta", "rmsprop")
AUGMENTATIONS = ("none", "affine")


@dataclass
class TrainConfig:
    """A training run with frequency tracking (defaults: the paper's vanilla set-up, §4.2)."""

    model: str = "paper_resnet"
    dataset: str = "fashion-mnist"
    data_root: str | None = None
    image_size: int | None = None  # ImageFolder crop size
    optimizer: str = "adam"
    lr: float = 1e-4
    momentum: float = 0.9  # sgd and rmsprop
    weight_decay: float = 0.0
    batch_size: int = 100
    epochs: int = 100
    dropout: float = 0.0
    mixup: float = 0.0  # Beta(α, α); 0 is off
    augment: str = "none"  # or "affine": random scale, translation and rotation of each training image
    batchnorm: bool | None = None  # None: the model's default
    adv_eps: float = 0.0  # PGD adversarial training when > 0
    adv_steps: int = 10
    adv_alpha: float | None = None  # None: ε/10, as the authors' code
    adv_random_start: bool = False
    shuffle_labels: bool = False
    train_band: str = "original"  # or "lfc" / "hfc": train on that view, per-image max normalised
    train_radius: float | None = None
    radii: list[float] | None = None  # tracking radii; None: 4, 8, 12, 16 scaled to the image size
    track_train: int | None = 10000  # train images tracked each epoch (None: all)
    train_limit: int | None = None  # use only the first N training images
    test_limit: int | None = None
    eval_batch: int = 500
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    workers: int = 0
    model_options: dict = field(default_factory=dict)

    def validate(self) -> TrainConfig:
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(message)

        need(self.model in MODELS, f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        need(self.dataset in DATASETS, f"dataset must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        need(self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        need(self.train_band in BANDS, f"train_band must be one of {', '.join(BANDS)}, got {self.train_band!r}")
        need(self.lr > 0, f"lr must be positive, got {self.lr}")
        need(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        need(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        need(0 <= self.dropout < 1, f"dropout must be in [0, 1), got {self.dropout}")
        need(self.augment in AUGMENTATIONS, f"augment must be one of {', '.join(AUGMENTATIONS)}, got {self.augment!r}")
        need(self.mixup >= 0, f"mixup must be >= 0, got {self.mixup}")
        need(self.adv_eps >= 0, f"adv_eps must be >= 0, got {self.adv_eps}")
        need(self.adv_steps >= 1, f"adv_steps must be >= 1, got {self.adv_steps}")
        need(self.eval_batch >= 1, f"eval_batch must be >= 1, got {self.eval_batch}")
        if self.train_band != "original":
            need(self.train_radius is not None and self.train_radius > 0,
                 f"train_band {self.train_band!r} needs a positive train_radius")
            need(self.adv_eps == 0, "adversarial training runs on original images; drop adv_eps or train_band")
        for name in ("track_train", "train_limit", "test_limit"):
            value = getattr(self, name)
            need(value is None or value >= 1, f"{name} must be >= 1 or None, got {value}")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown training settings: {', '.join(sorted(unknown))}")
        return cls(**values)


# settings a resumed run may change (the rest must match the checkpoint)
RESUMABLE_CHANGES = ("epochs", "device", "workers", "eval_batch")
