"""Build hfc_fast and its compiled operators hfc_fast._C.

_C is compiled against the torch of the environment that builds it, so build
in that environment: ``pip install --no-build-isolation .`` (or ``-e .``).
pip's isolated build would compile against a second, freshly downloaded
torch; this script stops with one line instead of producing an extension that
cannot load.

CPU kernels are always built; CUDA kernels when torch has CUDA support and a
CUDA toolkit (nvcc) is found, no GPU needed.

Environment:
  HFC_FAST_NO_EXT=1        pure-Python install (the reference implementations only)
  FORCE_CUDA=1             build the CUDA kernels (fail loudly if they cannot be); 0: never
  TORCH_CUDA_ARCH_LIST     CUDA architectures, e.g. "8.0;9.0+PTX"; "all" for the full default list.
                           Unset: the GPUs of this machine where one is visible, else 7.0 (7.5 with
                           CUDA 13), 8.0, 9.0, 10.0 and 12.0 (machine code runs on the later GPUs of
                           its major version), with PTX for the newest, so that later GPUs run it too
  MAX_JOBS                 parallel compile jobs (ninja)
  HFC_FAST_DEBUG_BUILD=1   build without optimisation, with debug symbols
"""

import glob
import json
import os
import re
import site
import subprocess
import sys

from setuptools import find_packages, setup

ROOT = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join("csrc")


def _flag(name):
    return os.environ.get(name, "0").lower() in ("1", "true", "yes", "on")


def _say(msg):
    print(f"hfc_fast setup: {msg}", file=sys.stderr)


def _locate_cuda_home():
    """Set CUDA_HOME to a toolkit that really holds include/cuda_runtime.h.

    torch guesses the toolkit from the folder above `nvcc`, which is wrong when
    `nvcc` on PATH is a wrapper script (e.g. /usr/local/bin/nvcc).
    """
    if os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH"):
        return
    import shutil

    candidates = []
    nvcc = shutil.which("nvcc")
    if nvcc:
        candidates.append(os.path.dirname(os.path.dirname(os.path.realpath(nvcc))))
    candidates += ["/usr/local/cuda"] + sorted(glob.glob("/usr/local/cuda-*"), reverse=True)
    for home in candidates:
        if os.path.isfile(os.path.join(home, "include", "cuda_runtime.h")):
            os.environ["CUDA_HOME"] = home
            return


def _cuda_library_headers():
    """Include folders of the nvidia wheels that ship with torch.

    torch's CUDA headers include cuBLAS/cuSPARSE headers that a bare CUDA
    toolkit may lack; the wheels carry them. They are searched after the
    toolkit's own folder (-isystem), so they only fill gaps.
    """
    roots = site.getsitepackages() + [site.getusersitepackages()]
    found = []
    for root in roots:
        found += sorted(glob.glob(os.path.join(root, "nvidia", "cu*", "include")))
        found += sorted(glob.glob(os.path.join(root, "nvidia", "*", "include")))
    return list(dict.fromkeys(p for p in found if os.path.isdir(p)))


# setuptools commands that compile _C (the others, such as sdist and egg_info, need no torch)
_BUILDS = {"build", "build_ext", "bdist_wheel", "develop", "install", "editable_wheel", "bdist_egg"}


def _import_torch():
    """The torch of this environment, or one line saying how to build (None for metadata-only commands)."""
    try:
        import torch
    except ImportError:
        if not _BUILDS & set(sys.argv[1:]):
            return None
        isolated = any("pip-build-env" in p or "build-env-" in p for p in sys.path)
        where = "pip's isolated build environment" if isolated else "this environment"
        raise SystemExit(
            f"hfc_fast setup: torch is not importable in {where}, and _C must be compiled against the torch "
            f"you run: install PyTorch first, then `pip install --no-build-isolation .` "
            f"(HFC_FAST_NO_EXT=1 for a pure-Python install)"
        ) from None
    return torch


# Machine code for one architecture runs on every GPU of the same major version at or above it, so these
# cover 7.0 (V100) to 12.x: 8.6/8.7/8.9 run the 8.0 code, 10.3 the 10.0 code, 12.1 the 12.0 code. PTX is
# embedded for the newest the toolkit knows, so later GPUs JIT-compile it. (CUDA 13 dropped 7.0.)
_DEFAULT_ARCHS = ("7.0", "7.5", "8.0", "9.0", "10.0", "12.0")


def _nvcc_archs(cuda_home):
    """The compute capabilities this toolkit's nvcc can compile for, e.g. {"7.5", "9.0", ...}."""
    nvcc = os.path.join(cuda_home, "bin", "nvcc")
    try:
        out = subprocess.run([nvcc, "--list-gpu-arch"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {f"{int(m[:-1])}.{m[-1]}" for m in re.findall(r"compute_(\d+)", out)}


def _arch_list(torch, cuda_home):
    """The CUDA architectures to compile for, as "X.Y" strings ("+PTX" on those that also embed PTX)."""
    given = os.environ.get("TORCH_CUDA_ARCH_LIST", "").strip()
    known = _nvcc_archs(cuda_home)
    if given and given.lower() != "all":
        return [a for a in re.split(r"[;\s,]+", given) if a]
    if not given and torch.cuda.is_available():
        caps = {torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())}
        found = [f"{major}.{minor}" for major, minor in sorted(caps)]
        return found[:-1] + [found[-1] + "+PTX"]
    archs = [a for a in _DEFAULT_ARCHS if known is None or a in known]
    return archs[:-1] + [archs[-1] + "+PTX"]


def _gencode_flags(archs):
    """nvcc -gencode flags for "X.Y" / "X.Y+PTX" / "X.Ya" entries (torch then adds none of its own)."""
    flags = []
    for arch in archs:
        base, ptx = (arch[:-4], True) if arch.endswith("+PTX") else (arch, False)
        num = base.replace(".", "")
        flags.append(f"-gencode=arch=compute_{num},code=sm_{num}")
        if ptx:
            flags.append(f"-gencode=arch=compute_{num},code=compute_{num}")
    return flags


def _build_ext_class(BuildExtension, record):
    class BuildExt(BuildExtension):
        """Builds _C, then records beside it what it was built against (read by hfc_fast._ext)."""

        def run(self):
            super().run()
            target = os.path.dirname(self.get_ext_fullpath("hfc_fast._C"))
            os.makedirs(target, exist_ok=True)
            with open(os.path.join(target, "_build.json"), "w") as f:
                json.dump(record, f, indent=1)

        def get_outputs(self):
            return super().get_outputs() + [
                os.path.join(os.path.dirname(self.get_ext_fullpath("hfc_fast._C")), "_build.json")]

    return BuildExt.with_options(use_ninja=True)


def _extensions():
    if _flag("HFC_FAST_NO_EXT"):
        _say("HFC_FAST_NO_EXT=1: pure-Python install, no compiled operators")
        return [], {}
    _locate_cuda_home()
    torch = _import_torch()
    if torch is None:
        return [], {}
    from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension

    sources = sorted(glob.glob(os.path.join(CSRC, "*.cpp")))
    sources += sorted(glob.glob(os.path.join(CSRC, "ops", "*.cpp")))
    sources += sorted(glob.glob(os.path.join(CSRC, "generic", "*.cpp")))
    sources += sorted(glob.glob(os.path.join(CSRC, "cpu", "*.cpp")))
    cuda_sources = sorted(glob.glob(os.path.join(CSRC, "cuda", "*.cu")))

    force = os.environ.get("FORCE_CUDA", "")
    if _flag("FORCE_CUDA"):
        if CUDA_HOME is None or torch.version.cuda is None:
            raise RuntimeError(
                "FORCE_CUDA=1 but " + ("no CUDA toolkit (nvcc) was found" if CUDA_HOME is None
                                       else "this torch has no CUDA support")
            )
        use_cuda = True
    elif force.lower() in ("0", "false", "no", "off"):
        use_cuda = False
    else:
        use_cuda = torch.version.cuda is not None and CUDA_HOME is not None
        if not use_cuda:
            _say("no CUDA toolkit or no CUDA-enabled torch: building CPU kernels only")

    debug = _flag("HFC_FAST_DEBUG_BUILD")
    opt = ["-O0", "-g"] if debug else ["-O3"]
    cxx = opt + ["-std=c++20", "-fopenmp", "-fvisibility=hidden"]
    include_dirs = [os.path.join(ROOT, CSRC, "include"), os.path.join(ROOT, CSRC)]
    extra = {"cxx": cxx}
    define_macros = []

    record = {"torch": torch.__version__, "torch_cuda": torch.version.cuda, "cuda_kernels": use_cuda,
              "cuda_arch_list": "", "python": sys.version.split()[0]}
    if use_cuda:
        archs = _arch_list(torch, CUDA_HOME)
        record["cuda_arch_list"] = ";".join(archs)
        headers = [arg for p in _cuda_library_headers() for arg in ("-isystem", p)]
        extra["cxx"] = cxx + headers
        extra["nvcc"] = opt + ["-std=c++20", "--expt-relaxed-constexpr"] + _gencode_flags(archs) + headers
        define_macros.append(("WITH_CUDA", None))
        _say(
            f"building CPU + CUDA kernels ({len(sources)} C++ and {len(cuda_sources)} CUDA sources) "
            f"against torch {torch.__version__} for CUDA architectures {';'.join(archs)} with {CUDA_HOME}"
        )
        ext = CUDAExtension(
            "hfc_fast._C",
            sources + cuda_sources,
            include_dirs=include_dirs,
            define_macros=define_macros,
            extra_compile_args=extra,
            extra_link_args=["-fopenmp"],
        )
    else:
        _say(f"building CPU kernels ({len(sources)} C++ sources) against torch {torch.__version__}")
        ext = CppExtension(
            "hfc_fast._C",
            sources,
            include_dirs=include_dirs,
            define_macros=define_macros,
            extra_compile_args=extra,
            extra_link_args=["-fopenmp"],
        )
    return [ext], {"build_ext": _build_ext_class(BuildExtension, record)}


if __name__ == "__main__":  # (setuptools runs this file as __main__; tests import its helpers)
    ext_modules, cmdclass = _extensions()
    setup(
        packages=find_packages(include=["hfc_fast", "hfc_fast.*"]),
        ext_modules=ext_modules,
        cmdclass=cmdclass,
    )
