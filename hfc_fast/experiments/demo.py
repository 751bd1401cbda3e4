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

import json
import time
from pathlib import Path

import torch
from tqdm import tqdm

import hfc_fast
from hfc_fast.data import load_fashion_mnist
from hfc_fast.experiments.examples import find_examples, plot_examples
from hfc_fast.experiments.kernels import high_frequency_share, plot_kernels
from hfc_fast.experiments.report import robustness_csv, verdicts, write_report
from hfc_fast.experiments.robustness import robustness_table
from hfc_fast.experiments.rundir import save_and_close, write_json, write_text
from hfc_fast.experiments.train import train
from hfc_fast.experiments.train_config import TrainConfig
from hfc_fast.models import build_model
from hfc_fast.smoothing import first_conv, smooth_first_conv

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot"]


def _split_all(images: torch.Tensor, radii, batch_size: int, fn, desc: str, progress: bool = True):
    """Energy statistics of the split of every image, batch by batch, and the time of the split calls alone."""
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


def _grid_figure(images, labels, radii):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    low, high = hfc_fast.frequency_split(images, list(radii))
    columns = 1 + 2 * len(radii)
    fig, axes = plt.subplots(len(images), columns, figsize=(1.3 * columns, 1.4 * len(images)), squeeze=False)
    for row in range(len(images)):
        panels = [(images[row, 0], "original")]
        for i, r in enumerate(radii):
            panels += [(low[i, row, 0], f"LFC r={r:g}"), (high[i, row, 0], f"HFC r={r:g}")]
        for col, (img, title) in enumerate(panels):
            ax = axes[row, col]
            # HFC is centred on zero: show it on a symmetric scale.
            vmax = float(img.abs().max()) or 1.0
            ax.imshow(img.numpy(), cmap="gray" if "HFC" not in title else "RdBu_r",
                      vmin=0.0 if "HFC" not in title else -vmax, vmax=1.0 if "HFC" not in title else vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(title, fontsize=8)
        axes[row, 0].set_ylabel(CLASSES[int(labels[row])], fontsize=7)
    fig.suptitle("Fashion-MNIST test images and their low/high-frequency components", fontsize=10)
    return fig


def _spectrum_figure(images, radii):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spectrum = hfc_fast.radial_power_spectrum(images[:, 0]).mean(0)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.semilogy(range(len(spectrum)), spectrum.numpy(), marker=".")
    for r in radii:
        ax.axvline(r, color="gray", linestyle="--", linewidth=0.8)
    ax.set_xlabel("radial frequency (cycles per image)")
    ax.set_ylabel("mean power")
    ax.set_title("Radial power spectrum of the test set (dashed: radii)", fontsize=9)
    return fig


def split_stage(out: Path, images, labels, radii, batch_size: int, n_images: int, progress: bool = True) -> dict:
    """The LFC/HFC split of the test set: figures and energy statistics."""
    picks = torch.stack([torch.nonzero(labels == c)[0, 0] for c in labels.unique()[:n_images]])
    save_and_close(out / "grid.png", _grid_figure(images[picks], labels[picks], radii))
    save_and_close(out / "spectrum.png", _spectrum_figure(images, radii))
    fast_s, low_share, high_abs = _split_all(images, radii, batch_size, hfc_fast.frequency_split, "split", progress)
    ref_s, ref_share, _ = _split_all(images, radii, batch_size, hfc_fast.frequency_split_reference, "reference",
                                 progress)
    h, w = images.shape[-2:]
    return {
        "images": len(images),
        "image_size": [h, w],
        "backend": hfc_fast.backend_info(),
        "radii": list(radii),
        "lfc_energy_share": dict(zip(map(str, radii), low_share, strict=True)),
        "mean_abs_hfc": dict(zip(map(str, radii), high_abs, strict=True)),
        "split_seconds": {"hfc_fast": fast_s, "reference": ref_s},
        "max_energy_share_difference_vs_reference": max(abs(a - b) for a, b in zip(low_share, ref_share,
                                                                                    strict=True)),
    }


def _stage(out: Path, name: str, compute, *, progress: bool) -> dict:
    """Result of stage ``name``: read back when a previous run finished it, else computed and written."""
    path = out / f"{name}.json"
    if path.exists():
        if progress:
            print(f"demo: {name}: done before, reusing {path}")
        return json.loads(path.read_text())
    if progress:
        print(f"demo: {name} ...", flush=True)
    result = compute()
    write_json(path, result)
    return result


def _trained(config: TrainConfig, folder: Path, progress: bool):
    """Train (or resume, or reuse) a run and return its model in eval mode and its metrics."""
    checkpoint = folder / "checkpoints" / "last.pt"
    state = torch.load(checkpoint, map_location="cpu", weights_only=True) if checkpoint.exists() else None
    if state is None or int(state["epoch"]) < config.epochs:
        train(config, folder, resume=state is not None, progress=progress)
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model = build_model(config.model, in_channels=1, image_size=28, num_classes=10)
    model.load_state_dict(state["model"])
    return model.eval(), state["history"]


def run_demo(out: Path, *, data_root: Path | None = None, radii=(4, 8, 12), n_images: int = 8,
             batch_size: int = 1000, limit: int | None = None, epochs: int = 3, adv_epochs: int = 2,
             adv_limit: int = 10000, attack_images: int = 2000, progress: bool = True) -> dict:
    """Run the main job into ``out`` and return its summary (also ``out/summary.json``)."""
    for name, value in (("n_images", n_images), ("batch_size", batch_size), ("epochs", epochs),
                        ("adv_epochs", adv_epochs), ("attack_images", attack_images), ("adv_limit", adv_limit)):
        if value < 1:
            raise ValueError(f"{name} must be positive, got {value}")
    images, labels = load_fashion_mnist(data_root, "test")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    h, w = images.shape[-2:]
    for r in radii:
        if r > (h ** 2 + w ** 2) ** 0.5:
            raise ValueError(f"radius {r} is larger than the {h}x{w} image's diagonal")
    out = Path(out)
    settings = {"command": "demo", "data_root": str(data_root) if data_root else None, "radii": list(radii),
                "n_images": n_images, "batch_size": batch_size, "limit": limit, "epochs": epochs,
                "adv_epochs": adv_epochs, "adv_limit": adv_limit, "attack_images": attack_images}
    previous = out / "config.json"
    if previous.exists():
        before = json.loads(previous.read_text())
        if "epochs" in before and before != settings:  # stages of another configuration would be reused
            raise FileExistsError(f"{out} holds a demo run with other settings; choose another --out")
    write_json(out / "config.json", settings)
    started = time.perf_counter()

    split = _stage(out, "split", lambda: split_stage(out, images, labels, radii, batch_size, n_images, progress),
                   progress=progress)
    base = dict(model="small_cnn", dataset="fashion-mnist", data_root=str(data_root) if data_root else None,
                lr=1e-3, batch_size=100, track_train=5000, train_limit=limit, test_limit=limit, seed=0)
    natural, natural_history = _trained(TrainConfig(**base, epochs=epochs), out / "natural", progress)
    adv_config = TrainConfig(**{**base, "train_limit": min(limit or adv_limit, adv_limit)}, epochs=adv_epochs,
                             adv_eps=0.03, adv_steps=10)
    adversarial, adversarial_history = _trained(adv_config, out / "adversarial", progress)

    radius = 12 * w / 32  # the paper's r = 12 on 32×32 images, scaled
    def examples():
        found = find_examples(natural, images, labels, radius)
        plot_examples(images, labels, found, radius, out / "examples.png", CLASSES)
        return {"radius": radius, "count": len(found["indices"]), "n": found["n"],
                "indices": found["indices"][:50].tolist()}
    example_result = _stage(out, "examples", examples, progress=progress)

    batches = [(images[i:i + 500], labels[i:i + 500]) for i in range(0, min(attack_images, len(images)), 500)]
    rows = _stage(out, "robustness", lambda: {"rows": robustness_table(
        {"natural": natural, "adversarial": adversarial}, batches, progress=progress)}, progress=progress)["rows"]
    write_text(out / "robustness.csv", robustness_csv(rows))

    def kernels():
        models = {"natural": natural, "adversarial": adversarial,
                  "natural ρ=0.5": smooth_first_conv(natural, 0.5), "natural ρ=1.0": smooth_first_conv(natural, 1.0)}
        plot_kernels(models, out / "kernels.png")
        return {"high_frequency_share": {k: high_frequency_share(first_conv(m).weight) for k, m in models.items()}}
    kernel_result = _stage(out, "kernels", kernels, progress=progress)

    summary = {"split": split, "natural": natural_history[-1], "adversarial": adversarial_history[-1],
               "examples": example_result, "robustness": rows, "kernels": kernel_result,
               "verdicts": verdicts(rows, kernel_result), "seconds": time.perf_counter() - started}
    write_json(out / "summary.json", summary)
    write_report(out, summary, natural_history, settings)
    return summary
