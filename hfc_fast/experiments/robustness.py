"""Table 2 of the paper: clean, FGSM and PGD accuracy of models with smoothed first-layer kernels."""

from __future__ import annotations

from hfc_fast.attacks import robust_accuracy
from hfc_fast.smoothing import smooth_first_conv

RHOS = (0.0, 0.1, 0.25, 0.5, 1.0)
EPS = (0.03, 0.06, 0.09)

# Wang et al. 2020, Table 2 (CIFAR-10, their ResNet): clean, FGSM at EPS, PGD at EPS
PAPER_TABLE2 = {
    "natural": {0.0: (0.856, (0.107, 0.069, 0.044), (0.003, 0.002, 0.002)),
                0.1: (0.815, (0.149, 0.105, 0.073), (0.009, 0.002, 0.001)),
                0.25: (0.743, (0.16, 0.11, 0.079), (0.021, 0.005, 0.005)),
                0.5: (0.674, (0.17, 0.11, 0.083), (0.031, 0.016, 0.014)),
                1.0: (0.631, (0.171, 0.14, 0.127), (0.086, 0.078, 0.078))},
    "adversarial": {0.0: (0.707, (0.435, 0.232, 0.137), (0.403, 0.138, 0.038)),
                    0.1: (0.691, (0.412, 0.192, 0.109), (0.379, 0.13, 0.047)),
                    0.25: (0.667, (0.385, 0.176, 0.097), (0.352, 0.116, 0.04)),
                    0.5: (0.653, (0.365, 0.18, 0.106), (0.334, 0.121, 0.062)),
                    1.0: (0.638, (0.356, 0.223, 0.186), (0.337, 0.175, 0.131))},
}


SMOOTHING_CLAIM = "smoothing (ρ = 1) trades clean accuracy for robustness at large ε (§6.3, Table 2)"


def smoothing_trade(rows: list[dict]) -> tuple[bool, str]:
    """Whether ``rows`` (of :func:`robustness_table`) support :data:`SMOOTHING_CLAIM` for the natural model,
    and the numbers behind the answer."""
    plain = next(r for r in rows if r["model"] == "natural" and r["rho"] == 0.0)
    smooth = next(r for r in rows if r["model"] == "natural" and r["rho"] == 1.0)
    held = smooth["clean"] < plain["clean"] and (smooth["fgsm"][-1] > plain["fgsm"][-1]
                                                  or smooth["pgd"][-1] > plain["pgd"][-1])
    numbers = (f"clean {plain['clean']:.3f} → {smooth['clean']:.3f}; at ε = {EPS[-1]}: FGSM "
               f"{plain['fgsm'][-1]:.3f} → {smooth['fgsm'][-1]:.3f}, PGD {plain['pgd'][-1]:.3f} → "
               f"{smooth['pgd'][-1]:.3f}")
    return held, numbers


def robustness_table(models: dict, batches, *, rhos=RHOS, eps=EPS, pgd_steps: int = 10, progress: bool = True):
    """Rows ``{"model", "rho", "clean", "fgsm": [...], "pgd": [...]}`` for each model and ρ.

    PGD uses step ε/4 without random start; smoothing is applied to a copy of each model.
    """
    rows = []
    for name, model in models.items():
        for rho in rhos:
            smoothed = smooth_first_conv(model, rho) if rho else model
            report = robust_accuracy(smoothed, batches, ["fgsm", "pgd"], eps, progress=progress, steps=pgd_steps,
                                     alpha=[e / 4 for e in eps])
            rows.append({"model": name, "rho": rho, "clean": report.clean_accuracy,
                         "fgsm": report.accuracy("fgsm"), "pgd": report.accuracy("pgd"), "n": report.n})
    return rows


# ---------------------------------------------------------------------- the `hfc robustness` subcommand
def add_arguments(parser) -> None:
    parser.add_argument("--attack-images", type=int, default=2000, help="test images attacked (default 2000)")
    parser.add_argument("--pgd-steps", type=int, default=10, help="PGD steps of ε/4 (default 10)")


def plot_robustness(rows: list[dict], path):
    """Accuracy against smoothing ρ: clean, and FGSM/PGD at each ε, for each model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hfc_fast.experiments.rundir import save_and_close

    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 3.6), sharey=True, squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        mine = [r for r in rows if r["model"] == model]
        rhos = [r["rho"] for r in mine]
        ax.plot(rhos, [r["clean"] for r in mine], "ko-", label="clean")
        for i, e in enumerate(EPS):
            ax.plot(rhos, [r["fgsm"][i] for r in mine], "s--", color=f"C{i}", label=f"FGSM ε={e}")
            ax.plot(rhos, [r["pgd"][i] for r in mine], "^:", color=f"C{i}", label=f"PGD ε={e}")
        ax.set_title(f"{model} model", fontsize=9)
        ax.set_xlabel("smoothing ρ")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("accuracy")
    axes[0][-1].legend(fontsize=6, ncol=2)
    return save_and_close(path, fig)


def trained_pair(exp, seed: int):
    """The natural and the adversarially trained (PGD ε = 0.03, 10 steps of ε/10) model of ``seed``."""
    natural, _ = exp.trained(f"natural-s{seed}", exp.config(seed=seed))
    adversarial, _ = exp.trained(f"adversarial-s{seed}", exp.config(seed=seed, adv_eps=0.03, adv_steps=10))
    return natural, adversarial


def run(exp, args) -> dict:
    from hfc_fast.experiments.report import robustness_csv, table2_lines
    from hfc_fast.experiments.suite import mean, verdict, verdict_lines

    if args.attack_images < 1 or args.pgd_steps < 1:
        raise ValueError("--attack-images and --pgd-steps must be >= 1")
    batches = exp.batches(args.attack_images)
    rows, per_seed = [], []
    for seed in exp.seeds:
        natural, adversarial = trained_pair(exp, seed)
        seed_rows = exp.stage(f"robustness-s{seed}", lambda n=natural, a=adversarial: {"rows": robustness_table(
            {"natural": n, "adversarial": a}, batches, pgd_steps=args.pgd_steps, progress=exp.progress)})["rows"]
        rows += [{**r, "seed": seed} for r in seed_rows]
        per_seed.append(smoothing_trade(seed_rows)[0])
    averaged = []
    for model in ("natural", "adversarial"):
        for rho in RHOS:
            group = [r for r in rows if r["model"] == model and r["rho"] == rho]
            averaged.append({"model": model, "rho": rho, "clean": mean(r["clean"] for r in group),
                             "fgsm": [mean(r["fgsm"][i] for r in group) for i in range(len(EPS))],
                             "pgd": [mean(r["pgd"][i] for r in group) for i in range(len(EPS))],
                             "n": group[0]["n"]})
    exp.write_text("robustness.csv", robustness_csv(averaged))
    if exp.dist.is_main:
        plot_robustness(averaged, exp.out / "robustness.png")
    verdicts = [verdict(SMOOTHING_CLAIM, per_seed, smoothing_trade(averaged)[1])]
    report = "\n".join([
        "# Robustness of smoothed kernels (Table 2)", "",
        f"{exp.base.model} on {exp.base.dataset}; FGSM and PGD-{args.pgd_steps} (step ε/4) on {averaged[0]['n']} "
        f"test images; an image is robust only if no iterate fooled it. Means over {len(exp.seeds)} seed(s). "
        "Paper: CIFAR-10, foolbox minimal-perturbation searches.", "", "![robustness](robustness.png)", "",
        *table2_lines(averaged), "", "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"rows": rows, "mean": averaged, "verdicts": verdicts}, report)
