#!/usr/bin/env bash
# Build hfc_fast into the environment of interpreter PY, against its torch:
#
#   bash scripts/build.sh PY [--isolated]
#
# The package is installed editable (linked to this folder, no compiling), then _C is
# compiled in place with ninja in build/ext, so a rebuild recompiles only what changed
# (and what a changed setting such as FORCE_CUDA touches).
# FORCE_CUDA, TORCH_CUDA_ARCH_LIST and MAX_JOBS as for setup.py. --isolated: pip ignores
# machine-wide settings. Nothing is fetched from a package index.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:?usage: scripts/build.sh PY [--isolated]}
pip_flags=(--disable-pip-version-check -q --no-build-isolation --no-deps --no-index)
[ "${2:-}" = --isolated ] && pip_flags+=(--isolated)
echo "build: hfc_fast against torch $("$PY" -c 'import torch; print(torch.__version__)') (FORCE_CUDA=${FORCE_CUDA:-auto})"
HFC_FAST_NO_EXT=1 "$PY" -m pip install "${pip_flags[@]}" -e .
MAX_JOBS=${MAX_JOBS:-$(nproc 2>/dev/null || echo 2)} \
  "$PY" setup.py -q build_ext --inplace --force --build-temp build/ext
