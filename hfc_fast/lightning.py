"""Frequency tracking in a Lightning training: a callback that logs LFC/HFC accuracy every validation epoch.

``lightning`` is an optional dependency (``pip install lightning``); it is
imported when the callback is first used, and a clear ImportError says how to
install it when it is missing::

    from hfc_fast.lightning import FrequencyTrackingCallback

    trainer = lightning.Trainer(callbacks=[FrequencyTrackingCallback(val_loader, radii=[4, 8, 12, 16])])

At the end of each validation epoch the callback runs
:func:`hfc_fast.track_frequencies` on its data (sharded over the ranks under
DDP, every rank getting the totals) and logs ``<prefix>/acc``,
``<prefix>/lfc_r<r>`` and ``<prefix>/hfc_r<r>`` through the trainer's loggers.
"""

from __future__ import annotations

from hfc_fast.bands import SPLIT_VIEWS

__all__ = ["FrequencyTrackingCallback", "tracking_scalars"]  # noqa: F822 (built on first use, see __getattr__)


def tracking_scalars(result: dict, prefix: str = "freq") -> dict[str, float]:
    """The numbers of a :func:`hfc_fast.track_frequencies` result as flat names: ``freq/acc``, ``freq/lfc_r4``…"""
    scalars = {f"{prefix}/acc": result["acc"]}
    for band in SPLIT_VIEWS:
        scalars.update({f"{prefix}/{band}_r{r}": v for r, v in result[band].items()})
    return scalars


def _lightning_callback():
    try:
        from lightning.pytorch import Callback
    except ImportError:
        try:
            from pytorch_lightning import Callback
        except ImportError:
            raise ImportError("hfc_fast.lightning needs Lightning: pip install lightning") from None
    return Callback


def _build_class():
    from hfc_fast.tracking import track_frequencies

    class FrequencyTrackingCallback(_lightning_callback()):
        """Log accuracy on the original, LFC and HFC images of ``data`` at every radius, each validation epoch.

        Args:
            data: a DataLoader, a Dataset or an ``(images, labels)`` pair (pixels in [0, 1]).
            radii: the radii (``frequency_split`` semantics).
            normalize: ``(mean, std)`` applied after the split, for models trained on normalised inputs.
            batch_size: images per batch when ``data`` is not a DataLoader.
            prefix: the logged names' prefix.
            amp: bfloat16 autocast.
        """

        def __init__(self, data, radii, *, normalize=None, batch_size: int = 500, prefix: str = "freq",
                     amp: bool = False) -> None:
            super().__init__()
            self.data, self.radii, self.normalize = data, radii, normalize
            self.batch_size, self.prefix, self.amp = batch_size, prefix, amp
            self.last: dict | None = None

        def on_validation_epoch_end(self, trainer, pl_module) -> None:
            if trainer.sanity_checking:
                return
            self.last = track_frequencies(pl_module, self.data, self.radii, batch_size=self.batch_size,
                                          normalize=self.normalize, amp=self.amp, device=pl_module.device)
            pl_module.log_dict(tracking_scalars(self.last, self.prefix), on_epoch=True, sync_dist=False)

    return FrequencyTrackingCallback


def __getattr__(name: str):
    if name == "FrequencyTrackingCallback":  # built on first use: importing this module needs no Lightning
        cls = _build_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
