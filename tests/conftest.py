import os

import pytest
import torch

import hfc_fast


def pytest_report_header(config):
    info = hfc_fast.backend_info()
    return f"hfc_fast backend: {info['backend']} ({info['reason']}); cuda kernels: {info['cuda_kernels']}"


@pytest.fixture(autouse=True)
def fresh_seed(request):
    """Fresh random inputs on every run; the seed is printed when a test fails."""
    seed = int.from_bytes(os.urandom(4), "little")
    torch.manual_seed(seed)
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(f"torch seed was {seed}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def pytest_collection_modifyitems(config, items):
    skip_cuda = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_cuda)
