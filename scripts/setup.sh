#!/usr/bin/env bash
# Set up hfc_fast from nothing in ./.venv: PyTorch and the other Python
# dependencies from PyPI, the compiled operators, and (where apt-get and root
# are at hand) Debian's Fashion-MNIST, the demo's data. Safe to run again.
#
#   FORCE_CUDA=1 bash scripts/setup.sh     also build the CUDA kernels without a GPU
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
TORCHVISION_VERSION=${TORCHVISION_VERSION:-0.28.0}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
VENV_PY=.venv/bin/python

# --isolated: take packages from the package index only, ignoring machine-wide
# pip settings (such as a local CPU-only torch wheel that cannot link CUDA code).
cert=${PIP_CERT:-}
[ -z "$cert" ] && [ -f /etc/ssl/certs/ca-certificates.crt ] && cert=/etc/ssl/certs/ca-certificates.crt
pip_install() {
  "$VENV_PY" -m pip install --isolated --disable-pip-version-check -q ${cert:+--cert "$cert"} "$@"
}

if ! "$VENV_PY" -c "import torch, torchvision; assert torch.__version__.startswith('$TORCH_VERSION')" 2>/dev/null; then
  echo "setup: installing torch $TORCH_VERSION and torchvision $TORCHVISION_VERSION (about 2.6 GB)"
  pip_install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi
pip_install "setuptools>=68" wheel ninja numpy matplotlib pillow tqdm pycocotools pytest pytest-benchmark scipy \
  "lightning==2.6.6" "timm==1.0.31" "tensorboard==2.21.0"

DATA=/usr/share/datasets/fashion-mnist
if [ ! -d "$DATA" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian's dataset-fashion-mnist into $DATA"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
  else
    echo "setup: $DATA is missing; install Debian's dataset-fashion-mnist (or pass --data-root to hfc demo)" >&2
  fi
fi

echo "setup: building hfc_fast (FORCE_CUDA=${FORCE_CUDA:-auto})"
MAX_JOBS=${MAX_JOBS:-2} pip_install --no-build-isolation --no-deps -e .
"$VENV_PY" -m hfc_fast.experiments.cli info
