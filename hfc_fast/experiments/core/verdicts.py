"""Verdicts on the papers' claims: what was measured, on how many seeds, and whether it supports the claim."""

from __future__ import annotations


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def verdict(claim: str, per_seed: list[bool], numbers: str) -> dict:
    """A claim of the paper checked on each seed; supported when a majority of seeds agree."""
    held = sum(bool(v) for v in per_seed)
    return {"claim": claim, "supported": held * 2 > len(per_seed), "seeds": len(per_seed), "seeds_holding": held,
            "numbers": numbers}


def verdict_lines(verdicts: list[dict]) -> list[str]:
    """Markdown bullet lines, one per verdict."""
    return [f"- **{'supported' if v['supported'] else 'not supported'}** — {v['claim']}: {v['numbers']} "
            f"(holds on {v['seeds_holding']} of {v['seeds']} seed{'s' if v['seeds'] > 1 else ''})."
            for v in verdicts]


def verdict_summary(v: dict) -> str:
    """One line for the terminal."""
    return f"{'supported' if v['supported'] else 'not supported'} ({v['seeds_holding']}/{v['seeds']} seeds): " \
           f"{v['claim']}"
