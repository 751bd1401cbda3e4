"""pytest-benchmark suites: each op beside its plain-PyTorch formulation, in
one group, so that ``pytest benchmarks --benchmark-only`` shows their ratio.

    pytest benchmarks --benchmark-only --benchmark-group-by=group
"""

import pytest
import torch

import hfc_fast

import baselines

SPLITS = {
    "32x32": ((256, 3, 32, 32), (4, 8, 12, 16)),
    "224x224": ((32, 3, 224, 224), (8, 16, 32, 64)),
}


@pytest.mark.parametrize("case", list(SPLITS))
@pytest.mark.parametrize("impl", ["hfc_fast", "naive", "plain:rfft2", "plain:rfft_axes", "plain:fft2"])
def test_frequency_split(benchmark, case, impl):
    shape, radii = SPLITS[case]
    x = torch.rand(shape)
    benchmark.group = f"frequency_split {case}"
    if impl == "hfc_fast":
        fn = lambda: hfc_fast.frequency_split(x, radii)  # noqa: E731
    elif impl == "naive":
        fn = lambda: baselines.frequency_split_naive(x, radii)  # noqa: E731
    else:
        name = impl.split(":")[1]
        masks = baselines.plain_masks(x, radii)[name]
        fn = lambda: baselines.PLAIN_SPLITS[name](x, radii, masks)  # noqa: E731
    rounds = 3 if impl == "naive" and case == "224x224" else 10
    benchmark.pedantic(fn, rounds=rounds, warmup_rounds=1)


@pytest.mark.parametrize("impl", ["hfc_fast", "plain"])
def test_pgd_step(benchmark, impl):
    x0 = torch.rand(256, 3, 32, 32)
    grad = torch.randn_like(x0)
    x = x0.clone()
    benchmark.group = "pgd_step_ 256x3x32x32"
    if impl == "hfc_fast":
        benchmark(lambda: hfc_fast.pgd_step_(x, grad, x0, 8 / 255, 2 / 255))
    else:
        benchmark(lambda: baselines.pgd_step_plain_(x, grad, x0, 8 / 255, 2 / 255))


@pytest.mark.parametrize("impl", ["hfc_fast", "plain"])
def test_smooth_kernels(benchmark, impl):
    w = torch.randn(256, 256, 3, 3)
    benchmark.group = "smooth_kernels 256x256x3x3"
    fn = hfc_fast.smooth_kernels if impl == "hfc_fast" else hfc_fast.smooth_kernels_reference
    benchmark(lambda: fn(w, 0.5))


@pytest.mark.parametrize("impl", ["hfc_fast", "plain"])
def test_radial_power_spectrum(benchmark, impl):
    x = torch.randn(256, 3, 32, 32)
    benchmark.group = "radial_power_spectrum 256x3x32x32"
    fn = hfc_fast.radial_power_spectrum if impl == "hfc_fast" else hfc_fast.radial_power_spectrum_reference
    benchmark(lambda: fn(x))
