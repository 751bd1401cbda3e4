"""Accuracy curves along training, drawn like the paper's Figs 3–6."""

from __future__ import annotations

from pathlib import Path

from hfc_fast.experiments.rundir import save_figure


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
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy")
    axes[1].legend(fontsize=7, ncol=2, loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    try:
        return save_figure(path, fig)
    finally:
        plt.close(fig)
