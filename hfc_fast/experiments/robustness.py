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
