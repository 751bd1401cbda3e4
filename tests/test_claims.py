"""``hfc claims``: every claim judged on one page, trainings shared between claims, resumed after a kill, a
finished run reused."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import torch
from test_suite import hfc, interrupt_at_call, needs_fmnist, png_ok

import hfc_fast.experiments.commands.claims as claims_module
from hfc_fast.errors import InputError
from hfc_fast.experiments.commands import masks
from hfc_fast.experiments.core.config import PRESETS, TrainConfig
from hfc_fast.experiments.core.experiment import shared_name
from hfc_fast.experiments.core.model_sources import checkpoint_state, model_from_state
from hfc_fast.smoothing import first_conv
from hfc_fast.spectrum import high_frequency_shares

from reports import check_tables, check_verdicts

QUICK = ["claims", "--budget", "quick", "--seeds", "2", "--no-progress"]


def quick_config(**changes) -> TrainConfig:
    return TrainConfig.from_dict({**TrainConfig().to_dict(), **PRESETS["quick"], **changes}).validate()


def test_one_training_is_one_shared_folder():
    radii = [3.5, 7.0, 10.5, 14.0]
    base = shared_name(quick_config(), radii)
    # the defaults spelled out name the same training; the device and evaluation batch do not change it
    assert shared_name(quick_config(radii=radii, batchnorm=False, device="cpu", eval_batch=64), radii) == base
    # what changes the training or its tracking names another
    for changes in ({"lr": 1e-2}, {"seed": 1}, {"epochs": 4}, {"batchnorm": True}, {"radii": [3.5]},
                    {"train_band": "lfc", "train_radius": 3.5}, {"model": "mlp"}):
        assert shared_name(quick_config(**changes), radii) != base, changes
    assert base.startswith("small_cnn-s0-")


def first_layer_shares(folder):
    return high_frequency_shares(first_conv(model_from_state(checkpoint_state(folder / "checkpoints" /
                                                                                   "last.pt"))).weight)


@needs_fmnist
def test_claims_share_trainings_resume_after_a_kill_and_reuse_a_finished_run(tmp_path, monkeypatch):
    out = tmp_path / "claims"
    args = [*QUICK, "--only", "kernels,masks,implicit-bias", "--out", str(out)]
    # killed in the masks sub-run, after kernels finished
    interrupt_at_call(monkeypatch, masks, "run", 1)
    assert hfc(args) == 130
    kernels_done = (out / "kernels" / "results.json").stat().st_mtime_ns
    monkeypatch.undo()
    assert hfc(args) == 0
    assert (out / "kernels" / "results.json").stat().st_mtime_ns == kernels_done  # not run again

    results = json.loads((out / "results.json").read_text())
    assert set(results["claims"]) == {"kernels", "implicit-bias", "masks"}
    (smoother,) = check_verdicts(results["claims"]["kernels"], seeds=2, count=1)
    check_verdicts(results["claims"]["masks"], seeds=2, count=1)
    check_verdicts(results["claims"]["implicit-bias"], seeds=claims_module.IMPLICIT_BIAS_SEEDS, count=1)
    assert results["verdicts"] == [v for c in ("kernels", "implicit-bias", "masks")
                                   for v in results["claims"][c]["verdicts"]]  # in the order of the papers

    # the masks re-use the natural and adversarial models kernels trained and add the augmented one: 3 models ×
    # 2 seeds in all
    configs = {p: json.loads((p / "config.json").read_text()) for p in (out / "runs").iterdir()}
    assert len(configs) == 6 and not (out / "kernels" / "runs").exists() and not (out / "masks" / "runs").exists()
    assert sum(c["augment"] == "affine" for c in configs.values()) == 2
    # the kernels' effect recomputed from those checkpoints: natural − adversarial filter share, mean over seeds
    arms = {}
    for folder, config in configs.items():
        if config["augment"] == "none":
            arms.setdefault(config["adv_eps"] > 0, {})[config["seed"]] = first_layer_shares(folder)
    expected = sum(arms[False][s].mean() - arms[True][s].mean() for s in (0, 1)) / 2
    assert smoother["parts"][0]["effect"]["estimate"] == pytest.approx(float(expected), abs=1e-9)

    # one page: every verdict with its interval, linked to the claim's own report
    report = (out / "report.md").read_text()
    check_tables(report)
    png_ok(out / "verdicts.png")
    for v in results["verdicts"]:
        e = v["parts"][0]["effect"]
        assert v["claim"] in report and f"{e['estimate']:+.3f} [{e['low']:+.3f}, {e['high']:+.3f}]" in report
    for link in re.findall(r"\]\(([^)]+)\)", report):
        assert (out / link).exists(), link
    html = (out / "report.html").read_text()
    assert '<a href="kernels/report.html">' in html and (out / "kernels" / "report.html").exists()
    assert re.search(r"\| vanilla \| 1 \| 600 \| 2 \|", report) and re.search(r"adv_eps=0\.03 \| 1 \| 600 \| 2", report)

    # a rerun of the finished run runs nothing again
    def no_runs(*a, **k):
        raise AssertionError("a finished claim was run again")

    monkeypatch.setattr(claims_module, "run_command", no_runs)
    assert hfc(args) == 0
    assert json.loads((out / "results.json").read_text())["verdicts"] == results["verdicts"]


@needs_fmnist
def test_claims_under_torchrun(tmp_path):
    out = tmp_path / "two"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    "-m", "hfc_fast.experiments.cli", *QUICK, "--only", "kernels", "--out", str(out)],
                   check=True, env=env, timeout=600, capture_output=True)
    results = json.loads((out / "results.json").read_text())
    assert results["world_size"] == 2
    assert json.loads((out / "kernels" / "results.json").read_text())["world_size"] == 2
    check_verdicts(results, seeds=2, count=1)
    # each training ran data-parallel over the two processes and was written once
    for folder in (out / "runs").iterdir():
        assert json.loads((folder / "config.json").read_text())["world_size"] == 2
        assert torch.isfinite(first_layer_shares(folder)).all()


def test_bad_claims_options_are_named(capsys):
    assert hfc(["claims", "--budget", "huge"]) == 2
    assert "--budget" in capsys.readouterr().err
    assert hfc(["claims", "--only", "table1,nope"]) == 2
    assert "--only" in capsys.readouterr().err
    assert hfc(["claims", "--seeds", "0"]) == 2
    assert "--seeds" in capsys.readouterr().err


@pytest.mark.parametrize("budget", ["quick", "full"])
def test_each_claims_settings_are_what_its_command_line_parses_to(budget, tmp_path):
    """A sub-run's settings are Python values checked by its command's own option rules, and equal to what
    parsing the logged command line gives: no argument string is built and parsed again."""
    import argparse

    from hfc_fast.experiments.core.options import Options, Parser

    args = argparse.Namespace(budget=budget, seeds=2, out=tmp_path, dataset="fashion-mnist", device="cpu",
                              model="small_cnn", data_root=tmp_path / "data", image_size=32, no_progress=True)
    for command, claim in claims_module.CLAIMS.items():
        settings = claims_module.sub_settings(command, args)
        options = Options(Parser(prog=f"hfc {command}"))
        claim.module.add_arguments(options)
        typed = vars(options.namespace(settings))
        line = claims_module.command_line(command, settings).split()[2:]
        assert typed == vars(options.parser.parse_args(line)), command
        assert typed["out"] == tmp_path / command and typed["seeds"] == (10 if command == "implicit-bias" else 2)


def test_a_claims_setting_its_command_lacks_or_a_bad_value_is_refused():
    from hfc_fast.experiments.core.options import Options, Parser

    options = Options(Parser(prog="hfc robustness"))
    claims_module.CLAIMS["robustness"].module.add_arguments(options)
    with pytest.raises(ValueError, match="hfc robustness has no option --no-such"):
        options.namespace({"no_such": 1})
    with pytest.raises(ValueError, match="--attack-images must be an integer >= 1, got 0"):
        options.namespace({"attack_images": 0})
    with pytest.raises(ValueError, match="--rhos has a repeated number"):
        options.namespace({"rhos": [1.0, 1]})
    assert options.namespace({"rhos": [1, 0.5]}).rhos == [0.5, 1.0]


def test_the_trainings_table_keeps_earlier_rows_whose_runs_are_gone(tmp_path):
    """A variant measured in ``runs`` replaces the earlier row of the same settings; an earlier row whose runs
    were removed stays; vanilla first, then by settings."""
    g = torch.Generator().manual_seed(int(torch.randint(0, 2**31, ())))
    accs = []
    for seed in range(2):
        folder = tmp_path / "runs" / f"run-{seed}"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps({**quick_config(seed=seed, mixup=0.5).to_dict(),
                                                        "epochs": 4, "train_limit": 10000}))
        train, test = torch.rand(2, generator=g).tolist()
        accs.append((train, test))
        (folder / "metrics.jsonl").write_text(json.dumps({"train": {"acc": 0.1}, "test": {"acc": 0.2}}) + "\n" +
                                              json.dumps({"train": {"acc": train}, "test": {"acc": test}}) + "\n")
    kept = [["mixup=0.5", 4, 10000, 3, "0.000", "0.000 (0.000–0.000)"],
            ["dropout=0.5", 4, 10000, 3, "0.854", "0.844 (0.841–0.847)"],
            ["vanilla", 4, 10000, 3, "0.876", "0.864 (0.858–0.873)"],
            ["dropout=0.5", 10, 10000, 3, "0.901", "0.870 (0.860–0.880)"]]  # 10 epochs after 4: numbers as numbers
    rows = claims_module.trainings(tmp_path / "runs", kept)
    tests = [t for _, t in accs]
    assert rows == [kept[2], kept[1], kept[3],
                    ["mixup=0.5", 4, 10000, 2, f"{sum(a for a, _ in accs) / 2:.3f}",
                     f"{sum(tests) / 2:.3f} ({min(tests):.3f}–{max(tests):.3f})"]]
    assert claims_module.trainings(tmp_path / "nothing", kept) == [kept[2], kept[1], kept[3], kept[0]]
    # an earlier overview that is not JSON is named, not a traceback
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(InputError, match=r"results\.json is not a readable claims overview"):
        claims_module.earlier_trainings(tmp_path)
