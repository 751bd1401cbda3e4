"""One module per ``hfc`` command: ``HELP``, ``add_arguments(parser)`` and ``run(exp, args)``.

Each composes ``hfc_fast.experiments.core`` and the public ``hfc_fast`` API and
imports no other command.
"""
