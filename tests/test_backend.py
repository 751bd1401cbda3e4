"""Which backend is active, why, and that a missing or broken ``_C`` is never silent."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import torch

import hfc_fast
from hfc_fast import _ext

PACKAGE = Path(hfc_fast.__file__).resolve().parent


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "HFC_FAST_BACKEND"}
    env.update(extra)
    return env


def test_backend_info_reports_the_active_backend():
    info = hfc_fast.backend_info()
    assert info["backend"] in ("compiled", "reference")
    assert info["backend"] == ("compiled" if _ext.LOADED else "reference")
    assert isinstance(info["reason"], str) and info["reason"]
    if os.environ.get("HFC_FAST_EXPECT_COMPILED") == "1":
        assert info["backend"] == "compiled", info["reason"]
        assert info["built_against"].startswith(f"torch {torch.__version__}"), info
    if os.environ.get("HFC_FAST_EXPECT_CUDA") == "1":
        assert info["cuda_kernels"] and info["cuda_available"], info


def test_reference_backend_can_be_forced_without_a_warning():
    code = (
        "import torch, hfc_fast; i = hfc_fast.backend_info(); assert i['backend'] == 'reference', i; "
        "assert 'rebuild' not in i, i; "
        "low, high = hfc_fast.frequency_split(torch.rand(2, 8, 8), [2, 3]); print(i['reason'])"
    )
    out = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", code],
                         env=_env(HFC_FAST_BACKEND="reference"), capture_output=True, text=True, check=True)
    assert "HFC_FAST_BACKEND=reference" in out.stdout
    assert out.stderr == ""


@pytest.mark.compiled
def test_a_loading_build_imports_without_a_warning():
    subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", "import hfc_fast"],
                   env=_env(), capture_output=True, text=True, check=True)


def _package_copy(tmp_path, so_bytes=None, record=None):
    """The Python package in ``tmp_path/hfc_fast``, without its build (and with a fake one when asked)."""
    dest = tmp_path / "hfc_fast"
    shutil.copytree(PACKAGE, dest, ignore=shutil.ignore_patterns("_C*", "_build.json", "__pycache__"))
    if so_bytes is not None:
        (dest / f"_C{sysconfig.get_config_var('EXT_SUFFIX')}").write_bytes(so_bytes)
    if record is not None:
        (dest / "_build.json").write_text(json.dumps(record))
    return tmp_path


# An editable install's import hook would find the checkout's _C for the copy's missing one: leave it out.
ONLY_PATH = ("import sys\n"
             "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in str(getattr(f, '__module__', f))]\n")


def _warnings_of_import(path):
    """The UserWarnings of importing hfc_fast twice from ``path``, and ``hfc info``'s lines."""
    code = (ONLY_PATH + "import warnings, json\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    import hfc_fast\n"
            "    import hfc_fast._ext, importlib\n"
            "    import hfc_fast\n"
            "print(json.dumps([str(w.message) for w in caught if issubclass(w.category, UserWarning)]))\n"
            "print(json.dumps(hfc_fast.backend_info()))\n")
    env = _env(PYTHONPATH=str(path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=path)
    caught, info = (json.loads(line) for line in out.stdout.strip().splitlines()[-2:])
    cli = subprocess.run([sys.executable, "-W", "ignore", "-c", ONLY_PATH + "from hfc_fast.experiments.cli import "
                          "main; raise SystemExit(main(['info']))"], env=env, capture_output=True, text=True,
                         check=True, cwd=path)
    return caught, info, cli.stdout


def test_a_missing_extension_warns_once_with_the_reason_and_the_rebuild(tmp_path):
    caught, info, cli = _warnings_of_import(_package_copy(tmp_path))
    assert len(caught) == 1, caught
    assert "is not built" in caught[0] and "--no-build-isolation" in caught[0], caught
    assert "HFC_FAST_BACKEND=reference" in caught[0]
    assert info["backend"] == "reference" and "is not built" in info["reason"]
    assert "--no-build-isolation" in info["rebuild"]
    assert f"reason: {info['reason']}" in cli and f"rebuild: {info['rebuild']}" in cli


def test_a_build_for_another_torch_names_both_versions(tmp_path):
    record = {"torch": "2.5.1+cu121", "torch_cuda": "12.1", "cuda_kernels": True, "cuda_arch_list": "9.0+PTX"}
    caught, info, cli = _warnings_of_import(_package_copy(tmp_path, b"not a shared object", record))
    assert len(caught) == 1, caught
    assert "built against torch 2.5.1+cu121 with CUDA kernels" in caught[0], caught
    assert f"torch {torch.__version__}" in caught[0], caught
    assert info["built_against"] == "torch 2.5.1+cu121 with CUDA kernels"
    assert "built against torch 2.5.1+cu121" in cli


def _err(cls, text):
    return cls(text)


RUNNING = ("2.13.0+cu130", "13.0")


@pytest.mark.parametrize("err, record, running, expected", [
    # undefined symbols from a build against another torch: both versions named
    (ImportError("/x/_C.so: undefined symbol: _ZN3c1017RegisterOperators"), {"torch": "2.11.0+cu130",
     "cuda_kernels": True}, RUNNING, "was built against torch 2.11.0+cu130 with CUDA kernels, but torch "
     "2.13.0+cu130 (CUDA 13.0) is running"),
    # the same torch, still an undefined symbol: an ABI mismatch
    (ImportError("/x/_C.so: undefined symbol: _Zfoo"), {"torch": "2.13.0+cu130", "cuda_kernels": False}, RUNNING,
     "does not match the running torch 2.13.0+cu130 (CUDA 13.0) (an ABI mismatch"),
    # a CUDA build of _C beside a CPU-only torch
    (ImportError("libc10_cuda.so: cannot open shared object file: No such file or directory"),
     {"torch": "2.13.0+cu130", "cuda_kernels": True}, ("2.13.0+cpu", None),
     "has no CUDA support (libc10_cuda.so is missing)"),
    # a CUDA runtime library that is not there
    (ImportError("libcudart.so.12: cannot open shared object file: No such file or directory"),
     {"torch": "2.5.1+cu121", "cuda_kernels": True}, ("2.5.1+cu121", "12.1"),
     "a library hfc_fast._C needs is missing: libcudart.so.12"),
    # no record, something else
    (OSError("boom"), {}, RUNNING, "hfc_fast._C failed to load: OSError: boom"),
])
def test_a_failed_load_is_explained(err, record, running, expected):
    assert expected in _ext.explain_failure(err, record, *running)


def test_a_build_for_another_python_is_named(tmp_path, monkeypatch):
    (tmp_path / "_C.cpython-39-x86_64-linux-gnu.so").write_bytes(b"")
    monkeypatch.setattr(_ext, "_PACKAGE", tmp_path)
    reason = _ext.explain_failure(ModuleNotFoundError("No module named 'hfc_fast._C'"), {}, *RUNNING)
    assert "built for another Python (_C.cpython-39-x86_64-linux-gnu.so" in reason


def test_cuda_tensors_without_cuda_kernels_warn_once(monkeypatch):
    if not _ext.LOADED:
        pytest.skip("needs the compiled operators")
    monkeypatch.setattr(_ext, "_CUDA_KERNELS", False)
    monkeypatch.setattr(_ext, "_WARNED_NO_CUDA_KERNELS", False)
    x = torch.empty(2, device="meta")
    x_cuda = type("T", (), {"device": torch.device("cuda")})()
    with pytest.warns(UserWarning, match="without CUDA kernels") as record:
        assert not _ext.use_compiled(x, x_cuda)
        assert not _ext.use_compiled(x_cuda)
    assert len(record) == 1


# ---------------------------------------------------------------------- the CUDA architectures of the build
def _setup_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("hfc_fast_setup", Path(__file__).resolve().parents[1] / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fatbin_entries(path: Path) -> set[tuple[str, int]]:
    """``("elf" | "ptx", sm)`` of every entry of the CUDA fat binaries embedded in a shared object, read from
    the fat-binary headers (magic 0xBA55ED50; each entry: kind, header size, payload size, ..., arch)."""
    import struct

    data = path.read_bytes()
    magic = struct.pack("<I", 0xBA55ED50)
    found, pos = set(), 0
    while (start := data.find(magic, pos)) >= 0:
        _, header, size = struct.unpack_from("<HHQ", data, start + 4)
        entry, end = start + header, start + header + size
        while entry < end:
            kind, _, entry_header, payload = struct.unpack_from("<HHIQ", data, entry)
            arch = struct.unpack_from("<I", data, entry + 28)[0]
            found.add(({1: "ptx", 2: "elf"}.get(kind, str(kind)), arch))
            entry += entry_header + payload
        pos = start + 4
    return found


def test_the_arch_list_rules():
    setup = _setup_module()
    assert setup._gencode_flags(["8.0", "9.0+PTX", "9.0a"]) == [
        "-gencode=arch=compute_80,code=sm_80", "-gencode=arch=compute_90,code=sm_90",
        "-gencode=arch=compute_90,code=compute_90", "-gencode=arch=compute_90a,code=sm_90a"]


@pytest.mark.skipif(not (_ext.LOADED and _ext._CUDA_KERNELS), reason="needs _C with CUDA kernels")
def test_the_cuda_kernels_carry_every_architecture_of_the_build():
    """The machine code and PTX inside _C are those the build record names; a build that chose the default
    list (CI: no GPU, TORCH_CUDA_ARCH_LIST unset) carries the whole default list of its toolkit."""
    archs = _ext.build_record()["cuda_arch_list"].split(";")
    expected = {("elf", int(a.split("+")[0].replace(".", ""))) for a in archs}
    expected |= {("ptx", int(a[:-4].replace(".", ""))) for a in archs if a.endswith("+PTX")}
    so = next(PACKAGE.glob("_C*.so"))
    assert _fatbin_entries(so) == expected
    if os.environ.get("HFC_FAST_EXPECT_DEFAULT_ARCHS") == "1":
        setup = _setup_module()
        import torch.utils.cpp_extension as ext

        known = setup._nvcc_archs(ext.CUDA_HOME)
        default = [a for a in setup._DEFAULT_ARCHS if a in known]
        assert archs == default[:-1] + [default[-1] + "+PTX"]
