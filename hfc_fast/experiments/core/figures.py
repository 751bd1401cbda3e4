"""What several commands' figures share: pyplot on the file-only backend, colours along a radius list, an
epoch axis, and the curves along training (Figs 3–6) that training and several commands draw. A figure of one
experiment lives with that experiment's command; each is saved atomically as PNG (the path is the last
argument)."""

from __future__ import annotations

from pathlib import Path

from hfc_fast.experiments.core.files import save_and_close


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def colours(n: int):
    """``n`` colours along viridis, one per radius."""
    return pyplot().cm.viridis([i / max(1, n - 1) * 0.85 for i in range(n)])


def epoch_axis(ax, ylabel: str | None = None) -> None:
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(pyplot().MaxNLocator(integer=True))
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    if ylabel:
        ax.set_ylabel(ylabel)


# ---------------------------------------------------------------------- training curves (Figs 3–6)
def plot_tracking(history: list[dict], path: Path, *, title: str = "") -> Path:
    """Accuracy vs epoch for the train and the test set: original (black), LFC (solid) and
    HFC (dashed) at each radius, one colour per radius."""
    fig, axes = pyplot().subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, split in zip(axes, ("train", "test"), strict=True):
        epochs = [h["epoch"] for h in history]
        ax.plot(epochs, [h[split]["acc"] for h in history], color="black", lw=2, label=f"{split} (original)")
        radii = list(history[0][split]["lfc"]) if history else []
        for r, colour in zip(radii, colours(len(radii)), strict=True):
            ax.plot(epochs, [h[split]["lfc"][r] for h in history], color=colour, label=f"LFC r={r}")
            ax.plot(epochs, [h[split]["hfc"][r] for h in history], color=colour, ls="--", label=f"HFC r={r}")
        ax.set_title(f"{split} set")
        epoch_axis(ax)
    axes[0].set_ylabel("accuracy")
    axes[1].legend(fontsize=7, ncol=2, loc="lower right")
    if title:
        fig.suptitle(title)
    return save_and_close(path, fig)


def plot_variants(histories: dict, path: Path, *, title: str = "", radii=None) -> Path:
    """One panel per variant (Figs 4–6): train and test accuracy on the originals (black, solid and
    dashed) and test accuracy on the LFC (solid) and HFC (dotted) at each radius."""
    n = max(1, len(histories))
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = pyplot().subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows), sharey=True, squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, (name, history) in zip(axes.flat, histories.items(), strict=False):
        epochs = [h["epoch"] for h in history]
        ax.plot(epochs, [h["train"]["acc"] for h in history], color="black", lw=2, label="train")
        ax.plot(epochs, [h["test"]["acc"] for h in history], color="black", ls="--", label="test")
        shown = [r for r in history[0]["test"]["lfc"] if radii is None or r in radii] if history else []
        for r, colour in zip(shown, colours(len(shown)), strict=True):
            ax.plot(epochs, [h["test"]["lfc"][r] for h in history], color=colour, label=f"test LFC r={r}")
            ax.plot(epochs, [h["test"]["hfc"][r] for h in history], color=colour, ls=":", label=f"test HFC r={r}")
        ax.set_title(name, fontsize=9)
        epoch_axis(ax)
    axes[0][0].set_ylabel("accuracy")
    axes[0][0].legend(fontsize=6, loc="lower right")
    if title:
        fig.suptitle(title)
    return save_and_close(path, fig)


def plot_losses(history: list[dict], path: Path) -> Path:
    """A detector's mean training losses by epoch."""
    fig, ax = pyplot().subplots(figsize=(6, 3.6))
    epochs = [h["epoch"] for h in history]
    for name in history[0]["losses"]:
        ax.plot(epochs, [h["losses"][name] for h in history], marker="o", label=name)
    ax.plot(epochs, [h["loss"] for h in history], "k-", lw=2, label="total")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean training loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_and_close(path, fig)
