"""Accuracy curves along training, drawn like the paper's Figs 3–6."""

from __future__ import annotations

from pathlib import Path

from hfc_fast.experiments.rundir import save_and_close


def plot_tracking(history: list[dict], path: Path, *, title: str = "") -> Path:
    """Accuracy vs epoch for the train and the test set: original (black), LFC (solid) and
    HFC (dashed) at each radius, one colour per radius."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, split in zip(axes, ("train", "test"), strict=True):
        ax.plot(epochs, [h[split]["acc"] for h in history], color="black", lw=2, label=f"{split} (original)")
        radii = list(history[0][split]["lfc"]) if history else []
        colours = plt.cm.viridis([i / max(1, len(radii) - 1) * 0.85 for i in range(len(radii))])
        for r, colour in zip(radii, colours, strict=True):
            ax.plot(epochs, [h[split]["lfc"][r] for h in history], color=colour, label=f"LFC r={r}")
            ax.plot(epochs, [h[split]["hfc"][r] for h in history], color=colour, ls="--", label=f"HFC r={r}")
        ax.set_title(f"{split} set")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy")
    axes[1].legend(fontsize=7, ncol=2, loc="lower right")
    if title:
        fig.suptitle(title)
    return save_and_close(path, fig)


def plot_variants(histories: dict, path: Path, *, title: str = "", radii=None) -> Path:
    """One panel per variant (Figs 4–6): train and test accuracy on the originals (black, solid and
    dashed) and test accuracy on the LFC (solid) and HFC (dotted) at each radius."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(1, len(histories))
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows), sharey=True, squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, (name, history) in zip(axes.flat, histories.items(), strict=False):
        epochs = [h["epoch"] for h in history]
        ax.plot(epochs, [h["train"]["acc"] for h in history], color="black", lw=2, label="train")
        ax.plot(epochs, [h["test"]["acc"] for h in history], color="black", ls="--", label="test")
        shown = [r for r in history[0]["test"]["lfc"] if radii is None or r in radii] if history else []
        colours = plt.cm.viridis([i / max(1, len(shown) - 1) * 0.85 for i in range(len(shown))])
        for r, colour in zip(shown, colours, strict=True):
            ax.plot(epochs, [h["test"]["lfc"][r] for h in history], color=colour, label=f"test LFC r={r}")
            ax.plot(epochs, [h["test"]["hfc"][r] for h in history], color=colour, ls=":", label=f"test HFC r={r}")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("accuracy")
    axes[0][0].legend(fontsize=6, loc="lower right")
    if title:
        fig.suptitle(title)
    return save_and_close(path, fig)
