"""Every experiment subcommand end to end on tiny slices of Fashion-MNIST, and the pieces behind them."""

from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import hfc_fast.tracking as tracking_module
from hfc_fast import frequency_split_reference
from hfc_fast.data import FASHION_MNIST_ROOT
from hfc_fast.data.augment import random_affine
from hfc_fast.experiments.cli import main as hfc
from hfc_fast.experiments.commands.implicit_bias import fourier_norms
from hfc_fast.experiments.commands.masks import apply_mask, half_plane_radius
from hfc_fast.experiments.commands.svd import energy_matched_rank, svd_split
from hfc_fast.experiments.core.model_sources import load_run

from reports import check_tables, check_verdicts

needs_fmnist = pytest.mark.skipif(not (FASHION_MNIST_ROOT / "t10k-images-idx3-ubyte.gz").exists(),
                                  reason="Debian's dataset-fashion-mnist is not installed")

TINY = ["--train-limit", "200", "--test-limit", "150", "--epochs", "1", "--no-progress"]


def png_ok(path):
    """A PNG that decodes and is not one flat colour."""
    image = Image.open(io.BytesIO(path.read_bytes()))
    image.load()
    pixels = torch.from_numpy(np.asarray(image.convert("L"), dtype=np.float32))
    assert pixels.std() > 1.0, f"{path} is blank"


def check_run(out, figures):
    """config.json, results.json, report.md with resolvable links, report.html with inline figures."""
    for name in figures:
        png_ok(out / name)
    results = json.loads((out / "results.json").read_text())
    assert results["seconds"] > 0 and results["world_size"] == 1
    report = (out / "report.md").read_text()
    links = re.findall(r"\]\(([^)]+)\)", report)
    assert links, "the report shows no figure"
    for link in links:
        assert (out / link).exists(), link
    assert report.count("data:image") == 0
    assert (out / "report.html").read_text().count("data:image/png;base64,") == len(links)
    assert json.loads((out / "config.json").read_text())["command"]
    check_tables(report)
    return results, report


def interrupt_at_call(monkeypatch, module, name: str, n: int) -> None:
    """``module.name`` raises KeyboardInterrupt (Ctrl-C) on its ``n``-th call."""
    real, calls = getattr(module, name), {"n": 0}

    def dying(*a, **k):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(module, name, dying)


def image_tree(root, splits, per_class: int) -> None:
    """An ImageNet-style tree of random 40×36 RGB PNGs: ``root/<split>/{cat,dog}/<i>.png``."""
    rng = np.random.default_rng(int(torch.randint(0, 10_000, ())))
    for split in splits:
        for label in ("cat", "dog"):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(per_class):
                Image.fromarray(rng.integers(0, 256, (40, 36, 3), dtype=np.uint8)).save(folder / f"{i}.png")


def in_unit(value):
    return 0.0 <= value <= 1.0


# ---------------------------------------------------------------------- the subcommands
@needs_fmnist
def test_examples(tmp_path):
    out = tmp_path / "examples"
    assert hfc(["examples", "--out", str(out), *TINY]) == 0
    results, _ = check_run(out, ["examples.png"])
    assert results["radius"] == pytest.approx(10.5)  # r = 12 on 32×32, scaled to 28×28
    assert results["n"] == 150 and results["count"] == len(results["indices"])
    # recount with the model and the plain float64 split
    model, _, _ = load_run(out / "runs" / "natural-s0")
    from hfc_fast.data import load_fashion_mnist

    images, labels = load_fashion_mnist(None, "test")
    images, labels = images[:150], labels[:150]
    low, high = frequency_split_reference(images.double(), 10.5)
    with torch.no_grad():
        right = [model(v.float()).argmax(1) == labels for v in (images, low, high)]
    expected = (right[0] & ~right[1] & right[2]).nonzero().squeeze(1).tolist()
    assert results["indices"] == expected
    assert all(in_unit(c) for v in results["confidence"].values() for c in v)
    # the same run reused through --checkpoint
    again = tmp_path / "again"
    assert hfc(["examples", "--out", str(again), "--checkpoint", str(out / "runs" / "natural-s0"), *TINY]) == 0
    assert json.loads((again / "results.json").read_text())["indices"] == expected


@needs_fmnist
def test_table1(tmp_path):
    out = tmp_path / "t1"
    assert hfc(["table1", "--out", str(out), *TINY]) == 0
    results, report = check_run(out, ["runs/lfc-r4-s0/curves.png"])
    rows = results["rows"]
    assert {(r["band"], r["paper_radius"]) for r in rows} == {(b, r) for b in ("lfc", "hfc") for r in (4, 8, 12, 16)}
    assert all(in_unit(r["train_acc"]) and in_unit(r["test_acc"]) for r in rows)
    assert [r["radius"] for r in rows[:4]] == [3.5, 7.0, 10.5, 14.0]
    (v,) = check_verdicts(results, seeds=1, count=1)
    lfc, hfc_ = ([r["test_acc"] for r in rows if r["band"] == b] for b in ("lfc", "hfc"))
    assert v["parts"][0]["effect"]["estimate"] == pytest.approx(sum(lfc) / 4 - sum(hfc_) / 4, abs=1 / 150)
    assert "0.6167" in report or "0.617" in report  # the paper's Table 1 beside ours
    assert (out / "table1.csv").read_text().count("\n") == 9


@needs_fmnist
def test_shuffle_with_two_seeds(tmp_path):
    out = tmp_path / "shuffle"
    assert hfc(["shuffle", "--out", str(out), "--seeds", "2", *TINY]) == 0
    results, report = check_run(out, ["shuffle-s0.png", "shuffle-s1.png"])
    assert len(results["first_epoch_train_lfc"]["natural"]) == 2
    (v,) = check_verdicts(results, seeds=2, count=1)
    first = results["first_epoch_train_lfc"]
    assert v["parts"][0]["effect"]["estimate"] == pytest.approx(
        (sum(first["natural"]) - sum(first["shuffled"])) / 2, abs=1 / 100)  # up to rounding to whole images
    assert "× 2 seeds" in report
    permutation = torch.load(out / "runs" / "shuffled-s1" / "label_permutation.pt", weights_only=True)
    assert sorted(permutation.tolist()) == list(range(200))


@needs_fmnist
def test_heuristics(tmp_path):
    out = tmp_path / "heur"
    args = ["heuristics", "--out", str(out), "--train-limit", "100", "--test-limit", "100", "--epochs", "1",
            "--no-progress"]
    assert hfc(args) == 0
    results, _ = check_run(out, ["batch_size.png", "heuristics.png", "architectures.png", "optimizers.png"])
    groups = results["groups"]
    assert set(groups["architectures"]) == {"lenet", "alexnet", "vgg11", "paper_resnet"}
    assert set(groups["optimizers"]) == {"sgd", "adam", "adagrad", "adadelta", "rmsprop"}
    for finals in groups.values():
        for f in finals.values():
            assert in_unit(f["train"]) and in_unit(f["test"]) and f["gap"] == pytest.approx(f["train"] - f["test"])
    config = json.loads((out / "runs" / "heuristics-mixup-0-5-s0" / "config.json").read_text())
    assert config["mixup"] == 0.5 and config["model"] == "small_cnn"
    batch, mixup, batchnorm = check_verdicts(results, seeds=1, count=3)
    hfc_mean = {n: sum(f["test_hfc"].values()) / len(f["test_hfc"]) for g in groups.values() for n, f in g.items()}
    assert batch["parts"][0]["effect"]["estimate"] == pytest.approx(hfc_mean["batch 25"] - hfc_mean["batch 400"],
                                                                    abs=1 / 100)
    assert mixup["parts"][0]["effect"]["estimate"] == pytest.approx(hfc_mean["mixup 0.5"] - hfc_mean["vanilla"],
                                                                    abs=1 / 100)
    assert len(batchnorm["parts"]) == 2


@needs_fmnist
def test_bn_lfc(tmp_path):
    out = tmp_path / "bn"
    assert hfc(["bn-lfc", "--out", str(out), "--paper-radii", "4,12", *TINY]) == 0
    results, _ = check_run(out, ["bn_lfc.png"])
    assert len(results["final"]) == 4
    (v,) = check_verdicts(results, seeds=1, count=1)
    first = {bn: [f["first_epoch_train"] for k, f in results["final"].items() if ("with " in k) == bn]
             for bn in (True, False)}
    assert v["parts"][0]["effect"]["estimate"] == pytest.approx(sum(first[True]) / 2 - sum(first[False]) / 2,
                                                                abs=1 / 200)
    with_bn = json.loads((out / "runs" / "lfc-r4-bn-s0" / "config.json").read_text())
    assert with_bn["batchnorm"] is True and with_bn["train_band"] == "lfc" and with_bn["train_radius"] == 3.5


@needs_fmnist
def test_kernels_and_robustness_share_their_models(tmp_path):
    out = tmp_path / "k"
    assert hfc(["kernels", "--out", str(out), *TINY]) == 0
    results, _ = check_run(out, ["kernels-s0.png"])
    assert set(results["mean"]) == {"natural", "adversarial", "natural ρ=0.5", "natural ρ=1"}
    assert all(in_unit(v) for v in results["mean"].values())
    # smoothing lowers the high-frequency share (a low-pass of the kernels)
    assert results["mean"]["natural ρ=1"] < results["mean"]["natural"]
    (v,) = check_verdicts(results, seeds=1, count=1)
    assert v["parts"][0]["unit"] == "filters" and v["parts"][0]["effect"]["units"] == 2 * 16  # two models' filters

    out = tmp_path / "r"
    assert hfc(["robustness", "--out", str(out), "--attack-images", "100", *TINY]) == 0
    results, _ = check_run(out, ["robustness.png"])
    assert len(results["mean"]) == 10
    for r in results["mean"]:
        assert in_unit(r["clean"]) and r["pgd"] == sorted(r["pgd"], reverse=True)
        assert all(p <= c + 1e-9 for p, c in zip(r["pgd"], [r["clean"]] * 3, strict=True))
    assert "0.856" in (out / "report.md").read_text()
    assert (out / "robustness.csv").read_text().count("\n") == 11
    trade, survives, unmasked = check_verdicts(results, seeds=1, count=3)
    plain, smooth = (next(r for r in results["mean"] if r["model"] == "natural" and r["rho"] == rho) for rho in (0, 1))
    assert [p["effect"]["estimate"] for p in trade["parts"]] == pytest.approx(
        [smooth["clean"] - plain["clean"], smooth["pgd"][-1] - plain["pgd"][-1]])
    assert survives["parts"][0]["effect"]["estimate"] == pytest.approx(smooth["worst"][-1] - plain["worst"][-1])
    assert len(unmasked["parts"]) == 4
    (masking,) = results["masking"]  # the Square part: Square − white-box worst case, one seed
    assert unmasked["parts"][3]["effect"]["estimate"] == pytest.approx(
        masking["square"] - masking["white_box_worst"], abs=1e-9)
    # which attack found what: every image right unattacked and fooled is attributed to exactly one attack
    for r in results["rows"]:
        assert [a for a, _ in r["found"]] == ["fgsm", "pgd", "apgd-ce", "apgd-dlr"]  # in the order run
        for i in range(3):
            assert sum(c[i] for _, c in r["found"]) == round(r["n"] * (r["clean"] - r["worst"][i]))
    report = (out / "report.md").read_text()
    assert "## Which attack found what" in report and "first fooled at ε = 0.09" in report


@needs_fmnist
def test_svd(tmp_path):
    out = tmp_path / "svd"
    assert hfc(["svd", "--out", str(out), "--paper-radii", "4,12", *TINY]) == 0
    results = json.loads((out / "results.json").read_text())
    for row in results["rows"]:
        assert 0 <= row["fft_count"] <= 150 and 0 <= row["svd_count"] <= 150 and 1 <= row["mean_rank"] <= 28
    (v,) = check_verdicts(results, seeds=1, count=1)
    rows = results["rows"]
    assert v["parts"][0]["effect"]["estimate"] == pytest.approx(
        sum(r["fft_count"] - r["svd_count"] for r in rows) / (len(rows) * 150))
    assert "much fewer images" in (out / "report.md").read_text()


@needs_fmnist
def test_archs(tmp_path):
    out = tmp_path / "archs"
    args = ["archs", "--out", str(out), "--attack-images", "60", "--steps", "3", "--train-limit", "100",
            "--test-limit", "60", "--epochs", "1", "--no-progress"]
    assert hfc(args) == 0
    results, _ = check_run(out, ["spectra-s0.png"])
    models = results["seeds"]["0"]
    assert set(models) == {"fully connected", "local conv k=3", "local conv k=11", "full-width conv", "ViT"}
    for m in models.values():
        assert in_unit(m["perturbation_hf_share"]) and in_unit(m["features_hf_share"]) and in_unit(m["robust_acc"])
        assert len(m["perturbation"]) == len(m["features"]) == 20  # radial bins of a 28×28 image
        assert len(m["perturbation_hf_shares"]) == 60 and all(in_unit(v) for v in m["perturbation_hf_shares"])
    order, local = check_verdicts(results, seeds=1, count=2)
    assert len(order["parts"]) == 2 and len(local["parts"]) == 2
    share = {k: sum(m["perturbation_hf_shares"]) / 60 for k, m in models.items()}
    assert local["parts"][1]["effect"]["estimate"] == pytest.approx(share["local conv k=3"] - share["ViT"])


@needs_fmnist
def test_masks(tmp_path):
    out = tmp_path / "masks"
    args = ["masks", "--out", str(out), "--mask-steps", "20", "--mask-images", "100", *TINY]
    assert hfc(args) == 0
    results, _ = check_run(out, ["masks.png"])
    assert set(results["models"]) == {"naive", "adversarial", "augmented"}
    for name in ("naive", "adversarial", "augmented"):
        (r,) = results["models"][name]
        assert all(in_unit(v) for v in r["by_radius"]) and in_unit(r["high_frequency_mass"])
        assert in_unit(r["accuracy_masked"]) and in_unit(r["accuracy_complement"])
    (v,) = check_verdicts(results, seeds=1, count=1)
    (naive,) = results["models"]["naive"]
    assert v["parts"][0]["effect"]["estimate"] == pytest.approx(naive["accuracy_masked"] - naive["accuracy_complement"])
    assert (out / "runs" / "natural-s0").is_dir()  # the naive model is hfc robustness's natural model
    config = json.loads((out / "runs" / "augmented-s0" / "config.json").read_text())
    assert config["augment"] == "affine"


def test_implicit_bias(tmp_path):
    out = tmp_path / "ib"
    assert hfc(["implicit-bias", "--out", str(out), "--steps", "300", "--no-progress"]) == 0
    results, _ = check_run(out, ["implicit_bias-s0.png"])
    final = results["final"]["0"]
    for model in ("linear conv", "linear fully connected"):
        assert 1.0 - 1e-9 <= final[model]["ratio"] <= 8.0 + 1e-9  # between one frequency and a flat spectrum
        assert final[model]["train_acc"] > 0.9  # separable data, fitted
    rows = (out / "curves-s0.csv").read_text().splitlines()
    assert rows[0].startswith("model,step") and len(rows) == 1 + 2 * 101
    (v,) = check_verdicts(results, seeds=1, count=1)
    e = v["parts"][0]["effect"]
    assert e["estimate"] == e["low"] == e["high"] == pytest.approx(
        final["linear fully connected"]["ratio"] - final["linear conv"]["ratio"])  # one seed, one value


@needs_fmnist
def test_sweep_matches_a_plain_evaluation_and_resumes(tmp_path, monkeypatch):
    from hfc_fast.data import load_fashion_mnist

    trained = tmp_path / "trained"
    assert hfc(["examples", "--out", str(trained), *TINY]) == 0
    run = trained / "runs" / "natural-s0"
    args = ["sweep", "--checkpoint", str(run), "--radii", "4,9", "--batch-size", "40", "--save-every", "1",
            "--test-limit", "150", "--no-progress"]
    out = tmp_path / "sweep"
    assert hfc([*args, "--out", str(out)]) == 0
    results, _ = check_run(out, ["sweep.png"])
    model, _, _ = load_run(run)
    images, labels = load_fashion_mnist(None, "test")
    images, labels = images[:150], labels[:150]
    low, high = frequency_split_reference(images.double(), [4, 9])
    with torch.no_grad():
        def acc(v, k):
            top = model(v.float()).topk(k, 1).indices
            return float((top == labels[:, None]).any(1).float().mean())
        assert results["original"]["top1"] == pytest.approx(acc(images, 1))
        assert results["original"]["top5"] == pytest.approx(acc(images, 5))
        for i, r in enumerate(("4", "9")):
            assert results["lfc"]["top1"][r] == pytest.approx(acc(low[i], 1))
            assert results["hfc"]["top5"][r] == pytest.approx(acc(high[i], 5))
    assert results["n"] == 150

    # killed after two batches, then resumed: the same numbers
    interrupt_at_call(monkeypatch, tracking_module, "frequency_split", 3)
    resumed = tmp_path / "resumed"
    assert hfc([*args, "--out", str(resumed)]) == 130  # interrupted: one line, exit 130
    partial = torch.load(next((resumed / "partial").rglob("rank0-of-1.pt")), weights_only=True)  # by model digest
    assert partial["next_batch"] == 2 and partial["n"] == 80
    monkeypatch.undo()
    assert hfc([*args, "--out", str(resumed)]) == 0
    again = json.loads((resumed / "results.json").read_text())
    assert {k: again[k] for k in ("original", "lfc", "hfc", "n")} == {k: results[k] for k in ("original", "lfc",
                                                                                              "hfc", "n")}


@needs_fmnist
def test_sweep_under_torchrun_equals_one_process(tmp_path):
    trained = tmp_path / "trained"
    assert hfc(["examples", "--out", str(trained), *TINY]) == 0
    args = ["sweep", "--checkpoint", str(trained / "runs" / "natural-s0"), "--radii", "5", "--batch-size", "30",
            "--test-limit", "150", "--no-progress"]
    assert hfc([*args, "--out", str(tmp_path / "one")]) == 0
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    "-m", "hfc_fast.experiments.cli", *args, "--out", str(tmp_path / "two")],
                   check=True, env=env, timeout=300, capture_output=True)
    one = json.loads((tmp_path / "one" / "results.json").read_text())
    two = json.loads((tmp_path / "two" / "results.json").read_text())
    assert two["world_size"] == 2
    assert {k: two[k] for k in ("original", "lfc", "hfc", "n")} == {k: one[k] for k in ("original", "lfc", "hfc",
                                                                                        "n")}


@needs_fmnist
def test_report_combines_runs(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert hfc(["implicit-bias", "--out", str(first), "--steps", "50", "--no-progress"]) == 0
    assert hfc(["implicit-bias", "--out", str(second), "--steps", "50", "--samples", "30", "--no-progress"]) == 0
    out = tmp_path / "combined"
    assert hfc(["report", str(first), str(second), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    links = re.findall(r"\]\(([^)]+)\)", text)
    assert len(links) == 2 and all((out / link).exists() for link in links)
    assert "## a" in text and "## b" in text
    assert (out / "report.html").read_text().count("data:image/png;base64,") == 2


# ---------------------------------------------------------------------- bad options
@pytest.mark.parametrize("args, message", [
    (["table1", "--preset", "huge"], "--preset must be one of"),
    (["examples", "--radius", "40"], "does not fit a 28×28 image"),
    (["bn-lfc", "--paper-radii", "4,40"], "--paper-radii (scaled) 35 does not fit"),
    (["svd", "--paper-radii", "4,x"],
     "--paper-radii must be comma-separated finite numbers without repeats, each > 0, got '4,x'"),
    (["examples", "--checkpoint", "no/such/run"], "no training checkpoint"),
    (["sweep", "--torchvision", "resnet18"], "--torchvision needs --weights"),
    (["sweep", "--torchvision", "resnet18", "--weights", "missing.pt"], "does not exist"),
    (["sweep", "--torchvision", "no_such_net", "--weights", "missing.pt"], "not a torchvision classification"),
    (["heuristics", "--groups", "colours"], "--groups must be comma-separated names from batch_size,"),
    (["table1", "--bands", "mid"], "--bands must be comma-separated names from lfc, hfc, each once, got 'mid'"),
    (["shuffle", "--seeds", "0"], "--seeds must be an integer >= 1, got '0'"),
    (["kernels", "--dataset", "svhn"], "--dataset must be one of"),
    (["report", "no/such/run"], "does not exist"),
    (["surface", "--attacks", "autoattack,pgd"], "--attacks autoattack is a whole suite and stands alone"),
    (["surface", "--attacks", "cw"], "--attacks must be comma-separated names from"),
    (["sweep", "--decode", "gpu"], "--decode must be one of"),
])
@needs_fmnist
def test_bad_options_are_named(tmp_path, capsys, args, message):
    out = ["--out", str(tmp_path / "out")] if args[0] != "report" else ["--out", str(tmp_path / "combined")]
    assert hfc([*args, *out] + (["--no-progress"] if args[0] != "report" else [])) == 2
    assert message in capsys.readouterr().err


@needs_fmnist
def test_a_directory_with_other_settings_is_refused(tmp_path, capsys):
    out = ["--out", str(tmp_path / "ib"), "--no-progress"]
    assert hfc(["implicit-bias", "--steps", "20", *out]) == 0
    assert hfc(["implicit-bias", "--steps", "30", *out]) == 2
    assert "other settings (steps: 30 here, 20 in the run)" in capsys.readouterr().err
    assert hfc(["implicit-bias", "--steps", "20", "--device", "cpu", *out]) == 0  # a device change may resume
    assert hfc(["svd", *out]) == 2
    assert "holds a 'implicit-bias' run" in capsys.readouterr().err


# ---------------------------------------------------------------------- the pieces
def test_svd_split_hand_case_and_reconstruction():
    u, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64))
    s = torch.tensor([5.0, 3.0, 2.0, 1.0, 0.5], dtype=torch.float64)
    x = u[:, :5] @ torch.diag(s) @ v.T
    dominant, trailing = svd_split(x, 2)
    expected = u[:, :2] @ torch.diag(s[:2]) @ v[:, :2].T
    torch.testing.assert_close(dominant, expected)
    torch.testing.assert_close(dominant + trailing, x)
    # energies 25, 9, 4, 1, 0.25 of 39.25: 25/39.25 = 0.6369, 34/39.25 = 0.8662
    shares = torch.tensor([0.0, 0.5, 0.636, 0.7, 0.866, 1.0])
    ranks = energy_matched_rank(x.expand(6, 6, 5), shares)
    assert ranks.tolist() == [0, 1, 1, 2, 2, 5]
    # per-matrix ranks on a batch: each matrix keeps its own
    batch = torch.randn(3, 2, 7, 7)
    full, rest = svd_split(batch, torch.tensor([[7, 7], [7, 7], [7, 7]]))
    torch.testing.assert_close(full, batch, atol=1e-5, rtol=0)
    assert rest.abs().max() < 1e-5


def test_half_plane_mask_equals_the_frequency_split():
    x = torch.randn(3, 2, 12, 10, dtype=torch.float64)
    for r in (2.0, 4.5, 7.0):
        mask = (half_plane_radius(12, 10) < r).double()
        low, _ = frequency_split_reference(x, r)
        torch.testing.assert_close(apply_mask(x, mask), low)
    torch.testing.assert_close(apply_mask(x, torch.ones(12, 6, dtype=torch.float64)), x)


def test_fourier_norms_hand_cases():
    delta = torch.zeros(8, 8)
    delta[0, 0] = 2.0
    flat = fourier_norms(delta)  # a delta has a flat spectrum: ratio √64
    assert flat["l2"] == pytest.approx(2.0) and flat["ratio"] == pytest.approx(8.0)
    grid = torch.arange(8.0, dtype=torch.float64)
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")
    wave = torch.cos(2 * math.pi * (yy + 2 * xx) / 8)  # two conjugate coefficients of equal size
    assert fourier_norms(wave)["ratio"] == pytest.approx(math.sqrt(2))


def test_random_affine_identity_and_range():
    x = torch.rand(4, 3, 16, 16)
    same = random_affine(x, degrees=0.0, translate=0.0, scale=(1.0, 1.0))
    torch.testing.assert_close(same, x, atol=1e-6, rtol=0)
    moved = random_affine(x, generator=torch.Generator().manual_seed(1))
    assert moved.shape == x.shape and moved.min() >= 0 and moved.max() <= 1
    assert not torch.allclose(moved, x)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        random_affine(x[0])


def test_sweep_of_a_torchvision_classifier_on_an_image_folder(tmp_path):
    """An ImageNet-style tree, a torchvision model with local weights and ImageNet normalisation."""
    torchvision = pytest.importorskip("torchvision")
    from hfc_fast.data.folder import load_image_folder
    from hfc_fast.experiments.core.model_sources import IMAGENET_MEAN, IMAGENET_STD

    image_tree(tmp_path / "tree", ("train", "val"), 5)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=2).eval()
    torch.save(model.state_dict(), tmp_path / "resnet18.pt")
    out = tmp_path / "sweep"
    assert hfc(["sweep", "--dataset", "imagefolder", "--data-root", str(tmp_path / "tree"), "--image-size", "32",
                "--torchvision", "resnet18", "--weights", str(tmp_path / "resnet18.pt"), "--num-classes", "2",
                "--radii", "4,8", "--batch-size", "4", "--workers", "0", "--out", str(out), "--no-progress"]) == 0
    results = json.loads((out / "results.json").read_text())
    data = load_image_folder(tmp_path / "tree", "val", 32)
    images = torch.stack([data[i][0] for i in range(len(data))])
    labels = torch.tensor([data[i][1] for i in range(len(data))])
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    low, high = frequency_split_reference(images.double(), [4, 8])
    with torch.no_grad():
        def acc(v):
            return float((model((v.float() - mean) / std).argmax(1) == labels).float().mean())
        assert results["n"] == 10
        assert results["original"]["top1"] == pytest.approx(acc(images))
        assert results["lfc"]["top1"]["8"] == pytest.approx(acc(low[1]))
        assert results["hfc"]["top1"]["4"] == pytest.approx(acc(high[0]))
    # two classes: top-5 would be trivially right, so it is not reported
    assert results["original"]["top5"] is None and results["classes"] == 2


def test_sweep_of_a_timm_model_applies_its_own_preprocessing_after_the_split(tmp_path):
    """A timm model with its weights saved here (nothing downloaded): its mean, std and input size are applied to
    each view after the split, so the split sees the images as read."""
    timm = pytest.importorskip("timm")
    from timm.data import resolve_model_data_config

    from hfc_fast.data.folder import load_image_folder

    image_tree(tmp_path / "tree", ("val",), 4)
    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=2).eval()
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    out = tmp_path / "sweep"
    assert hfc(["sweep", "--dataset", "imagefolder", "--data-root", str(tmp_path / "tree"), "--image-size", "32",
                "--timm", "test_resnet", "--weights", str(tmp_path / "weights.pt"), "--num-classes", "2",
                "--radii", "4,8", "--batch-size", "4", "--workers", "0", "--out", str(out), "--no-progress"]) == 0
    results = json.loads((out / "results.json").read_text())
    config = resolve_model_data_config(model)
    mean, std = (torch.tensor(config[k]).view(1, 3, 1, 1) for k in ("mean", "std"))
    data = load_image_folder(tmp_path / "tree", "val", 32)
    images = torch.stack([data[i][0] for i in range(len(data))])
    labels = torch.tensor([data[i][1] for i in range(len(data))])
    low, high = frequency_split_reference(images.double(), [4, 8])

    def acc(v):
        v = torch.nn.functional.interpolate(v.float(), size=config["input_size"][-2:], mode="bilinear",
                                            align_corners=False, antialias=True)
        with torch.no_grad():
            return float((model((v - mean) / std).argmax(1) == labels).float().mean())
    assert results["n"] == 8
    assert results["original"]["top1"] == pytest.approx(acc(images))
    assert results["lfc"]["top1"]["4"] == pytest.approx(acc(low[0]))
    assert results["hfc"]["top1"]["8"] == pytest.approx(acc(high[1]))


@needs_fmnist
def test_fourier_map_writes_its_maps_and_resumes(tmp_path, monkeypatch):
    trained = tmp_path / "trained"
    assert hfc(["examples", "--out", str(trained), *TINY]) == 0
    args = ["fourier-map", "--checkpoint", str(trained / "runs" / "natural-s0"), "--images", "60", "--stride", "3",
            "--batch-size", "20", "--save-every", "1", "--eps", "3", "--no-progress"]
    out = tmp_path / "map"
    assert hfc([*args, "--out", str(out)]) == 0
    results, report = check_run(out, ["maps.png", "band_noise.png"])
    (name, numbers), = results["models"].items()
    assert numbers["n"] == 60 and numbers["bases"] == len(__import__("hfc_fast").heat_map_frequencies(28, 28, stride=3))
    assert -1 <= numbers["rank_correlation_error"] <= 1 and "rank corr." in report
    maps = torch.load(out / "maps.pt", weights_only=True)[name]
    stacked = np.load(out / "maps.npy")
    assert stacked.shape == (1, 3, 28, 28)
    np.testing.assert_allclose(stacked[0, 0], maps["error"].numpy())
    assert int(torch.isfinite(maps["error"]).sum()) == 2 * numbers["bases"] - 1  # both of each pair, DC once

    # killed after two batches of the heat map, then resumed from the saved counts: the same maps
    import hfc_fast.fourier as fourier_module
    interrupt_at_call(monkeypatch, fourier_module, "fourier_perturb", 3)
    resumed = tmp_path / "resumed"
    assert hfc([*args, "--out", str(resumed), "--images-per-pass", "400"]) == 130
    monkeypatch.undo()
    assert hfc(["fourier-map", "--out", str(resumed)]) == 0
    again = torch.load(resumed / "maps.pt", weights_only=True)[name]
    for key in ("error", "loss"):
        torch.testing.assert_close(again[key], maps[key], equal_nan=True)


@needs_fmnist
@needs_fmnist
def test_surface_runs_pgd_or_the_worst_case_over_other_attacks(tmp_path):
    for attacks in ("pgd", "fgsm,apgd-ce"):
        out = tmp_path / attacks.replace(",", "-")
        assert hfc(["surface", "--attack-images", "30", "--eps", "0.05,0.1", "--paper-radii", "8", "--attacks", attacks,
                    "--out", str(out), *TINY]) == 0
        results, report = check_run(out, ["surface.png"])
        (surface,) = results["surfaces"].values()
        assert surface["n"] == 30 and all(in_unit(v) for v in surface["full"] + next(iter(surface["low"].values())))
        assert ("PGD-10" in report) == (attacks == "pgd") and ("fgsm, apgd-ce" in report) == (attacks != "pgd")


def test_fourier_map_compares_the_robustness_models(tmp_path):
    out = tmp_path / "compare"
    assert hfc(["fourier-map", "--compare", "--images", "40", "--stride", "4", "--out", str(out), *TINY]) == 0
    results, _ = check_run(out, ["maps.png", "band_noise.png"])
    assert set(results["models"]) == {"natural", "adversarial", "natural ρ=1"}
    assert (out / "runs" / "adversarial-s0" / "checkpoints" / "last.pt").exists()
