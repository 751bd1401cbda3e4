#!/usr/bin/env bash
# Set up hfc_fast. Safe to run again.
#
#   bash scripts/setup.sh                     ./.venv from nothing: torch 2.13 and the other Python
#                                             dependencies from PyPI, the compiled operators, and
#                                             (where apt-get and root are at hand) Debian's
#                                             Fashion-MNIST, the demo's data
#   bash scripts/setup.sh --python PY         into the environment of an existing interpreter PY
#                                             (a conda env or venv): its torch is kept as it is,
#                                             _C is compiled against it, and the other dependencies
#                                             are added without touching torch
#   HFC_FAST_USE_EXISTING_TORCH=1 bash scripts/setup.sh    the same with PY=${PYTHON:-python3}
#   ... --offline                             install nothing from a package index (a machine
#                                             without one: only the build and the checks run)
#
#   FORCE_CUDA=1 ...                          also build the CUDA kernels without a GPU
#   TORCH_CUDA_ARCH_LIST, MAX_JOBS            as for setup.py (README, "Set up")
#
# The interpreter that was set up is written to .hfc-python, which scripts/test.sh
# and scripts/demo.sh read.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
TORCHVISION_VERSION=${TORCHVISION_VERSION:-0.28.0}
EXISTING=${HFC_FAST_USE_EXISTING_TORCH:-0}
OFFLINE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --python) [ $# -ge 2 ] || { echo "setup: --python needs an interpreter" >&2; exit 2; }
              PYTHON=$2; EXISTING=1; shift 2 ;;
    --python=*) PYTHON=${1#--python=}; EXISTING=1; shift ;;
    --offline) OFFLINE=1; shift ;;
    *) echo "setup: unknown argument $1 (expected --python PY or --offline)" >&2; exit 2 ;;
  esac
done

# --isolated: take packages from the package index only, ignoring machine-wide
# pip settings (such as a local CPU-only torch wheel that cannot link CUDA code).
cert=${PIP_CERT:-}
[ -z "$cert" ] && [ -f /etc/ssl/certs/ca-certificates.crt ] && cert=/etc/ssl/certs/ca-certificates.crt
DEPS=("setuptools>=68" wheel ninja numpy matplotlib pillow tqdm pycocotools pytest pytest-benchmark scipy
      "lightning==2.6.6" "timm==1.0.31" "tensorboard==2.21.0")

if [ "$EXISTING" = 1 ]; then
  command -v "$PYTHON" >/dev/null || [ -x "$PYTHON" ] || { echo "setup: $PYTHON is not an interpreter" >&2; exit 2; }
  PY=$(command -v "$PYTHON" || echo "$PYTHON")
  PY=$("$PY" -c 'import sys; print(sys.executable)')
  if ! tv=$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null); then
    echo "setup: $PY has no importable torch; install PyTorch there first (or run without --python)" >&2
    exit 2
  fi
  echo "setup: using the existing torch $tv of $PY"
  # Nothing installed here may replace the user's torch (or torchvision): pin them as they are.
  constraints=$(mktemp)
  trap 'rm -f "$constraints"' EXIT
  "$PY" - >"$constraints" <<'PY'
from importlib import metadata
for name in ("torch", "torchvision"):
    try:
        print(f"{name}=={metadata.version(name)}")
    except metadata.PackageNotFoundError:
        pass
PY
  pip_install() {
    "$PY" -m pip install --disable-pip-version-check -q ${cert:+--cert "$cert"} -c "$constraints" "$@"
  }
  if [ "$OFFLINE" = 0 ]; then
    "$PY" -c 'import torchvision' 2>/dev/null || pip_install torchvision \
      || echo "setup: no torchvision matching torch $tv could be installed; detection and torchvision models need one" >&2
    pip_install "${DEPS[@]}"
  fi
else
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  PY=$PWD/.venv/bin/python
  pip_install() {
    "$PY" -m pip install --isolated --disable-pip-version-check -q ${cert:+--cert "$cert"} "$@"
  }
  if [ "$OFFLINE" = 0 ]; then
    if ! "$PY" -c "import torch, torchvision; assert torch.__version__.startswith('$TORCH_VERSION')" 2>/dev/null; then
      echo "setup: installing torch $TORCH_VERSION and torchvision $TORCHVISION_VERSION (about 2.6 GB)"
      pip_install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
    fi
    pip_install "${DEPS[@]}"
  fi
fi

DATA=/usr/share/datasets/fashion-mnist
if [ ! -d "$DATA" ]; then
  if [ "$OFFLINE" = 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian's dataset-fashion-mnist into $DATA"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
  else
    echo "setup: $DATA is missing; install Debian's dataset-fashion-mnist (or pass --data-root to hfc demo)" >&2
  fi
fi

bash scripts/build.sh "$PY" $([ "$EXISTING" = 1 ] || echo --isolated)
echo "$PY" > .hfc-python
"$PY" -m hfc_fast.experiments.cli info
