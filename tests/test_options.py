"""The option layer: one rule per value (Spec), options derived from the training dataclasses, presets."""

from __future__ import annotations

import argparse
import dataclasses
import math

import pytest

from hfc_fast.experiments.cli import build_parser
from hfc_fast.experiments.core.config import PRESETS, DetectTrainConfig, TrainConfig
from hfc_fast.experiments.core.options import Options, Parser, Spec, flag, parse_numbers


@pytest.mark.parametrize("spec, text, value", [
    (Spec("int", minimum=1), "3", 3),
    (Spec("float", above=0), "1e-3", 1e-3),
    (Spec("float", minimum=0, below=1), "0", 0.0),
    (Spec("numbers", above=0), "4, 8,12.5", [4.0, 8.0, 12.5]),
    (Spec("names", choices=("lfc", "hfc")), "hfc,lfc", ["hfc", "lfc"]),
    (Spec("limit", minimum=1), "all", None),
    (Spec("limit", minimum=1), "20", 20),
    (Spec("str", choices=("a", "b")), "b", "b"),
    (Spec("device"), "cuda:3", "cuda:3"),
    (Spec("device"), "auto", "auto"),
])
def test_spec_parses_valid_values(spec, text, value):
    assert spec.parse(text) == value
    assert spec.check(value, "x") == value


@pytest.mark.parametrize("spec, text, words", [
    (Spec("int", minimum=1), "0", "must be an integer >= 1, got '0'"),
    (Spec("int", minimum=1), "1.5", "must be an integer >= 1, got '1.5'"),
    (Spec("float", above=0), "inf", "must be a finite number > 0, got 'inf'"),
    (Spec("float", above=0), "nan", "must be a finite number > 0, got 'nan'"),
    (Spec("float", minimum=0, below=1), "1", "must be a finite number >= 0 and < 1, got '1'"),
    (Spec("numbers", above=0), "4,x", "must be comma-separated finite numbers without repeats, each > 0, got '4,x'"),
    (Spec("numbers", above=0), "4,-1", "must be comma-separated finite numbers without repeats, each > 0, got '4,-1'"),
    (Spec("names", choices=("lfc", "hfc")), "mid", "must be comma-separated names from lfc, hfc, each once, got 'mid'"),
    (Spec("limit", minimum=1), "0", "must be a count >= 1 or 'all', got '0'"),
    (Spec("str", choices=("a", "b")), "c", "must be one of a, b, got 'c'"),
    (Spec("device"), "tpu", "must be auto, cpu, cuda or cuda:N, got 'tpu'"),
])
def test_spec_refuses_with_words_that_say_what_is_expected(spec, text, words):
    with pytest.raises(argparse.ArgumentTypeError, match="^" + words.replace("(", r"\(").replace(")", r"\)")):
        spec.parse(text)


def test_check_names_the_setting():
    with pytest.raises(ValueError, match=r"^lr must be a finite number > 0, got nan$"):
        Spec("float", above=0).check(math.nan, "lr")
    with pytest.raises(ValueError, match="momentum must be a finite number >= 0 and < 1"):
        TrainConfig(momentum=1.5).validate()
    assert parse_numbers("12, 4,8") == [4.0, 8.0, 12.0]  # ascending, whatever the order typed
    for bad in ("4,,8", "4,8,", "4,4", "4,4.0", ""):
        with pytest.raises(ValueError):
            parse_numbers(bad)


def test_the_parser_reports_one_line_naming_the_option(capsys):
    parser = Parser(prog="hfc x")
    Options(parser).add("--lr", default=1.0, spec=Spec("float", above=0))
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(["--lr", "-2"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err == "hfc x: --lr must be a finite number > 0, got '-2' (see 'hfc x --help')\n"


def test_options_keep_defaults_apart_from_what_is_typed():
    parser = Parser(prog="t")
    options = Options(parser)
    options.add("--a", default=3, spec=Spec("int"))
    options.add("--b", default="x")
    given, resolved = options.resolve(parser.parse_args(["--a", "3"]))
    assert given == {"a": 3} and resolved == {"a": 3, "b": "x"}


def test_train_options_are_the_dataclass_fields():
    _, options = build_parser()
    cli_fields = {f.name for f in dataclasses.fields(TrainConfig) if f.metadata["cli"]}
    assert set(options["train"].defaults) == cli_fields | {"out", "resume", "no_progress", "tensorboard"}
    for name in cli_fields:
        assert options["train"].defaults[name] == getattr(TrainConfig(), name), name
    assert set(options["detect train"].defaults) == {f.name for f in dataclasses.fields(DetectTrainConfig)} | {
        "out", "resume", "no_progress"}
    assert flag("train_limit") == "--train-limit"


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_are_valid_training_settings(preset):
    TrainConfig.from_dict(PRESETS[preset]).validate()


def test_a_command_is_given_a_frozen_dataclass_of_its_typed_options(tmp_path):
    from hfc_fast.experiments.cli import command_module
    from hfc_fast.experiments.core.experiment import resolve_args

    parser, options = build_parser()
    args = parser.parse_args(["surface", "--eps", "0.1,0.05", "--attacks", "autoattack", "--out", str(tmp_path)])
    given, settings = resolve_args("surface", command_module("surface"), options["surface"], args)
    assert dataclasses.is_dataclass(settings) and type(settings).__name__ == "SurfaceSettings"
    assert settings.eps == [0.05, 0.1] and settings.attacks == ["autoattack"] and settings.steps == 10
    assert given == {"eps": [0.05, 0.1], "attacks": ["autoattack"], "out": tmp_path}
    types = {f.name: f.type for f in dataclasses.fields(settings)}
    assert set(options["surface"].defaults) <= set(types)
    assert types["eps"] == list[float] and types["steps"] is int and types["attacks"] == list[str]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.steps = 3
    assert dataclasses.replace(settings, steps=3).steps == 3 and settings.steps == 10
    _, detect = resolve_args("detect train", command_module("detect train"), options["detect train"],
                             parser.parse_args(["detect", "train", "--image-dir", "x", "--annotations", "y.json"]))
    assert type(detect).__name__ == "DetectTrainSettings" and detect.detect_command == "train"
