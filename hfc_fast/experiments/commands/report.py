"""``hfc report RUN...``: one markdown and one HTML page combining the reports of several runs."""

from __future__ import annotations

import os
import re
from pathlib import Path

from hfc_fast.errors import InputError
from hfc_fast.experiments.core.pages import write_page

HELP = "combine the reports of several runs into one page"
RESUMABLE = ("runs",)  # a combined page is rewritten from whichever runs are given


def add_arguments(options) -> None:
    options.add("runs", nargs="+", type=Path, help="run directories")
    options.add("--out", default=Path("runs/report"), type=Path, help="where to write (default runs/report)")


def combine_reports(runs: list[Path], out: Path) -> Path:
    """Each run's ``report.md`` under its own heading, figure and page links rewritten relative to ``out``."""
    out = Path(out)
    parts = ["# hfc_fast: combined report", ""]
    for run in map(Path, runs):
        report = run / "report.md"
        if not run.is_dir():
            raise FileNotFoundError(f"run directory {run} does not exist")
        if not report.exists():
            raise FileNotFoundError(f"{run} has no report.md: is it a finished run directory of hfc?")

        def relink(match, run=run):
            target = run / match.group(3)
            return f"{match.group(1)}[{match.group(2)}]({Path(os.path.relpath(target, out)).as_posix()})"
        text = re.sub(r"(!?)\[([^\]]*)\]\(([^)]+)\)", relink, report.read_text())
        text = re.sub(r"^(#+)", r"##\1", text, flags=re.M)  # each report below its run heading
        parts += [f"## {run.name}", "", f"From `{run}`.", "", text.strip(), ""]
    return write_page(out, "\n".join(parts), title="hfc_fast combined report")


def check_args(args) -> None:
    out = Path(args.out).resolve()
    for run in args.runs:
        if Path(run).resolve() == out:
            raise InputError(f"--out {args.out} is one of the runs to combine; write the combined page elsewhere")
        if not Path(run).is_dir():
            raise FileNotFoundError(f"run directory {run} does not exist")


def run(exp, args) -> dict:
    path = combine_reports(args.runs, args.out) if exp.dist.is_main else None
    return {"page": str(path)}


def summary(results: dict, args) -> list[str]:
    return [f"wrote {results['page']} and report.html"]
