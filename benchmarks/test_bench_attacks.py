"""pytest-benchmark: robust accuracy of a small CNN, hfc_fast.attacks beside the plain loop.

The model is untrained and labels are its own clean predictions, so every image
starts classified right; the committed comparison on a trained model is
``python benchmarks/attacks.py``.
"""

import pytest
import torch
from torch import nn

from hfc_fast.attacks import robust_accuracy

import baselines

EPS = (0.03, 0.06, 0.09)


def _model():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    ).eval()


@pytest.mark.parametrize("impl", ["hfc_fast", "loop"])
def test_pgd_robust_accuracy(benchmark, impl):
    model = _model()
    images = [torch.rand(250, 1, 28, 28) for _ in range(2)]
    with torch.no_grad():  # the model's own predictions as labels: every image starts classified right
        batches = [(x, model(x).argmax(1)) for x in images]
    benchmark.group = "PGD-10 robust accuracy, 500 images, 3 eps"
    if impl == "hfc_fast":
        fn = lambda: robust_accuracy(model, batches, ["pgd"], EPS, progress=False, steps=10,  # noqa: E731
                                     alpha=[e / 4 for e in EPS])
    else:
        fn = lambda: baselines.robust_accuracy_loop(  # noqa: E731
            model, batches, EPS, lambda m, a, b, e: baselines.pgd_loop(m, a, b, e, e / 4, 10))
    benchmark.pedantic(fn, rounds=3, warmup_rounds=1)
