"""``hfc implicit-bias`` (lecture; Gunasekar et al. 2018): linear conv vs linear fully connected networks.

Both two-layer linear networks are trained by full-batch gradient descent
with the logistic loss on linearly separable data. A two-layer linear
convolutional network is driven towards the predictor with the smallest
Fourier-ℓ1 norm, a fully connected one towards the smallest ℓ2 norm; the
scale-free ratio ``‖F(β)‖₁ / ‖β‖₂`` (F orthonormal, so ``‖F(β)‖₂ = ‖β‖₂``)
of the effective predictor β is recorded along training.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.figures import pyplot
from hfc_fast.experiments.core.files import save_and_close
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import csv_text, markdown_table
from hfc_fast.experiments.core.verdicts import mean, part, verdict, verdict_lines
from hfc_fast.models import build_model
from hfc_fast.stats import effect_interval

HELP = "lecture: Fourier sparsity of linear conv vs fully connected predictors"


# ---------------------------------------------------------------------- the lecture
IMPLICIT_BIAS_CLAIM = "gradient descent drives a two-layer linear conv net to a sparser predictor in Fourier space " \
                      "than a linear fully connected net (lecture, Theorem 3.2)"
IMPLICIT_BIAS_PAPER = "Gunasekar et al. 2018: with L layers the conv net tends to a stationary point of the " \
                      "Fourier-ℓ_{2/L} penalty, the fully connected net to the ℓ2 one"
NETWORKS = (("linear conv", "linear_conv"), ("linear fully connected", "linear_fc"))


def add_arguments(options) -> None:
    options.add("--samples", default=40, spec=Spec("int", minimum=2), help="training points (default 40)")
    options.add("--size", default=8, spec=Spec("int", minimum=2), help="image side (default 8: d = 64)")
    options.add("--steps", default=3000, spec=Spec("int", minimum=1), help="gradient steps (default 3000)")
    options.add("--lr", default=0.05, spec=Spec("float", above=0), help="step size (default 0.05)")
    add_experiment_options(options, "implicit-bias")


def run(exp, args) -> dict:
    log_every = max(1, args.steps // 100)
    runs, per_seed = {}, []
    for seed in exp.seeds:
        x, y, teacher = separable_data(args.samples, args.size, seed=seed)
        curves = exp.stage(f"curves-s{seed}", lambda x=x, y=y, seed=seed: {
            name: train_linear(model, x, y, steps=args.steps, lr=args.lr, log_every=log_every, seed=seed)
            for name, model in NETWORKS})
        exp.figure(plot_implicit_bias, f"implicit_bias-s{seed}.png", curves)
        runs[str(seed)] = {name: curve[-1] | {"teacher": fourier_norms(teacher)}
                           for name, curve in curves.items()}
        per_seed.append(curves["linear fully connected"][-1]["ratio"] - curves["linear conv"][-1]["ratio"])
        exp.write_text(f"curves-s{seed}.csv", csv_text(
            ["model", "step", "loss", "train_acc", "fourier_l1", "l2", "ratio"],
            [[n, c["step"], c["loss"], c["train_acc"], c["fourier_l1"], c["l2"], c["ratio"]]
             for n, curve in curves.items() for c in curve]))
    final = {name: mean(runs[str(s)][name]["ratio"] for s in exp.seeds) for name in runs["0"]}
    numbers = ", ".join(f"{k} {v:.3f}" for k, v in final.items())
    verdicts = [verdict(IMPLICIT_BIAS_CLAIM, [part("final ‖F(β)‖₁/‖β‖₂, fully connected − conv (one data set "
                                                         "and training per seed)", effect_interval(per_seed))],
                        numbers=f"final ‖F(β)‖₁/‖β‖₂: {numbers} (dense predictor: up to {args.size:d})",
                        paper=IMPLICIT_BIAS_PAPER, budget=f"{args.steps} gradient steps")]
    report = "\n".join([
        "# Implicit bias of linear conv vs fully connected networks (lecture)", "",
        f"{args.samples} Gaussian {args.size}×{args.size} images labelled by a teacher with 3 Fourier coefficients; "
        f"full-batch gradient descent ({args.steps} steps of {args.lr:g}) on the logistic loss. "
        "The ratio ‖F(β)‖₁/‖β‖₂ lies between 1 (one frequency) and √d (flat spectrum).", "",
        *[f"![seed {s}](implicit_bias-s{s}.png)" for s in exp.seeds], "",
        *markdown_table(["model", "final ‖F(β)‖₁/‖β‖₂ (mean over seeds)"], [[k, v] for k, v in final.items()]), "",
        "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"final": runs, "verdicts": verdicts}, report)


def separable_data(n: int, size: int, *, frequencies: int = 3, seed: int = 0):
    """``n`` Gaussian images (n, 1, size, size) labelled by a teacher that is sparse in Fourier space.

    Returns ``(x, y, teacher)`` with ``y = 1[⟨teacher, x⟩ > 0]``; the data are separable by construction.
    """
    g = torch.Generator().manual_seed(seed)
    spectrum = torch.zeros(size, size, dtype=torch.complex128)
    idx = torch.randint(0, size, (frequencies, 2), generator=g)
    spectrum[idx[:, 0], idx[:, 1]] = torch.randn(frequencies, dtype=torch.complex128, generator=g)
    teacher = torch.fft.ifft2(spectrum, norm="ortho").real
    teacher = (teacher / teacher.norm()).float()
    x = torch.randn(n, 1, size, size, generator=g)
    y = ((x[:, 0] * teacher).sum((-2, -1)) > 0).long()
    return x, y, teacher


def fourier_norms(beta: torch.Tensor) -> dict:
    """``‖F(β)‖₁`` (orthonormal DFT), ``‖β‖₂`` and their ratio, for β (..., H, W)."""
    l1 = float(torch.fft.fft2(beta.double(), norm="ortho").abs().sum())
    l2 = float(beta.double().norm())
    return {"fourier_l1": l1, "l2": l2, "ratio": l1 / l2 if l2 > 0 else float("nan")}


def train_linear(name: str, x, y, *, steps: int, lr: float, log_every: int, seed: int) -> list[dict]:
    """Gradient descent on the logistic loss; norms of the effective predictor every ``log_every`` steps."""
    torch.manual_seed(seed)
    model = build_model(name, in_channels=1, num_classes=1, image_size=x.shape[-1], init="default")
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    target = y.float()
    curve = []
    for step in range(steps + 1):
        logits = model(x)[:, 0]
        loss = F.binary_cross_entropy_with_logits(logits, target)
        if step % log_every == 0 or step == steps:
            beta = model.effective_predictor()[0, 0]
            hits = (logits.detach() > 0).long() == y
            curve.append({"step": step, "loss": loss.item(), "train_acc": hits.float().mean().item(),
                          **fourier_norms(beta)})
        if step == steps:
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    curve[-1]["beta"] = model.effective_predictor()[0, 0].tolist()
    return curve


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
