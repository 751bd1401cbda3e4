"""hfc_fast: fast, tested frequency-spectrum tools for studying CNNs.

Reproduces and scales up Wang et al., "High-frequency Component Helps Explain
the Generalization of Convolutional Neural Networks" (CVPR 2020).
"""

from hfc_fast import _cli_start  # noqa: F401  (first, before torch: a Ctrl-C while hfc starts is one line)
from hfc_fast._ext import backend_info
from hfc_fast._model import Normalize
from hfc_fast.errors import InputError, NonFiniteError
from hfc_fast.evaluation import PassSettings
from hfc_fast.fourier import (
    BandNoiseProfile,
    FourierHeatMap,
    LinearisedMap,
    band_noise_profile,
    fourier_heat_map,
    heat_map_frequencies,
    linearised_map,
    rank_correlation,
)
from hfc_fast.fourier_perturb import fourier_perturb, fourier_perturb_reference
from hfc_fast.frequency import (
    frequency_split,
    frequency_split_reference,
    high_pass,
    low_pass,
    radial_mask,
    radial_mask_reference,
)
from hfc_fast.nn import FrequencyFilter
from hfc_fast.pgd_step import pgd_step_, pgd_step_reference_
from hfc_fast.smoothing import first_conv, smooth_first_conv, smooth_kernels, smooth_kernels_reference
from hfc_fast.spectrum import (
    high_frequency_share,
    high_frequency_shares,
    kernel_spectra,
    radial_bin_count,
    radial_power_spectrum,
    radial_power_spectrum_reference,
)
from hfc_fast.tracking import FrequencyTracking, TrackingState, track_frequencies
from hfc_fast.transforms import HighPass, LowPass, normalize_by_max

__version__ = "0.1.0"

__all__ = [
    "BandNoiseProfile",
    "FourierHeatMap",
    "FrequencyTracking",
    "LinearisedMap",
    "PassSettings",
    "FrequencyFilter",
    "HighPass",
    "LowPass",
    "Normalize",
    "TrackingState",
    "InputError",
    "NonFiniteError",
    "backend_info",
    "band_noise_profile",
    "first_conv",
    "fourier_heat_map",
    "fourier_perturb",
    "fourier_perturb_reference",
    "frequency_split",
    "frequency_split_reference",
    "heat_map_frequencies",
    "high_frequency_share",
    "high_frequency_shares",
    "high_pass",
    "kernel_spectra",
    "linearised_map",
    "low_pass",
    "normalize_by_max",
    "pgd_step_",
    "pgd_step_reference_",
    "radial_bin_count",
    "radial_mask",
    "radial_mask_reference",
    "radial_power_spectrum",
    "radial_power_spectrum_reference",
    "rank_correlation",
    "smooth_first_conv",
    "smooth_kernels",
    "smooth_kernels_reference",
    "track_frequencies",
]
