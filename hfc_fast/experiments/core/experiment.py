"""A command's experiment: its run context (:mod:`~hfc_fast.experiments.core.run`) with data and trainings.

Every ``hfc`` command runs inside one :class:`Experiment`. The run context claims the run directory, joins
the process group under ``torchrun``, caches stages and writes the results; the experiment adds the preset's
training settings overridden from the command line, the test set and its batches, the paper's radii scaled
to it, and trains (or resumes, or reuses) variants as ``hfc train`` runs them under ``runs/``. How the CLI
and ``hfc claims`` run a command (:func:`resolve_args`, :func:`run_command`) is here too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch

from hfc_fast.data.registry import TensorData, class_names, load_dataset
from hfc_fast.errors import InputError
from hfc_fast.experiments.core.config import ADVERSARIAL, PRESETS, RESUMABLE_CHANGES, TrainConfig
from hfc_fast.experiments.core.model_sources import checkpoint_state, model_from_state
from hfc_fast.experiments.core.options import Options, Spec
from hfc_fast.experiments.core.run import RunContext
from hfc_fast.experiments.core.rundir import CHECKPOINT, RunDirectory
from hfc_fast.experiments.core.training import repair_finished, train
from hfc_fast.models.registry import default_batchnorm
from hfc_fast.radius import PAPER_RADII, check_fits, scaled_radii

IN_MEMORY_LIMIT = 10_000  # ImageFolder test images held in memory when --test-limit is not given
# what the command line may set of a preset's training settings: always, and only where typed
TRAINING_OPTIONS = ("dataset", "data_root", "image_size", "device", "amp")
PRESET_OVERRIDES = ("model", "epochs", "train_limit", "test_limit")
NOT_SETTINGS = ("out", "no_progress", "resume", "command", "detect_command")  # options config.json leaves out


def add_experiment_options(options: Options, name: str) -> None:
    """The options every experiment command takes: run directory, preset and the training settings it may
    override, seeds, progress."""
    g = options.group("common options")
    options.add("--out", default=Path("runs") / name, type=Path, help=f"run directory (default runs/{name})", group=g)
    options.add("--preset", default="quick", spec=Spec("str", choices=("quick", "paper")), group=g,
                help="quick (minutes on a CPU, default) or paper (the papers' settings: paper_resnet, Adam 1e-4, "
                     "batch 100, 100 epochs)")
    options.add_config(TrainConfig, TRAINING_OPTIONS + PRESET_OVERRIDES, group=g, defaults={"model": None,
                                                                                         "epochs": None},
                       helps={"model": "override the preset's model", "epochs": "override the preset's epochs",
                              "train_limit": "override the preset's training images ('all': every one)",
                              "test_limit": "override the preset's test images ('all': every one)"})
    options.add("--seeds", default=1, spec=Spec("int", minimum=1), group=g,
                help="seeds per trained variant, for the verdicts (default 1)")
    options.add("--no-progress", default=False, action="store_true", help="no progress bars", group=g)


def add_paper_radii_option(options: Options, what: str = "radii") -> None:
    shown = ",".join(f"{r:g}" for r in PAPER_RADII)
    options.add("--paper-radii", default=[float(r) for r in PAPER_RADII], spec=Spec("numbers", above=0),
                help=f"{what} on the paper's 32×32 scale, scaled to the image (default {shown})")


class Experiment(RunContext):
    """A command's :class:`~hfc_fast.experiments.core.run.RunContext` with the data and the trained variants
    it measures: the preset's training settings overridden from the command line, the test set, the paper's
    radii scaled to it, and trainings (or resumed, or reused ones) as ``hfc train`` runs them under ``runs/``.

    Args:
        name: the command (``"table1"``, ``"detect train"``).
        args: its parsed options, defaults filled in.
        given: the options the run is given (the command line's, and those a rerun reads back).
        resumable: settings a rerun may change.
        preset: the preset of the training settings (``args.preset`` when the command has one).
        runs: a folder of trainings shared with other experiments: a variant is trained (or reused) there,
            in a folder named by its model and a digest of its settings, so that two commands (or two
            claims of ``hfc claims``) that need the same training run it once.
    """

    def __init__(self, name: str, args, *, given: dict | None = None, resumable=("device",),
                 preset: str | None = None, runs: Path | None = None) -> None:
        self.args = args
        self.seeds = list(range(getattr(args, "seeds", 1)))
        self.runs = None if runs is None else Path(runs)
        self.preset = getattr(args, "preset", None) or preset
        self._test: TensorData | None = None
        settings = {k: v for k, v in vars(args).items() if k not in NOT_SETTINGS}
        self._base = None
        if self.preset is not None:
            self._base = _base_config(self.preset, args, vars(args) if given is None else given)
            settings.update(preset=self.preset,
                            **{k: getattr(self._base, k) for k in TRAINING_OPTIONS + PRESET_OVERRIDES})
        super().__init__(name, Path(args.out), settings, resumable=resumable,
                         device=getattr(args, "device", "auto"), progress=not getattr(args, "no_progress", False),
                         fresh=not getattr(args, "resume", True))

    # ------------------------------------------------------------------ training settings
    @property
    def base(self) -> TrainConfig:
        """The preset's training settings with the command line's changes."""
        if self._base is None:
            raise InputError(f"hfc {self.name} trains no models: it has no training settings")
        return self._base

    @property
    def budget(self) -> str:
        """The training budget behind a verdict, in words."""
        return f"{self.base.epochs} epochs per model"

    def config(self, **changes) -> TrainConfig:
        """The base training settings with ``changes``."""
        return TrainConfig.from_dict({**self.base.to_dict(), **changes}).validate()

    def trained(self, variant: str, config: TrainConfig, *, folder: Path | None = None):
        """Train (or resume, or reuse) ``runs/<variant>`` (or ``folder``, or its folder in the shared
        ``runs``); returns its model in eval mode on this process's device and its history."""
        if folder is None:
            folder = self.out / "runs" / variant if self.runs is None else self.runs / shared_name(
                config, self.scaled_radii())
        state = checkpoint_state(folder / CHECKPOINT) if (folder / CHECKPOINT).exists() else None
        if state is None or int(state["epoch"]) < config.epochs:
            self.log(f"training {variant}")
            train(config, folder, resume=state is not None, progress=self.progress)
            state = checkpoint_state(folder / CHECKPOINT)
        else:
            repair_finished(folder, state)
        self.uses(f"trained:{variant}", state["model"])
        return model_from_state(state).to(self.dist.device).eval(), state["history"]

    def trained_pair(self, seed: int):
        """The natural and the adversarially trained (:data:`~hfc_fast.experiments.core.config.ADVERSARIAL`)
        model of ``seed``."""
        natural, _ = self.trained(f"natural-s{seed}", self.config(seed=seed))
        adversarial, _ = self.trained(f"adversarial-s{seed}", self.config(seed=seed, **ADVERSARIAL))
        return natural, adversarial

    # ------------------------------------------------------------------ data
    def data(self, split: str = "test", limit: int | None = None):
        """``split`` of the data set with the preset's limit (or ``limit`` when smaller): in memory, or a lazily
        read folder."""
        c = self.base
        data = load_dataset(c.dataset, split, c.data_root, image_size=c.image_size)
        preset = c.test_limit if split == "test" else c.train_limit
        limit = min(x for x in (preset, limit) if x is not None) if (preset, limit) != (None, None) else None
        if isinstance(data, TensorData):
            return data.subset(limit)
        if limit is not None and limit < len(data):
            data = torch.utils.data.Subset(data, range(limit))
            data.num_classes, data.image_shape = data.dataset.num_classes, data.dataset.image_shape
        return data

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
        return class_names(self.base.dataset, test.num_classes)

    def scaled_radii(self, base=PAPER_RADII) -> list[float]:
        """The paper's CIFAR radii scaled to this data set's image size."""
        side = min(self.test_set().image_shape[1:])
        return list(scaled_radii(side, base))

    def paper_radii(self, given) -> tuple[list[float], list[float]]:
        """``--paper-radii``: the radii as given (32×32 scale) and scaled to this data set, checked."""
        radii = self.scaled_radii(given)
        self.check_radii(radii, "--paper-radii (scaled)")
        return list(given), radii

    def check_radii(self, radii, name: str = "--radii") -> None:
        _, h, w = self.test_set().image_shape
        check_fits(radii, h, w, name)

    def batches(self, n: int | None = None, size: int = 500):
        """``(x, y)`` batches of the first ``n`` test images."""
        test = self.test_set()
        n = len(test) if n is None else min(n, len(test))
        return [(test.images[i:min(n, i + size)], test.labels[i:min(n, i + size)]) for i in range(0, n, size)]


def shared_name(config: TrainConfig, default_radii) -> str:
    """A training's folder among shared runs: its model, seed and a digest of every setting that changes what
    it learns or tracks (not the device, workers or evaluation batch), defaults spelled out (``radii``:
    ``default_radii``; ``batchnorm``: the model's) so that one training is one folder."""
    settings = {k: v for k, v in config.to_dict().items() if k == "epochs" or k not in RESUMABLE_CHANGES}
    settings["radii"] = [float(r) for r in (config.radii or default_radii)]
    settings["batchnorm"] = default_batchnorm(config.model) if config.batchnorm is None else bool(config.batchnorm)
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{config.model}-s{config.seed}-{digest}"


def resolve_args(name: str, module, options: Options, args: argparse.Namespace) -> tuple[dict, object]:
    """``(given, settings)``: the options a run of command ``module`` is given (the command line's, and where
    its ``--out`` holds a run of the same command, that run's recorded settings), and the command's typed
    settings (:meth:`Options.settings`: every option, its default filled in), checked by its ``check_args``."""
    recorded = None
    if getattr(module, "RUN_DIRECTORY", True):
        out = getattr(args, "out", options.defaults.get("out"))
        recorded = RunDirectory(out).saved()
        recorded = recorded if recorded and recorded.get("command") == name else None
    given, resolved = options.resolve(args, recorded)
    settings = options.settings({**vars(args), **resolved})
    if hasattr(module, "check_args"):
        module.check_args(settings)
    return given, settings


def run_command(name: str, module, args: argparse.Namespace, given: dict, *, runs: Path | None = None,
                summary=None):
    """Run command ``module`` (resolved ``args``) inside its :class:`Experiment`; ``summary(results, args)``
    is called on rank 0 with what it returns, which is returned."""
    with Experiment(name, args, given=given, resumable=getattr(module, "RESUMABLE", ("device",)),
                    preset=getattr(module, "PRESET", None), runs=runs) as exp:
        results = module.run(exp, args)
        if results is not None and exp.dist.is_main and summary is not None:
            summary(results, args)
    return results


def _base_config(preset: str, args, given: dict) -> TrainConfig:
    """``preset``'s training settings, with the data set, device and precision of ``args`` and the model,
    epochs and limits where the command line gives them."""
    settings = dict(PRESETS[preset])
    settings.update({k: getattr(args, k) for k in TRAINING_OPTIONS if hasattr(args, k)})
    settings.update({k: given[k] for k in PRESET_OVERRIDES if k in given})
    if settings.get("data_root") is not None:
        settings["data_root"] = str(settings["data_root"])
    return TrainConfig.from_dict(settings).validate()
