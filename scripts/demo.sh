#!/usr/bin/env bash
# Set up (if needed) and run the main job: `hfc demo` on Fashion-MNIST.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${HFC_PYTHON:-}" ] || [ -f .hfc-python ] || bash scripts/setup.sh
source scripts/python.sh
"$PY" -m hfc_fast.experiments.cli demo --out "${1:-runs/demo}"
