"""What several ``hfc`` commands share (each experiment's own measurement, paper numbers, page section and
figures live in its command module).

``options`` (parsing and checking every option), ``config`` (training settings
and presets), ``rundir`` (claiming a run directory: its config check), ``files``
(atomic writes), ``distributed`` (torchrun), ``signals`` (Ctrl-C and SIGTERM),
``experiment`` (a command's run directory: stages, data, trained variants),
``training`` (the training loop every trainer shares), ``model_sources``
(models from checkpoints, torchvision and timm), ``detectors`` (detection
training and inference), ``verdicts``, ``pages`` (reports, tables) and
``figures`` (plot helpers and the training curves). Nothing here imports a
command.
"""
