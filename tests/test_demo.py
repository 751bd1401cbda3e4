"""The main job end to end on a small slice of Fashion-MNIST; its files and their contents."""

from __future__ import annotations

import json
import re

import pytest

from hfc_fast.data import FASHION_MNIST_ROOT
from hfc_fast.experiments.cli import main as hfc

from reports import check_tables

pytestmark = pytest.mark.skipif(not (FASHION_MNIST_ROOT / "t10k-images-idx3-ubyte.gz").exists(),
                                reason="Debian's dataset-fashion-mnist is not installed")


def _png_ok(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    assert len(data) > 5000, f"{path} looks blank"


def test_demo_runs_end_to_end_and_resumes(tmp_path):
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--limit", "600", "--epochs", "1", "--adv-epochs", "1", "--adv-limit",
            "200", "--attack-images", "500", "--no-progress", "--batch-size", "300"]
    assert hfc(args) == 0
    for name in ("grid.png", "spectrum.png", "examples.png", "kernels.png", "natural/curves.png",
                 "adversarial/curves.png"):
        _png_ok(out / name)
    summary = json.loads((out / "summary.json").read_text())
    rows = summary["robustness"]
    assert {(r["model"], r["rho"]) for r in rows} == {(m, p) for m in ("natural", "adversarial")
                                                      for p in (0.0, 0.1, 0.25, 0.5, 1.0)}
    for r in rows:
        assert 0 <= r["clean"] <= 1 and len(r["fgsm"]) == len(r["pgd"]) == 3
        assert r["pgd"] == sorted(r["pgd"], reverse=True)  # nested balls: never rises with ε
        assert all(p <= c + 1e-9 for p, c in zip(r["pgd"], [r["clean"]] * 3, strict=True))
    assert 0 <= summary["examples"]["count"] <= 600
    assert all(0 <= v <= 1 for v in summary["kernels"]["high_frequency_share"].values())
    assert {v["seeds"] for v in summary["verdicts"]} == {1}
    report = (out / "report.md").read_text()
    for link in re.findall(r"\]\(([^)]+)\)", report):
        assert (out / link).exists(), link
    assert "paper: clean" in report and "0.856" in report  # the paper's Table 2 beside ours
    assert check_tables(report) == 3
    assert "data:image/png;base64," in (out / "report.html").read_text()
    assert (out / "robustness.csv").read_text().count("\n") == 11

    # a second call reuses every finished stage instead of recomputing it
    stamps = {name: (out / name).stat().st_mtime_ns for name in
              ("split.json", "examples.json", "robustness.json", "kernels.json", "natural/checkpoints/last.pt")}
    (out / "summary.json").unlink()
    assert hfc(args) == 0
    assert {name: (out / name).stat().st_mtime_ns for name in stamps} == stamps
    assert json.loads((out / "summary.json").read_text())["robustness"] == rows


def test_demo_rejects_bad_options(tmp_path, capsys):
    assert hfc(["demo", "--out", str(tmp_path), "--epochs", "0"]) == 2
    assert "--epochs must be an integer >= 1, got '0'" in capsys.readouterr().err
    assert hfc(["demo", "--out", str(tmp_path), "--data-root", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err
