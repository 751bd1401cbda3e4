"""``hfc report RUN...``: one markdown and one HTML page combining the reports of several runs."""

from __future__ import annotations

import os
import re
from pathlib import Path

from hfc_fast.experiments.pages import write_page


def combine_reports(runs: list[Path], out: Path) -> Path:
    """Each run's ``report.md`` under its own heading, figure links rewritten relative to ``out``."""
    out = Path(out)
    parts = ["# hfc_fast: combined report", ""]
    for run in runs:
        run = Path(run)
        report = run / "report.md"
        if not run.is_dir():
            raise FileNotFoundError(f"run directory {run} does not exist")
        if not report.exists():
            raise FileNotFoundError(f"{run} has no report.md: is it a finished run directory of hfc?")
        text = report.read_text()

        def relink(match, run=run):
            target = run / match.group(2)
            return f"![{match.group(1)}]({Path(os.path.relpath(target, out)).as_posix()})"
        text = re.sub(r"!\[([^\]]*)\]\(([^)]+)\)", relink, text)
        text = re.sub(r"^(#+)", r"##\1", text, flags=re.M)  # each report below its run heading
        parts += [f"## {run.name}", "", f"From `{run}`.", "", text.strip(), ""]
    out.mkdir(parents=True, exist_ok=True)
    return write_page(out, "\n".join(parts), title="hfc_fast combined report")
