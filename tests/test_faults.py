"""Nothing is lost: kills at many moments (inside the checkpoint write too), Ctrl-C, a full disk, a second writer,
and memory that stays flat as the data grows.

Every command runs in a child process, as a user's would. A run resumed after a kill is compared with an
uninterrupted one: the final checkpoint's tensors bit for bit, and the metrics with their wall-clock fields
left out (they are the only thing a kill may change).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hfc_fast.data import FASHION_MNIST_ROOT

pytestmark = pytest.mark.skipif(not (FASHION_MNIST_ROOT / "t10k-images-idx3-ubyte.gz").exists(),
                                reason="Debian's dataset-fashion-mnist is not installed")



def training(epochs: int = 3) -> list[str]:
    return ["train", "--model", "small_cnn", "--epochs", str(epochs), "--lr", "1e-3", "--train-limit", "300",
            "--test-limit", "200", "--track-train", "100", "--radii", "4,8", "--eval-batch", "200", "--seed", "3",
            "--no-progress"]


TRAIN = training()
TIMING = ("seconds", "train_seconds")
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")


def hfc(*args, env=None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hfc_fast.experiments.cli", *map(str, args)], env=env or ENV,
                          capture_output=True, text=True, timeout=600, **kwargs)


def start(*args, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hfc_fast.experiments.cli", *map(str, args)], env=env or ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the awaited moment never came")
        time.sleep(0.01)


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.tmp")]


def metrics(folder: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING}
            for line in (folder / "metrics.jsonl").read_text().splitlines()]


def assert_same_training(run: Path, reference: Path) -> None:
    a = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    b = torch.load(reference / "checkpoints" / "last.pt", weights_only=True)
    assert a["epoch"] == b["epoch"]
    for part in ("model",):
        assert a[part].keys() == b[part].keys()
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), k
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values(), strict=True):
        for k in sa:
            assert torch.equal(torch.as_tensor(sa[k]), torch.as_tensor(sb[k])), k
    strip = [{k: v for k, v in h.items() if k not in TIMING} for h in a["history"]]
    assert strip == [{k: v for k, v in h.items() if k not in TIMING} for h in b["history"]]
    assert metrics(run) == metrics(reference)
    assert temporaries(run) == []


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted training run, and how long it took."""
    out = tmp_path_factory.mktemp("reference") / "run"
    began = time.monotonic()
    done = hfc(*TRAIN, "--out", out)
    assert done.returncode == 0, done.stderr
    return out, time.monotonic() - began


def resume_and_compare(out: Path, reference: Path) -> None:
    """Continue a killed run with only --out and --resume (or start it if nothing was saved) and compare."""
    again = hfc("train", "--out", out, "--resume", "--no-progress") if (out / "checkpoints" / "last.pt").exists() \
        else hfc(*TRAIN, "--out", out)
    assert again.returncode == 0, again.stderr
    assert_same_training(out, reference)


def test_resume_with_only_out_equals_an_uninterrupted_run(reference, tmp_path):
    ref, _ = reference
    out = tmp_path / "run"
    assert hfc(*training(epochs=1), "--out", out).returncode == 0  # one epoch of three
    assert json.loads((out / "config.json").read_text())["epochs"] == 1
    continued = hfc("train", "--out", out, "--resume", "--epochs", "3", "--no-progress")
    assert continued.returncode == 0, continued.stderr
    assert_same_training(out, ref)


@pytest.mark.parametrize("fraction", [i / 16 for i in range(1, 17)])
def test_a_kill_at_any_moment_resumes_to_the_same_run(fraction, reference, tmp_path):
    ref, seconds = reference
    out = tmp_path / "run"
    process = start(*TRAIN, "--out", out)
    time.sleep(fraction * seconds)
    process.send_signal(signal.SIGKILL)
    process.wait()
    resume_and_compare(out, ref)


@pytest.mark.parametrize("name, nth", [("last.pt", 1), ("last.pt", 2), ("last.pt", 3), ("metrics.jsonl", 1),
                                       ("metrics.jsonl", 3), ("config.json", 1)])
def test_a_kill_inside_a_write_leaves_a_consistent_run(name, nth, reference, tmp_path):
    """Every write of ``name`` pauses between its temporary file and the rename (a test hook); the kill lands
    inside the ``nth`` one."""
    ref, _ = reference
    out = tmp_path / "run"
    process = start(*TRAIN, "--out", out, env=dict(ENV, HFC_FAST_TEST_WRITE_PAUSE=f"{name}=1.5"))
    folder = out / "checkpoints" if name == "last.pt" else out

    def writing():
        return list(folder.glob(f".{name}.*.tmp")) if folder.exists() else []

    for k in range(1, nth + 1):
        wait_for(writing)
        if k < nth:
            wait_for(lambda: not writing())
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert writing(), "the kill was to land inside the write"
    resume_and_compare(out, ref)


def test_ctrl_c_stops_at_once_says_how_to_continue_and_loses_nothing(reference, tmp_path):
    ref, _ = reference
    out = tmp_path / "run"
    process = start(*TRAIN, "--out", out)
    wait_for(lambda: (out / "checkpoints" / "last.pt").exists())
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0], err
    assert "is saved in" in lines[0] and f"to continue: hfc train --out {out} --resume" in lines[0]
    assert temporaries(out) == []
    resume_and_compare(out, ref)


def test_a_second_writer_is_refused_naming_the_first(tmp_path):
    out = tmp_path / "run"
    first = start(*TRAIN, "--out", out, env=dict(ENV, HFC_FAST_TEST_WRITE_PAUSE="config.json=60"))
    try:
        wait_for(lambda: list(out.glob(".config.json.*.tmp")))
        second = hfc(*TRAIN, "--out", out)
        assert second.returncode == 2
        assert f"{out} is being written by process {first.pid}" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
    finally:
        first.kill()
        first.wait()
    # the killed writer's lock is released with its process; the next run takes the directory over
    third = hfc(*training(epochs=1), "--out", out)
    assert third.returncode == 0, third.stderr
    assert f"taking over {out} from process {first.pid}" in third.stderr


def test_a_full_disk_gives_one_line_and_keeps_the_last_checkpoint(reference, tmp_path):
    ref, _ = reference
    out = tmp_path / "run"
    assert hfc(*training(epochs=1), "--out", out).returncode == 0
    before = (out / "checkpoints" / "last.pt").read_bytes()

    def small_disk():  # writes past 200 kB fail with EFBIG instead of killing the process
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    failed = subprocess.run([sys.executable, "-m", "hfc_fast.experiments.cli", "train", "--out", str(out),
                             "--resume", "--epochs", "3", "--no-progress"], env=ENV, capture_output=True, text=True,
                            timeout=600, preexec_fn=small_disk)
    assert failed.returncode == 2
    assert failed.stderr.strip().splitlines() == [failed.stderr.strip()]
    assert "could not write" in failed.stderr and "last.pt" in failed.stderr and "File too large" in failed.stderr
    assert (out / "checkpoints" / "last.pt").read_bytes() == before
    assert temporaries(out) == []
    again = hfc("train", "--out", out, "--resume", "--epochs", "3", "--no-progress")
    assert again.returncode == 0, again.stderr
    assert_same_training(out, ref)


# ---------------------------------------------------------------------- hfc sweep
@pytest.fixture(scope="module")
def trained(reference):
    return reference[0]


SWEEP = ["sweep", "--radii", "4,9", "--batch-size", "20", "--save-every", "1", "--test-limit", "400", "--no-progress"]


@pytest.fixture(scope="module")
def sweep_reference(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "run"
    began = time.monotonic()
    done = hfc(*SWEEP, "--checkpoint", trained, "--out", out)
    assert done.returncode == 0, done.stderr
    return json.loads((out / "results.json").read_text()), time.monotonic() - began


def _sweep_numbers(results: dict) -> dict:
    return {k: results[k] for k in ("original", "lfc", "hfc", "n")}


@pytest.mark.parametrize("moment", [0.5, 0.7, 0.85, "inside the state write"])
def test_a_killed_sweep_resumes_where_it_stopped(moment, trained, sweep_reference, tmp_path):
    results, seconds = sweep_reference
    out = tmp_path / "run"
    if moment == "inside the state write":
        process = start(*SWEEP, "--checkpoint", trained, "--out", out,
                        env=dict(ENV, HFC_FAST_TEST_WRITE_PAUSE="rank0-of-1.pt=30"))
        wait_for(lambda: list((out / "partial").glob(".rank0-of-1.pt.*.tmp")) if (out / "partial").exists() else [])
    else:
        began = time.monotonic()
        process = start(*SWEEP, "--checkpoint", trained, "--out", out)
        wait_for(lambda: (out / "config.json").exists())  # the rerun below names only --out
        time.sleep(max(0.0, moment * seconds - (time.monotonic() - began)))
    process.send_signal(signal.SIGKILL)
    process.wait()
    saved = out / "partial" / "rank0-of-1.pt"
    stopped_at = torch.load(saved, weights_only=True)["next_batch"] if saved.exists() else 0
    finished = (out / "sweep.json").exists()
    again = hfc("sweep", "--out", out)  # only --out: the rest comes from config.json
    assert again.returncode == 0, again.stderr
    if finished:
        assert "done before, reusing" in again.stdout
    elif stopped_at:
        assert f"resuming at batch {stopped_at}" in again.stdout
    assert _sweep_numbers(json.loads((out / "results.json").read_text())) == _sweep_numbers(results)
    assert temporaries(out) == []


# ---------------------------------------------------------------------- memory stays flat as the data grows
def _peak_rss_kib(code: str) -> int:
    script = code + "\nimport resource\nprint('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    done = subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split("PEAK")[-1])


TRACKING = """
import torch, hfc_fast
class Images(torch.utils.data.Dataset):  # generated on the fly: nothing is held but the batch
    def __len__(self): return {n}
    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return torch.rand(3, 128, 128, generator=g), i % 4
model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 5, stride=4), torch.nn.Flatten(), torch.nn.LazyLinear(4))
model(torch.rand(1, 3, 128, 128))
hfc_fast.track_frequencies(model, Images(), [8, 16, 32], batch_size=100)
"""


def test_tracking_memory_stays_flat_as_the_data_grows():
    small, large = (_peak_rss_kib(TRACKING.format(n=n)) for n in (300, 3000))
    # 3,000 such images held at once would take 590 MB
    assert large <= 1.10 * small, (small, large)


def test_sweep_memory_stays_flat_as_the_data_grows(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    rng = np.random.default_rng(0)
    for n in (150, 1500):
        for label in ("a", "b"):
            folder = tmp_path / f"tree{n}" / "val" / label
            folder.mkdir(parents=True)
            for i in range(n // 2):
                colour = rng.integers(0, 256, 3, dtype=np.uint8)
                Image.fromarray(np.broadcast_to(colour, (96, 96, 3)).copy()).save(folder / f"{i}.png")
    torch.save(torchvision.models.mobilenet_v3_small(num_classes=2).state_dict(), tmp_path / "weights.pt")
    peaks = []
    for n in (150, 1500):
        argv = ["sweep", "--dataset", "imagefolder", "--data-root", str(tmp_path / f"tree{n}"), "--image-size", "96",
                "--torchvision", "mobilenet_v3_small", "--weights", str(tmp_path / "weights.pt"), "--num-classes",
                "2", "--radii", "8,16", "--batch-size", "50", "--workers", "0", "--test-limit", "all", "--out",
                str(tmp_path / f"out{n}"), "--no-progress"]
        peaks.append(_peak_rss_kib(f"from hfc_fast.experiments.cli import main\nassert main({argv!r}) == 0"))
    # 1,500 such images held at once would take 166 MB
    assert peaks[1] <= 1.10 * peaks[0], peaks
