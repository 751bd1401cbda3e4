"""Build hfc_fast and its compiled operators hfc_fast._C.

CPU kernels are always built; CUDA kernels when torch has CUDA support and a
CUDA toolkit (nvcc) is found, no GPU needed.

Environment:
  HFC_FAST_NO_EXT=1        pure-Python install (the reference implementations only)
  FORCE_CUDA=1             build the CUDA kernels (fail loudly if they cannot be); 0: never
  TORCH_CUDA_ARCH_LIST     CUDA architectures (default "8.0;9.0")
  HFC_FAST_DEBUG=1         build without optimisation, with debug symbols
"""

import glob
import os
import site
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


def _extensions():
    if _flag("HFC_FAST_NO_EXT"):
        _say("HFC_FAST_NO_EXT=1: pure-Python install, no compiled operators")
        return [], {}
    _locate_cuda_home()
    import torch
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

    debug = _flag("HFC_FAST_DEBUG")
    opt = ["-O0", "-g"] if debug else ["-O3"]
    cxx = opt + ["-std=c++20", "-fopenmp", "-fvisibility=hidden"]
    include_dirs = [os.path.join(ROOT, CSRC, "include"), os.path.join(ROOT, CSRC)]
    extra = {"cxx": cxx}
    define_macros = []

    if use_cuda:
        os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "8.0;9.0")
        headers = [arg for p in _cuda_library_headers() for arg in ("-isystem", p)]
        extra["cxx"] = cxx + headers
        extra["nvcc"] = opt + ["-std=c++20", "--expt-relaxed-constexpr"] + headers
        define_macros.append(("WITH_CUDA", None))
        _say(
            f"building CPU + CUDA kernels ({len(sources)} C++ and {len(cuda_sources)} CUDA sources) "
            f"for TORCH_CUDA_ARCH_LIST={os.environ['TORCH_CUDA_ARCH_LIST']} with {CUDA_HOME}"
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
        _say(f"building CPU kernels ({len(sources)} C++ sources)")
        ext = CppExtension(
            "hfc_fast._C",
            sources,
            include_dirs=include_dirs,
            define_macros=define_macros,
            extra_compile_args=extra,
            extra_link_args=["-fopenmp"],
        )
    return [ext], {"build_ext": BuildExtension.with_options(use_ninja=True)}


ext_modules, cmdclass = _extensions()

setup(
    packages=find_packages(include=["hfc_fast", "hfc_fast.*"]),
    ext_modules=ext_modules,
    cmdclass=cmdclass,
)
