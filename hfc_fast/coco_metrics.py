"""COCO box mAP with pycocotools, and the AP of each (image, category) pair for per-image comparisons."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import torch

STATS = ("AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large")


def to_coco_results(image_id: int, output: dict) -> list[dict]:
    """A detector's output for one image (``boxes`` (N, 4) x1y1x2y2, ``scores``, ``labels``) as COCO results."""
    boxes = output["boxes"].detach().float().cpu()
    xywh = torch.cat([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], dim=1).tolist()
    return [{"image_id": int(image_id), "category_id": int(label), "bbox": [round(v, 3) for v in box],
             "score": round(float(score), 5)}
            for box, score, label in zip(xywh, output["scores"].tolist(), output["labels"].tolist(), strict=True)]


def load_ground_truth(annotation_file):
    """pycocotools' COCO object, its loading chatter silenced."""
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(annotation_file))


def coco_evaluate(ground_truth, detections: list[dict], image_ids: list[int]):
    """Box mAP of ``detections`` on ``image_ids``.

    Returns:
        ``(stats, evaluator)``: ``stats`` maps AP, AP50, AP75, AP_small/medium/large
        to values in [0, 1] (−1 where no ground truth falls in that size range, as
        pycocotools reports); ``evaluator`` is the evaluated ``COCOeval`` (None when
        there are no detections, and every AP is then 0).
    """
    from pycocotools.cocoeval import COCOeval

    if not detections:
        return {name: 0.0 for name in STATS}, None
    with contextlib.redirect_stdout(io.StringIO()):
        results = ground_truth.loadRes([dict(d) for d in detections])  # loadRes adds fields in place
        evaluator = COCOeval(ground_truth, results, "bbox")
        evaluator.params.imgIds = list(image_ids)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: float(v) for name, v in zip(STATS, evaluator.stats[:6], strict=True)}, evaluator


def _average_precision(entry: dict, recall_thresholds: np.ndarray) -> float | None:
    """AP of one image and category, averaged over IoU thresholds, with COCO's interpolation."""
    gt_ignore = np.asarray(entry["gtIgnore"], dtype=bool)
    n_gt = int((~gt_ignore).sum())
    if n_gt == 0:
        return None  # no object of this category to recognise
    order = np.argsort(-np.asarray(entry["dtScores"]), kind="mergesort")
    matches = np.asarray(entry["dtMatches"])[:, order]
    ignore = np.asarray(entry["dtIgnore"], dtype=bool)[:, order]
    aps = []
    for t in range(matches.shape[0]):
        tp = np.cumsum((matches[t] > 0) & ~ignore[t])
        fp = np.cumsum((matches[t] == 0) & ~ignore[t])
        if tp.size == 0:
            aps.append(0.0)
            continue
        recall = tp / n_gt
        precision = tp / np.maximum(tp + fp, np.spacing(1))
        precision = np.maximum.accumulate(precision[::-1])[::-1]  # the precision envelope
        index = np.searchsorted(recall, recall_thresholds, side="left")
        sampled = np.where(index < len(precision), precision[np.minimum(index, len(precision) - 1)], 0.0)
        aps.append(float(sampled.mean()))
    return float(np.mean(aps))


def per_image_ap(evaluator) -> dict[tuple[int, int], float]:
    """``{(image_id, category_id): AP}`` over all object sizes, for every pair with ground truth."""
    if evaluator is None:
        return {}
    params = evaluator.params
    all_sizes = params.areaRng[0]
    out = {}
    for entry in evaluator.evalImgs:
        if entry is None or list(entry["aRng"]) != list(all_sizes):
            continue
        ap = _average_precision(entry, params.recThrs)
        if ap is not None:
            out[(int(entry["image_id"]), int(entry["category_id"]))] = ap
    return out


def compare_images(reference: dict, other: dict, ground_truth_pairs) -> dict:
    """Images where some category is recognised better (or worse) in ``other`` than in ``reference``.

    Pairs without an entry (no detections at all) count as AP 0.

    Returns:
        ``{"better": [image ids], "worse": [image ids], "gain": {image_id: largest AP gain}}``.
    """
    better, worse, gain = set(), set(), {}
    for pair in ground_truth_pairs:
        a, b = reference.get(pair, 0.0), other.get(pair, 0.0)
        image = pair[0]
        if b > a + 1e-9:
            better.add(image)
            gain[image] = max(gain.get(image, 0.0), b - a)
        elif b < a - 1e-9:
            worse.add(image)
    return {"better": sorted(better), "worse": sorted(worse), "gain": gain}


def ground_truth_pairs(ground_truth, image_ids) -> list[tuple[int, int]]:
    """The (image, category) pairs with at least one non-crowd object."""
    pairs = set()
    for image_id in image_ids:
        for a in ground_truth.imgToAnns.get(image_id, []):
            if not a.get("iscrowd", 0):
                pairs.add((int(image_id), int(a["category_id"])))
    return sorted(pairs)


def mean_ap_by_image(pairs_ap: dict) -> dict[int, float]:
    """``{image_id: mean AP over its categories}`` from :func:`per_image_ap`'s pairs."""
    sums, counts = {}, {}
    for (image, _), ap in pairs_ap.items():
        sums[image] = sums.get(image, 0.0) + ap
        counts[image] = counts.get(image, 0) + 1
    return {image: sums[image] / counts[image] for image in sums}
