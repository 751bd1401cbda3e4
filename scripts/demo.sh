#!/usr/bin/env bash
# Set up (if needed) and run the main job: `hfc demo` on Fashion-MNIST.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/hfc demo --out "${1:-runs/demo}"
