"""``hfc detect`` (paper §7): a detector on COCO originals, LFCs and HFCs; mAP and per-image comparisons.

One pass over the images: each image is split once at every radius and the
detector runs on every view. Under ``torchrun`` rank r takes every r-th batch;
detections are gathered on rank 0 before scoring. Each rank saves its
detections atomically every ``--save-every`` batches, so a killed run resumes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from hfc_fast.data.coco import CocoDetection
from hfc_fast.experiments import distributed
from hfc_fast.experiments.detect_metrics import (
    STATS,
    coco_evaluate,
    compare_images,
    ground_truth_pairs,
    load_ground_truth,
    per_image_ap,
    to_coco_results,
)
from hfc_fast.experiments.detectors import load_detector
from hfc_fast.experiments.pages import write_page
from hfc_fast.experiments.rundir import save_and_close, write_json, write_text
from hfc_fast.experiments.suite import key, markdown_table, parse_numbers
from hfc_fast.frequency import frequency_split

# Wang et al. 2020, §7: RetinaNet (ResNet-50 + FPN) on COCO val2017, r = 128
PAPER = {"original": 35.6, "lfc": 27.5, "hfc": 10.7, "images_better_on_lfc": 1684, "images": 5000}


def view_names(radii) -> list[str]:
    return ["original"] + [f"{band}-r{key(r)}" for r in radii for band in ("lfc", "hfc")]


def _views(image: torch.Tensor, radii) -> list[torch.Tensor]:
    """The original, then LFC and HFC at each radius (one split of the image for all radii)."""
    low, high = frequency_split(image, list(radii))
    return [image] + [v for i in range(len(radii)) for v in (low[i], high[i])]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images", type=Path, default=None, help="image folder (e.g. val2017/)")
    parser.add_argument("--annotations", type=Path, default=None,
                        help="COCO instances JSON (e.g. annotations/instances_val2017.json)")
    parser.add_argument("--model", default=None, help="torchvision detection builder (default retinanet_resnet50_fpn, "
                                                      "or the one a 'hfc detect train' checkpoint names)")
    parser.add_argument("--weights", type=Path, default=None,
                        help="local weights: a state_dict or a 'hfc detect train' checkpoint")
    parser.add_argument("--num-classes", type=int, default=None,
                        help="classes incl. background (default: the checkpoint's, else 91 as torchvision's COCO)")
    parser.add_argument("--min-size", type=int, default=None, help="model resize bound (torchvision default 800)")
    parser.add_argument("--max-size", type=int, default=None, help="model resize bound (torchvision default 1333)")
    parser.add_argument("--radii", default="128", help="comma-separated radii (default 128, the paper's)")
    parser.add_argument("--batch-size", type=int, default=4, help="images per batch (default 4)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N images")
    parser.add_argument("--panels", type=int, default=6, help="example panels of images better on LFC (default 6)")
    parser.add_argument("--score-threshold", type=float, default=0.5, help="boxes drawn in panels (default 0.5)")
    parser.add_argument("--save-every", type=int, default=25, help="batches between saved detections (default 25)")
    parser.add_argument("--out", type=Path, default=Path("runs/detect"), help="run directory (default runs/detect)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    amp = parser.add_mutually_exclusive_group()
    amp.add_argument("--amp", dest="amp", action="store_true", default=None, help="bfloat16 autocast (default on GPU)")
    amp.add_argument("--no-amp", dest="amp", action="store_false")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def check_args(args) -> list[float]:
    if args.images is None or args.annotations is None:
        raise ValueError("hfc detect needs --images (an image folder) and --annotations (a COCO instances JSON)")
    if args.weights is None:
        raise ValueError("hfc detect needs --weights: a local state_dict or a 'hfc detect train' checkpoint "
                         "(nothing is downloaded)")
    for name in ("batch_size", "save_every"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.panels < 0:
        raise ValueError(f"--panels must be >= 0, got {args.panels}")
    radii = parse_numbers(args.radii, "--radii", minimum=0)
    if 0 in radii:
        raise ValueError(f"--radii must be positive, got {args.radii!r}")
    return radii


@torch.no_grad()
def run_detector(model, data: CocoDetection, radii, *, dist, batch_size: int, amp: bool, state_dir: Path,
                 save_every: int, progress: bool) -> dict[str, list[dict]]:
    """This rank's detections on every view: ``{view: [COCO result, ...]}``.

    Every ``save_every`` batches the detections found since the last save go to
    ``state_dir/upto-<batch>.json`` (atomically; only the new ones, so saving stays
    cheap on large sets); a rerun reads the chunks back and starts after the last one.
    """
    names = view_names(radii)
    detections = {v: [] for v in names}
    chunks = sorted(state_dir.glob("upto-*.json"))
    for chunk in chunks:
        for v, ds in json.loads(chunk.read_text()).items():
            detections[v] += ds
    done = int(chunks[-1].stem.split("-")[1]) if chunks else 0
    n_batches = -(-len(data) // batch_size)
    mine = [i for i in range(done, n_batches) if i % dist.world == dist.rank]
    pending = {v: [] for v in names}
    since_save = 0
    bar = tqdm(total=len(mine), desc="detect", unit="batch", disable=not progress or not dist.is_main)
    for i in mine:
        ids = data.ids[i * batch_size:(i + 1) * batch_size]
        images = [data.load_image(image_id).to(dist.device) for image_id in ids]
        per_image = [_views(image, radii) for image in images]
        for v, name in enumerate(names):
            with torch.autocast(dist.device.type, dtype=torch.bfloat16, enabled=amp):
                outputs = model([views[v] for views in per_image])
            for image_id, output in zip(ids, outputs, strict=True):
                pending[name] += to_coco_results(image_id, output)
        since_save += 1
        if since_save >= save_every or i == mine[-1]:
            write_json(state_dir / f"upto-{i + 1:07d}.json", pending)
            for v in names:
                detections[v] += pending[v]
                pending[v] = []
            since_save = 0
        bar.update()
    bar.close()
    return detections


def gather_detections(mine: dict[str, list[dict]], dist) -> dict[str, list[dict]]:
    """Every rank's detections merged (on every rank), in a fixed order."""
    if dist.world == 1:
        merged = mine
    else:
        parts = [None] * dist.world
        torch.distributed.all_gather_object(parts, mine)
        merged = {v: [d for part in parts for d in part[v]] for v in mine}
    return {v: sorted(ds, key=lambda d: (d["image_id"], -d["score"], d["category_id"], d["bbox"]))
            for v, ds in merged.items()}


def plot_panels(data: CocoDetection, detections: dict, image_ids, radius: float, ap: dict, path: Path,
                threshold: float) -> Path:
    """Rows of original / LFC / HFC with the detector's boxes (score ≥ threshold), like Figs 8–9."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.patches as patches
    import matplotlib.pyplot as plt

    names = ["original", f"lfc-r{key(radius)}", f"hfc-r{key(radius)}"]
    by_image = {v: {} for v in names}
    for v in names:
        for d in detections[v]:
            by_image[v].setdefault(d["image_id"], []).append(d)
    rows = max(1, len(image_ids))
    fig, axes = plt.subplots(rows, 3, figsize=(10, 3.2 * rows), squeeze=False)
    for row, image_id in enumerate(image_ids):
        image = data.load_image(image_id)
        views = _views(image, [radius])
        for col, (name, view) in enumerate(zip(names, views, strict=True)):
            ax = axes[row][col]
            shown = view
            if col == 2:  # the HFC is centred on zero: stretch it for the eye
                shown = (view - view.min()) / (view.max() - view.min()).clamp_min(1e-8)
            ax.imshow(shown.clamp(0, 1).permute(1, 2, 0).numpy())
            for d in by_image[name].get(image_id, []):
                if d["score"] < threshold:
                    continue
                x, y, w, h = d["bbox"]
                ax.add_patch(patches.Rectangle((x, y), w, h, fill=False, color="yellow", lw=1.2))
                ax.text(x, y, f"{data.categories.get(d['category_id'], d['category_id'])} {d['score']:.2f}",
                        color="black", fontsize=6, backgroundcolor="yellow")
            ax.set_title(f"{name}: AP {ap[name].get(image_id, 0.0):.2f}", fontsize=8)
            ax.axis("off")
    for ax in axes.flat[3 * len(image_ids):]:
        ax.axis("off")
    return save_and_close(path, fig)


def _mean_ap_by_image(pairs_ap: dict) -> dict[int, float]:
    sums, counts = {}, {}
    for (image, _), ap in pairs_ap.items():
        sums[image] = sums.get(image, 0.0) + ap
        counts[image] = counts.get(image, 0) + 1
    return {image: sums[image] / counts[image] for image in sums}


def score(data: CocoDetection, detections: dict, radii, *, out: Path, panels: int, threshold: float) -> dict:
    """mAP of every view and the per-image comparison of each LFC with the original (rank 0)."""
    truth = load_ground_truth(data.annotation_file)
    pairs = ground_truth_pairs(truth, data.ids)
    stats, per_pair = {}, {}
    for view, ds in detections.items():
        stats[view], evaluator = coco_evaluate(truth, ds, data.ids)
        per_pair[view] = per_image_ap(evaluator)
    comparisons = {}
    by_image = {v: _mean_ap_by_image(per_pair[v]) for v in per_pair} if panels else {}
    for r in radii:
        name = f"lfc-r{key(r)}"
        c = compare_images(per_pair["original"], per_pair[name], pairs)
        comparisons[key(r)] = {"better": len(c["better"]), "worse": len(c["worse"]), "better_ids": c["better"],
                               "worse_ids": c["worse"]}
        picks = sorted(c["better"], key=lambda i: -c["gain"][i])[:panels]
        if panels:
            plot_panels(data, detections, picks, r, by_image, out / f"panels-r{key(r)}.png", threshold)
    return {"images": len(data), "stats": stats, "comparisons": comparisons,
            "per_image_ap": {v: {f"{i}/{c}": ap for (i, c), ap in p.items()} for v, p in per_pair.items()}}


def write_report(out: Path, results: dict, radii, settings: dict) -> None:
    stats = results["stats"]
    rows = []
    for view in view_names(radii):
        band = view.split("-")[0]
        paper = PAPER.get(band) if (band == "original" or view.endswith("r128")) else None
        rows.append([view, *(f"{100 * stats[view][s]:.1f}" if stats[view][s] >= 0 else "–" for s in STATS),
                     f"{paper}" if paper is not None else ""])
    lines = ["# Detection on LFC and HFC (§7)", "",
             f"{settings['model']} on {results['images']} images of {settings['annotations']}; box mAP (%) from "
             "pycocotools. The paper's numbers: RetinaNet (ResNet-50 + FPN) on COCO val2017, r = 128.", "",
             *markdown_table(["view", *STATS, "paper AP"], rows), ""]
    for r in radii:
        c = results["comparisons"][key(r)]
        lines += [f"## Images recognised better on the LFC (r = {key(r)})", "",
                  f"{c['better']} of {results['images']} images have some category with a higher AP on the LFC than "
                  f"on the original; {c['worse']} have some category with a lower one. Paper: "
                  f"{PAPER['images_better_on_lfc']} of {PAPER['images']} (r = 128).", ""]
        if (out / f"panels-r{key(r)}.png").exists():
            lines += [f"![panels r={key(r)}](panels-r{key(r)}.png)", ""]
    write_page(out, "\n".join(lines), title="hfc detect")
    csv = ["view," + ",".join(STATS)] + [f"{v}," + ",".join(f"{stats[v][s]:.4f}" for s in STATS) for v in stats]
    write_text(out / "map.csv", "\n".join(csv) + "\n")


def run(args) -> dict:
    radii = check_args(args)
    started = time.perf_counter()
    dist = distributed.setup(args.device)
    try:
        data = CocoDetection(args.images, args.annotations, limit=args.limit)
        model = load_detector(args.model, args.weights, args.num_classes, min_size=args.min_size,
                              max_size=args.max_size).to(dist.device)
        amp = dist.device.type == "cuda" if args.amp is None else args.amp
        out = Path(args.out)
        settings = {"command": "detect", "images": str(args.images), "annotations": str(args.annotations),
                    "model": args.model or "from checkpoint", "weights": str(args.weights),
                    "num_classes": args.num_classes, "radii": radii, "batch_size": args.batch_size,
                    "limit": args.limit, "min_size": args.min_size, "max_size": args.max_size, "amp": amp}
        previous = out / "config.json"
        if previous.exists() and json.loads(previous.read_text()) != settings:
            raise FileExistsError(f"{out} holds a detect run with other settings; choose another --out")
        if dist.is_main:
            write_json(previous, settings)
        mine = run_detector(model, data, radii, dist=dist, batch_size=args.batch_size, amp=amp,
                            state_dir=out / "partial" / f"rank{dist.rank}-of-{dist.world}",
                            save_every=args.save_every, progress=not args.no_progress)
        detections = gather_detections(mine, dist)
        results = None
        if dist.is_main:
            write_json(out / "detections.json", detections)
            results = score(data, detections, radii, out=out, panels=args.panels, threshold=args.score_threshold)
            results["seconds"] = time.perf_counter() - started
            results["world_size"] = dist.world
            write_json(out / "results.json", results)
            write_report(out, results, radii, settings)
        dist.barrier()
        return results
    finally:
        dist.close()
