"""Detection under LFC/HFC on a small COCO-format set written by the tests."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import torch

pytest.importorskip("pycocotools")
pytest.importorskip("torchvision")

from hfc_fast import frequency_split_reference  # noqa: E402
from hfc_fast.coco_metrics import (  # noqa: E402
    coco_evaluate,
    compare_images,
    ground_truth_pairs,
    load_ground_truth,
    per_image_ap,
)
from hfc_fast.data.coco import CocoDetection  # noqa: E402
from hfc_fast.experiments.cli import main as hfc  # noqa: E402
from hfc_fast.experiments.commands import detect as detect_module  # noqa: E402
from hfc_fast.experiments.core.detectors import build_detector  # noqa: E402

from coco_synthetic import write_coco  # noqa: E402
from reports import check_tables  # noqa: E402

SMALL = "fasterrcnn_mobilenet_v3_large_320_fpn"
SIZES = ["--min-size", "80", "--max-size", "96"]


@pytest.fixture
def coco(tmp_path):
    return write_coco(tmp_path / "coco", n_images=8, seed=int(torch.randint(0, 10_000, ())))


def _truth_detections(data: CocoDetection, images=None) -> list[dict]:
    return [{"image_id": i, "category_id": a["category_id"], "bbox": list(map(float, a["bbox"])), "score": 1.0}
            for i in (images if images is not None else data.ids) for a in data.annotations[i]]


# ---------------------------------------------------------------------- the metric, with pycocotools
def test_a_detector_returning_the_ground_truth_scores_one(coco):
    data = CocoDetection(*coco)
    stats, evaluator = coco_evaluate(load_ground_truth(coco[1]), _truth_detections(data), data.ids)
    assert stats["AP"] == stats["AP50"] == stats["AP75"] == pytest.approx(1.0)
    assert stats["AP_small"] == pytest.approx(1.0)  # every shape is under 32×32 pixels
    assert stats["AP_medium"] == stats["AP_large"] == -1  # no object of those sizes
    assert set(per_image_ap(evaluator).values()) == {1.0}


def test_perturbed_detectors_score_the_hand_count(coco):
    data = CocoDetection(*coco)
    truth = load_ground_truth(coco[1])
    # half of the images found perfectly, the rest missed: precision 1 up to recall 0.5, so 51 of COCO's
    # 101 recall points (0, 0.01, ..., 0.5) have precision 1
    kept = data.ids[:4]
    stats, evaluator = coco_evaluate(truth, _truth_detections(data, kept), data.ids)
    assert stats["AP"] == pytest.approx(51 / 101)
    half = per_image_ap(evaluator)
    assert {pair: ap for pair, ap in half.items()} == {(i, c): float(i in kept) for i in data.ids for c in (2, 5)}
    _, full = coco_evaluate(truth, _truth_detections(data), data.ids)
    compared = compare_images(per_image_ap(full), half, ground_truth_pairs(truth, data.ids))
    assert compared["worse"] == data.ids[4:] and compared["better"] == []

    # every box shifted sideways to IoU 0.72: matched at IoU thresholds 0.50 … 0.70 (5 of 10)
    shifted = []
    for d in _truth_detections(data):
        x, y, w, h = d["bbox"]
        dx = w * (1 - 0.72) / (1 + 0.72)  # IoU of a w×h box and its copy shifted by dx: (w − dx) / (w + dx)
        shifted.append({**d, "bbox": [x + dx, y, w, h]})
    stats, _ = coco_evaluate(truth, shifted, data.ids)
    assert stats["AP50"] == pytest.approx(1.0) and stats["AP75"] == pytest.approx(0.0)
    assert stats["AP"] == pytest.approx(0.5)

    stats, evaluator = coco_evaluate(truth, [], data.ids)
    assert evaluator is None and stats["AP"] == 0.0


def test_reader_matches_the_written_files(coco):
    data = CocoDetection(*coco)
    written = json.loads(coco[1].read_text())
    assert data.ids == sorted(im["id"] for im in written["images"]) and data.num_classes == 6
    image, target = data[3]
    assert image.shape == (3, 80, 96) and 0 <= image.min() and image.max() <= 1
    expected = [a for a in written["annotations"] if a["image_id"] == data.ids[3]]
    boxes = torch.tensor([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                          for a in expected], dtype=torch.float32)
    torch.testing.assert_close(target["boxes"], boxes)
    assert target["labels"].tolist() == [a["category_id"] for a in expected]


def test_bad_data_sets_are_named(tmp_path, coco):
    images, annotations = coco
    with pytest.raises(FileNotFoundError, match="annotation file .* does not exist"):
        CocoDetection(images, tmp_path / "none.json")
    data = json.loads(annotations.read_text())
    data["annotations"][0]["category_id"] = 7
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"category ids \[7\]"):
        CocoDetection(images, wrong)
    (images / "000102.png").unlink()
    with pytest.raises(FileNotFoundError, match="1 image.*000102.png"):
        CocoDetection(images, annotations)


# ---------------------------------------------------------------------- hfc detect and hfc detect train
def _weights(tmp_path):
    torch.manual_seed(3)
    path = tmp_path / "weights.pt"
    torch.save(build_detector(SMALL, 6, min_size=80, max_size=96).state_dict(), path)
    return path


def _detect_args(coco, weights, out, *extra):
    return ["detect", "--image-dir", str(coco[0]), "--annotations", str(coco[1]), "--model", SMALL, "--weights",
            str(weights), "--num-classes", "6", "--radii", "8,16", "--batch-size", "3", *SIZES, "--out", str(out),
            "--no-progress", *extra]


def test_detect_writes_every_view_and_its_report(tmp_path, coco):
    out = tmp_path / "detect"
    assert hfc(_detect_args(coco, _weights(tmp_path), out, "--panels", "2")) == 0
    results = json.loads((out / "results.json").read_text())
    views = ["original", "lfc-r8", "hfc-r8", "lfc-r16", "hfc-r16"]
    assert set(results["stats"]) == set(views)
    for stats in results["stats"].values():
        assert all(v == -1 or 0 <= v <= 1 for v in stats.values())
    for c in results["comparisons"].values():
        assert 0 <= c["better"] <= 8 and 0 <= c["worse"] <= 8
    detections = json.loads((out / "detections.json").read_text())
    assert set(detections) == set(views)
    report = (out / "report.md").read_text()
    assert "35.6" in report and "1684" in report
    assert check_tables(report) == 1
    for link in re.findall(r"\]\(([^)]+)\)", report):
        assert (out / link).exists(), link
    assert (out / "map.csv").read_text().count("\n") == 6

    # the LFC view is the plain float64 split, and its detections are the model's on it
    data = CocoDetection(*coco)
    image = data.load_image(data.ids[0])
    views_of_image = detect_module._views(image, [8.0])
    low, high = frequency_split_reference(image.double(), 8.0)
    torch.testing.assert_close(views_of_image[1].double(), low, atol=1e-5, rtol=0)
    torch.testing.assert_close(views_of_image[2].double(), high, atol=1e-5, rtol=0)


def test_detect_resumes_after_an_interruption(tmp_path, coco, monkeypatch):
    weights = _weights(tmp_path)
    assert hfc(_detect_args(coco, weights, tmp_path / "whole", "--panels", "0")) == 0
    real, calls = detect_module._views, {"n": 0}

    def dying(*a, **k):
        calls["n"] += 1
        if calls["n"] == 5:  # inside the second batch
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(detect_module, "_views", dying)
    args = _detect_args(coco, weights, tmp_path / "resumed", "--panels", "0", "--save-every", "1")
    assert hfc(args) == 130  # interrupted: one line, exit 130
    folder = next((tmp_path / "resumed" / "partial").rglob("rank0-of-1"))  # under the detector's digest
    saved = sorted(p.name for p in folder.iterdir())
    assert saved == ["upto-0000001.json"]  # the first batch was kept, the second was not finished
    monkeypatch.setattr(detect_module, "_views", real)
    assert hfc(args) == 0
    assert json.loads((tmp_path / "resumed" / "detections.json").read_text()) == \
        json.loads((tmp_path / "whole" / "detections.json").read_text())


def test_sharded_run_equals_one_process(tmp_path, coco):
    weights = _weights(tmp_path)
    assert hfc(_detect_args(coco, weights, tmp_path / "one", "--panels", "0")) == 0
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    "-m", "hfc_fast.experiments.cli", *_detect_args(coco, weights, tmp_path / "two", "--panels", "0")],
                   check=True, env=env, timeout=300, capture_output=True)
    one = json.loads((tmp_path / "one" / "results.json").read_text())
    two = json.loads((tmp_path / "two" / "results.json").read_text())
    assert two["world_size"] == 2
    assert two["stats"] == one["stats"] and two["comparisons"] == one["comparisons"]
    assert json.loads((tmp_path / "two" / "detections.json").read_text()) == \
        json.loads((tmp_path / "one" / "detections.json").read_text())


def test_detect_train_then_evaluate_and_resume(tmp_path, coco):
    base = ["detect", "train", "--image-dir", str(coco[0]), "--annotations", str(coco[1]), "--model", SMALL,
            "--batch-size", "4", "--lr", "0.01", *SIZES, "--no-progress"]
    whole = tmp_path / "whole"
    assert hfc([*base, "--epochs", "2", "--out", str(whole)]) == 0
    history = [json.loads(line) for line in (whole / "metrics.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2]
    assert all(torch.isfinite(torch.tensor(h["loss"])) and h["loss"] > 0 for h in history)
    assert (whole / "losses.png").stat().st_size > 5000

    parts = tmp_path / "parts"
    assert hfc([*base, "--epochs", "1", "--out", str(parts)]) == 0
    assert hfc([*base, "--epochs", "2", "--out", str(parts), "--resume"]) == 0
    resumed = [json.loads(line) for line in (parts / "metrics.jsonl").read_text().splitlines()]
    for a, b in zip(history, resumed, strict=True):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4)

    # the checkpoint names its model and classes, so hfc detect needs only --weights
    out = tmp_path / "eval"
    args = ["detect", "--image-dir", str(coco[0]), "--annotations", str(coco[1]), "--weights",
            str(whole / "checkpoints" / "last.pt"), "--radii", "8", "--out", str(out), "--no-progress"]
    assert hfc(args) == 0
    assert set(json.loads((out / "results.json").read_text())["stats"]) == {"original", "lfc-r8", "hfc-r8"}


@pytest.mark.parametrize("change, message", [
    (lambda a, tmp: a[:a.index("--weights")] + a[a.index("--weights") + 2:], "needs --weights"),
    (lambda a, tmp: [tmp / "none.json" if x == a[a.index("--annotations") + 1] else x for x in a],
     "annotation file"),
    (lambda a, tmp: a + ["--radii", "-3"],
     "--radii must be comma-separated finite numbers without repeats, each > 0, got '-3'"),
    (lambda a, tmp: a + ["--model", "not_a_detector"], "torchvision detection builder"),
    (lambda a, tmp: a + ["--num-classes", "4"], "do not fit"),
])
def test_bad_detect_options_are_named(tmp_path, coco, capsys, change, message):
    args = _detect_args(coco, _weights(tmp_path), tmp_path / "out")
    args = [str(x) for x in change(args, tmp_path)]
    assert hfc(args) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--epochs", "0"], "--epochs must be an integer >= 1, got '0'"),
    (["--lr", "-1"], "--lr must be a finite number > 0, got '-1'"),
    (["--num-classes", "3"], "--num-classes 3 is too small"),
    (["--model", "resnet50"], "torchvision detection builder"),
])
def test_bad_detect_train_options_are_named(tmp_path, coco, capsys, extra, message):
    args = ["detect", "train", "--image-dir", str(coco[0]), "--annotations", str(coco[1]), "--model", SMALL,
            *SIZES, "--out", str(tmp_path / "out"), "--no-progress"]
    assert hfc(args + extra) == 2
    assert message in capsys.readouterr().err
