"""Reports: ``report.md`` with linked figures and a stand-alone ``report.html`` with them inline; tables."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from hfc_fast.errors import InputError
from hfc_fast.experiments.core.files import write_text


def write_page(out: Path, markdown: str, *, title: str = "hfc_fast report") -> Path:
    """Write ``out/report.md`` and ``out/report.html``; returns the markdown's path."""
    out = Path(out)
    write_text(out / "report.md", markdown)
    write_text(out / "report.html", markdown_to_html(markdown, out, title=title))
    return out / "report.md"


def markdown_to_html(markdown: str, folder: Path, *, title: str = "hfc_fast report") -> str:
    """A small markdown-to-HTML rendering with the PNGs embedded, so the page stands alone."""
    body, table = [], []

    def flush_table():
        if table:
            rows = [r for r in table if not re.fullmatch(r"\|[-|]+\|", r)]
            cells = [[_inline(c.strip()) for c in r.strip("|").split("|")] for r in rows]
            head = "".join(f"<th>{c}</th>" for c in cells[0])
            rest = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in cells[1:])
            body.append(f"<table><tr>{head}</tr>{rest}</table>")
            table.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        image = re.fullmatch(r"!\[(.*)\]\((.*)\)", line)
        if image:
            path = folder / image.group(2)
            data = base64.b64encode(path.read_bytes()).decode() if path.exists() else ""
            body.append(f'<p><img alt="{html.escape(image.group(1))}" src="data:image/png;base64,{data}" '
                        'style="max-width:100%"></p>')
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line.lstrip('#').strip())}</h{level}>")
        elif line.startswith("- "):
            body.append(f"<li>{_inline(line[2:])}</li>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    flush_table()
    style = "body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse}" \
            "td,th{border:1px solid #ccc;padding:2px 6px}"
    head = f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title><style>{style}</style>"
    return head + "".join(body)


def _inline(text: str) -> str:
    """Bold and links of one line of markdown, the rest escaped; a link to a page's ``.md`` goes to its
    ``.html`` (every page is written as both)."""
    def link(m):
        href = re.sub(r"\.md$", ".html", m.group(2))
        return f'<a href="{html.escape(href)}">{m.group(1)}</a>'

    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text, quote=False))
    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", link, text)


def csv_text(header: list[str], rows: list[list]) -> str:
    """A CSV table; floats with 4 decimals."""
    def cell(v):
        return f"{v:.4f}" if isinstance(v, float) else str(v)
    return "\n".join([",".join(header)] + [",".join(cell(v) for v in row) for row in rows]) + "\n"


def markdown_table(header: list[str], rows: list[list]) -> list[str]:
    """A markdown table's lines; floats with 3 decimals. Every row must have a cell per column."""
    for row in rows:
        if len(row) != len(header):
            raise InputError(f"a table row has {len(row)} cells for {len(header)} columns: {row!r}")

    def cell(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
        ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
