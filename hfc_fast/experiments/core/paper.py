"""The papers' numbers and claims, each claim with the test our numbers are held to.

Wang et al., "High-frequency Component Helps Explain the Generalization of
Convolutional Neural Networks" (CVPR 2020): Tables 1 and 2, Figs 2–7, §7
(detection) and §8 (SVD); Caro et al. 2020 (local convolutions and
high-frequency perturbations); the lecture on implicit bias (Gunasekar et al.
2018) and learned Fourier masks.
"""

from __future__ import annotations

# ---------------------------------------------------------------------- Table 1 (§4.2)
# CIFAR-10, radius -> (train acc., test acc.) of models trained on the LFC or the HFC
TABLE1 = {
    "lfc": {4: (0.9668, 0.6167), 8: (0.9786, 0.7154), 12: (0.9786, 0.7516), 16: (0.9839, 0.7714)},
    "hfc": {4: (0.9885, 0.2002), 8: (0.9768, 0.0920), 12: (0.9797, 0.0997), 16: (0.9384, 0.1281)},
}
TABLE1_CLAIM = "models trained on the LFC generalise to original images better than models trained on the HFC " \
               "(§4.2, Table 1)"

# ---------------------------------------------------------------------- Fig 3 (§4.2)
SHUFFLE_CLAIM = "a natural model picks up the LFC early and a shuffled-label model does not (§4.2, Fig 3)"
SHUFFLE_PAPER = "paper, r = 4 on CIFAR-10: about 0.4 vs about 0.1"

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

# ---------------------------------------------------------------------- Fig 6 (§5.1)
BN_LFC_NOTE = "Paper (CIFAR-10): trained on the LFC, BatchNorm does not always help test accuracy, the less so " \
              "the smaller the radius, but it speeds up the convergence of training accuracy, least at r = 4."

# ---------------------------------------------------------------------- Fig 7 and Table 2 (§6)
SMOOTHER_CLAIM = "adversarially trained first-layer kernels are smoother (§6.2, Fig 7)"

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


def smoothing_trade(rows: list[dict]) -> tuple[bool, str]:
    """Whether robustness rows (model, rho, clean, fgsm, pgd) support :data:`SMOOTHING_CLAIM` for the natural
    model, and the numbers behind the answer."""
    plain = next(r for r in rows if r["model"] == "natural" and r["rho"] == 0.0)
    smooth = next(r for r in rows if r["model"] == "natural" and r["rho"] == 1.0)
    held = smooth["clean"] < plain["clean"] and (smooth["fgsm"][-1] > plain["fgsm"][-1]
                                                  or smooth["pgd"][-1] > plain["pgd"][-1])
    numbers = (f"clean {plain['clean']:.3f} → {smooth['clean']:.3f}; at ε = {EPS[-1]}: FGSM "
               f"{plain['fgsm'][-1]:.3f} → {smooth['fgsm'][-1]:.3f}, PGD {plain['pgd'][-1]:.3f} → "
               f"{smooth['pgd'][-1]:.3f}")
    return held, numbers


SURVIVES_CLAIM = "the smoothing gain at large ε survives the worst case over stronger attacks (APGD-CE and APGD-DLR " \
                 "beside FGSM and PGD)"
UNMASKED_CLAIM = "the smoothed model shows no sign of gradient masking (accuracy falls with ε and steps, reaches " \
                 "about 0 at a large ε, transfer attacks are not stronger than white-box ones)"


def smoothing_survives(rows: list[dict]) -> tuple[bool, str]:
    """Whether smoothing (ρ = 1) still raises the natural model's worst-case accuracy at the largest ε."""
    plain = next(r for r in rows if r["model"] == "natural" and r["rho"] == 0.0)
    smooth = next(r for r in rows if r["model"] == "natural" and r["rho"] == 1.0)
    held = smooth["worst"][-1] > plain["worst"][-1]
    return held, (f"worst case at ε = {EPS[-1]}: {plain['worst'][-1]:.3f} → {smooth['worst'][-1]:.3f} with smoothing "
                  f"(PGD alone: {plain['pgd'][-1]:.3f} → {smooth['pgd'][-1]:.3f})")


def smoother_numbers(share: dict) -> str:
    """The numbers behind :data:`SMOOTHER_CLAIM`, from high-frequency shares keyed by model name."""
    return (f"high-frequency share of kernel energy: natural {share['natural']:.3f}, "
            f"adversarial {share['adversarial']:.3f}")


# ---------------------------------------------------------------------- §7 detection
# RetinaNet (ResNet-50 + FPN) on COCO val2017, r = 128: box AP (%) and images recognised better on the LFC
DETECTION = {"original": 35.6, "lfc": 27.5, "hfc": 10.7, "images_better_on_lfc": 1684, "images": 5000}

# ---------------------------------------------------------------------- §8 SVD
SVD_CLAIM = "fewer images support the Fig-2 story when the split is by singular values rather than by frequency (§8)"
SVD_PAPER = "Paper (CIFAR-10): \"we find much fewer images supporting the story in Figure 2\" under the SVD split."

# ---------------------------------------------------------------------- Caro et al. 2020
KERNEL_ORDER_CLAIM = "among convolutional models, the smaller the first-layer kernel, the more high-frequency the " \
                     "perturbations (Caro et al.)"
LOCAL_VS_OTHERS_CLAIM = "the most local convolution gives more high-frequency perturbations than a fully connected " \
                        "model and a ViT (Caro et al.)"
ARCHS_NOTE = "Caro et al.: local convolutions bias perturbations to high frequencies; larger kernels or a ViT " \
             "reduce the bias, though not the overall susceptibility to attacks."

# ---------------------------------------------------------------------- the lecture
IMPLICIT_BIAS_CLAIM = "gradient descent drives a two-layer linear conv net to a sparser predictor in Fourier space " \
                      "than a linear fully connected net (lecture, Theorem 3.2)"
MASKS_NOTE = "Lecture: important frequencies are sparse; accuracy is kept with the mask and drops with its " \
             "complement; the common hypothesis is that adversarial training lowers the reliance on high frequencies."
