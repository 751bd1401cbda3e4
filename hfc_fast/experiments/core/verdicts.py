"""Verdicts on the papers' claims: a measured effect with a 95 % confidence interval, read three ways.

Every command judges a claim the same way: the difference the claim predicts
(:func:`hfc_fast.stats.effect_interval`, a bootstrap over seeds and units) and
:func:`hfc_fast.stats.three_way` on it — *supported* when the interval lies on
the claimed side of zero, *contradicted* when it lies on the other side,
*inconclusive* when it straddles zero. A claim with several parts (say, clean
accuracy falls and robust accuracy rises) is supported when every part is,
contradicted when one part is, and inconclusive otherwise.
"""

from __future__ import annotations

import torch

from hfc_fast.errors import InputError
from hfc_fast.stats import Effect, effect_interval, three_way

# each verdict in words, for summaries
VERDICT_WORDS = {"supported": "held", "contradicted": "did not hold",
                 "inconclusive": "inconclusive at this budget"}


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def outcomes(accuracy: float, n: int) -> torch.Tensor:
    """A 0/1 vector of ``n`` units with ``accuracy·n`` ones: for the mean and its bootstrap, an accuracy over
    ``n`` images is this vector whatever the order of the hits."""
    hits = round(float(accuracy) * int(n))
    return torch.cat([torch.ones(hits, dtype=torch.float64), torch.zeros(int(n) - hits, dtype=torch.float64)])


def part(measure: str, effect: Effect, *, expect: str = "positive", unit: str = "images") -> dict:
    """One measured part of a claim: what was measured, its effect and interval, and its own verdict."""
    return {"measure": measure, "expect": expect, "unit": unit, "effect": effect.as_dict(),
            "verdict": three_way(effect, expect=expect)}


def accuracy_part(measure: str, treated: list[list[float]], control: list[list[float]], n: int, *,
                  expect: str = "positive") -> dict:
    """A part comparing two arms' accuracies over ``n`` images each: per seed, a list of accuracies per arm
    (averaged within the seed, say over radii). The images are resampled per arm (unpaired), which is
    conservative when both arms scored the same images; the seeds are resampled together."""
    def arm(per_seed):
        return [torch.cat([outcomes(a, n) for a in accuracies]) for accuracies in per_seed]

    return part(measure, effect_interval(arm(treated), arm(control), paired=False), expect=expect)


def verdict(claim: str, parts: list[dict], *, numbers: str = "", paper: str = "", budget: str = "") -> dict:
    """A claim judged on its measured ``parts`` (each from :func:`part`)."""
    if not parts:
        raise InputError("a verdict needs at least one measured part")
    states = [p["verdict"] for p in parts]
    overall = "supported" if all(s == "supported" for s in states) else \
        "contradicted" if "contradicted" in states else "inconclusive"
    return {"claim": claim, "verdict": overall, "parts": parts, "seeds": parts[0]["effect"]["seeds"],
            "numbers": numbers, "paper": paper, "budget": budget}


def describe(p: dict) -> str:
    """``clean accuracy, smoothed − plain (claimed < 0): −0.072 (95 % CI −0.090 to −0.054; 2000 images × 3
    seeds)``."""
    side = "> 0" if p["expect"] == "positive" else "< 0"
    return f"{p['measure']} (claimed {side}): {Effect(**p['effect']).describe(p['unit'])}"


def verdict_lines(verdicts: list[dict]) -> list[str]:
    """Markdown bullet lines, one per verdict, each part's effect and interval beside the paper's number."""
    lines = []
    for v in verdicts:
        text = f"- **{v['verdict']}** — {v['claim']}. " + "; ".join(describe(p) for p in v["parts"]) + "."
        if v["numbers"]:
            text += f" {v['numbers']}."
        if v["budget"]:
            text += f" Budget: {v['budget']}."
        if v["paper"]:
            text += f" Paper: {v['paper']}."
        lines.append(text.replace("..", "."))
    return lines


def interval_text(effect: dict) -> str:
    """``+0.216 [+0.191, +0.246]``: an effect (as :meth:`Effect.as_dict` gives it) and its interval."""
    return f"{effect['estimate']:+.3f} [{effect['low']:+.3f}, {effect['high']:+.3f}]"


def verdict_summary(v: dict) -> str:
    """One line for the terminal."""
    p = v["parts"][0]["effect"]
    seeds = f"{v['seeds']} seed{'s' if v['seeds'] != 1 else ''}"
    if not Effect(**p).is_evidence:
        return f"{v['verdict']} ({p['estimate']:+.3f}, one observation, no interval: {seeds}; run more " \
               f"seeds): {v['claim']}"
    return f"{v['verdict']} ({p['estimate']:+.3f}, CI {p['low']:+.3f} to {p['high']:+.3f}, {seeds}): {v['claim']}"
