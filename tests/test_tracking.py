"""hfc_fast.track_frequencies against a plain evaluation on the float64 reference split; its data forms,
normalisation, top-k and resumable counts; the Lightning callback; TensorBoard scalars of hfc train."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import hfc_fast
from hfc_fast.data import FASHION_MNIST_ROOT


def _model(classes: int = 6) -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 12 * 12, classes)).eval()


def _plain(model, images, labels, radii, k=1, normalize=None):
    low, high = hfc_fast.frequency_split_reference(images.double(), radii)
    views = [images, *low.float(), *high.float()]

    def score(v):
        if normalize is not None:
            mean, std = (torch.tensor(t).view(1, -1, 1, 1) for t in normalize)
            v = (v - mean) / std
        with torch.no_grad():
            top = model(v).topk(k, 1).indices
        return float((top == labels[:, None]).any(1).float().mean())
    return [score(v) for v in views]


@pytest.mark.parametrize("form", ["pair", "dataset", "loader"])
def test_equals_a_plain_evaluation_whatever_the_data_form(form):
    images, labels = torch.rand(70, 3, 12, 12), torch.randint(0, 6, (70,))
    data = {"pair": (images, labels), "dataset": torch.utils.data.TensorDataset(images, labels),
            "loader": torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=16)}[form]
    model = _model()
    result = hfc_fast.track_frequencies(model, data, [2, 4.5], batch_size=16, topk=(1, 3))
    expected = _plain(model, images, labels, [2, 4.5])
    assert result["n"] == 70
    assert result["acc"] == pytest.approx(expected[0])
    assert [result["lfc"]["2"], result["lfc"]["4.5"], result["hfc"]["2"], result["hfc"]["4.5"]] == \
        pytest.approx(expected[1:])
    top3 = _plain(model, images, labels, [2, 4.5], k=3)
    assert [result["top3"]["acc"], result["top3"]["lfc"]["4.5"], result["top3"]["hfc"]["2"]] == \
        pytest.approx([top3[0], top3[2], top3[3]])


def test_normalisation_comes_after_the_split_and_the_mode_is_restored():
    images, labels = torch.rand(40, 3, 12, 12), torch.randint(0, 6, (40,))
    model = _model().train()
    stats = ((0.4, 0.5, 0.6), (0.2, 0.3, 0.25))
    result = hfc_fast.track_frequencies(model, (images, labels), [3], normalize=stats, batch_size=13)
    assert model.training
    model.eval()
    assert [result["acc"], result["lfc"]["3"], result["hfc"]["3"]] == \
        pytest.approx(_plain(model, images, labels, [3], normalize=stats))


def test_counts_saved_mid_pass_resume_to_the_same_numbers():
    images, labels = torch.rand(90, 3, 12, 12), torch.randint(0, 6, (90,))
    model = _model()
    whole = hfc_fast.track_frequencies(model, (images, labels), [2, 5], batch_size=20)
    saved = []

    def interrupt(state):
        saved.append(hfc_fast.FrequencyTracking.from_state_dict(state.state_dict()))
        if state.next_batch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        hfc_fast.track_frequencies(model, (images, labels), [2, 5], batch_size=20, save=interrupt, save_every=1)
    assert saved[-1].next_batch == 2 and saved[-1].n == 40
    resumed = hfc_fast.track_frequencies(model, (images, labels), [2, 5], batch_size=20, state=saved[-1])
    assert resumed == whole


def test_the_lightning_callback_logs_what_track_frequencies_measures(tmp_path):
    lightning = pytest.importorskip("lightning")
    from hfc_fast.lightning import FrequencyTrackingCallback, tracking_scalars

    images, labels = torch.rand(64, 3, 12, 12), torch.randint(0, 6, (64,))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=32)

    class Module(lightning.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = _model()

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, _):
            return nn.functional.cross_entropy(self(batch[0]), batch[1])

        def validation_step(self, batch, _):
            self.log("val_loss", nn.functional.cross_entropy(self(batch[0]), batch[1]))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    callback = FrequencyTrackingCallback(loader, radii=[3, 6])
    module = Module()
    trainer = lightning.Trainer(max_epochs=1, logger=False, enable_progress_bar=False, enable_checkpointing=False,
                                default_root_dir=tmp_path, callbacks=[callback])
    trainer.fit(module, loader, loader)
    expected = hfc_fast.track_frequencies(module, loader, [3, 6])
    assert callback.last == expected
    logged = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("freq/")}
    assert logged == pytest.approx(tracking_scalars(expected))


def test_the_callback_says_how_to_install_lightning_when_it_is_missing(monkeypatch):
    import builtins
    import importlib

    import hfc_fast.lightning as module

    real_import = builtins.__import__

    def no_lightning(name, *args, **kwargs):
        if name.split(".")[0] in ("lightning", "pytorch_lightning"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.delattr(module, "FrequencyTrackingCallback", raising=False)  # built by an earlier test
    monkeypatch.setattr(builtins, "__import__", no_lightning)
    fresh = importlib.reload(module)
    with pytest.raises(ImportError, match="pip install lightning"):
        fresh.FrequencyTrackingCallback  # noqa: B018 (the attribute is built on first use)


@pytest.mark.skipif(not (FASHION_MNIST_ROOT / "t10k-images-idx3-ubyte.gz").exists(), reason="needs Fashion-MNIST")
def test_hfc_train_writes_its_metrics_as_tensorboard_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from hfc_fast.experiments.cli import main as hfc

    out = tmp_path / "run"
    assert hfc(["train", "--model", "small_cnn", "--epochs", "2", "--lr", "1e-3", "--train-limit", "200",
                "--test-limit", "100", "--track-train", "100", "--radii", "4", "--tensorboard", "--out", str(out),
                "--no-progress"]) == 0
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    history = [__import__("json").loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    for name, value in (("test/acc", [h["test"]["acc"] for h in history]),
                        ("test/lfc/4", [h["test"]["lfc"]["4"] for h in history]),
                        ("train_loss", [h["train_loss"] for h in history])):
        scalars = events.Scalars(name)
        assert [s.step for s in scalars] == [1, 2]
        assert [s.value for s in scalars] == pytest.approx(value, rel=1e-6)


@pytest.mark.skipif(not (FASHION_MNIST_ROOT / "t10k-images-idx3-ubyte.gz").exists(), reason="needs Fashion-MNIST")
def test_hfc_train_can_track_band_noise_every_epoch(tmp_path):
    from hfc_fast.experiments.cli import main as hfc
    from hfc_fast.experiments.core.model_sources import load_run
    from hfc_fast.fourier import band_noise_profile

    out = tmp_path / "run"
    assert hfc(["train", "--model", "small_cnn", "--epochs", "1", "--lr", "1e-3", "--train-limit", "200",
                "--test-limit", "150", "--track-train", "100", "--radii", "4", "--band-noise", "1.5",
                "--band-noise-images", "120", "--seed", "2", "--out", str(out), "--no-progress"]) == 0
    record = __import__("json").loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    profile = record["band_noise"]
    assert profile["n"] == 120 and profile["eps"] == 1.5 and len(profile["accuracy"]) == len(profile["edges"]) - 1
    model, config, _ = load_run(out)
    from hfc_fast.data import load_fashion_mnist

    x, y = load_fashion_mnist(split="test")
    again = band_noise_profile(model, (x[:120], y[:120]), 1.5, seed=2, batch_size=500)
    assert again["accuracy"] == pytest.approx(profile["accuracy"]) and again["white"] == pytest.approx(profile["white"])
