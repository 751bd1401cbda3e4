#!/usr/bin/env bash
# Run the test suite (CUDA tests run too where a GPU is present).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python.sh
exec "$PY" -m pytest tests -q -p no:cacheprovider "$@"
