"""Which backend is active, and forcing the references."""

import os
import subprocess
import sys

import hfc_fast
from hfc_fast import _ext


def test_backend_info_reports_the_active_backend():
    info = hfc_fast.backend_info()
    assert info["backend"] in ("compiled", "reference")
    assert info["backend"] == ("compiled" if _ext.LOADED else "reference")
    assert isinstance(info["reason"], str) and info["reason"]
    if os.environ.get("HFC_FAST_EXPECT_COMPILED") == "1":
        assert info["backend"] == "compiled", info["reason"]


def test_reference_backend_can_be_forced():
    code = (
        "import torch, hfc_fast; i = hfc_fast.backend_info(); assert i['backend'] == 'reference', i; "
        "low, high = hfc_fast.frequency_split(torch.rand(2, 8, 8), [2, 3]); print(i['reason'])"
    )
    env = dict(os.environ, HFC_FAST_BACKEND="reference")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert "HFC_FAST_BACKEND=reference" in out.stdout
