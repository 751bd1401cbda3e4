"""Adversarial attacks and robust-accuracy evaluation (L∞ unless stated).

``fgsm``, ``pgd``, ``apgd`` (Auto-PGD with the CE or DLR loss), ``fab`` (FAB-T,
minimum-norm) and ``square`` (Square Attack, gradient-free) attack several ε in
one call with early exit and nested balls; ``band=("low"|"high", r)``
confines the perturbation to a frequency band; ``deepfool`` finds minimal
L2/L∞ perturbations; ``noise_attack``
measures i.i.d. Gaussian noise against the linear model's erfc prediction;
``robust_accuracy`` evaluates a data set per attack and in the per-sample worst
case over attacks (``"autoattack"``: AutoAttack's standard suite as a cascade),
and ``robustness_surface`` over an ε grid × frequency bands, both sharded under
``torch.distributed``.
"""

from hfc_fast.attacks.apgd import apgd, apgd_checkpoints, dlr_loss, dlr_targeted_loss
from hfc_fast.attacks.band import BandProjection
from hfc_fast.attacks.deepfool import DeepFoolResult, deepfool
from hfc_fast.attacks.evaluate import ATTACKS, AUTOATTACK, WORST_CASE, RobustAccuracy, robust_accuracy
from hfc_fast.attacks.fab import fab, project_linf
from hfc_fast.attacks.noise import NoiseResult, noise_attack
from hfc_fast.attacks.pgd import fgsm, pgd
from hfc_fast.attacks.result import AttackResult
from hfc_fast.attacks.square import square
from hfc_fast.attacks.surface import RobustnessSurface, robustness_surface

__all__ = [
    "ATTACKS",
    "AUTOATTACK",
    "AttackResult",
    "BandProjection",
    "DeepFoolResult",
    "NoiseResult",
    "RobustAccuracy",
    "RobustnessSurface",
    "WORST_CASE",
    "apgd",
    "apgd_checkpoints",
    "deepfool",
    "dlr_loss",
    "dlr_targeted_loss",
    "fab",
    "fgsm",
    "noise_attack",
    "pgd",
    "project_linf",
    "robust_accuracy",
    "robustness_surface",
    "square",
]
