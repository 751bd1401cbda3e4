#!/usr/bin/env bash
# Build the operators against libtorch with CMake and run the C++ check (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV_PY=.venv/bin/python
prefix=$("$VENV_PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')
# torch's CMake config looks for the CUDA toolkit it was built with; point it at
# the local toolkit and at the NVRTC library that ships with torch's wheels.
cuda_home=$("$VENV_PY" - <<'PY'
import glob, os, shutil
cands = [os.environ.get("CUDA_HOME", "")]
nvcc = shutil.which("nvcc")
if nvcc:
    cands.append(os.path.dirname(os.path.dirname(os.path.realpath(nvcc))))
cands += ["/usr/local/cuda"] + sorted(glob.glob("/usr/local/cuda-*"), reverse=True)
print(next((c for c in cands if c and os.path.isfile(os.path.join(c, "include", "cuda_runtime.h"))), ""))
PY
)
nvrtc=$("$VENV_PY" -c 'import glob, os, nvidia; print((glob.glob(os.path.join(list(nvidia.__path__)[0], "cu*", "lib", "libnvrtc.so.*")) + [""])[0])' 2>/dev/null || true)
args=(-DCMAKE_PREFIX_PATH="$prefix")
[ -n "$cuda_home" ] && args+=(-DCUDA_TOOLKIT_ROOT_DIR="$cuda_home" -DCUDAToolkit_ROOT="$cuda_home")
[ -n "$nvrtc" ] && args+=(-DCUDA_nvrtc_LIBRARY="$nvrtc")
TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-"8.0;9.0"} cmake -S . -B build-cmake "${args[@]}" >/dev/null
cmake --build build-cmake -j"${MAX_JOBS:-2}"
ctest --test-dir build-cmake --output-on-failure
