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

    demo = sub.add_parser("demo", help="LFC/HFC split of Fashion-MNIST: image grid, spectrum, JSON summary")
    demo.add_argument("--out", type=Path, default=Path("runs/demo"), help="run directory (default: runs/demo)")
    demo.add_argument("--data-root", type=Path, default=None,
                      help="folder with the Fashion-MNIST idx files (default: Debian's install folder)")
    demo.add_argument("--radii", type=_radii, default=(4.0, 8.0, 12.0), help="comma-separated radii (default 4,8,12)")
    demo.add_argument("--images", type=int, default=8, help="images in the grid (default 8)")
    demo.add_argument("--batch-size", type=int, default=1000, help="images per split call (default 1000)")
    demo.add_argument("--limit", type=int, default=None, help="use only the first N test images")

    sub.add_parser("info", help="which backend is active, and why")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "info":
        import hfc_fast

        for key, value in hfc_fast.backend_info().items():
            print(f"{key}: {value}")
        return 0
    if args.command == "demo":
        from hfc_fast.experiments.demo import run_demo

        try:
            summary = run_demo(args.out, data_root=args.data_root, radii=args.radii, n_images=args.images,
                               batch_size=args.batch_size, limit=args.limit)
        except (FileNotFoundError, ValueError) as err:
            print(f"hfc demo: {err}", file=sys.stderr)
            return 2
        seconds = summary["split_seconds"]
        print(f"split {summary['images']} images at radii {summary['radii']}: "
              f"{seconds['hfc_fast']:.2f} s with {summary['backend']['backend']} ops, "
              f"{seconds['reference']:.2f} s with the plain-PyTorch reference")
        for r, share in summary["lfc_energy_share"].items():
            print(f"  r={r}: {100 * share:.1f}% of the energy is in the LFC")
        print(f"wrote {args.out}/grid.png, spectrum.png, summary.json")
        return 0
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
