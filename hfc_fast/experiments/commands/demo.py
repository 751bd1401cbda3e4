"""``hfc demo``: the main job, on Fashion-MNIST on a laptop CPU.

Stages (each writes its files atomically; a rerun skips finished stages and
resumes an interrupted training):

  split        grid.png, spectrum.png, split.json: LFC/HFC of the test set,
               energy shares, compiled vs reference split time
  natural/     a small CNN trained with LFC/HFC tracking (``hfc train``)
  adversarial/ the same CNN adversarially trained (PGD ε = 0.03, 10 steps of ε/10)
  examples     examples.png, examples.json: right on x and x_h, wrong on x_l (Fig 2)
  robustness   robustness.json/.csv: clean, FGSM and PGD-10 accuracy at
               ε = 0.03, 0.06, 0.09 for smoothing ρ = 0 … 1 (Table 2)
  kernels      kernels.png, kernels.json: first-layer kernels and their
               high-frequency share (Fig 7)
  report       report.md and report.html beside the paper's numbers, summary.json
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

import hfc_fast
from hfc_fast.experiments.commands import robustness as table2
from hfc_fast.experiments.commands.examples import find_examples, plot_examples
from hfc_fast.experiments.commands.kernels import (
    SMOOTHER_CLAIM,
    SMOOTHER_PAPER,
    plot_kernels,
    smoother_numbers,
    smoother_part,
)
from hfc_fast.experiments.core.config import ADVERSARIAL, TrainConfig
from hfc_fast.experiments.core.figures import pyplot
from hfc_fast.experiments.core.files import save_and_close
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.verdicts import verdict, verdict_lines, verdict_summary
from hfc_fast.radius import radius_key
from hfc_fast.smoothing import first_conv, smooth_first_conv
from hfc_fast.spectrum import high_frequency_share, high_frequency_shares, radial_power_spectrum

HELP = "the main job on Fashion-MNIST: split, training with tracking, examples, robustness with smoothing, " \
       "kernels, report"
PRESET = "demo"


def add_arguments(options) -> None:
    count = Spec("int", minimum=1)
    options.add("--out", default=Path("runs/demo"), type=Path, help="run directory (default: runs/demo)")
    options.add_config(TrainConfig, ["data_root"])
    options.add("--radii", default=[4.0, 8.0, 12.0], spec=Spec("numbers", above=0),
                help="comma-separated radii (default 4,8,12)")
    options.add("--grid", default=8, spec=count, help="images in the grid (default 8)")
    options.add("--batch-size", default=1000, spec=count, help="images per split call (default 1000)")
    options.add("--limit", default=None, spec=Spec("limit", minimum=1),
                help="use only the first N train and test images")
    options.add("--epochs", default=3, spec=count, help="epochs of the natural model (default 3)")
    options.add("--adv-epochs", default=2, spec=count, help="epochs of the adversarial model (default 2)")
    options.add("--adv-limit", default=10000, spec=count, help="training images of the adversarial model "
                                                                "(default 10000)")
    options.add("--attack-images", default=2000, spec=count, help="test images attacked (default 2000)")
    options.add("--no-progress", default=False, action="store_true", help="no progress bars")


def split_stage(exp, images, labels, radii, batch_size: int, n_images: int) -> dict:
    """The LFC/HFC split of the test set: figures and energy statistics, compiled beside the reference."""
    picks = torch.stack([torch.nonzero(labels == c)[0, 0] for c in labels.unique()[:n_images]])
    exp.figure(plot_split_grid, "grid.png", images[picks], labels[picks], radii, exp.class_names(),
               title="Fashion-MNIST test images and their low/high-frequency components")
    exp.figure(plot_power_spectrum, "spectrum.png", images, radii)
    fast_s, low_share, high_abs = split_energy(images, radii, batch_size, hfc_fast.frequency_split,
                                                        "split", exp.progress)
    ref_s, ref_share, _ = split_energy(images, radii, batch_size, hfc_fast.frequency_split_reference,
                                       "reference", exp.progress)
    return {"images": len(images), "image_size": list(images.shape[-2:]), "backend": hfc_fast.backend_info(),
            "radii": list(radii), "lfc_energy_share": dict(zip(map(radius_key, radii), low_share, strict=True)),
            "mean_abs_hfc": dict(zip(map(radius_key, radii), high_abs, strict=True)),
            "split_seconds": {"hfc_fast": fast_s, "reference": ref_s},
            "max_energy_share_difference_vs_reference": max(abs(a - b) for a, b in
                                                            zip(low_share, ref_share, strict=True))}


def run(exp, args) -> dict:
    test = exp.test_set()
    images, labels = test.images[:args.limit], test.labels[:args.limit]
    exp.check_radii(args.radii)
    split = exp.stage("split", lambda: split_stage(exp, images, labels, args.radii, args.batch_size, args.grid))
    limits = dict(train_limit=args.limit, test_limit=args.limit)
    natural, natural_history = exp.trained("natural", exp.config(**limits, epochs=args.epochs),
                                           folder=exp.out / "natural")
    adversarial, adversarial_history = exp.trained(
        "adversarial", exp.config(**{**limits, "train_limit": min(args.limit or args.adv_limit, args.adv_limit)},
                                  epochs=args.adv_epochs, **ADVERSARIAL), folder=exp.out / "adversarial")

    radius = 12 * images.shape[-1] / 32  # the paper's r = 12 on 32×32 images, scaled

    def examples():
        found = find_examples(natural, images, labels, radius)
        exp.figure(plot_examples, "examples.png", images, labels, found, radius, exp.class_names())
        return {"radius": radius, "count": len(found["indices"]), "n": found["n"],
                "indices": found["indices"][:50].tolist()}

    def kernels():
        models = {"natural": natural, "adversarial": adversarial,
                  "natural ρ=0.5": smooth_first_conv(natural, 0.5), "natural ρ=1.0": smooth_first_conv(natural, 1.0)}
        exp.figure(plot_kernels, "kernels.png", models)
        return {"high_frequency_share": {k: high_frequency_share(first_conv(m).weight) for k, m in models.items()}}

    example_result = exp.stage("examples", examples)
    batches = exp.batches(min(args.attack_images, len(images)))
    rows = table2.table_stage(exp, "robustness", {"natural": natural, "adversarial": adversarial}, batches)
    exp.write_text("robustness.csv", table2.robustness_csv(rows))
    kernel_result = exp.stage("kernels", kernels)
    summary = {"split": split, "natural": natural_history[-1], "adversarial": adversarial_history[-1],
               "examples": example_result, "robustness": [r.to_dict() for r in rows], "kernels": kernel_result,
               "verdicts": verdicts(rows, kernel_result, {k: high_frequency_shares(first_conv(m).weight) for k, m in
                                                          (("natural", natural), ("adversarial", adversarial))},
                                    args.epochs)}
    return exp.finish(summary, report(summary, args.epochs, time.perf_counter() - exp.started),
                      results_file="summary.json")


def verdicts(rows: list[table2.Row], kernels: dict, filters: dict, epochs: int) -> list[dict]:
    """The paper's claims the demo can test (one seed), judged as the ``robustness`` and ``kernels`` commands do."""
    budget = f"{epochs} epochs, one seed"
    return [verdict(table2.SMOOTHING_CLAIM, table2.smoothing_parts([rows]), numbers=table2.smoothing_numbers(rows),
                    paper=table2.TABLE2_PAPER, budget=budget),
            verdict(SMOOTHER_CLAIM, [smoother_part([filters["natural"]], [filters["adversarial"]])],
                    numbers=smoother_numbers(kernels["high_frequency_share"]), paper=SMOOTHER_PAPER,
                    budget=budget)]


def summary(results: dict, args) -> list[str]:
    return [f"natural model: test accuracy {results['natural']['test']['acc']:.3f}; "
            f"adversarial model: {results['adversarial']['test']['acc']:.3f}",
            *[f"  {verdict_summary(v)}" for v in results["verdicts"]],
            f"wrote {args.out}/report.md and report.html ({results['seconds'] / 60:.1f} min)"]


def report(summary: dict, epochs: int, seconds: float) -> str:
    """The demo's page: every stage beside the paper's numbers."""
    nat, adv, split, ex = summary["natural"], summary["adversarial"], summary["split"], summary["examples"]
    return "\n".join([
        "# hfc_fast demo: Fashion-MNIST", "",
        f"Run time {seconds / 60:.1f} min; backend {split['backend']['backend']}. Paper: Wang et al., CVPR 2020 "
        f"(CIFAR-10, a pre-activation ResNet); ours: Fashion-MNIST, a small CNN trained {epochs} epochs "
        "(Adam 1e-3, batch 100), so numbers compare in trend, not in value.", "",
        "## LFC and HFC (§3)", "", "![LFC/HFC grid](grid.png)", "",
        "| radius | share of energy in the LFC |", "|---|---|",
        *[f"| {r} | {100 * v:.1f}% |" for r, v in split["lfc_energy_share"].items()], "",
        f"Splitting {split['images']} test images at every radius took {split['split_seconds']['hfc_fast']:.2f} s "
        f"(plain-PyTorch reference: {split['split_seconds']['reference']:.2f} s).", "",
        "## Training with frequency tracking (§4–5, Figs 3–5)", "", "![natural model](natural/curves.png)", "",
        f"Natural model after {nat['epoch']} epochs: train {nat['train']['acc']:.3f}, test {nat['test']['acc']:.3f}; "
        + ", ".join(f"test LFC r={r} {v:.3f}" for r, v in nat["test"]["lfc"].items()) + "; "
        + ", ".join(f"test HFC r={r} {v:.3f}" for r, v in nat["test"]["hfc"].items()) + ".", "",
        f"Adversarially trained (PGD ε = 0.03, {adv['epoch']} epochs): test {adv['test']['acc']:.3f}.", "",
        "## Examples (Fig 2)", "",
        f"{ex['count']} of {ex['n']} test images are classified right on x and on x_h but wrong on x_l "
        f"(r = {ex['radius']:g}, the paper's r = 12 scaled to 28×28).", "", "![examples](examples.png)", "",
        "## Robustness with smoothed kernels (Table 2)", "",
        "FGSM and PGD-10 (step ε/4, no random start) on "
        f"{summary['robustness'][0]['n']} test images; an image counts as robust only if no iterate fooled it.", "",
        *table2.table2_lines([table2.Row.from_dict(r) for r in summary["robustness"]]), "",
        "## First-layer kernels (Fig 7)", "", "![kernels](kernels.png)", "",
        "| model | high-frequency share of kernel energy |", "|---|---|",
        *[f"| {k} | {v:.3f} |" for k, v in summary["kernels"]["high_frequency_share"].items()], "",
        "## Verdicts", "", *verdict_lines(summary["verdicts"]), ""])


def split_energy(images: torch.Tensor, radii, batch_size: int, fn, desc: str, progress: bool = True):
    """The split of every image by ``fn`` (``frequency_split`` or its reference), batch by batch.

    Returns:
        ``(seconds, lfc_energy_share, mean_abs_hfc)``: the time of the split calls alone, the LFC's share
        of the energy at each radius, and the mean absolute HFC pixel at each radius.
    """
    energy = images.pow(2).sum()
    low_energy = torch.zeros(len(radii), dtype=torch.float64)
    high_abs = torch.zeros(len(radii), dtype=torch.float64)
    fn(images[:batch_size], list(radii))  # warm-up: the first call pays for allocations and page faults
    seconds = 0.0
    for batch in tqdm(images.split(batch_size), desc=desc, unit="batch", leave=False, disable=not progress):
        start = time.perf_counter()
        low, high = fn(batch, list(radii))
        seconds += time.perf_counter() - start  # the statistics below would swamp the split's own time
        low_energy += low.double().pow(2).flatten(1).sum(1)
        high_abs += high.double().abs().flatten(1).sum(1)
    return seconds, (low_energy / energy).tolist(), (high_abs / images.numel()).tolist()


# ---------------------------------------------------------------------- images and their split (§3, Fig 2)
def plot_split_grid(images, labels, radii, class_names, path: Path, *, title: str) -> Path:
    """Each image beside its LFC and HFC at every radius (HFC on a symmetric colour scale)."""
    from hfc_fast.frequency import frequency_split

    low, high = frequency_split(images, list(radii))
    columns = 1 + 2 * len(radii)
    fig, axes = pyplot().subplots(len(images), columns, figsize=(1.3 * columns, 1.4 * len(images)), squeeze=False)
    for row in range(len(images)):
        panels = [(images[row, 0], "original")]
        for i, r in enumerate(radii):
            panels += [(low[i, row, 0], f"LFC r={r:g}"), (high[i, row, 0], f"HFC r={r:g}")]
        for col, (img, name) in enumerate(panels):
            ax = axes[row, col]
            if "HFC" in name:  # the HFC is centred on zero
                vmax = float(img.abs().max()) or 1.0
                ax.imshow(img.numpy(), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            else:
                ax.imshow(img.numpy(), cmap="gray", vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(name, fontsize=8)
        axes[row, 0].set_ylabel(class_names[int(labels[row])], fontsize=7)
    fig.suptitle(title, fontsize=10)
    return save_and_close(path, fig)


def plot_power_spectrum(images, radii, path: Path) -> Path:
    """The mean radial power spectrum of the first channel of ``images``, the radii dashed."""
    spectrum = radial_power_spectrum(images[:, 0]).mean(0)
    fig, ax = pyplot().subplots(figsize=(5, 3.2))
    ax.semilogy(range(len(spectrum)), spectrum.numpy(), marker=".")
    for r in radii:
        ax.axvline(r, color="gray", linestyle="--", linewidth=0.8)
    ax.set_xlabel("radial frequency (cycles per image)")
    ax.set_ylabel("mean power")
    ax.set_title("Radial power spectrum of the test set (dashed: radii)", fontsize=9)
    return save_and_close(path, fig)
