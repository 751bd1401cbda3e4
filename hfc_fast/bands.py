"""The band vocabulary, said once.

A frequency split at radius r has two bands: ``"low"`` (distance from the centre ``d < r``) and
``"high"`` (``d >= r``). An image made of one band is that image's LFC or HFC *view*
(``"lfc"``, ``"hfc"``); ``"original"`` is the image itself. ``"max"`` is the one spelling of the
paper's per-image normalisation of a view (each image divided by its own maximum).
"""

from __future__ import annotations

from hfc_fast.errors import InputError

LOW, HIGH = "low", "high"
BANDS = (LOW, HIGH)
LFC, HFC, ORIGINAL = "lfc", "hfc", "original"
SPLIT_VIEWS = (LFC, HFC)  # the views a split makes, in the order of BANDS
VIEWS = (ORIGINAL, *SPLIT_VIEWS)
VIEW_OF_BAND = dict(zip(BANDS, SPLIT_VIEWS, strict=True))
BAND_OF_VIEW = {view: band for band, view in VIEW_OF_BAND.items()}
MAX = "max"
NORMALIZATIONS = (None, MAX)


def check_choice(value, choices: tuple, name: str):
    """``value`` if it is one of ``choices``, else an :class:`InputError` naming ``name``."""
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise InputError(f"{name} must be one of {shown}, got {value!r}")
    return value
