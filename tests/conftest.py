import os

import pytest
import torch

import hfc_fast
from hfc_fast import _ext


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


def pytest_sessionstart(session):
    """A ``_C`` that was built (its build record is there) but does not load fails the run, whatever the
    environment says: otherwise every ``compiled`` test would skip and the suite pass on the references alone.
    Only ``HFC_FAST_BACKEND=reference``, the explicit choice of the references, runs without it."""
    if _ext.BUILD_RECORD.exists() and not _ext.LOADED and not _ext._FORCED_REFERENCE:
        pytest.exit(f"hfc_fast._C was built ({_ext.BUILD_RECORD.name} is there) but is not in use: "
                    f"{hfc_fast.backend_info()['reason']}. Rebuild ({_ext.rebuild_command()}) or set "
                    "HFC_FAST_BACKEND=reference to test the references alone.", returncode=1)


def pytest_collection_modifyitems(config, items):
    skip_cuda = pytest.mark.skip(reason="needs a CUDA device")
    skip_compiled = pytest.mark.skip(reason=f"hfc_fast._C is not in use ({hfc_fast.backend_info()['reason']})")
    for item in items:
        if "cuda" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_cuda)
        if "compiled" in item.keywords and not _ext.LOADED:
            item.add_marker(skip_compiled)
