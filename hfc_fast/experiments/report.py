"""The demo's report: our numbers beside the paper's, and whether they support its claims."""

from __future__ import annotations

from pathlib import Path

from hfc_fast.experiments.kernels import SMOOTHER_CLAIM, smoother_numbers
from hfc_fast.experiments.pages import write_page
from hfc_fast.experiments.robustness import EPS, PAPER_TABLE2, SMOOTHING_CLAIM, smoothing_trade
from hfc_fast.experiments.suite import verdict


def robustness_csv(rows: list[dict]) -> str:
    header = ["model", "rho", "clean"] + [f"fgsm_{e}" for e in EPS] + [f"pgd_{e}" for e in EPS]
    lines = [",".join(header)]
    for r in rows:
        lines.append(",".join([r["model"], f"{r['rho']:g}", f"{r['clean']:.4f}",
                               *(f"{v:.4f}" for v in r["fgsm"]), *(f"{v:.4f}" for v in r["pgd"])]))
    return "\n".join(lines) + "\n"


def verdicts(rows: list[dict], kernels: dict) -> list[dict]:
    """The paper's claims the demo can test (one seed), judged as the ``robustness`` and ``kernels`` runners do."""
    held, numbers = smoothing_trade(rows)
    share = kernels["high_frequency_share"]
    return [verdict(SMOOTHING_CLAIM, [held], numbers),
            verdict(SMOOTHER_CLAIM, [share["adversarial"] < share["natural"]], smoother_numbers(share))]


def table2_lines(rows: list[dict]) -> list[str]:
    eps = " | ".join(f"{e}" for e in EPS)
    lines = [f"| model | ρ | clean | FGSM {eps} | PGD {eps} | paper: clean | paper: FGSM | paper: PGD |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        paper = PAPER_TABLE2.get(r["model"], {}).get(r["rho"])
        ours = (f"| {r['model']} | {r['rho']:g} | {r['clean']:.3f} | {' / '.join(f'{v:.3f}' for v in r['fgsm'])} | "
                f"{' / '.join(f'{v:.3f}' for v in r['pgd'])} |")
        if paper:
            ours += (f" {paper[0]:.3f} | {' / '.join(f'{v:.3f}' for v in paper[1])} | "
                     f"{' / '.join(f'{v:.3f}' for v in paper[2])} |")
        else:
            ours += " | | |"
        lines.append(ours)
    return lines


def write_report(out: Path, summary: dict, natural_history: list[dict], settings: dict) -> Path:
    """``report.md`` (figures linked) and ``report.html`` (figures inline) in ``out``."""
    nat, adv = summary["natural"], summary["adversarial"]
    split = summary["split"]
    ex = summary["examples"]
    lines = [
        "# hfc_fast demo: Fashion-MNIST",
        "",
        f"Run time {summary['seconds'] / 60:.1f} min; backend {split['backend']['backend']}. "
        "Paper: Wang et al., CVPR 2020 (CIFAR-10, a pre-activation ResNet); ours: Fashion-MNIST, a small CNN "
        f"trained {settings['epochs']} epochs (Adam 1e-3, batch 100), so numbers compare in trend, not in value.",
        "",
        "## LFC and HFC (§3)",
        "",
        "![LFC/HFC grid](grid.png)",
        "",
        "| radius | share of energy in the LFC |",
        "|---|---|",
        *[f"| {r} | {100 * v:.1f}% |" for r, v in split["lfc_energy_share"].items()],
        "",
        f"Splitting {split['images']} test images at every radius took {split['split_seconds']['hfc_fast']:.2f} s "
        f"(plain-PyTorch reference: {split['split_seconds']['reference']:.2f} s).",
        "",
        "## Training with frequency tracking (§4–5, Figs 3–5)",
        "",
        "![natural model](natural/curves.png)",
        "",
        f"Natural model after {nat['epoch']} epochs: train {nat['train']['acc']:.3f}, test {nat['test']['acc']:.3f}; "
        + ", ".join(f"test LFC r={r} {v:.3f}" for r, v in nat["test"]["lfc"].items()) + "; "
        + ", ".join(f"test HFC r={r} {v:.3f}" for r, v in nat["test"]["hfc"].items()) + ".",
        "",
        f"Adversarially trained (PGD ε = 0.03, {adv['epoch']} epochs): test {adv['test']['acc']:.3f}.",
        "",
        "## Examples (Fig 2)",
        "",
        f"{ex['count']} of {ex['n']} test images are classified right on x and on x_h but wrong on x_l "
        f"(r = {ex['radius']:g}, the paper's r = 12 scaled to 28×28).",
        "",
        "![examples](examples.png)",
        "",
        "## Robustness with smoothed kernels (Table 2)",
        "",
        "FGSM and PGD-10 (step ε/4, no random start) on "
        f"{summary['robustness'][0]['n']} test images; an image counts as robust only if no iterate fooled it.",
        "",
        *table2_lines(summary["robustness"]),
        "",
        "## First-layer kernels (Fig 7)",
        "",
        "![kernels](kernels.png)",
        "",
        "| model | high-frequency share of kernel energy |",
        "|---|---|",
        *[f"| {k} | {v:.3f} |" for k, v in summary["kernels"]["high_frequency_share"].items()],
        "",
        "## Verdicts",
        "",
        *[f"- **{'supported' if v['supported'] else 'not supported'}** — {v['claim']}: {v['numbers']} "
          f"({v['seeds']} seed)." for v in summary["verdicts"]],
        "",
    ]
    return write_page(out, "\n".join(lines), title="hfc_fast demo")
