"""The evaluation engine: each rank reads only its share of the images, a resume reads nothing twice, every
instrument gives the same numbers through it as alone, and bad settings are refused in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

import hfc_fast
from hfc_fast.attacks import robust_accuracy
from hfc_fast.errors import InputError
from hfc_fast.evaluation import PassSettings, rank_share


class Counted(Dataset):
    """Fixed random images whose reads are recorded (as a decoding data set's would cost)."""

    def __init__(self, n: int = 50, size: int = 8, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.images = torch.rand(n, 1, size, size, generator=g)
        self.labels = torch.randint(0, 3, (n,), generator=g)
        self.reads: list[int] = []

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        self.reads.append(int(i))
        return self.images[i], self.labels[i]


def tiny_model(seed: int = 0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(4 * 64, 3))


@pytest.mark.parametrize("make", [
    lambda d: d,                                                 # a Dataset
    lambda d: DataLoader(d, batch_size=7),                       # a DataLoader, re-made by index
    lambda d: DataLoader(d, batch_size=7, shuffle=True),         # its sampler's order is not needed
    lambda d: DataLoader(d, batch_sampler=[[3, 1], [0, 2, 4], list(range(5, 50))]),  # its own batches
])
def test_a_pass_reads_every_image_once_and_a_resume_only_the_rest(make):
    data = Counted()
    loader = make(data)
    batches, total = rank_share(loader, 7, workers=0)
    seen = [(i, first, x, y) for i, first, x, y in batches]
    assert total == len(seen)
    assert sorted(data.reads) == list(range(50))
    for _, first, x, _ in seen:  # the index of each batch's first image is where its images are
        assert torch.equal(x[0], data.images[data.reads[first]])
    data.reads.clear()
    rest, count = rank_share(loader, 7, workers=0, start=2)
    rest = list(rest)
    assert count == len(rest) == total - 2
    assert sorted(data.reads) == sorted(sum((list(range(f, f + len(y))) for _, f, _, y in seen[2:]), []))


def test_a_resumed_tracking_pass_reads_only_the_images_it_had_not_finished():
    data, model = Counted(), tiny_model()
    whole = hfc_fast.track_frequencies(model, DataLoader(data, batch_size=10), [2, 3])
    saved = []

    def stop(state):
        saved.append(hfc_fast.FrequencyTracking.from_state_dict(state.state_dict()))
        if state.next_batch == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        hfc_fast.track_frequencies(model, DataLoader(data, batch_size=10), [2, 3], save=stop, save_every=1)
    data.reads.clear()
    resumed = hfc_fast.track_frequencies(model, DataLoader(data, batch_size=10), [2, 3], state=saved[-1])
    assert sorted(data.reads) == list(range(30, 50))
    assert resumed == whole


def test_in_memory_batches_and_tensor_pairs_give_the_same_counts_as_a_dataset():
    data, model = Counted(), tiny_model()
    pair = (data.images, data.labels)
    listed = [(data.images[i:i + 10], data.labels[i:i + 10]) for i in range(0, 50, 10)]
    counts = [hfc_fast.track_frequencies(model, d, [2], batch_size=10) for d in (data, pair, listed)]
    assert counts[0] == counts[1] == counts[2]


class Stream(IterableDataset):
    def __iter__(self):
        yield torch.rand(4, 1, 8, 8), torch.zeros(4, dtype=torch.long)


@pytest.mark.parametrize("bad, match", [
    (dict(batch_size=0), "batch_size must be a positive integer, got 0"),
    (dict(save_every=-1), "save_every must be a positive integer, got -1"),
    (dict(workers=-2), "workers must be an integer >= 0, got -2"),
    (dict(amp="yes"), "amp must be True or False, got 'yes'"),
    (dict(normalize=(0.5,)), r"normalize must be \(mean, std\) or \(mean, std, \(H, W\)\)"),
    (dict(device="tpu:0"), "device must name a torch device, got 'tpu:0'"),
])
def test_bad_settings_are_named(bad, match):
    with pytest.raises(InputError, match=match):
        PassSettings(**bad)


def test_data_that_is_no_data_is_named():
    with pytest.raises(InputError, match="data must be a DataLoader, a Dataset, an .images, labels. pair"):
        list(rank_share(42, 8)[0])
    with pytest.raises(InputError, match="images and labels must be as many, got 5 and 4"):
        rank_share((torch.rand(5, 1, 4, 4), torch.zeros(4)), 8)


SCRIPT = textwrap.dedent("""
    import json, os, sys
    import torch, torch.distributed as dist
    from torch.utils.data import DataLoader
    sys.path.insert(0, sys.argv[2])
    import hfc_fast
    from hfc_fast.attacks import robust_accuracy
    from test_evaluation import Counted, tiny_model
    if "RANK" in os.environ:
        dist.init_process_group("gloo")
    data, model = Counted(n=45), tiny_model()
    loader = DataLoader(data, batch_size=6)
    tracked = hfc_fast.track_frequencies(model, loader, [2, 3]).to_dict()
    heat = hfc_fast.fourier_heat_map(model, loader, 1.0, max_radius=2).error_map().nan_to_num(-1.0)
    band = hfc_fast.band_noise_profile(model, loader, 1.0, edges=[0, 2, 6]).to_dict()
    report = robust_accuracy(model, loader, ["fgsm", "pgd"], [0.05, 0.1], steps=3, progress=False).to_dict()
    rank = dist.get_rank() if dist.is_initialized() else 0
    out = {"reads": data.reads, "tracked": tracked, "heat": heat.tolist(), "band": band, "attacks": report}
    with open(os.path.join(sys.argv[1], f"rank{rank}.json"), "w") as f:
        json.dump(out, f)
    if dist.is_initialized():  # left to the interpreter's exit, gloo's threads can abort the process
        dist.destroy_process_group()
""")


def test_two_processes_read_each_image_once_and_agree_with_one(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    tests = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    subprocess.run([sys.executable, str(script), str(one), tests], check=True, env=env, timeout=600)
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    str(script), str(two), tests], check=True, env=env, timeout=600, capture_output=True)
    single = json.loads((one / "rank0.json").read_text())
    ranks = [json.loads((two / f"rank{r}.json").read_text()) for r in range(2)]
    # four passes over the data: each image read four times in all, by one rank, never by both
    reads = [r["reads"] for r in ranks]
    assert sorted(reads[0] + reads[1]) == sorted(single["reads"]) == sorted(list(range(45)) * 4)
    assert not set(reads[0]) & set(reads[1])
    for r in ranks:  # counts summed over the ranks: the same integers, so the same rates
        for key in ("tracked", "heat", "band", "attacks"):
            assert r[key] == single[key], key


def test_an_iterable_without_a_dataset_is_refused_under_several_processes(monkeypatch):
    import hfc_fast.evaluation as engine

    monkeypatch.setattr(engine, "rank_and_world", lambda: (0, 2))
    with pytest.raises(InputError, match="cannot be shared out by index among 2 processes"):
        rank_share(DataLoader(Stream(), batch_size=None), 4)
    monkeypatch.setattr(engine, "rank_and_world", lambda: (0, 1))
    assert len(list(rank_share(DataLoader(Stream(), batch_size=None), 4)[0])) == 1


def test_the_attacks_see_the_model_behind_the_normalisation():
    data, model = Counted(), tiny_model()
    mean, std = (0.4,), (0.2,)
    normalised = hfc_fast.Normalize(model, mean, std)
    a = robust_accuracy(normalised, (data.images, data.labels), ["fgsm"], [0.05], progress=False)
    b = robust_accuracy(model, (data.images, data.labels), ["fgsm"], [0.05], progress=False,
                        settings=PassSettings(normalize=(mean, std)))
    assert a.to_dict() == b.to_dict()
