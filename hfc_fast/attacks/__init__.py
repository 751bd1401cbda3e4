"""Adversarial attacks and robust-accuracy evaluation (L∞ unless stated).

``fgsm`` and ``pgd`` attack several ε in one call with early exit and nested
balls; ``band=("low"|"high", r)`` confines the perturbation to a frequency
band; ``deepfool`` finds minimal L2/L∞ perturbations; ``noise_attack``
measures i.i.d. Gaussian noise against the linear model's erfc prediction;
``robust_accuracy`` evaluates a data set, sharded under ``torch.distributed``.
"""

from hfc_fast.attacks.band import BandProjection
from hfc_fast.attacks.deepfool import DeepFoolResult, deepfool
from hfc_fast.attacks.evaluate import RobustAccuracy, robust_accuracy
from hfc_fast.attacks.noise import NoiseResult, noise_attack
from hfc_fast.attacks.pgd import fgsm, pgd
from hfc_fast.attacks.result import AttackResult

__all__ = [
    "AttackResult",
    "BandProjection",
    "DeepFoolResult",
    "NoiseResult",
    "RobustAccuracy",
    "deepfool",
    "fgsm",
    "noise_attack",
    "pgd",
    "robust_accuracy",
]
