"""Experiment runners; the ``hfc`` command is in :mod:`hfc_fast.experiments.cli`."""
