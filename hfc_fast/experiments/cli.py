"""The ``hfc`` command line: one registry from a command's name to its module.

A command module (``hfc_fast.experiments.commands``) defines ``HELP``,
``add_arguments(options)`` and ``run(exp, args)``, and may set ``PRESET`` (the
training preset when it has no ``--preset``), ``RESUMABLE`` (settings a rerun
into its run directory may change), ``RUN_DIRECTORY = False`` (it writes none),
``check_args(args)`` (refusals before anything is written) and
``summary(results, args)`` (the lines printed at the end). Every command runs
inside one :class:`~hfc_fast.experiments.core.experiment.Experiment`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from hfc_fast import _cli_start
from hfc_fast.errors import InputError
from hfc_fast.experiments.core.options import Options, Parser, flag

# name -> module under hfc_fast.experiments.commands ("detect train" nests under "detect")
COMMANDS = {
    "demo": "demo",
    "info": "info",
    "train": "train",
    "sweep": "sweep",
    "fourier-map": "fourier_map",
    "examples": "examples",
    "table1": "table1",
    "shuffle": "shuffle",
    "heuristics": "heuristics",
    "bn-lfc": "bn_lfc",
    "kernels": "kernels",
    "robustness": "robustness",
    "surface": "surface",
    "svd": "svd",
    "archs": "archs",
    "masks": "masks",
    "implicit-bias": "implicit_bias",
    "claims": "claims",
    "detect": "detect",
    "detect train": "detect_train",
    "report": "report",
}


def command_module(name: str):
    return importlib.import_module(f"hfc_fast.experiments.commands.{COMMANDS[name]}")


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Options]]:
    """The ``hfc`` parser, and each command's options (by command name)."""
    parser = Parser(prog="hfc", description="Frequency-spectrum experiments on CNNs (hfc_fast).")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    options: dict[str, Options] = {}
    nested = {}
    for name in COMMANDS:
        module = command_module(name)
        parent, _, child = name.partition(" ")
        if child:
            if parent not in nested:
                nested[parent] = options[parent].parser.add_subparsers(dest=f"{parent}_command",
                                                                       parser_class=Parser)
            p = nested[parent].add_parser(child, help=module.HELP.replace("%", "%%"), description=module.HELP)
        else:
            p = sub.add_parser(name, help=module.HELP.replace("%", "%%"), description=module.HELP)
        options[name] = Options(p)
        module.add_arguments(options[name])
    return parser, options


def _command_name(args: argparse.Namespace) -> str:
    child = getattr(args, f"{args.command}_command", None)
    return f"{args.command} {child}" if child else args.command


def default_summary(results: dict, out) -> list[str]:
    from hfc_fast.experiments.core.verdicts import verdict_summary

    return [f"  {verdict_summary(v)}" for v in results.get("verdicts", [])] + \
        [f"wrote {out}/report.md, report.html and results.json ({results['seconds'] / 60:.1f} min)"]


def one_line(err: BaseException) -> str:
    """An error's message in one line (a DataLoader worker's error arrives wrapped in its traceback)."""
    lines = [line for line in str(err).strip().splitlines() if line.strip()] or [type(err).__name__]
    return lines[-1].strip() if "Traceback" in str(err) else lines[0]


def interrupted(name: str, args, options: Options, how: str = "interrupted") -> str:
    """What an interrupted command kept, and the exact command that continues it."""
    from hfc_fast.experiments.core.model_sources import checkpoint_state
    from hfc_fast.experiments.core.rundir import CHECKPOINT

    out = args.out
    kept = f"what finished is kept in {out}"
    if (out / CHECKPOINT).exists():
        try:
            kept = f"epoch {checkpoint_state(out / CHECKPOINT)['epoch']} of {args.epochs} is saved in {out}"
        except (ValueError, KeyError, TypeError):
            pass
    again = f"hfc {name} --out {out}" + (" --resume" if "resume" in options.defaults else "")
    return f"hfc {name}: {how}; {kept}; to continue: {again}"


DEBUG_HELP = "show the full traceback of any error (also HFC_FAST_DEBUG=1)"


def _debug(argv: list[str]) -> tuple[bool, list[str]]:
    """``--debug`` anywhere on the command line (it is taken out), or ``HFC_FAST_DEBUG=1``."""
    on = os.environ.get("HFC_FAST_DEBUG", "").lower() in ("1", "true", "yes", "on")
    return on or "--debug" in argv, [a for a in argv if a != "--debug"]


def refusal(err: BaseException, name: str, options: Options) -> str | None:
    """The one line for a known refusal (bad input, named; a file that cannot be read or written), or None
    when ``err`` is not one: then it is a bug."""
    if not isinstance(err, InputError | OSError):
        return None
    message = one_line(err)
    first = message.split(" ", 1)[0]
    if first in options.defaults:  # a setting named as the dataclass spells it: say the option
        message = flag(first) + message[len(first):]
    return f"hfc {name}: {message}"


def main(argv=None) -> int:
    from hfc_fast.experiments.core import signals

    with signals.handled():
        code = _main(argv)
    if _cli_start.is_cli():  # the work is done: a signal now must not print a start-up line or a traceback
        signals.ignore()
    return code


def _main(argv) -> int:
    from hfc_fast.experiments.core import signals
    from hfc_fast.experiments.core.experiment import resolve_args, run_command

    debug, argv = _debug(list(sys.argv[1:] if argv is None else argv))
    parser, options = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a bad option already reported in one line
        return stop.code
    name = _command_name(args)
    module = command_module(name)
    try:
        given, args = resolve_args(name, module, options[name], args)
        if not getattr(module, "RUN_DIRECTORY", True):
            return module.run(None, args) or 0

        def summary(results, args):
            lines = module.summary(results, args) if hasattr(module, "summary") else \
                default_summary(results, args.out)
            print("\n".join(lines))

        run_command(name, module, args, given, summary=summary)
        return 0
    except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM (signals.Interrupted): what is saved stays saved
        signals.ignore()
        how, code = (stop.word, stop.exit_code) if isinstance(stop, signals.Interrupted) else ("interrupted", 130)
        print(interrupted(name, args, options[name], how), file=sys.stderr)
        return code
    except Exception as err:
        if debug:
            raise
        line = refusal(err, name, options[name])
        if line is not None:
            print(line, file=sys.stderr)
            return 2
        print(f"hfc {name}: internal error, {type(err).__name__}: {one_line(err)}. This is a bug, not bad input: "
              f"rerun with --debug (or HFC_FAST_DEBUG=1) for the full traceback, and report it with that.",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
