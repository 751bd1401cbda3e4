"""The papers' numbers and claims, each claim with the test our numbers are held to.

Wang et al., "High-frequency Component Helps Explain the Generalization of
Convolutional Neural Networks" (CVPR 2020): Tables 1 and 2, Figs 2–7, §7
(detection) and §8 (SVD); Caro et al. 2020 (local convolutions and
high-frequency perturbations); the lecture on implicit bias (Gunasekar et al.
2018) and learned Fourier masks.
"""

from __future__ import annotations

from hfc_fast.experiments.core.verdicts import accuracy_part, outcomes, part
from hfc_fast.stats import effect_interval

# ---------------------------------------------------------------------- Table 1 (§4.2)
# CIFAR-10, radius -> (train acc., test acc.) of models trained on the LFC or the HFC
TABLE1 = {
    "lfc": {4: (0.9668, 0.6167), 8: (0.9786, 0.7154), 12: (0.9786, 0.7516), 16: (0.9839, 0.7714)},
    "hfc": {4: (0.9885, 0.2002), 8: (0.9768, 0.0920), 12: (0.9797, 0.0997), 16: (0.9384, 0.1281)},
}
TABLE1_CLAIM = "models trained on the LFC generalise to original images better than models trained on the HFC " \
               "(§4.2, Table 1)"
TABLE1_PAPER = "CIFAR-10, mean over r = 4–16: LFC-trained 0.714, HFC-trained 0.130 (+0.584)"

# ---------------------------------------------------------------------- Fig 3 (§4.2)
SHUFFLE_CLAIM = "a natural model picks up the LFC early and a shuffled-label model does not (§4.2, Fig 3)"
SHUFFLE_PAPER = "CIFAR-10, r = 4, read from Fig 3: about 0.4 natural vs about 0.1 shuffled"

# ---------------------------------------------------------------------- Figs 4–5 and "other tests" (§5)
HEURISTICS_NOTES = {
    "batch_size": "smaller batches reach higher train and test accuracy; bigger ones close the generalisation gap "
                  "and capture less HFC (Fig 4).",
    "heuristics": "dropout behaves like the vanilla set-up; mixup catches much more HFC; BatchNorm picks up more "
                  "of both LFC and HFC; adversarial training is less accurate, with a smaller gap and invariant "
                  "to HFC at large r (Fig 5).",
    "architectures": "ResNet has the best test accuracy, the smallest gap and the weakest tendency to capture HFC.",
    "optimizers": "SGD alone tends to capture HFC significantly; the rest are on par.",
}

# claim -> the comparisons that measure it: (variant, minus variant, band whose test accuracy is compared)
HEURISTICS_CLAIMS = {
    "smaller batches capture more HFC (§5, Fig 4)": [("batch 25", "batch 400", "hfc")],
    "mixup captures more HFC than the vanilla set-up (§5, Fig 5)": [("mixup 0.5", "vanilla", "hfc")],
    "BatchNorm picks up more of both the LFC and the HFC (§5, Fig 5)": [("batchnorm", "vanilla", "lfc"),
                                                                       ("batchnorm", "vanilla", "hfc")],
}
HEURISTICS_PAPER = "CIFAR-10, read from Figs 4–5 (no table)"

# ---------------------------------------------------------------------- Fig 6 (§5.1)
BN_LFC_CLAIM = "trained on the LFC, BatchNorm speeds up the convergence of training accuracy (§5.1, Fig 6)"
BN_LFC_PAPER = "CIFAR-10, read from Fig 6: faster at every radius, least at r = 4"
BN_LFC_NOTE = "Paper (CIFAR-10): trained on the LFC, BatchNorm does not always help test accuracy, the less so " \
              "the smaller the radius, but it speeds up the convergence of training accuracy, least at r = 4."

# ---------------------------------------------------------------------- Fig 7 and Table 2 (§6)
SMOOTHER_CLAIM = "adversarially trained first-layer kernels are smoother (§6.2, Fig 7)"
SMOOTHER_PAPER = "CIFAR-10, Fig 7: visibly smoother adversarial kernels (no number given)"

RHOS = (0.0, 0.1, 0.25, 0.5, 1.0)
EPS = (0.03, 0.06, 0.09)
# CIFAR-10, their ResNet: clean, FGSM at EPS, PGD at EPS, for each smoothing ρ
TABLE2 = {
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


TABLE2_PAPER = "CIFAR-10, natural model, ρ = 0 → 1: clean 0.856 → 0.631, PGD at ε = 0.09 0.002 → 0.078"


def _natural(rows: list[dict], rho: float) -> dict:
    return next(r for r in rows if r["model"] == "natural" and r["rho"] == rho)


def _smoothing_effect(measure: str, per_seed: list[list[dict]], field: str, *, expect: str) -> dict:
    """Smoothed (ρ = 1) minus plain natural model, ``field`` (``"clean"``, or an attack's accuracy at the
    largest ε), from each seed's robustness rows."""
    def value(rows, rho):
        v = _natural(rows, rho)[field]
        return v[-1] if isinstance(v, list) else v

    n = per_seed[0][0]["n"]
    return accuracy_part(measure, [[value(rows, 1.0)] for rows in per_seed], [[value(rows, 0.0)] for rows in per_seed],
                         n, expect=expect)


def smoothing_parts(per_seed: list[list[dict]]) -> list[dict]:
    """:data:`SMOOTHING_CLAIM` measured from each seed's robustness rows: clean accuracy falls, PGD accuracy at
    the largest ε rises."""
    return [_smoothing_effect("clean accuracy, smoothed − plain", per_seed, "clean", expect="negative"),
            _smoothing_effect(f"PGD accuracy at ε = {EPS[-1]}, smoothed − plain", per_seed, "pgd",
                              expect="positive")]


def smoothing_numbers(rows: list[dict]) -> str:
    """The means behind :data:`SMOOTHING_CLAIM`."""
    plain, smooth = _natural(rows, 0.0), _natural(rows, 1.0)
    return (f"clean {plain['clean']:.3f} → {smooth['clean']:.3f}; at ε = {EPS[-1]}: FGSM "
            f"{plain['fgsm'][-1]:.3f} → {smooth['fgsm'][-1]:.3f}, PGD {plain['pgd'][-1]:.3f} → "
            f"{smooth['pgd'][-1]:.3f}")


SURVIVES_CLAIM = "the smoothing gain at large ε survives the worst case over stronger attacks (APGD-CE and APGD-DLR " \
                 "beside FGSM and PGD)"
UNMASKED_CLAIM = "the smoothed model shows no sign of gradient masking (accuracy falls with ε and steps, reaches " \
                 "about 0 at a large ε, transfer attacks are not stronger than white-box ones)"
NEAR_ZERO = 0.02  # "about 0": the worst-case accuracy at the masking checks' large ε


def survives_parts(per_seed: list[list[dict]]) -> list[dict]:
    """:data:`SURVIVES_CLAIM` measured: the worst case over every attack at the largest ε, smoothed − plain."""
    return [_smoothing_effect(f"worst-case accuracy at ε = {EPS[-1]}, smoothed − plain", per_seed, "worst",
                              expect="positive")]


def survives_numbers(rows: list[dict]) -> str:
    plain, smooth = _natural(rows, 0.0), _natural(rows, 1.0)
    return (f"worst case at ε = {EPS[-1]}: {plain['worst'][-1]:.3f} → {smooth['worst'][-1]:.3f} with smoothing "
            f"(PGD alone: {plain['pgd'][-1]:.3f} → {smooth['pgd'][-1]:.3f})")


def unmasked_parts(checks: list[dict]) -> list[dict]:
    """:data:`UNMASKED_CLAIM` measured from each seed's :func:`masking_checks`: accuracy falls from the
    largest ε of the table to the large ε, reaches below :data:`NEAR_ZERO` there (worst case), and transfer
    examples from the
    unsmoothed model leave more images right than the white-box attack."""
    n = checks[0]["n"]
    eps = checks[0]["eps"]
    at = eps.index(checks[0]["transfer_eps"])
    return [accuracy_part(f"PGD accuracy, ε = {eps[at]:g} − ε = {checks[0]['large_eps']:g}",
                          [[c["pgd_few_steps"][at]] for c in checks], [[c["pgd_few_steps"][-1]] for c in checks],
                          n),
            part(f"{NEAR_ZERO:g} − worst-case accuracy at ε = {checks[0]['large_eps']:g}",
                 effect_interval([NEAR_ZERO - outcomes(c["worst_at_large_eps"], n) for c in checks])),
            accuracy_part(f"transfer − white-box accuracy at ε = {checks[0]['transfer_eps']:g}",
                          [[c["transfer"]] for c in checks], [[c["white_box"]] for c in checks], n)]


def smoother_part(natural: list, adversarial: list) -> dict:
    """:data:`SMOOTHER_CLAIM` measured: per seed, the first-layer filters' high-frequency shares of the natural
    and the adversarial model (unpaired: filter i of one model is not filter i of the other)."""
    return part("high-frequency share per first-layer filter, natural − adversarial",
                effect_interval(natural, adversarial, paired=False), unit="filters")


def smoother_numbers(share: dict) -> str:
    """The numbers behind :data:`SMOOTHER_CLAIM`, from high-frequency shares keyed by model name."""
    return (f"high-frequency share of kernel energy: natural {share['natural']:.3f}, "
            f"adversarial {share['adversarial']:.3f}")


# ---------------------------------------------------------------------- §7 detection
# RetinaNet (ResNet-50 + FPN) on COCO val2017, r = 128: box AP (%) and images recognised better on the LFC
DETECTION = {"original": 35.6, "lfc": 27.5, "hfc": 10.7, "images_better_on_lfc": 1684, "images": 5000}

# ---------------------------------------------------------------------- §8 SVD
SVD_CLAIM = "fewer images support the Fig-2 story when the split is by singular values rather than by frequency (§8)"
SVD_PAPER = "CIFAR-10: \"we find much fewer images supporting the story in Figure 2\" under the SVD split"

# ---------------------------------------------------------------------- Caro et al. 2020
KERNEL_ORDER_CLAIM = "among convolutional models, the smaller the first-layer kernel, the more high-frequency the " \
                     "perturbations (Caro et al.)"
LOCAL_VS_OTHERS_CLAIM = "the most local convolution gives more high-frequency perturbations than a fully connected " \
                        "model and a ViT (Caro et al.)"
ARCHS_PAPER = "Caro et al. 2020 (CIFAR-10): the perturbation spectra of local convolutions lean to high " \
              "frequencies, less so for larger kernels, fully connected models and ViTs"
ARCHS_NOTE = "Caro et al.: local convolutions bias perturbations to high frequencies; larger kernels or a ViT " \
             "reduce the bias, though not the overall susceptibility to attacks."

# ---------------------------------------------------------------------- the lecture
IMPLICIT_BIAS_CLAIM = "gradient descent drives a two-layer linear conv net to a sparser predictor in Fourier space " \
                      "than a linear fully connected net (lecture, Theorem 3.2)"
IMPLICIT_BIAS_PAPER = "Gunasekar et al. 2018: with L layers the conv net tends to a stationary point of the " \
                      "Fourier-ℓ_{2/L} penalty, the fully connected net to the ℓ2 one"
MASKS_CLAIM = "a sparse learned Fourier mask keeps a model's accuracy and its complement does not (lecture)"
MASKS_PAPER = "lecture: important frequencies are sparse; accuracy is kept with the mask and drops with its " \
              "complement"
MASKS_NOTE = "Lecture: important frequencies are sparse; accuracy is kept with the mask and drops with its " \
             "complement; the common hypothesis is that adversarial training lowers the reliance on high frequencies."
