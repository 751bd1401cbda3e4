"""The training runner on Fashion-MNIST subsets: learning, files, resume, torchrun, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from hfc_fast.data import FASHION_MNIST_ROOT
from hfc_fast.experiments.cli import main as hfc
from hfc_fast.experiments.core.config import TrainConfig
from hfc_fast.experiments.core.training import train

needs_fmnist = pytest.mark.skipif(not (FASHION_MNIST_ROOT / "t10k-images-idx3-ubyte.gz").exists(),
                                  reason="Debian's dataset-fashion-mnist is not installed")
pytestmark = needs_fmnist

TIMING = ("seconds", "train_seconds")


def small(**overrides) -> TrainConfig:
    values = dict(model="small_cnn", epochs=2, lr=1e-3, batch_size=100, train_limit=1500, test_limit=500,
                  track_train=500, eval_batch=250, radii=[4.0, 8.0], seed=int.from_bytes(os.urandom(2), "little"))
    values.update(overrides)
    return TrainConfig(**values)


def _strip(history):
    return [{k: v for k, v in h.items() if k not in TIMING} for h in history]


def test_short_run_learns_and_writes_its_files(tmp_path):
    history = train(small(epochs=3, train_limit=3000), tmp_path, progress=False)
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["test"]["acc"] > 0.6  # chance is 0.1
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    for split in ("train", "test"):
        record = history[-1][split]
        assert set(record["lfc"]) == set(record["hfc"]) == {"4", "8"}
        assert all(0 <= v <= 1 for v in [*record["lfc"].values(), *record["hfc"].values()])
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == history
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model"] == "small_cnn" and config["tracking_radii"] == [4.0, 8.0]
    state = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    assert state["epoch"] == 3
    png = (tmp_path / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_tracking_matches_a_plain_evaluation(tmp_path):
    from hfc_fast import frequency_split_reference
    from hfc_fast.data import load_fashion_mnist
    from hfc_fast.models import build_model

    config = small(epochs=1)
    history = train(config, tmp_path, progress=False)
    model = build_model("small_cnn", in_channels=1, image_size=28)
    model.load_state_dict(torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)["model"])
    model.eval()
    x, y = load_fashion_mnist(split="test")
    x, y = x[:500], y[:500]
    with torch.no_grad():
        assert history[0]["test"]["acc"] == pytest.approx(float((model(x).argmax(1) == y).float().mean()))
        low, high = frequency_split_reference(x, 8.0)
        assert history[0]["test"]["lfc"]["8"] == pytest.approx(float((model(low).argmax(1) == y).float().mean()),
                                                                abs=2 / 500)
        assert history[0]["test"]["hfc"]["8"] == pytest.approx(float((model(high).argmax(1) == y).float().mean()),
                                                                abs=2 / 500)


def test_interrupted_run_resumes_to_the_same_metrics(tmp_path):
    config = small(epochs=3, dropout=0.3, mixup=0.4)
    whole = train(config, tmp_path / "whole", progress=False)
    train(config, tmp_path / "cut", progress=False, stop_after_epoch=1)
    assert len((tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()) == 1
    resumed = train(config, tmp_path / "cut", resume=True, progress=False)
    assert _strip(resumed) == _strip(whole)


def test_variants_run(tmp_path):
    shuffled = train(small(epochs=1, shuffle_labels=True), tmp_path / "shuffled", progress=False)
    permutation = torch.load(tmp_path / "shuffled" / "label_permutation.pt", weights_only=True)
    assert torch.equal(permutation.sort().values, torch.arange(1500))
    assert shuffled[0]["test"]["acc"] < 0.5  # labels carry no signal
    for name, cfg in {
        "lfc": small(epochs=1, train_band="lfc", train_radius=8),
        "adv": small(epochs=1, adv_eps=0.03, adv_steps=2, train_limit=300),
        "sgd_bn": small(epochs=1, optimizer="sgd", lr=0.05, model="paper_resnet", batchnorm=True, train_limit=200,
                        test_limit=100, track_train=100, model_options={"blocks": 1}),
        "amp": small(epochs=1, amp=True, train_limit=300),
    }.items():
        history = train(cfg, tmp_path / name, progress=False)
        assert 0 <= history[0]["test"]["acc"] <= 1, name


def test_torchrun_two_processes_match_one(tmp_path):
    args = ["train", "--model", "small_cnn", "--epochs", "2", "--lr", "1e-3", "--train-limit", "1200",
            "--test-limit", "400", "--track-train", "400", "--radii", "4,8", "--no-progress", "--seed", "5"]
    hfc([*args, "--out", str(tmp_path / "single")])
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    "-m", "hfc_fast.experiments.cli", *args, "--out", str(tmp_path / "ddp")],
                   check=True, env=env, timeout=300, capture_output=True)
    single = [json.loads(line) for line in (tmp_path / "single" / "metrics.jsonl").read_text().splitlines()]
    ddp = [json.loads(line) for line in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    assert json.loads((tmp_path / "ddp" / "config.json").read_text())["world_size"] == 2
    for a, b in zip(single, ddp, strict=True):
        assert b["test"]["n"] == a["test"]["n"] == 400
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-3)
        assert b["test"]["acc"] == pytest.approx(a["test"]["acc"], abs=0.01)
        for r in ("4", "8"):
            assert b["test"]["lfc"][r] == pytest.approx(a["test"]["lfc"][r], abs=0.01)


@pytest.mark.parametrize("overrides, error, match", [
    ({"model": "resnet152"}, ValueError, "model must be one of"),
    ({"optimizer": "lbfgs"}, ValueError, "optimizer must be one of"),
    ({"dataset": "cifar10", "data_root": "/nonexistent/cifar"}, FileNotFoundError, "does not exist"),
    ({"radii": [4.0, 40.0]}, ValueError, "does not fit a 28×28 image"),
    ({"train_band": "lfc"}, ValueError, "needs a positive train_radius"),
    ({"train_band": "hfc", "train_radius": 30}, ValueError, "train_radius 30 does not fit"),
    ({"dropout": 1.0}, ValueError, "dropout"),
])
def test_bad_settings_are_named(tmp_path, overrides, error, match):
    with pytest.raises(error, match=match):
        train(small(**overrides), tmp_path, progress=False)


def test_existing_run_and_bad_resume(tmp_path, capsys):
    train(small(epochs=1), tmp_path, progress=False)
    with pytest.raises(FileExistsError, match="--resume"):
        train(small(epochs=1), tmp_path, progress=False)
    first = json.loads((tmp_path / "config.json").read_text())
    with pytest.raises(FileExistsError, match=r"other settings \(lr: 0.5 here, 0.001 in the run, seed: "):
        train(small(epochs=2, lr=0.5), tmp_path, resume=True, progress=False)
    train(small(epochs=2, seed=first["seed"], device="cpu"), tmp_path, resume=True, progress=False)  # may change
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train(small(), tmp_path / "fresh", resume=True, progress=False)
    assert hfc(["train", "--out", str(tmp_path / "x"), "--radii", "99", "--model", "small_cnn"]) == 2
    assert "does not fit" in capsys.readouterr().err
