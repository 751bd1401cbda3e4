"""Training settings: the one source of a training run's options, its command-line options and its presets.

Each field carries its help and its rule (:func:`options.option`);
``hfc train``, the experiment commands' common options and ``hfc detect train``
are derived from these dataclasses, and the same rules check a configuration
built in Python.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hfc_fast.bands import VIEWS
from hfc_fast.data.registry import DATASETS
from hfc_fast.errors import InputError
from hfc_fast.experiments.core.options import SEED_MAX, option, validate_fields
from hfc_fast.models.registry import MODELS
from hfc_fast.radius import check_fits

OPTIMIZERS = ("sgd", "adam", "adagrad", "adadelta", "rmsprop")
AUGMENTATIONS = ("none", "affine")


@dataclass
class TrainConfig:
    """A training run with frequency tracking (defaults: the paper's vanilla set-up, §4.2)."""

    model: str = option("paper_resnet", f"architecture ({', '.join(MODELS)})", choices=MODELS)
    dataset: str = option("fashion-mnist", "data set (default fashion-mnist)", choices=DATASETS)
    data_root: str | None = option(None, "the data set's folder (Fashion-MNIST: Debian's by default)",
                                   kind="str", optional=True)
    image_size: int | None = option(None, "ImageFolder crop size (default 224)", kind="int", minimum=1,
                                    optional=True)
    optimizer: str = option("adam", "optimizer (default adam)", choices=OPTIMIZERS)
    lr: float = option(1e-4, "learning rate (default 1e-4)", above=0)
    momentum: float = option(0.9, "momentum of sgd and rmsprop (default 0.9)", minimum=0, below=1)
    weight_decay: float = option(0.0, "weight decay (default 0)", minimum=0)
    batch_size: int = option(100, "images per batch (default 100)", kind="int", minimum=1)
    epochs: int = option(100, "epochs (default 100)", kind="int", minimum=1)
    dropout: float = option(0.0, "dropout p on fully-connected layers (default 0)", minimum=0, below=1)
    mixup: float = option(0.0, "mixup alpha: Beta(α, α) mixing weights (0: off)", minimum=0)
    augment: str = option("none", "affine: random rotation (±15°), scale (0.9-1.1) and shift (±10%%) of training "
                                  "images", choices=AUGMENTATIONS)
    batchnorm: bool | None = option(None, "BatchNorm on (--no-batchnorm: off; default: the model's)",
                                    kind="tristate")
    adv_eps: float = option(0.0, "PGD adversarial training radius (0: off)", minimum=0, maximum=1)
    adv_steps: int = option(10, "PGD steps of adversarial training (default 10)", kind="int", minimum=1)
    adv_alpha: float | None = option(None, "PGD step (default eps/10)", above=0, optional=True)
    adv_random_start: bool = option(False, "start PGD at a random point of the ball", kind="bool")
    shuffle_labels: bool = option(False, "train on labels permuted with --seed", kind="bool")
    train_band: str = option("original", "train on the LFC or HFC (per-image max normalised)", choices=VIEWS)
    train_radius: float | None = option(None, "radius of --train-band", above=0, optional=True)
    radii: list[float] | None = option(None, "tracking radii (default 4,8,12,16 scaled to the image size)",
                                       kind="numbers", above=0, optional=True)
    track_train: int | None = option(10000, "training images tracked each epoch (default 10000; 'all')",
                                     kind="limit", minimum=1)
    train_limit: int | None = option(None, "use only the first N training images ('all': every one)",
                                     kind="limit", minimum=1)
    test_limit: int | None = option(None, "use only the first N test images", kind="limit", minimum=1)
    eval_batch: int = option(500, "images per tracking batch (default 500)", kind="int", minimum=1)
    band_noise: float = option(0.0, "also track test accuracy under noise of this L2 norm confined to each radial "
                                    "band, beside white noise, every epoch (0: off)", minimum=0)
    band_noise_images: int = option(1000, "test images of the band-noise tracking (default 1000)", kind="int",
                                    minimum=1)
    seed: int = option(0, "seed of initialisation, shuffling and label permutation (default 0)", kind="int",
                       minimum=0, maximum=SEED_MAX)
    device: str = option("auto", "auto, cpu, cuda or cuda:N", kind="device")
    amp: bool = option(False, "bfloat16 autocast", kind="bool")
    workers: int = option(0, "data-loader workers (ImageFolder)", kind="int", minimum=0)
    model_options: dict = option({}, "keyword arguments of the model's builder", cli=False, kind="str")

    def validate(self) -> TrainConfig:
        validate_fields(self)
        if self.train_band != "original":
            if self.train_radius is None:
                raise InputError(f"train_band {self.train_band!r} needs a positive train_radius")
            if self.adv_eps > 0:
                raise InputError("adversarial training runs on original images; drop adv_eps or train_band")
        if self.train_radius is not None:
            check_fits([self.train_radius], name="train_radius")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise InputError(f"unknown training settings: {', '.join(sorted(unknown))}")
        return cls(**values)


# settings a resumed training run may change (the rest must match the run's)
RESUMABLE_CHANGES = ("epochs", "device", "workers", "eval_batch")

# Training settings of each preset of the experiment commands. "paper": §4.2's vanilla set-up on the
# authors' ResNet; "quick": a small CNN on slices of the data, minutes on a laptop CPU; "demo": the main
# job's small CNN on all of Fashion-MNIST.
PRESETS = {
    "paper": dict(model="paper_resnet", optimizer="adam", lr=1e-4, batch_size=100, epochs=100, train_limit=None,
                  test_limit=None, track_train=10000),
    "quick": dict(model="small_cnn", optimizer="adam", lr=1e-3, batch_size=100, epochs=3, train_limit=6000,
                  test_limit=2000, track_train=2000),
    "demo": dict(model="small_cnn", optimizer="adam", lr=1e-3, batch_size=100, epochs=3, train_limit=None,
                 test_limit=None, track_train=5000),
}
# The adversarial training the commands of Fig 7, Table 2 and the learned masks compare with natural training:
# PGD at ε = 0.03 with 10 steps of ε/10 (Wang et al. 2020, §6)
ADVERSARIAL = dict(adv_eps=0.03, adv_steps=10)


@dataclass
class DetectTrainConfig:
    """``hfc detect train``: training or fine-tuning a torchvision detector on a COCO-format set (SGD)."""

    image_dir: str = option(None, "image folder (e.g. train2017/)", kind="path", required=True)
    annotations: str = option(None, "COCO instances JSON", kind="path", required=True)
    model: str = option("retinanet_resnet50_fpn", "torchvision detection builder", kind="str")
    weights: str | None = option(None, "start from these local weights (fine-tuning)", kind="path", optional=True)
    num_classes: int | None = option(None, "classes incl. background (default: largest category id + 1)",
                                     kind="int", minimum=2, optional=True)
    min_size: int | None = option(None, "model resize bound (torchvision default 800)", kind="int", minimum=1,
                                  optional=True)
    max_size: int | None = option(None, "model resize bound (torchvision default 1333)", kind="int", minimum=1,
                                  optional=True)
    epochs: int = option(12, "epochs (default 12)", kind="int", minimum=1)
    batch_size: int = option(4, "images per batch (default 4)", kind="int", minimum=1)
    lr: float = option(0.01, "SGD learning rate (default 0.01)", above=0)
    momentum: float = option(0.9, "SGD momentum (default 0.9)", minimum=0, below=1)
    weight_decay: float = option(1e-4, "weight decay (default 1e-4)", minimum=0)
    limit: int | None = option(None, "use only the first N images", kind="limit", minimum=1)
    seed: int = option(0, "seed (default 0)", kind="int", minimum=0, maximum=SEED_MAX)
    device: str = option("auto", "auto, cpu, cuda or cuda:N", kind="device")
    amp: bool = option(False, "bfloat16 autocast", kind="bool")

    def validate(self) -> DetectTrainConfig:
        validate_fields(self)
        return self

    def to_dict(self) -> dict:
        return {k: (str(v) if hasattr(v, "__fspath__") else v) for k, v in dataclasses.asdict(self).items()}
