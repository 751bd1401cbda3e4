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
import shutil
import signal
import subprocess
import sys
import threading
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


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_landing_in_another_thread_waits_for_the_write(sig, tmp_path, monkeypatch):
    """A process-wide signal is handed by the kernel to any thread that does not block it (a library's
    worker); Python still runs the handler in the main thread, so the write must defer it at Python's level.
    The write pauses between its temporary file and the rename (the test hook) while the signal arrives."""
    from hfc_fast.experiments.core.files import write_json

    class Stopped(Exception):
        pass

    def stop(signum, frame):
        raise Stopped(signum)

    target = tmp_path / "state.json"
    monkeypatch.setenv("HFC_FAST_TEST_WRITE_PAUSE", "state.json=1.0")
    payload = {"value": int(torch.randint(0, 10**6, ()).item())}
    before = signal.signal(sig, stop)
    try:
        sender = threading.Timer(0.2, os.kill, (os.getpid(), sig))
        sender.start()
        with pytest.raises(Stopped) as stopped:
            write_json(target, payload)
        sender.join()
    finally:
        signal.signal(sig, before)
    assert stopped.value.args == (sig,)
    assert json.loads(target.read_text()) == payload
    assert temporaries(tmp_path) == []


def test_sigterm_saves_says_how_to_continue_and_resumes_bit_for_bit(reference, tmp_path):
    """What Slurm sends before it kills a job: handled as Ctrl-C is, exit 143."""
    ref, _ = reference
    out = tmp_path / "run"
    process = start(*TRAIN, "--out", out)
    wait_for(lambda: (out / "checkpoints" / "last.pt").exists())
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "terminated (SIGTERM)" in lines[0], err
    assert f"to continue: hfc train --out {out} --resume" in lines[0]
    assert temporaries(out) == []
    resume_and_compare(out, ref)


def test_two_quick_ctrl_cs_still_end_in_one_line(reference, tmp_path):
    ref, _ = reference
    out = tmp_path / "run"
    process = start(*TRAIN, "--out", out)
    wait_for(lambda: (out / "checkpoints" / "last.pt").exists())
    process.send_signal(signal.SIGINT)
    time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert len(err.strip().splitlines()) == 1, err
    resume_and_compare(out, ref)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_the_libraries_load_is_one_line(sig, code, tmp_path):
    process = start(*TRAIN, "--out", tmp_path / "run")
    time.sleep(0.4)  # the interpreter is up, torch is still importing
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_sigterm_during_a_sweep_keeps_its_counts(trained, sweep_reference, tmp_path):
    results, seconds = sweep_reference
    out = tmp_path / "run"
    process = start(*SWEEP, "--checkpoint", trained, "--out", out)
    wait_for(lambda: (out / "partial").exists() and list((out / "partial").rglob("rank0-of-1.pt")))
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode in (143, 0), err  # 0: it finished before the signal came
    if process.returncode == 143:
        assert "terminated (SIGTERM)" in err and f"to continue: hfc sweep --out {out}" in err
    again = hfc("sweep", "--out", out)
    assert again.returncode == 0, again.stderr
    assert _sweep_numbers(json.loads((out / "results.json").read_text())) == _sweep_numbers(results)


# ---------------------------------------------------------------------- what a run stands on
def _flip_a_bit_inside(path: Path, tensor: torch.Tensor) -> None:
    """Flip one bit in the middle of ``tensor``'s bytes where ``path`` stores them."""
    data = bytearray(path.read_bytes())
    raw = tensor.contiguous().view(torch.uint8).numpy().tobytes()
    at = data.find(raw)
    assert at >= 0, "the tensor's bytes were to be found in the file"
    data[at + len(raw) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def test_a_flipped_bit_in_a_checkpoint_is_refused(reference, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(reference[0], run)
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    name = max(state["model"], key=lambda k: state["model"][k].numel())
    _flip_a_bit_inside(run / "checkpoints" / "last.pt", state["model"][name])
    for argv in (["train", "--out", run, "--resume", "--epochs", "4", "--no-progress"],
                 ["sweep", "--checkpoint", run, "--out", tmp_path / "sweep", "--no-progress"]):
        done = hfc(*argv)
        assert done.returncode == 2, done.stderr
        assert "is damaged" in done.stderr and "checksum" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_diverged_training_stops_in_one_line(tmp_path):
    out = tmp_path / "run"
    done = hfc(*training(epochs=2), "--optimizer", "sgd", "--lr", "1e6", "--out", out)
    assert done.returncode == 2, done.stderr
    assert "training diverged: the loss is nan" in done.stderr and "--lr" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (out / "checkpoints" / "last.pt").exists()


def test_a_checkpoint_with_a_nan_weight_is_refused(reference, tmp_path):
    state = torch.load(reference[0] / "checkpoints" / "last.pt", weights_only=True)
    state.pop("_hfc_checksum")
    name = next(k for k, v in state["model"].items() if v.is_floating_point())
    state["model"][name].view(-1)[0] = float("nan")
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    torch.save(state, tmp_path / "run" / "checkpoints" / "last.pt")
    done = hfc("sweep", "--checkpoint", tmp_path / "run", "--out", tmp_path / "sweep", "--no-progress")
    assert done.returncode == 2, done.stderr
    assert f"hold NaN or infinite values ({name}" in done.stderr


def test_resuming_with_fewer_epochs_is_refused_and_changes_nothing(reference, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(reference[0], run)
    before = (run / "config.json").read_text()
    done = hfc("train", "--out", run, "--resume", "--epochs", "2", "--no-progress")
    assert done.returncode == 2, done.stderr
    assert f"--epochs 2 is fewer than the 3 epochs {run} has trained" in done.stderr
    assert (run / "config.json").read_text() == before


def test_a_config_edited_to_another_model_is_one_line_on_resume(reference, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(reference[0], run)
    config = json.loads((run / "config.json").read_text())
    config.update(model="lenet")
    (run / "config.json").write_text(json.dumps(config))
    done = hfc("train", "--out", run, "--resume", "--epochs", "4", "--no-progress")
    assert done.returncode == 2, done.stderr
    assert "do not fit the model config.json asks for (lenet); they are a small_cnn's" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_sweep_is_measured_again_when_its_checkpoint_was_trained_further(tmp_path):
    run, first, fresh = tmp_path / "run", tmp_path / "sweep", tmp_path / "fresh"
    assert hfc(*training(epochs=1), "--out", run).returncode == 0
    assert hfc(*SWEEP, "--checkpoint", run, "--out", first).returncode == 0
    old = json.loads((first / "results.json").read_text())
    assert hfc("train", "--out", run, "--resume", "--epochs", "2", "--no-progress").returncode == 0
    again = hfc(*SWEEP, "--checkpoint", run, "--out", first)  # --no-progress: the note is printed all the same
    assert again.returncode == 0, again.stderr
    assert "the models it measured have changed" in again.stdout
    assert hfc(*SWEEP, "--checkpoint", run, "--out", fresh).returncode == 0
    new = json.loads((first / "results.json").read_text())
    assert _sweep_numbers(new) == _sweep_numbers(json.loads((fresh / "results.json").read_text()))
    assert _sweep_numbers(new) != _sweep_numbers(old)


def _image_tree(root: Path, classes: int, size: int = 16, per_class: int = 3) -> Path:
    g = np.random.default_rng(0)
    for split in ("train", "val"):
        for c in range(classes):
            folder = root / split / f"c{c}"
            folder.mkdir(parents=True)
            for i in range(per_class):
                Image.fromarray(g.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return root


def test_an_image_size_the_model_cannot_take_is_one_line(tmp_path):
    root = _image_tree(tmp_path / "data", 2)
    done = hfc("train", "--dataset", "imagefolder", "--data-root", root, "--image-size", "8", "--model", "lenet",
               "--epochs", "1", "--out", tmp_path / "run", "--no-progress")
    assert done.returncode == 2, done.stderr
    assert "model lenet cannot take 3×8×8 images" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_sweep_of_a_model_with_fewer_classes_than_the_data_is_refused(tmp_path):
    import torchvision

    root = _image_tree(tmp_path / "data", 3)
    weights = tmp_path / "two.pt"
    torch.save(torchvision.models.get_model("mobilenet_v3_small", num_classes=2).state_dict(), weights)
    done = hfc("sweep", "--dataset", "imagefolder", "--data-root", root, "--image-size", "32", "--torchvision",
               "mobilenet_v3_small", "--num-classes", "2", "--weights", weights, "--out", tmp_path / "s",
               "--no-progress")
    assert done.returncode == 2, done.stderr
    assert "the classifier scores 2 classes but the data set has 3" in done.stderr


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
        wait_for(lambda: list((out / "partial").rglob(".rank0-of-1.pt.*.tmp")) if (out / "partial").exists() else [])
    else:
        began = time.monotonic()
        process = start(*SWEEP, "--checkpoint", trained, "--out", out)
        wait_for(lambda: (out / "config.json").exists())  # the rerun below names only --out
        time.sleep(max(0.0, moment * seconds - (time.monotonic() - began)))
    process.send_signal(signal.SIGKILL)
    process.wait()
    saved = list((out / "partial").rglob("rank0-of-1.pt")) if (out / "partial").exists() else []
    stopped_at = torch.load(saved[0], weights_only=True)["next_batch"] if saved else 0
    finished = (out / "sweep.json").exists()
    again = hfc("sweep", "--out", out)  # only --out: the rest comes from config.json
    assert again.returncode == 0, again.stderr
    if finished:
        assert "done before" in again.stdout and "reusing" in again.stdout
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
