"""``hfc detect`` (paper §7): a detector on COCO originals, LFCs and HFCs; mAP and per-image comparisons.

One pass over the images: each image is split once at every radius and the
detector runs on every view. Under ``torchrun`` rank r takes every r-th batch;
detections are gathered on rank 0 before scoring. Each rank saves its
detections atomically every ``--save-every`` batches, so a killed run resumes.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tqdm.auto import tqdm

from hfc_fast.bands import ORIGINAL, SPLIT_VIEWS
from hfc_fast.coco_metrics import (
    STATS,
    coco_evaluate,
    compare_images,
    ground_truth_pairs,
    load_ground_truth,
    mean_ap_by_image,
    per_image_ap,
    to_coco_results,
)
from hfc_fast.data.coco import CocoDetection
from hfc_fast.errors import InputError
from hfc_fast.experiments.core.detectors import load_detector
from hfc_fast.experiments.core.figures import pyplot
from hfc_fast.experiments.core.files import save_and_close, write_json
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import csv_text, markdown_table
from hfc_fast.frequency import frequency_split
from hfc_fast.radius import check_fits, radius_key

HELP = "§7: a COCO detector on originals, LFC and HFC (mAP, per-image comparisons); 'hfc detect train' makes " \
       "a checkpoint"


# ---------------------------------------------------------------------- §7 detection
# RetinaNet (ResNet-50 + FPN) on COCO val2017, r = 128: box AP (%) and images recognised better on the LFC
DETECTION = {"original": 35.6, "lfc": 27.5, "hfc": 10.7, "images_better_on_lfc": 1684, "images": 5000}
RESUMABLE = ("device", "panels", "score_threshold", "save_every")


def add_arguments(options) -> None:
    count = Spec("int", minimum=1, optional=True)
    options.add("--image-dir", default=None, type=Path, help="image folder (e.g. val2017/)")
    options.add("--annotations", default=None, type=Path,
                help="COCO instances JSON (e.g. annotations/instances_val2017.json)")
    options.add("--model", default=None, help="torchvision detection builder (default retinanet_resnet50_fpn, "
                                              "or the one a 'hfc detect train' checkpoint names)")
    options.add("--weights", default=None, type=Path, help="local weights: a state_dict or a 'hfc detect train' "
                                                           "checkpoint")
    options.add("--num-classes", default=None, spec=Spec("int", minimum=2, optional=True),
                help="classes incl. background (default: the checkpoint's, else 91 as torchvision's COCO)")
    options.add("--min-size", default=None, spec=count, help="model resize bound (torchvision default 800)")
    options.add("--max-size", default=None, spec=count, help="model resize bound (torchvision default 1333)")
    options.add("--radii", default=[128.0], spec=Spec("numbers", above=0),
                help="comma-separated radii (default 128, the paper's)")
    options.add("--batch-size", default=4, spec=Spec("int", minimum=1), help="images per batch (default 4)")
    options.add("--limit", default=None, spec=Spec("limit", minimum=1), help="use only the first N images")
    options.add("--panels", default=6, spec=Spec("int", minimum=0),
                help="example panels of images better on LFC (default 6)")
    options.add("--score-threshold", default=0.5, spec=Spec("float", minimum=0, maximum=1),
                help="boxes drawn in panels (default 0.5)")
    options.add("--save-every", default=25, spec=Spec("int", minimum=1),
                help="batches between saved detections (default 25)")
    options.add("--out", default=Path("runs/detect"), type=Path, help="run directory (default runs/detect)")
    options.add("--device", default="auto", spec=Spec("device"), help="auto, cpu, cuda or cuda:N")
    amp = options.parser.add_mutually_exclusive_group()
    options.add("--amp", default=None, dest="amp", action="store_true", group=amp,
                help="bfloat16 autocast (default on GPU)")
    options.add("--no-amp", default=None, dest="amp", action="store_false", group=amp)
    options.add("--no-progress", default=False, action="store_true", help="no progress bars")


def view_names(radii) -> list[str]:
    return [ORIGINAL] + [f"{band}-r{radius_key(r)}" for r in radii for band in SPLIT_VIEWS]


def _views(image: torch.Tensor, radii) -> list[torch.Tensor]:
    """The original, then LFC and HFC at each radius (one split of the image for all radii)."""
    low, high = frequency_split(image, list(radii))
    return [image] + [v for i in range(len(radii)) for v in (low[i], high[i])]


@torch.no_grad()
def run_detector(exp, model, data: CocoDetection, radii, args, amp: bool) -> dict[str, list[dict]]:
    """This rank's detections on every view: ``{view: [COCO result, ...]}``.

    Every ``--save-every`` batches the detections found since the last save go to
    ``partial/rank<r>-of-<w>/upto-<batch>.json`` (atomically; only the new ones, so saving stays cheap on
    large sets); a rerun reads the chunks back and starts after the last one.
    """
    dist, names = exp.dist, view_names(radii)
    state_dir = exp.partial_dir() / f"rank{dist.rank}-of-{dist.world}"
    detections = {v: [] for v in names}
    chunks = sorted(state_dir.glob("upto-*.json"))
    for chunk in chunks:
        for v, ds in json.loads(chunk.read_text()).items():
            detections[v] += ds
    done = int(chunks[-1].stem.split("-")[1]) if chunks else 0
    mine = [i for i in range(done, -(-len(data) // args.batch_size)) if i % dist.world == dist.rank]
    pending, since_save = {v: [] for v in names}, 0
    for i in tqdm(mine, desc="detect", unit="batch", disable=not exp.progress or not dist.is_main):
        ids = data.ids[i * args.batch_size:(i + 1) * args.batch_size]
        per_image = [_views(data.load_image(image_id).to(dist.device), radii) for image_id in ids]
        for v, name in enumerate(names):
            with torch.autocast(dist.device.type, dtype=torch.bfloat16, enabled=amp):
                outputs = model([views[v] for views in per_image])
            for image_id, output in zip(ids, outputs, strict=True):
                pending[name] += to_coco_results(image_id, output)
        since_save += 1
        if since_save >= args.save_every or i == mine[-1]:
            write_json(state_dir / f"upto-{i + 1:07d}.json", pending)
            for v in names:
                detections[v] += pending[v]
                pending[v] = []
            since_save = 0
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


def score(exp, data: CocoDetection, detections: dict, radii, args) -> dict:
    """mAP of every view, the per-image comparison of each LFC with the original, and panels (rank 0)."""
    truth = load_ground_truth(data.annotation_file)
    pairs = ground_truth_pairs(truth, data.ids)
    stats, per_pair = {}, {}
    for view, ds in detections.items():
        stats[view], evaluator = coco_evaluate(truth, ds, data.ids)
        per_pair[view] = per_image_ap(evaluator)
    comparisons = {}
    by_image = {v: mean_ap_by_image(per_pair[v]) for v in per_pair} if args.panels else {}
    for r in radii:
        c = compare_images(per_pair["original"], per_pair[f"lfc-r{radius_key(r)}"], pairs)
        comparisons[radius_key(r)] = {"better": len(c["better"]), "worse": len(c["worse"]),
                                      "better_ids": c["better"], "worse_ids": c["worse"]}
        if args.panels:
            picks = sorted(c["better"], key=lambda i: -c["gain"][i])[:args.panels]
            names = ["original", f"lfc-r{radius_key(r)}", f"hfc-r{radius_key(r)}"]
            rows = [(i, _views(data.load_image(i), [r])) for i in picks]
            exp.figure(plot_panels, f"panels-r{radius_key(r)}.png", rows, names, detections, data.categories,
                       by_image, args.score_threshold)
    return {"images": len(data), "stats": stats, "comparisons": comparisons,
            "per_image_ap": {v: {f"{i}/{c}": ap for (i, c), ap in p.items()} for v, p in per_pair.items()}}


def report(exp, results: dict, radii, model_name: str) -> str:
    stats = results["stats"]
    rows = [[view, *(f"{100 * stats[view][s]:.1f}" if stats[view][s] >= 0 else "–" for s in STATS),
             str(DETECTION.get(view.split("-")[0], "")) if view == "original" or view.endswith("r128") else ""]
            for view in view_names(radii)]
    exp.write_text("map.csv", csv_text(["view", *STATS], [[v, *(float(stats[v][s]) for s in STATS)] for v in stats]))
    lines = ["# Detection on LFC and HFC (§7)", "",
             f"{model_name} on {results['images']} images of {exp.args.annotations}; box mAP (%) from pycocotools. "
             "The paper's numbers: RetinaNet (ResNet-50 + FPN) on COCO val2017, r = 128.", "",
             *markdown_table(["view", *STATS, "paper AP"], rows), ""]
    for r in radii:
        c = results["comparisons"][radius_key(r)]
        lines += [f"## Images recognised better on the LFC (r = {radius_key(r)})", "",
                  f"{c['better']} of {results['images']} images have some category with a higher AP on the LFC than "
                  f"on the original; {c['worse']} have some category with a lower one. Paper: "
                  f"{DETECTION['images_better_on_lfc']} of {DETECTION['images']} (r = 128).", ""]
        if (exp.out / f"panels-r{radius_key(r)}.png").exists():
            lines += [f"![panels r={radius_key(r)}](panels-r{radius_key(r)}.png)", ""]
    return "\n".join(lines)


def check_args(args) -> None:
    if args.image_dir is None or args.annotations is None:
        raise InputError("hfc detect needs --image-dir (an image folder) and --annotations (a COCO instances JSON)")
    if args.weights is None:
        raise InputError("hfc detect needs --weights: a local state_dict or a 'hfc detect train' checkpoint "
                         "(nothing is downloaded)")
    check_fits(args.radii, name="--radii")


def run(exp, args) -> dict | None:
    data = CocoDetection(args.image_dir, args.annotations, limit=args.limit)
    model = load_detector(args.model, args.weights, args.num_classes, min_size=args.min_size,
                          max_size=args.max_size).to(exp.dist.device)
    exp.uses("detector", model)  # detections saved as they go belong to these weights
    amp = exp.dist.device.type == "cuda" if args.amp is None else args.amp
    detections = gather_detections(run_detector(exp, model, data, args.radii, args, amp), exp.dist)
    results = None
    if exp.dist.is_main:
        write_json(exp.out / "detections.json", detections)
        results = score(exp, data, detections, args.radii, args)
        page = report(exp, results, args.radii, args.model or "from checkpoint")
    results = exp.finish(results or {}, page if exp.dist.is_main else None)
    return results if exp.dist.is_main else None


def summary(results: dict, args) -> list[str]:
    return [*(f"  {view}: AP {100 * stats['AP']:.1f}" for view, stats in results["stats"].items()),
            *(f"  r = {r}: {c['better']} images better on LFC, {c['worse']} worse"
              for r, c in results["comparisons"].items()),
            f"wrote {args.out}/report.md and results.json"]


# ---------------------------------------------------------------------- detection (Figs 8–9)
def plot_panels(rows: list[tuple[int, list]], names: list[str], detections: dict, categories: dict, ap: dict,
                threshold: float, path: Path) -> Path:
    """Rows of views (original / LFC / HFC) of each image with the detector's boxes (score ≥ threshold).

    Args:
        rows: ``(image_id, [view tensors (3, H, W)])``, the views in the order of ``names``.
        names: the views' names, keys of ``detections`` (COCO results) and of ``ap`` (per-image AP).
        categories: category id → name.
    """
    import matplotlib.patches as patches

    by_image = {v: {} for v in names}
    for v in names:
        for d in detections[v]:
            by_image[v].setdefault(d["image_id"], []).append(d)
    fig, axes = pyplot().subplots(max(1, len(rows)), len(names), figsize=(10, 3.2 * max(1, len(rows))),
                                  squeeze=False)
    for row, (image_id, views) in enumerate(rows):
        for col, (name, view) in enumerate(zip(names, views, strict=True)):
            ax = axes[row][col]
            shown = view
            if name.startswith("hfc"):  # the HFC is centred on zero: stretch it for the eye
                shown = (view - view.min()) / (view.max() - view.min()).clamp_min(1e-8)
            ax.imshow(shown.clamp(0, 1).permute(1, 2, 0).numpy())
            for d in by_image[name].get(image_id, []):
                if d["score"] < threshold:
                    continue
                x, y, w, h = d["bbox"]
                ax.add_patch(patches.Rectangle((x, y), w, h, fill=False, color="yellow", lw=1.2))
                ax.text(x, y, f"{categories.get(d['category_id'], d['category_id'])} {d['score']:.2f}",
                        color="black", fontsize=6, backgroundcolor="yellow")
            ax.set_title(f"{name}: AP {ap[name].get(image_id, 0.0):.2f}", fontsize=8)
            ax.axis("off")
    for ax in axes.flat[len(names) * len(rows):]:
        ax.axis("off")
    return save_and_close(path, fig)
