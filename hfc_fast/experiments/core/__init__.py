"""What the ``hfc`` commands share.

``options`` (parsing and checking every option), ``config`` (training settings
and presets), ``rundir`` (claiming a run directory: its config check), ``files``
(atomic writes), ``distributed`` (torchrun), ``experiment`` (a command's run
directory: stages, data, trained variants), ``training`` (the training loop
every trainer shares), ``model_sources`` (models from checkpoints and
torchvision), ``detectors`` and ``coco_metrics`` (detection), ``analyses``
(reusable measurements), ``paper`` (the papers' numbers and claims),
``verdicts``, ``pages`` (reports, tables) and ``figures``. Nothing here imports
a command.
"""
