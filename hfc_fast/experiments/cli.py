"""The ``hfc`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _radii(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"radii must be comma-separated numbers, got {text!r}") from None
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"radii must be non-negative numbers, got {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hfc", description="Frequency-spectrum experiments on CNNs (hfc_fast).")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="the main job on Fashion-MNIST: split, training with tracking, examples, "
                                       "robustness with smoothing, kernels, report")
    demo.add_argument("--out", type=Path, default=Path("runs/demo"), help="run directory (default: runs/demo)")
    demo.add_argument("--data-root", type=Path, default=None,
                      help="folder with the Fashion-MNIST idx files (default: Debian's install folder)")
    demo.add_argument("--radii", type=_radii, default=(4.0, 8.0, 12.0), help="comma-separated radii (default 4,8,12)")
    demo.add_argument("--images", type=int, default=8, help="images in the grid (default 8)")
    demo.add_argument("--batch-size", type=int, default=1000, help="images per split call (default 1000)")
    demo.add_argument("--limit", type=int, default=None, help="use only the first N train and test images")
    demo.add_argument("--epochs", type=int, default=3, help="epochs of the natural model (default 3)")
    demo.add_argument("--adv-epochs", type=int, default=2, help="epochs of the adversarial model (default 2)")
    demo.add_argument("--adv-limit", type=int, default=10000,
                      help="training images of the adversarial model (default 10000)")
    demo.add_argument("--attack-images", type=int, default=2000, help="test images attacked (default 2000)")
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")

    sub.add_parser("info", help="which backend is active, and why")
    add_train_parser(sub)
    from hfc_fast.experiments.suite import add_common_arguments

    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _runner(module).add_arguments(p)
        add_common_arguments(p, name)
    from hfc_fast.experiments import detect, detect_train

    det = sub.add_parser("detect", help="§7: a COCO detector on originals, LFC and HFC (mAP, per-image "
                                        "comparisons); 'hfc detect train' makes a checkpoint",
                         description="Evaluate a torchvision detector on a COCO-format set under LFC/HFC; "
                                     "'hfc detect train --help' for training.")
    detect.add_arguments(det)
    det_sub = det.add_subparsers(dest="detect_command")
    detect_train.add_arguments(det_sub.add_parser("train", help="train or fine-tune a detector on a COCO-format set"))
    report = sub.add_parser("report", help="combine the reports of several runs into one page")
    report.add_argument("runs", nargs="+", type=Path, help="run directories")
    report.add_argument("--out", type=Path, default=Path("runs/report"), help="where to write (default runs/report)")
    return parser


# name -> (module under hfc_fast.experiments with add_arguments/run, help)
SUBCOMMANDS = {
    "sweep": ("sweep", "top-1/top-5 accuracy of a classifier on originals, LFC and HFC over a radius grid"),
    "examples": ("examples", "Fig 2: test images right on x and x_h but wrong on x_l"),
    "table1": ("table1", "Table 1: models trained on LFC or HFC, tested on original images"),
    "shuffle": ("shuffle", "Fig 3: natural vs shuffled labels, LFC accuracy of the train set"),
    "heuristics": ("heuristics", "Figs 4-5: batch size, dropout, mixup, BatchNorm, adversarial training, "
                                 "architectures, optimizers"),
    "bn-lfc": ("bn_lfc", "Fig 6: with vs without BatchNorm, trained on LFC"),
    "kernels": ("kernels", "Fig 7: first-layer kernels of natural, adversarial and smoothed models"),
    "robustness": ("robustness", "Table 2: FGSM/PGD accuracy of smoothed natural and adversarial models"),
    "svd": ("svd", "§8: the Fig-2 count under a truncated-SVD split beside the FFT split"),
    "archs": ("archs", "Caro et al.: perturbation spectra of FC, local-conv and ViT models"),
    "masks": ("masks", "lecture: Fourier masks learned on frozen naive, adversarial and augmented models"),
    "implicit-bias": ("implicit_bias", "lecture: Fourier sparsity of linear conv vs fully connected predictors"),
}


def _runner(module: str):
    import importlib

    return importlib.import_module(f"hfc_fast.experiments.{module}")


def run_detect(args) -> int:
    if args.detect_command == "train":
        from hfc_fast.experiments.detect_train import train_detector

        history = train_detector(args)
        if history:
            print(f"epoch {history[-1]['epoch']}: loss {history[-1]['loss']:.4f}; wrote {args.out}/checkpoints/last.pt")
        return 0
    from hfc_fast.experiments.detect import run

    results = run(args)
    if results is not None:
        for view, stats in results["stats"].items():
            print(f"  {view}: AP {100 * stats['AP']:.1f}")
        for r, c in results["comparisons"].items():
            print(f"  r = {r}: {c['better']} images better on LFC, {c['worse']} worse")
        print(f"wrote {args.out}/report.md and results.json")
    return 0


def run_subcommand(args) -> int:
    from hfc_fast.experiments.suite import Experiment

    exp = Experiment(args.command, args)
    try:
        results = _runner(SUBCOMMANDS[args.command][0]).run(exp, args)
    finally:
        exp.close()
    if exp.dist.is_main:
        for v in results.get("verdicts", []):
            print(f"  {'supported' if v['supported'] else 'not supported'} ({v['seeds_holding']}/{v['seeds']} "
                  f"seeds): {v['claim']}")
        print(f"wrote {args.out}/report.md, report.html and results.json ({results['seconds'] / 60:.1f} min)")
    return 0


def _optional_int(text: str) -> int | None:
    return None if text.lower() in ("none", "all") else int(text)


def add_train_parser(sub) -> None:
    from hfc_fast.data.registry import DATASETS
    from hfc_fast.experiments.train_config import AUGMENTATIONS, OPTIMIZERS, TrainConfig
    from hfc_fast.models.registry import MODELS

    d = TrainConfig()
    p = sub.add_parser("train", help="train a model with LFC/HFC accuracy tracking every epoch",
                       description="Train with frequency tracking (paper §4-5); defaults are the paper's vanilla "
                                   "set-up: Adam 1e-4, batch 100, 100 epochs, Xavier init.")
    p.add_argument("--out", type=Path, default=Path("runs/train"), help="run directory (default runs/train)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--model", choices=MODELS, default=d.model)
    p.add_argument("--dataset", choices=DATASETS, default=d.dataset)
    p.add_argument("--data-root", default=None, help="the data set's folder (Fashion-MNIST: Debian's by default)")
    p.add_argument("--image-size", type=int, default=None, help="ImageFolder crop size (default 224)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--momentum", type=float, default=d.momentum)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--dropout", type=float, default=d.dropout, help="dropout p on fully-connected layers")
    p.add_argument("--mixup", type=float, default=d.mixup, help="mixup alpha (0: off)")
    p.add_argument("--augment", choices=AUGMENTATIONS, default=d.augment,
                   help="affine: random rotation (±15°), scale (0.9-1.1) and shift (±10%%) of training images")
    bn = p.add_mutually_exclusive_group()
    bn.add_argument("--batchnorm", dest="batchnorm", action="store_true", default=None)
    bn.add_argument("--no-batchnorm", dest="batchnorm", action="store_false")
    p.add_argument("--adv-eps", type=float, default=d.adv_eps, help="PGD adversarial training radius (0: off)")
    p.add_argument("--adv-steps", type=int, default=d.adv_steps)
    p.add_argument("--adv-alpha", type=float, default=None, help="PGD step (default eps/10)")
    p.add_argument("--adv-random-start", action="store_true")
    p.add_argument("--shuffle-labels", action="store_true", help="train on labels permuted with --seed")
    p.add_argument("--train-band", choices=("original", "lfc", "hfc"), default=d.train_band,
                   help="train on the LFC or HFC (per-image max normalised)")
    p.add_argument("--train-radius", type=float, default=None)
    p.add_argument("--radii", type=_radii, default=None,
                   help="tracking radii (default 4,8,12,16 scaled to the image size)")
    p.add_argument("--track-train", type=_optional_int, default=d.track_train,
                   help="training images tracked each epoch (default 10000; 'all')")
    p.add_argument("--train-limit", type=_optional_int, default=None, help="use only the first N training images")
    p.add_argument("--test-limit", type=_optional_int, default=None, help="use only the first N test images")
    p.add_argument("--eval-batch", type=int, default=d.eval_batch)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=d.device, help="auto, cpu, cuda or cuda:N")
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast")
    p.add_argument("--workers", type=int, default=d.workers, help="data-loader workers (ImageFolder)")


def run_train(args) -> int:
    from hfc_fast.experiments.train import train
    from hfc_fast.experiments.train_config import TrainConfig

    fields = {k: v for k, v in vars(args).items() if k not in ("command", "out", "resume", "no_progress")}
    if fields.get("radii") is not None:
        fields["radii"] = list(fields["radii"])
    config = TrainConfig.from_dict(fields)
    history = train(config, args.out, resume=args.resume, progress=not args.no_progress)
    if history:
        last = history[-1]
        print(f"epoch {last['epoch']}: train {last['train']['acc']:.4f}, test {last['test']['acc']:.4f}; "
              f"wrote {args.out}/metrics.jsonl, curves.png, checkpoints/last.pt")
    return 0


def run_info(args) -> int:
    import hfc_fast

    for key, value in hfc_fast.backend_info().items():
        print(f"{key}: {value}")
    return 0


def run_report(args) -> int:
    from hfc_fast.experiments.combine import combine_reports

    print(f"wrote {combine_reports(args.runs, args.out)} and report.html")
    return 0


def run_demo_command(args) -> int:
    from hfc_fast.experiments.demo import run_demo

    summary = run_demo(args.out, data_root=args.data_root, radii=args.radii, n_images=args.images,
                       batch_size=args.batch_size, limit=args.limit, epochs=args.epochs, adv_epochs=args.adv_epochs,
                       adv_limit=args.adv_limit, attack_images=args.attack_images, progress=not args.no_progress)
    print(f"natural model: test accuracy {summary['natural']['test']['acc']:.3f}; "
          f"adversarial model: {summary['adversarial']['test']['acc']:.3f}")
    for verdict in summary["verdicts"]:
        print(f"  {'supported' if verdict['supported'] else 'not supported'}: {verdict['claim']}")
    print(f"wrote {args.out}/report.md and report.html ({summary['seconds'] / 60:.1f} min)")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"info": run_info, "train": run_train, "detect": run_detect, "report": run_report,
                "demo": run_demo_command}
    handler = handlers.get(args.command, run_subcommand)
    name = "detect train" if args.command == "detect" and args.detect_command else args.command
    try:
        return handler(args)
    except (FileNotFoundError, FileExistsError, ValueError) as err:  # bad input: one line naming what is wrong
        print(f"hfc {name}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
