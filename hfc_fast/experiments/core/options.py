"""Every option of every command: how it is parsed and checked, in one place.

A value's rule is its :class:`Spec`: a kind (integer, number, text, flag,
list of numbers, count or "all", device, path), its choices and its bounds.
The same spec checks a dataclass field set from Python (``TrainConfig.validate``)
and an option typed on the command line (the argparse ``type``), so each rule
lives once. Numbers must be finite. A number list is comma-separated.

:class:`Parser` reports a bad option in one line naming it (exit 2), and
:class:`Options` records each option's default apart from what was typed, so a
command knows which options were given.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from hfc_fast.errors import InputError

# Seeds: torch, NumPy and the training's derived seeds (seed + rank, seed + epoch) all take this range.
SEED_MAX = 2**31 - 1
KINDS = ("int", "float", "str", "bool", "tristate", "numbers", "names", "limit", "device", "path")
DEVICE_TYPES = ("cpu", "cuda")
# the Python type each kind parses to (the annotations of a command's settings dataclass)
KIND_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "tristate": bool | None,
              "numbers": list[float], "names": list[str], "limit": int | None, "device": str, "path": Path | None}


@dataclass(frozen=True)
class Spec:
    """What values an option takes.

    Attributes:
        kind: one of :data:`KINDS` ("numbers": comma-separated numbers; "names": comma-separated names,
            each one of ``choices``; "limit": a count, or "all"/"none" for no limit; "tristate": a flag with
            an explicit off, unset meaning the default).
        choices: allowed values (text kinds; each item of "names").
        minimum / above / maximum / below: bounds (``>=``, ``>``, ``<=``, ``<``) of numbers.
        optional: None is allowed (an unset value).
    """

    kind: str = "float"
    choices: tuple | None = None
    minimum: float | None = None
    above: float | None = None
    maximum: float | None = None
    below: float | None = None
    optional: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")

    # ------------------------------------------------------------------ words
    def _bounds(self) -> str:
        parts = [f"{op} {_num(v)}" for op, v in ((">=", self.minimum), (">", self.above), ("<=", self.maximum),
                                             ("<", self.below)) if v is not None]
        return " and ".join(parts)

    def describe(self) -> str:
        """What a valid value is, in words ("a number > 0", "one of sgd, adam")."""
        if self.kind == "names":
            return f"comma-separated names from {', '.join(map(str, self.choices))}, each once"
        if self.choices is not None:
            return f"one of {', '.join(map(str, self.choices))}"
        bounds = self._bounds()
        noun = {"int": "an integer", "float": "a finite number",
                "numbers": "comma-separated finite numbers without repeats",
                "limit": "a count", "device": "auto, cpu, cuda or cuda:N", "path": "a path",
                "str": "text", "bool": "true or false", "tristate": "true or false"}[self.kind]
        if self.kind == "numbers" and bounds:
            return f"{noun}, each {bounds}"
        text = f"{noun} {bounds}" if bounds else noun
        return f"{text} or 'all'" if self.kind == "limit" else text

    # ------------------------------------------------------------------ checks
    def _number_problem(self, v) -> str | None:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return "must be a number"
        if math.isnan(v) or math.isinf(v):
            return "must be finite"
        for op, bound, ok in ((">=", self.minimum, lambda a, b: a >= b), (">", self.above, lambda a, b: a > b),
                              ("<=", self.maximum, lambda a, b: a <= b), ("<", self.below, lambda a, b: a < b)):
            if bound is not None and not ok(v, bound):
                return f"must be {op} {_num(bound)}"
        return None

    def problem(self, value) -> str | None:
        """Why ``value`` is not valid (without the option's name), or None."""
        if value is None:
            return None if self.optional or self.kind in ("limit", "tristate") else "must be set"
        if self.kind == "names":
            ok = isinstance(value, list | tuple) and value and all(v in self.choices for v in value)
            return None if ok else f"must be {self.describe()}, got {value!r}"
        if self.choices is not None:
            return None if value in self.choices else f"must be {self.describe()}, got {value!r}"
        if self.kind in ("int", "limit"):
            if isinstance(value, bool) or not isinstance(value, int):
                return f"must be {self.describe()}, got {value!r}"
        if self.kind in ("int", "float", "limit"):
            issue = self._number_problem(value)
            return f"must be {self.describe()}, got {value!r}" if issue else None
        if self.kind == "numbers":
            if not isinstance(value, list | tuple) or not value:
                return f"must be {self.describe()}, got {value!r}"
            bad = [v for v in value if self._number_problem(v)]
            return f"must be {self.describe()}, got {value!r}" if bad else None
        if self.kind in ("bool", "tristate") and not isinstance(value, bool):
            return f"must be true or false, got {value!r}"
        if self.kind == "device":
            return device_problem(value)
        return None

    def check(self, value, name: str):
        """``value`` if valid; otherwise a ValueError naming ``name``."""
        issue = self.problem(value)
        if issue:
            raise InputError(f"{name} {issue}")
        return value

    # ------------------------------------------------------------------ parsing
    def parse(self, text: str):
        """A value typed on the command line; an ``argparse.ArgumentTypeError`` when it is not valid."""
        try:
            if self.kind == "names":
                value = parse_list(text)
            elif self.choices is not None:
                value = text
            elif self.kind == "int":
                value = int(text)
            elif self.kind == "float":
                value = float(text)
            elif self.kind == "limit":
                value = None if text.strip().lower() in ("all", "none") else int(text)
            elif self.kind == "numbers":
                value = parse_numbers(text)
            elif self.kind == "path":
                if not text.strip():  # Path("") would quietly mean the current folder
                    raise argparse.ArgumentTypeError(f"must name a file or folder, got {text!r}")
                value = Path(text)
            else:
                value = text
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {self.describe()}, got {text!r}") from None
        issue = self.problem(value)
        if issue:
            reason = f"must be {self.describe()}" if self.kind != "device" else issue.split(", got")[0]
            raise argparse.ArgumentTypeError(f"{reason}, got {text!r}")
        return value


def _num(v) -> str:
    """A bound in words: integers in full (2147483647, not 2.14748e+09), other numbers short."""
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e18 else f"{v:g}"


LIST_RULE = "comma-separated, no empty item or repeat; numbers are taken in ascending order"


def parse_list(text: str) -> list[str]:
    """``"a, b"`` as ``["a", "b"]``: the one comma-list parser. An empty item (``"4,,8"``, a trailing comma)
    or a repeated one is a ValueError."""
    items = [v.strip() for v in str(text).split(",")]
    if not items or any(not v for v in items):
        raise InputError(f"an empty item in {text!r}")
    if len(set(items)) != len(items):
        raise InputError(f"a repeated item in {text!r}")
    return items


def parse_numbers(text: str) -> list[float]:
    """``"8,4,12"`` as ``[4.0, 8.0, 12.0]``: numbers in ascending order; a ValueError when an item is empty,
    repeated or not a number."""
    return ascending_numbers(parse_list(text), text)


def ascending_numbers(values, shown) -> list[float]:
    """``values`` as floats in ascending order, the form every number list takes; a ValueError naming
    ``shown`` when a number repeats (``4`` and ``4.0`` included)."""
    out = sorted(float(v) for v in values)
    if len(set(out)) != len(out):
        raise InputError(f"a repeated number in {shown!r}")
    return out


def device_problem(value) -> str | None:
    """Why ``value`` does not name a device this toolkit runs on (``auto``, ``cpu``, ``cuda``, ``cuda:N``)."""
    if value == "auto":
        return None
    try:
        device = torch.device(value)
    except (RuntimeError, TypeError):
        return f"must be auto, cpu, cuda or cuda:N, got {value!r}"
    if device.type not in DEVICE_TYPES:
        return f"must be auto, cpu, cuda or cuda:N, got {value!r}"
    return None


def option(default=None, help: str = "", *, cli: bool = True, required: bool = False, **spec) -> dataclasses.Field:
    """A dataclass field that is also a command-line option: its help, its :class:`Spec`, and whether
    it is offered on the command line (``cli``) or must be given (``required``)."""
    meta = {"help": help, "spec": Spec(**spec), "cli": cli, "required": required}
    if isinstance(default, dict | list):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def validate_fields(obj) -> None:
    """Check every field of a dataclass built with :func:`option` against its spec, naming the field."""
    for f in dataclasses.fields(obj):
        spec = f.metadata.get("spec")
        if spec is not None:
            spec.check(getattr(obj, f.name), f.name)


def flag(name: str) -> str:
    """The command-line spelling of a setting: ``train_limit`` → ``--train-limit``."""
    return "--" + name.replace("_", "-")


class Parser(argparse.ArgumentParser):
    """An argument parser that reports a bad option in one line naming it, and exits with 2."""

    def error(self, message: str):
        message = re.sub(r"^argument ([^:]+): ", r"\1 ", message)
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


class Options:
    """The options of one command, each default kept apart from what the command line gives.

    Every option is added with ``argparse.SUPPRESS`` as its argparse default, so the parsed
    namespace holds only what was typed; :meth:`resolve` fills in the defaults.
    """

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser
        self.defaults: dict = {}
        self.paths: set[str] = set()  # options whose values are paths (read back from JSON as text)
        self.specs: dict[str, Spec] = {}  # each option's rule, by destination
        self._settings_classes: dict[tuple, type] = {}

    def add(self, *flags: str, default=None, spec: Spec | None = None, group=None, dest: str | None = None,
            **kwargs) -> None:
        """``parser.add_argument`` with a recorded default; ``spec`` parses and checks the value."""
        target = group if group is not None else self.parser
        if kwargs.get("type") is Path:  # every path option is parsed by the one path rule
            spec, kwargs = Spec("path"), {k: v for k, v in kwargs.items() if k != "type"}
        if "help" in kwargs and kwargs["help"]:
            kwargs["help"] = kwargs["help"].replace("%", "%%")  # argparse formats help texts with %
        if spec is not None and "action" not in kwargs:
            kwargs["type"] = spec.parse
        if spec is not None and spec.kind in ("numbers", "names") and kwargs.get("help"):
            kwargs["help"] += f" ({LIST_RULE})"
        action = target.add_argument(*flags, default=argparse.SUPPRESS, dest=dest, **kwargs) if dest else \
            target.add_argument(*flags, default=argparse.SUPPRESS, **kwargs)
        self.defaults.setdefault(action.dest, default)
        if spec is not None:
            self.specs[action.dest] = spec
        if spec is not None and spec.kind == "path":
            self.paths.add(action.dest)

    def namespace(self, values: dict) -> argparse.Namespace:
        """What ``parser.parse_args`` gives for a command line that typed ``values`` (destination -> Python
        value), each value checked by its option's rule and put in the form parsing gives it (numbers in
        ascending order as floats, paths as :class:`~pathlib.Path`). How one command gives another its
        settings, with no command line written and parsed again; an option the command lacks is refused."""
        unknown = [k for k in values if k not in self.defaults]
        if unknown:
            raise InputError(f"{self.parser.prog} has no option {', '.join(flag(k) for k in unknown)}")
        typed = {}
        for name, value in values.items():
            spec = self.specs.get(name)
            if spec is not None and value is not None:
                if spec.kind == "numbers" and isinstance(value, list | tuple):
                    try:
                        value = ascending_numbers(value, value)
                    except InputError as err:
                        raise InputError(f"{flag(name)} has {err}") from None
                elif spec.kind == "names" and isinstance(value, tuple):
                    value = list(value)
                elif spec.kind == "path" and isinstance(value, str | Path):
                    value = Path(value)
                elif spec.kind == "str" and isinstance(value, Path):  # a folder held as text, as typed
                    value = str(value)
                if spec.kind != "path":
                    spec.check(value, flag(name))
            typed[name] = value
        return argparse.Namespace(**typed)

    def settings(self, values: dict):
        """``values`` (every option, and the parser's bookkeeping such as the command's name) as the command's
        typed settings: an instance of a frozen dataclass with one field per option, each annotated with the
        type its rule parses to (:data:`KIND_TYPES`). What a command's ``run(exp, settings)`` and
        ``check_args`` read; ``dataclasses.replace`` makes a changed copy."""
        extra = tuple(sorted(k for k in values if k not in self.defaults))
        if extra not in self._settings_classes:
            self._settings_classes[extra] = self._settings_class(extra)
        return self._settings_classes[extra](**{**self.defaults, **values})

    def _settings_class(self, extra: tuple):
        words = self.parser.prog.split()[1:] or [self.parser.prog]
        name = "".join(w.replace("-", " ").title().replace(" ", "") for w in words) + "Settings"
        fields = [(dest, KIND_TYPES.get(self.specs[dest].kind, object) if dest in self.specs else
                   type(default) if isinstance(default, bool | int | float | str) else object)
                  for dest, default in self.defaults.items()]
        fields += [(k, object) for k in extra]
        cls = dataclasses.make_dataclass(name, fields, frozen=True)
        cls.__doc__ = f"The settings of ``{self.parser.prog}``, one field per option."
        return cls

    def group(self, title: str):
        return self.parser.add_argument_group(title)

    def add_config(self, cls, names=None, *, defaults: dict | None = None, helps: dict | None = None,
                   group=None) -> None:
        """One option per field of the dataclass ``cls`` (built with :func:`option`), in field order.

        ``names`` limits them; ``defaults`` and ``helps`` override the dataclass's defaults and help texts.
        """
        defaults, helps = defaults or {}, helps or {}
        for f in dataclasses.fields(cls):
            meta = f.metadata
            if not meta.get("cli", False) or (names is not None and f.name not in names):
                continue
            spec: Spec = meta["spec"]
            default = defaults.get(f.name, f.default if f.default is not dataclasses.MISSING else None)
            help_text = helps.get(f.name, meta["help"])
            if spec.kind == "bool":
                self.add(flag(f.name), default=default, action="store_true", help=help_text, group=group)
            elif spec.kind == "tristate":
                both = (group or self.parser).add_mutually_exclusive_group()
                self.add(flag(f.name), default=default, action="store_true", dest=f.name, group=both,
                         help=help_text)
                self.add("--no-" + f.name.replace("_", "-"), default=default, action="store_false", dest=f.name,
                         group=both)
            else:
                self.add(flag(f.name), default=default, spec=spec, help=help_text, group=group,
                         required=meta.get("required", False),
                         metavar=None if spec.choices is None else "{" + ",".join(map(str, spec.choices)) + "}")

    def resolve(self, args: argparse.Namespace, recorded: dict | None = None) -> tuple[dict, dict]:
        """``(given, resolved)``: the options the run is given, and every option with its default filled in.

        ``recorded`` (a run directory's ``config.json``) supplies the options the command line leaves out,
        so that a rerun continues the run it finds; what the command line types wins (and a conflict is
        the run directory's check to refuse).
        """
        typed = {k: v for k, v in vars(args).items() if k in self.defaults}
        from_run = {k: (Path(v) if k in self.paths and v is not None else v)
                    for k, v in (recorded or {}).items() if k in self.defaults and k not in typed}
        given = {**from_run, **typed}
        return given, {**self.defaults, **given}

