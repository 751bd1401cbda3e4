"""A command's run: its claimed run directory, its data, its trained variants, cached stages and report.

Every ``hfc`` command runs inside one :class:`Experiment`. It claims the run
directory (``config.json``, the one settings check), joins the process group
under ``torchrun`` (training is data-parallel, attacks and evaluations shard
their batches, and only rank 0 writes files), gives the command the preset's
training settings overridden from the command line, trains (or resumes, or
reuses) variants as ``hfc train`` runs under ``runs/``, caches stages as
``<stage>.json``, and writes ``results.json`` and the report.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import torch

from hfc_fast.data.registry import TensorData, load_dataset
from hfc_fast.errors import InputError
from hfc_fast.experiments.core import distributed
from hfc_fast.experiments.core.config import PRESETS, RESUMABLE_CHANGES, TrainConfig
from hfc_fast.experiments.core.files import checksum, write_json, write_text
from hfc_fast.experiments.core.model_sources import checkpoint_state, model_from_state
from hfc_fast.experiments.core.options import Options, Spec
from hfc_fast.experiments.core.pages import write_page
from hfc_fast.experiments.core.rundir import CHECKPOINT, RunDirectory
from hfc_fast.experiments.core.training import repair_finished, train
from hfc_fast.models.registry import default_batchnorm
from hfc_fast.radius import check_fits, scaled_radii

STAGE_INPUTS = "_stage_inputs"  # the key under which a stage file records the digest of the models it measured
IN_MEMORY_LIMIT = 10_000  # ImageFolder test images held in memory when --test-limit is not given
# what the command line may set of a preset's training settings: always, and only where typed
TRAINING_OPTIONS = ("dataset", "data_root", "image_size", "device", "amp")
PRESET_OVERRIDES = ("model", "epochs", "train_limit", "test_limit")
NOT_SETTINGS = ("out", "no_progress", "resume", "command", "detect_command")  # options config.json leaves out

CLASS_NAMES = {
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"],
    "mnist": [str(d) for d in range(10)],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
}


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
    options.add("--paper-radii", default=[4.0, 8.0, 12.0, 16.0], spec=Spec("numbers", above=0),
                help=f"{what} on the paper's 32×32 scale, scaled to the image (default 4,8,12,16)")


class Experiment:
    """One command's run directory, and the settings its trained variants share.

    Args:
        name: the command (``"table1"``, ``"detect train"``).
        args: its parsed options, defaults filled in.
        settings: what ``config.json`` records and a rerun must repeat.
        resumable: settings a rerun may change.
        preset: the preset of the training settings (``args.preset`` when the command has one).
        runs: a folder of trainings shared with other experiments: a variant is trained (or reused) there,
            in a folder named by its model and a digest of its settings, so that two commands (or two
            claims of ``hfc claims``) that need the same training run it once.
    """

    def __init__(self, name: str, args, *, given: dict | None = None, resumable=("device",),
                 preset: str | None = None, runs: Path | None = None) -> None:
        self.name = name
        self.args = args
        self.out = Path(args.out)
        self.progress = not getattr(args, "no_progress", False)
        self.seeds = list(range(getattr(args, "seeds", 1)))
        self.runs = None if runs is None else Path(runs)
        self.preset = getattr(args, "preset", None) or preset
        self._test: TensorData | None = None
        self._inputs: dict[str, str] = {}
        settings = {k: v for k, v in vars(args).items() if k not in NOT_SETTINGS}
        self._base = None
        if self.preset is not None:
            self._base = _base_config(self.preset, args, vars(args) if given is None else given)
            settings.update(preset=self.preset,
                            **{k: getattr(self._base, k) for k in TRAINING_OPTIONS + PRESET_OVERRIDES})
        self.dist = distributed.setup(getattr(args, "device", "auto"))
        self.dir = RunDirectory(self.out, is_main=self.dist.is_main)
        self.started = time.perf_counter()
        try:
            self.dir.claim(name, settings, resumable=resumable, fresh=not getattr(args, "resume", True))
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Experiment:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ files
    def uses(self, name: str, model=None, *, digest: str | None = None, extra=None) -> None:
        """Record that what follows depends on model ``name`` (its weights' :func:`checksum`, or ``digest``,
        and ``extra`` such as a normalisation): stages computed from now on are keyed by it, so a model
        trained further, or other weights under the same path, is measured again rather than read back."""
        if digest is None:
            digest = checksum(model.state_dict() if hasattr(model, "state_dict") else model)
        self._inputs[name] = digest if extra is None else f"{digest}:{json.dumps(extra, default=str)}"

    def inputs_key(self) -> str | None:
        """A digest of the models used so far (:meth:`uses`), or None when none was recorded."""
        if not self._inputs:
            return None
        return hashlib.sha256(json.dumps(self._inputs, sort_keys=True).encode()).hexdigest()[:16]

    def partial_dir(self) -> Path:
        """Where counts of an interrupted pass are saved: ``partial/``, under the digest of the models used
        (:meth:`inputs_key`), so that counts of another model are never continued."""
        key = self.inputs_key()
        return self.out / "partial" / key if key else self.out / "partial"

    def stage(self, name: str, compute):
        """``name``'s result: read back from ``name.json`` when finished before from the same models, else
        computed and written.

        A stage computed after :meth:`uses` (or :meth:`trained`) records the digest of those models; when
        they have changed since (a checkpoint trained further, new weights), it is computed again, with a
        note. Every rank computes (attacks and evaluations shard their batches); rank 0 writes.
        """
        path = self.out / f"{name}.json"
        key = self.inputs_key()
        if path.exists():
            saved = json.loads(path.read_text())
            if key is None:
                self.log(f"{name}: done before, reusing {path}")
                return saved
            if isinstance(saved, dict) and saved.get(STAGE_INPUTS) == key:
                self.log(f"{name}: done before with the same models, reusing {path}")
                return saved["result"]
            self.notice(f"{name}: the models it measured have changed since {path} was written: measuring again")
        self.log(f"{name} ...")
        result = compute()
        if self.dist.is_main:
            write_json(path, result if key is None else {STAGE_INPUTS: key, "result": result})
        self.dist.barrier()
        return result

    def notice(self, message: str) -> None:
        """A line printed on rank 0 even without progress output."""
        if self.dist.is_main:
            print(f"{self.name}: {message}", flush=True)

    def log(self, message: str) -> None:
        if self.progress and self.dist.is_main:
            print(f"{self.name}: {message}", flush=True)

    def write_text(self, relative: str, text: str) -> None:
        if self.dist.is_main:
            write_text(self.out / relative, text)

    def figure(self, draw, relative: str, *args, **kwargs) -> None:
        """``draw(*args, path, **kwargs)`` into ``out/relative`` on rank 0 (figures are drawn once)."""
        if self.dist.is_main:
            draw(*args, self.out / relative, **kwargs)

    def finish(self, results: dict, report: str | None = None, *, results_file: str = "results.json") -> dict:
        """Write ``results.json`` (or ``results_file``) and the report; returns ``results`` with the run time
        added."""
        results = {**results, "seconds": time.perf_counter() - self.started, "world_size": self.dist.world}
        if self.dist.is_main:
            write_json(self.out / results_file, results)
            if report is not None:
                write_page(self.out, report, title=f"hfc {self.name}")
        self.dist.barrier()
        return results

    def close(self) -> None:
        self.dir.release()
        self.dist.close()

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
        """The natural and the adversarially trained (PGD ε = 0.03, 10 steps of ε/10) model of ``seed``."""
        natural, _ = self.trained(f"natural-s{seed}", self.config(seed=seed))
        adversarial, _ = self.trained(f"adversarial-s{seed}", self.config(seed=seed, adv_eps=0.03, adv_steps=10))
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
        return CLASS_NAMES.get(self.base.dataset) or [str(i) for i in range(test.num_classes)]

    def scaled_radii(self, base=(4, 8, 12, 16)) -> list[float]:
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
        return [(test.images[i:i + size], test.labels[i:i + size]) for i in range(0, n, size)]


def shared_name(config: TrainConfig, default_radii) -> str:
    """A training's folder among shared runs: its model, seed and a digest of every setting that changes what
    it learns or tracks (not the device, workers or evaluation batch), defaults spelled out (``radii``:
    ``default_radii``; ``batchnorm``: the model's) so that one training is one folder."""
    settings = {k: v for k, v in config.to_dict().items() if k == "epochs" or k not in RESUMABLE_CHANGES}
    settings["radii"] = [float(r) for r in (config.radii or default_radii)]
    settings["batchnorm"] = default_batchnorm(config.model) if config.batchnorm is None else bool(config.batchnorm)
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{config.model}-s{config.seed}-{digest}"


def resolve_args(name: str, module, options: Options, args: argparse.Namespace) -> tuple[dict, argparse.Namespace]:
    """``(given, args)``: the options a run of command ``module`` is given (the command line's, and where its
    ``--out`` holds a run of the same command, that run's recorded settings), and every option with its
    default filled in, checked by the command's ``check_args``."""
    recorded = None
    if getattr(module, "RUN_DIRECTORY", True):
        out = getattr(args, "out", options.defaults.get("out"))
        recorded = RunDirectory(out).saved()
        recorded = recorded if recorded and recorded.get("command") == name else None
    given, resolved = options.resolve(args, recorded)
    args = argparse.Namespace(**{**vars(args), **resolved})
    if hasattr(module, "check_args"):
        module.check_args(args)
    return given, args


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
