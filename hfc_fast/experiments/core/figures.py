"""Every figure the commands draw, each saved atomically as PNG (the path is the last argument).

Curves along training like the paper's Figs 3–6, the LFC/HFC grid and
examples (Fig 2), Table 1 and 2 as plots, kernels and their spectra (Fig 7),
sweeps, perturbation spectra, learned masks, the implicit-bias curves, and
detection panels (Figs 8–9).
"""

from __future__ import annotations

from pathlib import Path

import torch

from hfc_fast.experiments.core.files import save_and_close
from hfc_fast.smoothing import first_conv
from hfc_fast.spectrum import high_frequency_share, kernel_spectra, radial_power_spectrum


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colours(n: int):
    """``n`` colours along viridis, one per radius."""
    return pyplot().cm.viridis([i / max(1, n - 1) * 0.85 for i in range(n)])


def _epoch_axis(ax, ylabel: str | None = None) -> None:
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
        for r, colour in zip(radii, _colours(len(radii)), strict=True):
            ax.plot(epochs, [h[split]["lfc"][r] for h in history], color=colour, label=f"LFC r={r}")
            ax.plot(epochs, [h[split]["hfc"][r] for h in history], color=colour, ls="--", label=f"HFC r={r}")
        ax.set_title(f"{split} set")
        _epoch_axis(ax)
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
        for r, colour in zip(shown, _colours(len(shown)), strict=True):
            ax.plot(epochs, [h["test"]["lfc"][r] for h in history], color=colour, label=f"test LFC r={r}")
            ax.plot(epochs, [h["test"]["hfc"][r] for h in history], color=colour, ls=":", label=f"test HFC r={r}")
        ax.set_title(name, fontsize=9)
        _epoch_axis(ax)
    axes[0][0].set_ylabel("accuracy")
    axes[0][0].legend(fontsize=6, loc="lower right")
    if title:
        fig.suptitle(title)
    return save_and_close(path, fig)


def plot_shuffle(histories: dict, path: Path) -> Path:
    """Train accuracy on originals (black) and on the LFC at each radius, natural (solid) vs shuffled (dashed)."""
    fig, ax = pyplot().subplots(figsize=(6.5, 4))
    styles = {"natural": "-", "shuffled": "--"}
    for name, history in histories.items():
        epochs = [h["epoch"] for h in history]
        ax.plot(epochs, [h["train"]["acc"] for h in history], color="black", ls=styles[name], label=f"{name}: train")
        radii = list(history[0]["train"]["lfc"])
        for r, colour in zip(radii, _colours(len(radii)), strict=True):
            ax.plot(epochs, [h["train"]["lfc"][r] for h in history], color=colour, ls=styles[name],
                    label=f"{name}: train LFC r={r}")
    _epoch_axis(ax, "accuracy on the training set")
    ax.legend(fontsize=6, ncol=2)
    ax.set_title("Natural vs shuffled labels (Fig 3)")
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


def plot_examples(images, labels, found: dict, radius: float, class_names, path: Path, *, n: int = 8) -> Path:
    """Columns of x, x_l, x_h with predictions and confidences, like the paper's Fig 2."""
    from hfc_fast.frequency import frequency_split

    picks = found["indices"][:n]
    cols = max(1, len(picks))
    fig, axes = pyplot().subplots(3, cols, figsize=(1.9 * cols, 6.2), squeeze=False)
    for j in range(cols):
        for i in range(3):
            axes[i][j].axis("off")
        if j >= len(picks):
            continue
        x = images[picks[j]:picks[j] + 1]
        low, high = frequency_split(x, radius)
        y = int(labels[picks[j]])
        panels = ((x, "x", class_names[y], found["confidence"]["x"][j]),
                  (low, "x_l", class_names[int(found["pred_low"][j])], found["confidence"]["low"][j]),
                  (high, "x_h", class_names[y], found["confidence"]["high"][j]))
        for i, (img, name, pred, c) in enumerate(panels):
            shown = img[0].permute(1, 2, 0).squeeze(-1)
            if name == "x_h":
                shown = (shown - shown.min()) / (shown.max() - shown.min()).clamp_min(1e-8)
            axes[i][j].imshow(shown.clamp(0, 1).numpy(), cmap="gray" if shown.dim() == 2 else None)
            axes[i][j].set_title(f"{name}: {pred}\n{100 * float(c):.0f}%", fontsize=7)
    fig.suptitle(f"right on x and on x_h, wrong on x_l (r = {radius:g}): {len(found['indices'])} of {found['n']}")
    return save_and_close(path, fig)


# ---------------------------------------------------------------------- tables as plots
def plot_table1(table: list[list], path: Path) -> Path:
    """Test accuracy on original images by training radius: ours (bars) and the paper's (markers)."""
    fig, ax = pyplot().subplots(figsize=(6, 3.6))
    bands = list(dict.fromkeys(row[0] for row in table))
    for i, band in enumerate(bands):
        rows = [row for row in table if row[0] == band]
        xs = [j + (i - (len(bands) - 1) / 2) * 0.38 for j in range(len(rows))]
        ax.bar(xs, [row[3] for row in rows], width=0.36, label=f"trained on {band} (ours)",
               color="tab:blue" if band == "LFC" else "tab:red")
        ax.plot(xs, [row[5] for row in rows], "k_", markersize=14, mew=2,
                label="paper (CIFAR-10)" if i == 0 else None)
        ax.set_xticks(range(len(rows)), [row[1] for row in rows], fontsize=8)
    ax.set_ylabel("test accuracy on original images")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Training on LFC or HFC (Table 1)", fontsize=10)
    return save_and_close(path, fig)


def plot_robustness(rows: list[dict], eps, path: Path) -> Path:
    """Accuracy against smoothing ρ: clean, and FGSM/PGD at each ε, for each model."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = pyplot().subplots(1, len(models), figsize=(5 * len(models), 3.6), sharey=True, squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        mine = [r for r in rows if r["model"] == model]
        rhos = [r["rho"] for r in mine]
        ax.plot(rhos, [r["clean"] for r in mine], "ko-", label="clean")
        for i, e in enumerate(eps):
            ax.plot(rhos, [r["fgsm"][i] for r in mine], "s--", color=f"C{i}", label=f"FGSM ε={e}")
            ax.plot(rhos, [r["pgd"][i] for r in mine], "^:", color=f"C{i}", label=f"PGD ε={e}")
        ax.set_title(f"{model} model", fontsize=9)
        ax.set_xlabel("smoothing ρ")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("accuracy")
    axes[0][-1].legend(fontsize=6, ncol=2)
    return save_and_close(path, fig)


def plot_sweep(result: dict, title: str, path: Path) -> Path:
    """Top-1/top-5 accuracy on the LFC and the HFC by radius, the originals' as lines."""
    radii = [float(r) for r in result["lfc"]["top1"]]
    fig, ax = pyplot().subplots(figsize=(6, 4))
    for metric, style in (("top1", "-"), ("top5", "--")):
        if result["original"][metric] is None:  # no top-5 for a model of 5 classes or fewer
            continue
        ax.axhline(result["original"][metric], color="black", ls=style, lw=1, label=f"original {metric}")
        ax.plot(radii, list(result["lfc"][metric].values()), "o" + style, color="tab:blue", label=f"LFC {metric}")
        ax.plot(radii, list(result["hfc"][metric].values()), "s" + style, color="tab:red", label=f"HFC {metric}")
    ax.set_xlabel("radius r (cycles per image)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    return save_and_close(path, fig)


# ---------------------------------------------------------------------- kernels and spectra
def plot_kernels(models: dict, path: Path, *, n: int = 8) -> Path:
    """For each model, ``n`` first-layer kernels (channel-averaged) above their spectra (Fig 7)."""
    fig, axes = pyplot().subplots(2 * len(models), n, figsize=(1.3 * n, 2.7 * len(models)), squeeze=False)
    for row, (name, model) in enumerate(models.items()):
        weight = first_conv(model).weight.detach()
        spectra = kernel_spectra(weight).mean(dim=1)
        share = high_frequency_share(weight)
        for j in range(n):
            for ax in (axes[2 * row][j], axes[2 * row + 1][j]):
                ax.axis("off")
            if j >= weight.shape[0]:
                continue
            axes[2 * row][j].imshow(weight[j].mean(0).numpy(), cmap="coolwarm")
            axes[2 * row + 1][j].imshow(spectra[j].log1p().numpy(), cmap="magma")
        axes[2 * row][0].set_title(f"{name}: high-frequency share {share:.3f}", fontsize=8, loc="left")
    return save_and_close(path, fig)


def plot_spectra(spectra: dict, title: str, path: Path) -> Path:
    """Radial spectra of each model's perturbations and first-layer features, as shares of power."""
    fig, axes = pyplot().subplots(1, 2, figsize=(11, 3.8))
    for ax, part in zip(axes, ("perturbation", "features"), strict=True):
        for name, s in spectra.items():
            curve = torch.tensor(s[part])
            ax.semilogy(range(len(curve)), (curve / curve.sum()).numpy(), label=name)
        ax.set_xlabel("radial frequency (cycles per image)")
        ax.set_ylabel("share of power")
        ax.set_title(f"radial spectrum of the {part}s" if part == "perturbation" else "first-layer features")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(title)
    return save_and_close(path, fig)


def plot_masks(masks: dict, profiles: dict, path: Path) -> Path:
    """Each learned half-plane mask (DC at fx = 0, fy = 0) and the masks' mean value by radius."""
    fig, axes = pyplot().subplots(1, len(masks) + 1, figsize=(3.3 * (len(masks) + 1), 3.2))
    for ax, (name, mask) in zip(axes, masks.items(), strict=False):
        h = mask.shape[0]
        ax.imshow(torch.fft.fftshift(mask, dim=0).numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto",
                  origin="lower", extent=(0, mask.shape[1] - 1, -(h // 2), h - h // 2 - 1))
        ax.set_title(f"{name}", fontsize=9)
        ax.set_xlabel("fx")
        ax.set_ylabel("fy")
    for name, profile in profiles.items():
        axes[-1].plot(profile, label=name)
    axes[-1].set_xlabel("radius (cycles per image)")
    axes[-1].set_ylabel("mean mask value")
    axes[-1].set_ylim(0, 1)
    axes[-1].legend(fontsize=7)
    axes[-1].grid(alpha=0.3)
    fig.suptitle("Learned Fourier masks (DC at fx = 0, fy = 0)")
    return save_and_close(path, fig)


def plot_implicit_bias(curves: dict, path: Path) -> Path:
    """‖F(β)‖₁/‖β‖₂ and the loss along gradient descent, and |F(β)| of each final predictor."""
    fig, axes = pyplot().subplots(1, 2 + len(curves), figsize=(4 * (2 + len(curves)), 3.4))
    for name, curve in curves.items():
        steps = [c["step"] for c in curve]
        axes[0].plot(steps, [c["ratio"] for c in curve], label=name)
        axes[1].semilogy(steps, [c["loss"] for c in curve], label=name)
    axes[0].set_ylabel("‖F(β)‖₁ / ‖β‖₂")
    axes[1].set_ylabel("logistic loss")
    for ax in axes[:2]:
        ax.set_xlabel("gradient step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax, (name, curve) in zip(axes[2:], curves.items(), strict=True):
        beta = torch.tensor(curve[-1]["beta"])
        ax.imshow(torch.fft.fftshift(torch.fft.fft2(beta, norm="ortho").abs()).numpy(), cmap="magma")
        ax.set_title(f"|F(β)| of the {name} (DC centred)", fontsize=8)
        ax.axis("off")
    return save_and_close(path, fig)


# ---------------------------------------------------------------------- detection (Figs 8–9)
def plot_panels(rows: list[tuple[int, list]], names: list[str], detections: dict, categories: dict, ap: dict,
                threshold: float, path: Path) -> Path:
    """Rows of views (original / LFC / HFC) of each image with the detector's boxes (score ≥ threshold).

    Args:
        rows: ``(image_id, [view tensors (3, H, W)])``, the views in the order of ``names``.
        names: the views' names, keys of ``detections`` (COCO results) and of ``ap`` (per-image AP).
        categories: category id → name.
    """
    import matplotlib.patches as patches

    by_image = {v: {} for v in names}
    for v in names:
        for d in detections[v]:
            by_image[v].setdefault(d["image_id"], []).append(d)
    fig, axes = pyplot().subplots(max(1, len(rows)), len(names), figsize=(10, 3.2 * max(1, len(rows))),
                                  squeeze=False)
    for row, (image_id, views) in enumerate(rows):
        for col, (name, view) in enumerate(zip(names, views, strict=True)):
            ax = axes[row][col]
            shown = view
            if name.startswith("hfc"):  # the HFC is centred on zero: stretch it for the eye
                shown = (view - view.min()) / (view.max() - view.min()).clamp_min(1e-8)
            ax.imshow(shown.clamp(0, 1).permute(1, 2, 0).numpy())
            for d in by_image[name].get(image_id, []):
                if d["score"] < threshold:
                    continue
                x, y, w, h = d["bbox"]
                ax.add_patch(patches.Rectangle((x, y), w, h, fill=False, color="yellow", lw=1.2))
                ax.text(x, y, f"{categories.get(d['category_id'], d['category_id'])} {d['score']:.2f}",
                        color="black", fontsize=6, backgroundcolor="yellow")
            ax.set_title(f"{name}: AP {ap[name].get(image_id, 0.0):.2f}", fontsize=8)
            ax.axis("off")
    for ax in axes.flat[len(names) * len(rows):]:
        ax.axis("off")
    return save_and_close(path, fig)


# ---------------------------------------------------------------------- Fourier sensitivity (Yin et al.)
def plot_fourier_maps(maps: dict, eps: float, path: Path) -> Path:
    """One row per model: the error-rate map, the loss map and the one-pass (linearised) map, DC at the centre."""
    rows = len(maps)
    fig, axes = pyplot().subplots(rows, 3, figsize=(11, 3.4 * rows), squeeze=False)
    for row, (name, m) in enumerate(maps.items()):
        for col, (key, title, cmap) in enumerate((("error", "error rate", "magma"), ("loss", "mean loss", "viridis"),
                                                  ("linearised", "|DFT(∇x L)| (one pass)", "cividis"))):
            ax = axes[row][col]
            image = torch.as_tensor(m[key], dtype=torch.float64)
            h, w = image.shape
            shown = ax.imshow(image.numpy(), cmap=cmap, extent=(-(w // 2) - 0.5, w - w // 2 - 0.5,
                                                                h - h // 2 - 0.5, -(h // 2) - 0.5))
            ax.set_title(f"{name}: {title}", fontsize=8)
            ax.set_xlabel("fx")
            ax.set_ylabel("fy")
            fig.colorbar(shown, ax=ax, fraction=0.046)
    fig.suptitle(f"Fourier heat maps at ε = {eps:g} (DC at the centre)")
    return save_and_close(path, fig)


def plot_band_profiles(profiles: dict, path: Path) -> Path:
    """Accuracy under band-limited noise by annulus, one line per model; white noise and clean as lines."""
    fig, ax = pyplot().subplots(figsize=(6.5, 3.8))
    for i, (name, p) in enumerate(profiles.items()):
        centres = [(a + b) / 2 for a, b in zip(p["edges"][:-1], p["edges"][1:], strict=True)]
        ax.plot(centres, p["accuracy"], "o-", color=f"C{i}", label=f"{name}: band noise")
        ax.axhline(p["white"], color=f"C{i}", ls="--", lw=1, label=f"{name}: white noise")
        ax.axhline(p["clean"], color=f"C{i}", ls=":", lw=1, label=f"{name}: clean")
    ax.set_xlabel("radius of the noise band (cycles per image)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    ax.set_title(f"Noise of L2 norm {next(iter(profiles.values()))['eps']:g} confined to radial bands", fontsize=9)
    return save_and_close(path, fig)


def plot_surfaces(surfaces: dict, path: Path) -> Path:
    """Per model, robust accuracy over ε (x) and band radius (y) for the LFC and the HFC band, the full-spectrum
    attack as the colour bar's reference line."""
    fig, axes = pyplot().subplots(len(surfaces), 2, figsize=(10, 3.6 * len(surfaces)), squeeze=False)
    for row, (name, s) in enumerate(surfaces.items()):
        for col, band in enumerate(("low", "high")):
            ax = axes[row][col]
            grid = torch.tensor([s[band][k] for k in s[band]])
            shown = ax.imshow(grid.numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto", origin="lower")
            ax.set_xticks(range(len(s["eps"])), [f"{e:g}" for e in s["eps"]], fontsize=7)
            ax.set_yticks(range(len(s[band])), list(s[band]), fontsize=7)
            ax.set_xlabel("ε")
            ax.set_ylabel("band radius r")
            kind = "LFC band (d < r)" if band == "low" else "HFC band (d >= r)"
            ax.set_title(f"{name}: PGD in the {kind}", fontsize=8)
            for i in range(grid.shape[0]):
                for j in range(grid.shape[1]):
                    ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if grid[i, j] < 0.5 else "black")
            fig.colorbar(shown, ax=ax, fraction=0.046, label="robust accuracy")
        axes[row][0].annotate("full spectrum: " + ", ".join(f"{v:.2f}" for v in s["full"]), (0, -0.3),
                              xycoords="axes fraction", fontsize=7)
    return save_and_close(path, fig)


VERDICT_COLOURS = {"supported": "tab:green", "contradicted": "tab:red", "inconclusive": "tab:grey"}


def plot_verdicts(verdicts: list[dict], path: Path) -> Path:
    """Every measured part of every claim as its effect and 95 % interval, each row scaled by its largest
    absolute bound so that all fit one axis, flipped so that the claimed side is always right of zero and
    coloured by its verdict."""
    rows = [(v["claim"], p) for v in verdicts for p in v["parts"]]
    fig, ax = pyplot().subplots(figsize=(8, 0.32 * len(rows) + 1.2))
    for i, (_, p) in enumerate(reversed(rows)):
        e, sign = p["effect"], 1 if p["expect"] == "positive" else -1
        low, high, estimate = sorted((sign * e["low"], sign * e["high"])) + [sign * e["estimate"]]
        scale = max(abs(low), abs(high)) or 1.0
        colour = VERDICT_COLOURS[p["verdict"]]
        ax.plot([low / scale, high / scale], [i, i], color=colour, lw=3)
        ax.plot([estimate / scale], [i], "o", color=colour, ms=4)
    labels = [f"{claim[:48]}… | {p['measure'][:40]}" if len(claim) > 48 else f"{claim} | {p['measure'][:40]}"
              for claim, p in reversed(rows)]
    ax.set_yticks(range(len(rows)), labels, fontsize=6)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlim(-1.1, 1.1)
    ax.set_xlabel("effect / largest |bound| (claimed side to the right)")
    ax.set_title("95 % intervals: green supported, red contradicted, grey inconclusive", fontsize=9)
    return save_and_close(path, fig)
