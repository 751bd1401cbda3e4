"""Bad input, refused in one line that names what is wrong: the commands (exit 2, no traceback) and the
public API (the exception type and a message naming the argument)."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pytest
import torch

import hfc_fast
from hfc_fast.attacks import BandProjection, deepfool, fgsm, noise_attack, pgd, robust_accuracy
from hfc_fast.data import FASHION_MNIST_ROOT
from hfc_fast.data.idx import read_idx
from hfc_fast.errors import InputError, NonFiniteError
from hfc_fast.experiments.cli import main as hfc

from attack_models import TinyCNN

needs_fmnist = pytest.mark.skipif(not (FASHION_MNIST_ROOT / "t10k-images-idx3-ubyte.gz").exists(),
                                  reason="Debian's dataset-fashion-mnist is not installed")

# (command line, words the one line must hold); "{tmp}" is a fresh folder, "{bad}" one of the broken files below
COMMAND_CASES = [
    (["train", "--lr", "inf"], "--lr must be a finite number > 0, got 'inf'"),
    (["train", "--lr", "nan"], "--lr must be a finite number > 0, got 'nan'"),
    (["train", "--momentum", "nan"], "--momentum must be a finite number >= 0 and < 1, got 'nan'"),
    (["train", "--momentum", "1.5"], "--momentum must be a finite number >= 0 and < 1"),
    (["train", "--dropout", "1"], "--dropout must be a finite number >= 0 and < 1"),
    (["train", "--mixup", "-1"], "--mixup must be a finite number >= 0"),
    (["train", "--adv-eps", "2"], "--adv-eps must be a finite number >= 0 and <= 1"),
    (["train", "--epochs", "0"], "--epochs must be an integer >= 1, got '0'"),
    (["train", "--batch-size", "-5"], "--batch-size must be an integer >= 1"),
    (["train", "--batch-size", "2.5"], "--batch-size must be an integer >= 1, got '2.5'"),
    (["train", "--radii", "4,,8"], "--radii must be comma-separated finite numbers"),
    (["train", "--radii", "8,8"], "--radii must be comma-separated finite numbers without repeats"),
    (["train", "--radii", "4,x"], "--radii must be comma-separated finite numbers"),
    (["train", "--device", "tpu"], "--device must be auto, cpu, cuda or cuda:N, got 'tpu'"),
    (["train", "--device", "cuda:7"], "--device cuda:7"),
    (["train", "--track-train", "0"], "--track-train must be a count >= 1 or 'all'"),
    (["train", "--test-limit", "-3"], "--test-limit must be a count >= 1 or 'all'"),
    (["train", "--seed", "-1"], "--seed must be an integer >= 0"),
    (["train", "--workers", "-1"], "--workers must be an integer >= 0"),
    (["train", "--model", "resnet152"], "--model must be one of paper_resnet"),
    (["train", "--train-band", "lfc"], "--train-band 'lfc' needs a positive train_radius"),
    (["train", "--train-radius", "0"], "--train-radius must be a finite number > 0"),
    (["train", "--bogus", "1"], "unrecognized arguments: --bogus"),
    (["train", "--out", "{tmp}/fresh", "--resume"], "--resume: no checkpoint at"),
    (["train", "--out", "{bad}/config", "--model", "small_cnn"], "is not a readable run configuration"),
    (["train", "--out", "{bad}/truncated", "--resume"], "is not a readable PyTorch file"),
    (["train", "--dataset", "mnist", "--data-root", "{bad}/mnist", "--model", "small_cnn"], "cannot be read"),
    (["sweep", "--radii", "4,,8"], "--radii must be comma-separated finite numbers"),
    (["sweep", "--batch-size", "0"], "--batch-size must be an integer >= 1"),
    (["sweep", "--save-every", "0"], "--save-every must be an integer >= 1"),
    (["sweep", "--workers", "-2"], "--workers must be an integer >= 0"),
    (["sweep", "--checkpoint", "{bad}/truncated/checkpoints/last.pt"], "is not a readable PyTorch file"),
    (["sweep", "--torchvision", "resnet18"], "--torchvision needs --weights"),
    (["examples", "--radius", "-3"], "--radius must be a finite number > 0"),
    (["examples", "--grid", "0"], "--grid must be an integer >= 1"),
    (["examples", "--radius", "40"], "--radius 40 does not fit a 28×28 image"),
    (["table1", "--bands", "lfc,lfc"], "--bands must be comma-separated names from lfc, hfc, each once"),
    (["table1", "--preset", "huge"], "--preset must be one of quick, paper, got 'huge'"),
    (["heuristics", "--groups", ""], "--groups must be comma-separated names"),
    (["kernels", "--rhos", "-1"], "--rhos must be comma-separated finite numbers without repeats, each >= 0"),
    (["robustness", "--attack-images", "0"], "--attack-images must be an integer >= 1"),
    (["robustness", "--pgd-steps", "nan"], "--pgd-steps must be an integer >= 1, got 'nan'"),
    (["archs", "--eps", "inf"], "--eps must be a finite number > 0 and <= 1"),
    (["archs", "--eps", "2"], "--eps must be a finite number > 0 and <= 1, got '2'"),
    (["masks", "--lam", "-1"], "--lam must be a finite number >= 0"),
    (["masks", "--mask-steps", "0"], "--mask-steps must be an integer >= 1"),
    (["implicit-bias", "--lr", "0"], "--lr must be a finite number > 0"),
    (["implicit-bias", "--samples", "1"], "--samples must be an integer >= 2"),
    (["svd", "--paper-radii", "4,,8"], "--paper-radii must be comma-separated finite numbers"),
    (["bn-lfc", "--paper-radii", "4,40"], "--paper-radii (scaled) 35 does not fit a 28×28 image"),
    (["shuffle", "--shuffled-epochs", "0"], "--shuffled-epochs must be an integer >= 1"),
    (["shuffle", "--seeds", "0"], "--seeds must be an integer >= 1"),
    (["demo", "--epochs", "0"], "--epochs must be an integer >= 1"),
    (["demo", "--radii", "40"], "--radii 40 does not fit a 28×28 image"),
    (["demo", "--data-root", "{tmp}/nowhere"], "does not exist"),
    (["detect", "--score-threshold", "2"], "--score-threshold must be a finite number >= 0 and <= 1"),
    (["detect", "--image-dir", "{tmp}", "--annotations", "{bad}/coco.json", "--weights", "{bad}/weights.pt"],
     "is not valid JSON"),
    (["detect", "train", "--image-dir", "{tmp}", "--annotations", "{bad}/coco.json", "--momentum", "nan"],
     "--momentum must be a finite number >= 0 and < 1, got 'nan'"),
    (["report", "{bad}/run", "--out", "{bad}/run"], "--out {bad}/run is one of the runs to combine"),
    (["report", "{tmp}/no/such/run"], "run directory {tmp}/no/such/run does not exist"),
    (["no-such-command"], "invalid choice: 'no-such-command'"),
    (["train", "--out", ""], "--out must name a file or folder, got ''"),
    (["sweep", "--out", "  "], "--out must name a file or folder, got '  '"),
    (["train", "--seed", str(2**64)], f"--seed must be an integer >= 0 and <= 2147483647, got '{2**64}'"),
    (["fourier-map", "--seed", str(2**40)], "--seed must be an integer >= 0 and <= 2147483647"),
    (["train", "--dataset", "mnist", "--data-root", "{bad}/full.pt"], "data root {bad}/full.pt is not a folder"),
    (["sweep", "--checkpoint", "/dev/null"], "--checkpoint /dev/null is not a regular file"),
    (["sweep", "--checkpoint", "{bad}"], "no training checkpoint at {bad}/checkpoints/last.pt"),
]


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """Files as a user may have them: truncated, damaged or of another kind."""
    bad = tmp_path_factory.mktemp("bad")
    (bad / "config").mkdir()
    (bad / "config" / "config.json").write_text('{"command": "train", "lr": ')
    (bad / "run").mkdir()
    (bad / "run" / "config.json").write_text(json.dumps({"command": "table1"}))
    (bad / "run" / "report.md").write_text("# a run\n")
    (bad / "truncated" / "checkpoints").mkdir(parents=True)
    buffer = torch.nn.Linear(50, 50).state_dict()
    torch.save({"model": buffer, "config": {}, "history": [], "epoch": 1}, bad / "full.pt")
    data = (bad / "full.pt").read_bytes()
    (bad / "truncated" / "checkpoints" / "last.pt").write_bytes(data[: len(data) // 2])
    (bad / "truncated" / "config.json").write_text(json.dumps({"command": "train"}))
    (bad / "mnist").mkdir()
    images = gzip.compress(bytes([0, 0, 8, 3]) + (5).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + bytes(3920))
    for prefix in ("train", "t10k"):
        (bad / "mnist" / f"{prefix}-images-idx3-ubyte.gz").write_bytes(images[: len(images) // 2])
        (bad / "mnist" / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(images[:10])
    (bad / "coco.json").write_text('{"images": [')
    torch.save({}, bad / "weights.pt")
    return bad


def _needs_data(argv) -> bool:
    return argv[0] in ("demo", "examples", "bn-lfc") and "40" in argv


@pytest.mark.parametrize("argv, words", COMMAND_CASES, ids=[" ".join(a)[:60] for a, _ in COMMAND_CASES])
def test_a_command_refuses_in_one_line(argv, words, tmp_path, broken, capsys):
    if _needs_data(argv) and not (FASHION_MNIST_ROOT / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("needs Fashion-MNIST")
    fill = {"{tmp}": str(tmp_path), "{bad}": str(broken)}
    argv = [_fill(a, fill) for a in argv]
    if "--out" not in argv and argv[0] not in ("no-such-command",):
        argv += ["--out", str(tmp_path / "out")]
    assert hfc(argv + ["--no-progress"] if argv[0] not in ("report", "no-such-command") else argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("hfc"), err
    assert _fill(words, fill) in err, err


def _fill(text: str, fill: dict) -> str:
    for key, value in fill.items():
        text = text.replace(key, value)
    return text


def test_there_are_at_least_forty_command_cases():
    assert len(COMMAND_CASES) >= 40


@pytest.mark.parametrize("argv", [["--help"], ["-h"], *[[name, "--help"] for name in
                                                       ("train", "claims", "sweep", "robustness", "detect")]])
def test_help_is_shown_for_every_command(argv, capsys):
    from hfc_fast.experiments.cli import COMMANDS

    assert hfc(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: hfc"), out
    if argv == ["--help"]:
        assert all(name.split()[0] in out for name in COMMANDS) and "--debug" in out


def test_every_subcommand_has_help(capsys):
    from hfc_fast.experiments.cli import COMMANDS

    for name in COMMANDS:
        assert hfc([*name.split(), "--help"]) == 0, name
    assert "Traceback" not in capsys.readouterr().err


def test_a_bug_is_not_reported_as_bad_input(monkeypatch, tmp_path, capsys):
    """An exception that no check raised says it is a bug and how to see it; --debug shows the traceback."""
    from hfc_fast.experiments.commands import info

    def broken(exp, args):
        return {}["missing"]

    monkeypatch.setattr(info, "run", broken)
    assert hfc(["info"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "internal error, KeyError" in err and "--debug" in err and "HFC_FAST_DEBUG=1" in err
    with pytest.raises(KeyError):
        hfc(["info", "--debug"])
    monkeypatch.setenv("HFC_FAST_DEBUG", "1")
    with pytest.raises(KeyError):
        hfc(["info"])


# ---------------------------------------------------------------------- the public API
def _model_and_batch():
    torch.manual_seed(0)
    return TinyCNN().eval(), torch.rand(6, 1, 12, 12), torch.randint(0, 4, (6,))


def _nan_pixels():
    model, x, y = _model_and_batch()
    x[2, 0, 3, 3] = math.nan
    return lambda: pgd(model, x, y, 0.03)


API_CASES = [
    ("pgd with NaN pixels", _nan_pixels, ValueError, "x must hold finite pixels"),
    ("pgd with a label past the classes",
     lambda: (lambda m, x, y: lambda: pgd(m, x, torch.full_like(y, 7), 0.03))(*_model_and_batch()), ValueError,
     r"y must hold class labels in \[0, 4\)"),
    ("pgd with a negative label",
     lambda: (lambda m, x, y: lambda: fgsm(m, x, torch.full_like(y, -1), 0.03))(*_model_and_batch()), ValueError,
     r"y must hold class labels in \[0, 4\)"),
    ("pgd on a 3-D input", lambda: (lambda m, x, y: lambda: pgd(m, x[:, 0], y, 0.03))(*_model_and_batch()),
     ValueError, r"x must be a batch of images \(B, C, H, W\)"),
    ("pgd with NaN eps", lambda: (lambda m, x, y: lambda: pgd(m, x, y, math.nan))(*_model_and_batch()),
     ValueError, "eps must not be NaN"),
    ("pgd with a negative eps", lambda: (lambda m, x, y: lambda: pgd(m, x, y, -0.1))(*_model_and_batch()),
     ValueError, "eps must be >= 0"),
    ("pgd with zero steps", lambda: (lambda m, x, y: lambda: pgd(m, x, y, 0.1, steps=0))(*_model_and_batch()),
     ValueError, "steps must be an integer >= 1"),
    ("deepfool with a label past the classes",
     lambda: (lambda m, x, y: lambda: deepfool(m, x, torch.full_like(y, 9)))(*_model_and_batch()), ValueError,
     r"y must hold class labels in \[0, 4\)"),
    ("noise attack with a negative sigma",
     lambda: (lambda m, x, y: lambda: noise_attack(m, x, y, -1.0, 2))(*_model_and_batch()), ValueError,
     "sigma must be >= 0"),
    ("robust_accuracy of an unknown attack",
     lambda: (lambda m, x, y: lambda: robust_accuracy(m, [(x, y)], ["cw"], 0.1, progress=False))(
         *_model_and_batch()), ValueError, "unknown attack 'cw'"),
    ("a band of radius 0", lambda: lambda: BandProjection(("low", 0)), ValueError, "band"),
    ("split of an integer tensor", lambda: lambda: hfc_fast.frequency_split(torch.ones(4, 4, dtype=torch.int64), 2),
     TypeError, "x must be a floating-point"),
    ("split of a complex tensor", lambda: lambda: hfc_fast.frequency_split(torch.ones(4, 4, dtype=torch.complex64), 2),
     TypeError, "x must be a real"),
    ("split of a vector", lambda: lambda: hfc_fast.frequency_split(torch.ones(4), 2), ValueError,
     "x must have at least 2 dimensions"),
    ("split at a negative radius", lambda: lambda: hfc_fast.frequency_split(torch.ones(4, 4), -1), ValueError,
     "radius must be non-negative"),
    ("split at a NaN radius", lambda: lambda: hfc_fast.frequency_split(torch.ones(4, 4), math.nan), ValueError,
     "radius must not be NaN"),
    ("split at no radius", lambda: lambda: hfc_fast.frequency_split(torch.ones(4, 4), []), ValueError,
     "radius must hold at least one value"),
    ("split at a text radius", lambda: lambda: hfc_fast.frequency_split(torch.ones(4, 4), "4"), TypeError,
     "radius must be a number"),
    ("split of a list", lambda: lambda: hfc_fast.frequency_split([[1.0, 2.0]], 2), TypeError,
     "x must be a torch.Tensor"),
    ("split into x itself", lambda: (lambda x: lambda: hfc_fast.frequency_split(x, 8, out=(x, torch.empty_like(x))))(
        torch.rand(8, 3, 224, 224)), ValueError, "out low shares memory with x"),
    ("smoothing a 3-D weight", lambda: lambda: hfc_fast.smooth_kernels(torch.randn(3, 3, 3), 0.1), ValueError,
     "weight must be 4-D"),
    ("smoothing with NaN rho", lambda: lambda: hfc_fast.smooth_kernels(torch.randn(1, 1, 3, 3), math.nan),
     ValueError, "rho must not be NaN"),
    ("smoothing with infinite rho", lambda: lambda: hfc_fast.smooth_kernels(torch.randn(1, 1, 3, 3), math.inf),
     ValueError, "rho must be finite"),
    ("smoothing integer weights", lambda: lambda: hfc_fast.smooth_kernels(torch.ones(1, 1, 3, 3, dtype=torch.int32),
                                                                          0.1), TypeError,
     "weight must be a real floating-point"),
    ("smoothing with a text rho", lambda: lambda: hfc_fast.smooth_kernels(torch.randn(1, 1, 3, 3), "0.1"), TypeError,
     "rho must be a real number"),
    ("a PGD step with a NaN per-sample eps",
     lambda: (lambda x: lambda: hfc_fast.pgd_step_(x, torch.randn_like(x), x.clone(), torch.tensor([0.1, math.nan]),
                                                   0.01))(torch.rand(2, 4)),
     ValueError, "eps must hold finite numbers"),
    ("a mask of height 0", lambda: lambda: hfc_fast.radial_mask(0, 4, 2), ValueError, "h must be positive"),
    ("tracking with batch size 0",
     lambda: (lambda m, x, y: lambda: hfc_fast.track_frequencies(m, (x, y), 2, batch_size=0))(*_model_and_batch()),
     ValueError, "batch_size must be a positive integer, got 0"),
    ("tracking at a negative radius",
     lambda: (lambda m, x, y: lambda: hfc_fast.track_frequencies(m, (x, y), -2))(*_model_and_batch()),
     ValueError, "radius must be non-negative"),
    ("a one-pass map with batch size 0",
     lambda: (lambda m, x, y: lambda: hfc_fast.linearised_map(m, (x, y), batch_size=0))(*_model_and_batch()),
     ValueError, "batch_size must be a positive integer, got 0"),
    ("band noise with batch size 0",
     lambda: (lambda m, x, y: lambda: hfc_fast.band_noise_profile(m, (x, y), 1.0, batch_size=0))(*_model_and_batch()),
     ValueError, "batch_size must be a positive integer, got 0"),
    ("an IDX file cut short", lambda: _truncated_idx, ValueError, "cannot be read"),
    ("pgd on a model with NaN outputs", lambda: _nan_model(lambda m, x, y: pgd(m, x, y, 0.03)), NonFiniteError,
     "the model returned NaN or infinite logits for 6 of 6 images"),
    ("fgsm on a model with infinite outputs", lambda: _nan_model(lambda m, x, y: fgsm(m, x, y, 0.03), math.inf),
     NonFiniteError, "NaN or infinite logits"),
    ("a heat map of NaN images", lambda: _nan_images(lambda m, x, y: hfc_fast.fourier_heat_map(m, (x, y), 1.0)),
     NonFiniteError, "the images hold NaN or infinite pixels"),
    ("a one-pass map of NaN images", lambda: _nan_images(lambda m, x, y: hfc_fast.linearised_map(m, (x, y))),
     NonFiniteError, "the images hold NaN or infinite pixels"),
    ("band noise of NaN images", lambda: _nan_images(lambda m, x, y: hfc_fast.band_noise_profile(m, (x, y), 1.0)),
     NonFiniteError, "the images hold NaN or infinite pixels"),
    ("tracking of NaN images", lambda: _nan_images(lambda m, x, y: hfc_fast.track_frequencies(m, (x, y), 2)),
     NonFiniteError, "data must hold finite pixels; images 0 to 5 have 1 NaN or infinite"),
    ("tracking of images in 0-255",
     lambda: (lambda m, x, y: lambda: hfc_fast.track_frequencies(m, (x * 255, y), 2))(*_model_and_batch()),
     InputError, r"data must be pixels in \[0, 1\].*: divide by 255"),
    ("tracking of standardised images",
     lambda: (lambda m, x, y: lambda: hfc_fast.track_frequencies(m, (x - 0.5, y), 2))(*_model_and_batch()),
     InputError, r"normalize=\(mean, std\) applies a model's normalisation after the split"),
    ("tracking top-5 of a 4-class model",
     lambda: (lambda m, x, y: lambda: hfc_fast.track_frequencies(m, (x, y), 2, topk=(1, 5)))(*_model_and_batch()),
     InputError, "topk 5 needs a model of more than 5 classes .* this one has 4"),
    ("tracking top-4 of a 4-class model",
     lambda: (lambda m, x, y: lambda: hfc_fast.track_frequencies(m, (x, y), 2, topk=(1, 4)))(*_model_and_batch()),
     InputError, "topk 4 needs a model of more than 4 classes"),
    ("tracking labels past the model's classes",
     lambda: (lambda m, x, y: lambda: hfc_fast.track_frequencies(m, (x, torch.full_like(y, 4)), 2))(
         *_model_and_batch()), InputError, r"labels must name one of the model's 4 classes \(0 to 3\)"),
    ("tracking of a model with NaN outputs",
     lambda: _nan_model(lambda m, x, y: hfc_fast.track_frequencies(m, (x, y), 2)), NonFiniteError,
     "the model returned NaN or infinite logits"),
]


def _nan_model(call, value=math.nan):
    model, x, y = _model_and_batch()
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = value
    return lambda: call(model, x, y)


def _nan_images(call):
    model, x, y = _model_and_batch()
    x[0, 0, 5, 5] = math.nan
    return lambda: call(model, x, y)


def _truncated_idx():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x-idx1-ubyte.gz"
        path.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big") + bytes(100))[:30])
        read_idx(path)


@pytest.mark.parametrize("what, make, error, match", API_CASES, ids=[c[0] for c in API_CASES])
def test_the_api_refuses_naming_the_argument(what, make, error, match):
    with pytest.raises(error, match=match):
        make()()


def test_numbers_typed_as_numpy_are_fine_but_hwc_arrays_warn():
    with pytest.warns(UserWarning, match="looks like colour channels"):
        hfc_fast.low_pass(np.random.rand(64, 64, 3).astype(np.float32), 8)


def test_attacks_take_any_integer_labels_and_the_models_precision():
    """int32 labels and a float64 batch on a float32 model give what int64 labels and float32 images give."""
    model, x, y = _model_and_batch()
    reference = pgd(model, x, y, [0.03, 0.1], steps=3, return_adversarials=True)
    for xs, ys in ((x, y.int()), (x.double(), y), (x.double(), y.to(torch.int16))):
        got = pgd(model, xs, ys, [0.03, 0.1], steps=3, return_adversarials=True)
        assert torch.equal(got.fooled, reference.fooled)
        assert torch.equal(got.adversarials, reference.adversarials)


def test_a_nan_pixel_makes_its_whole_plane_nan_and_nothing_else():
    """What frequency_split's docstring says: every frequency of a plane depends on every pixel of it."""
    x = torch.rand(2, 3, 9, 8)
    x[1, 2, 4, 4] = math.nan
    low, high = hfc_fast.frequency_split(x, [2, 3.5])
    for out in (low, high):
        assert bool(torch.isnan(out[:, 1, 2]).all())
        mask = torch.ones(2, 3, dtype=torch.bool)
        mask[1, 2] = False
        assert bool(torch.isfinite(out[:, mask]).all())


def test_one_observation_is_no_evidence():
    from hfc_fast.experiments.core.verdicts import part, verdict, verdict_summary
    from hfc_fast.stats import effect_interval, three_way

    one = effect_interval([0.8], [0.7])
    assert one.low == one.high and not one.is_evidence
    assert three_way(one, expect="positive") == "inconclusive"
    assert "one observation, no interval" in one.describe()
    v = verdict("a claim", [part("m", one)])
    assert v["verdict"] == "inconclusive" and "run more seeds" in verdict_summary(v)
    two = effect_interval([0.8, 0.9], [0.7, 0.7])  # two seeds, one number each: evidence
    assert two.is_evidence and three_way(two, expect="positive") == "supported"
    units = effect_interval(torch.tensor([1.0, 1.0, 0.0, 1.0]), torch.zeros(4))  # one seed, four images
    assert units.is_evidence
