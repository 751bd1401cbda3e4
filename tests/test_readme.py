"""The README's examples run as written."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def section_code(heading: str) -> list[str]:
    text = README.read_text()
    start = text.index(heading)
    end = text.find("\n##", start + len(heading))  # the next heading (a code comment starts with one #)
    return re.findall(r"```python\n(.*?)```", text[start:end if end > 0 else None], flags=re.S)


def test_the_tracking_section_has_a_plain_and_a_lightning_example():
    blocks = section_code("### Frequency tracking in your own training loop")
    assert len(blocks) == 2 and "track_frequencies" in blocks[0] and "FrequencyTrackingCallback" in blocks[1]


def test_the_plain_loop_example_runs(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    exec(compile(section_code("### Frequency tracking in your own training loop")[0], "README", "exec"), {})
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("1 ")
    assert "'4':" in lines[1] and "'12':" in lines[1]


def test_the_lightning_example_runs_and_logs_every_radius(monkeypatch, tmp_path):
    pytest.importorskip("lightning")
    monkeypatch.chdir(tmp_path)
    exec(compile(section_code("### Frequency tracking in your own training loop")[1], "README", "exec"), {})
    rows = list(csv.DictReader(open(tmp_path / "logs" / "lightning_logs" / "version_0" / "metrics.csv")))
    logged = [r for r in rows if r.get("freq/acc")]
    assert len(logged) == 2  # one row per validation epoch
    for name in ("freq/acc", "freq/lfc_r4", "freq/lfc_r8", "freq/hfc_r4", "freq/hfc_r8"):
        assert all(0.0 <= float(r[name]) <= 1.0 for r in logged), name


def test_the_statistics_example_runs_and_measures_the_plain_difference(capsys):
    (block,) = section_code("### Every claim at once, with confidence intervals")
    scope: dict = {}
    exec(compile(block, "README", "exec"), scope)
    line = capsys.readouterr().out.strip()
    # the estimate is the plain mean difference of the two arms over every image and seed
    plain = sum(float((a - b).mean()) for a, b in zip(scope["ours"], scope["theirs"], strict=True)) / 3
    assert scope["effect"].estimate == pytest.approx(plain, abs=1e-12)
    assert scope["effect"].low < plain < scope["effect"].high
    assert line.endswith("supported") and "1000 images × 3 seeds" in line
