"""Every command's outputs on tiny fixed settings, as digests: what a restructure must leave byte for byte.

    python scripts/output_digests.py --out RUNS --digests A.json     # run every command, write the digests
    python scripts/output_digests.py --compare A.json B.json         # the files whose digests differ

Each command runs once into ``RUNS/<name>`` on tiny slices of Fashion-MNIST with the pure-PyTorch references
(``HFC_FAST_BACKEND=reference``, so that a tree without ``_C`` compares with one with it). A digest covers
every results and stage JSON (without its wall-clock fields: ``seconds``, ``*_seconds``, ``time``), every CSV
and every checkpoint's tensors (weights, optimiser state, history), keyed by path. ``config.json``, reports
and figures are left out (options may be renamed; figures carry timestamps). Run it with the interpreter and
``PYTHONPATH`` of the tree to measure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

TINY = ["--train-limit", "200", "--test-limit", "150", "--epochs", "1", "--no-progress"]
COMMANDS = {
    "train": ["train", "--epochs", "1", "--train-limit", "300", "--test-limit", "100", "--no-progress"],
    "examples": ["examples", *TINY],
    "table1": ["table1", *TINY],
    "shuffle": ["shuffle", "--seeds", "2", *TINY],
    "heuristics": ["heuristics", "--train-limit", "100", "--test-limit", "100", "--epochs", "1", "--no-progress"],
    "bn-lfc": ["bn-lfc", "--paper-radii", "4,12", *TINY],
    "kernels": ["kernels", *TINY],
    "robustness": ["robustness", "--attack-images", "100", "--masking-images", "60", "--apgd-steps", "5", *TINY],
    "svd": ["svd", "--paper-radii", "4,12", *TINY],
    "archs": ["archs", "--attack-images", "40", "--steps", "3", *TINY],
    "masks": ["masks", "--mask-steps", "10", "--mask-images", "60", *TINY],
    "implicit-bias": ["implicit-bias", "--steps", "100", "--no-progress"],
    "fourier-map": ["fourier-map", "--images", "40", "--stride", "4", *TINY],
    "sweep": ["sweep", *TINY],
    "surface": ["surface", "--steps", "3", *TINY],
}
CLOCK = ("seconds", "time", "wall", "elapsed")


def _clock(key) -> bool:
    """A wall-clock field (or the checksum over one): left out of a digest."""
    key = str(key)
    return key in CLOCK or key.endswith(("_seconds", "_time")) or key == "_hfc_checksum"


def _clean(value):
    """``value`` without wall-clock fields, at any depth."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not _clock(k)}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _tensor_digest(obj, h) -> None:
    import torch

    if isinstance(obj, torch.Tensor):
        h.update(str((obj.dtype, tuple(obj.shape))).encode())
        flat = obj.detach().cpu().contiguous().reshape(-1)
        h.update(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            if _clock(k):
                continue
            h.update(str(k).encode())
            _tensor_digest(obj[k], h)
    elif isinstance(obj, list | tuple):
        for v in obj:
            _tensor_digest(v, h)
    else:
        h.update(json.dumps(_clean(obj), sort_keys=True, default=str).encode())


def digest(path: Path) -> str:
    h = hashlib.sha256()
    if path.suffix == ".json":
        h.update(json.dumps(_clean(json.loads(path.read_text())), sort_keys=True).encode())
    elif path.suffix == ".pt":
        import torch

        _tensor_digest(torch.load(path, map_location="cpu", weights_only=True), h)
    else:
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def digests(root: Path) -> dict:
    out = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name in ("config.json", "metrics.jsonl") or ".lock" in path.name:
            continue
        if path.suffix in (".json", ".csv", ".pt"):
            out[str(path.relative_to(root))] = digest(path)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="folder for the runs")
    parser.add_argument("--digests", type=Path, help="where to write the digests (JSON)")
    parser.add_argument("--only", default=",".join(COMMANDS), help="commands to run (default all)")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), help="two digest files to compare")
    parser.add_argument("--digest-only", action="store_true", help="digest the runs already in --out")
    args = parser.parse_args()
    if args.compare:
        a, b = (json.loads(p.read_text()) for p in args.compare)
        differ = sorted(k for k in a.keys() & b.keys() if a[k] != b[k])
        only = sorted(a.keys() ^ b.keys())
        for k in differ:
            print(f"differs: {k}")
        for k in only:
            print(f"only in {'A' if k in a else 'B'}: {k}")
        print(f"{len(a.keys() & b.keys()) - len(differ)} of {len(a.keys() | b.keys())} files identical")
        return 1 if differ or only else 0
    env = {**os.environ, "HFC_FAST_BACKEND": "reference", "PYTHONHASHSEED": "0"}
    for name in [] if args.digest_only else args.only.split(","):
        argv = [sys.executable, "-m", "hfc_fast.experiments.cli", *COMMANDS[name], "--out", str(args.out / name)]
        print("$", " ".join(argv[1:]), flush=True)
        subprocess.run(argv, env=env, check=True)
    args.digests.write_text(json.dumps(digests(args.out), indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.digests}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
