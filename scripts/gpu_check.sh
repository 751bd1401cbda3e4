#!/usr/bin/env bash
# The one command a GPU machine runs: build against that machine's torch with the
# CUDA kernels forced, run the whole test suite (CUDA tests included), run the
# benchmarks on the GPU, and write their results under benchmarks/results/ named
# after the device.
#
#   bash scripts/gpu_check.sh --prepare          here, with a package index: fill .carry/ with what a
#                                                machine without one lacks (wheels, Fashion-MNIST)
#   bash scripts/gpu_check.sh                    on the GPU machine: every step
#   bash scripts/gpu_check.sh --steps build,test then --steps build,bench   in two calls of under 10 min
#   bash scripts/gpu_check.sh --dry-run          no GPU: every step that needs none (CI runs this)
#
# Options: --python PY (default python3; in a dry run the set-up interpreter), --steps LIST
# (build, test, bench; default all), --out DIR (logs; default $OUT or runs/gpu_check).
# Each step runs under a time limit (BUILD_LIMIT, TEST_LIMIT, BENCH_LIMIT seconds: 360, 540, 540).
# Nothing is fetched: packages the machine lacks come from .carry/wheels (installed into a
# temporary folder on PYTHONPATH), the demo data from .carry/fashion-mnist.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DRY=0
PREPARE=0
STEPS=build,test,bench
PY=""
LOGS=${OUT:-$ROOT/runs/gpu_check}
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1; shift ;;
    --prepare) PREPARE=1; shift ;;
    --steps) STEPS=$2; shift 2 ;;
    --steps=*) STEPS=${1#--steps=}; shift ;;
    --python) PY=$2; shift 2 ;;
    --python=*) PY=${1#--python=}; shift ;;
    --out) LOGS=$2; shift 2 ;;
    --out=*) LOGS=${1#--out=}; shift ;;
    *) echo "gpu_check: unknown argument $1 (expected --dry-run, --prepare, --steps, --python or --out)" >&2; exit 2 ;;
  esac
done
for s in ${STEPS//,/ }; do
  case "$s" in build|test|bench) ;; *) echo "gpu_check: --steps takes build, test and bench, not $s" >&2; exit 2 ;; esac
done
has_step() { [[ ",$STEPS," == *",$1,"* ]]; }

CARRY=$ROOT/.carry
# What the GPU machines lack (their image has torch, torchvision, timm, pytest, pytest-benchmark,
# scipy, matplotlib, tqdm, pillow, lightning, tensorboard): pycocotools for detection, torchattacks
# for the peer benchmark.
CARRIED=("pycocotools==2.0.10" "torchattacks==3.5.1")

if [ "$PREPARE" = 1 ]; then
  mkdir -p "$CARRY/wheels" "$CARRY/fashion-mnist"
  grep -qx '/.carry/' .git/info/exclude 2>/dev/null || echo '/.carry/' >> .git/info/exclude
  for req in "${CARRIED[@]}"; do
    python3 -m pip download --isolated -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      --platform any -d "$CARRY/wheels" "$req"
  done
  cp /usr/share/datasets/fashion-mnist/*.gz "$CARRY/fashion-mnist/"
  du -sh "$CARRY"
  echo "gpu_check: .carry/ is ready; on the GPU machine carry .carry and run: bash scripts/gpu_check.sh"
  exit 0
fi

mkdir -p "$LOGS"
say() { echo "gpu_check: $*" | tee -a "$LOGS/gpu_check.log"; }
# run_step NAME LIMIT CMD...: one step under its time limit, its output in $LOGS/NAME.log
run_step() {
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  say "step $name (limit ${limit}s): $*"
  set +e
  PYTHONUNBUFFERED=1 timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$LOGS/$name.log"
  local rc=${PIPESTATUS[0]}
  set -e
  say "step $name: exit $rc after $((SECONDS - start))s"
  [ "$rc" = 0 ] || FAILED+=("$name")
}
FAILED=()

if [ -z "$PY" ]; then
  if [ "$DRY" = 1 ]; then source scripts/python.sh; else PY=python3; fi
fi
PY=$(command -v "$PY" || echo "$PY")

# Packages the machine lacks, from carried wheels, into a folder of their own on PYTHONPATH.
if compgen -G "$CARRY/wheels/*.whl" >/dev/null; then
  SITE=$(mktemp -d)
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
    "$CARRY"/wheels/*.whl
  export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH}
  say "carried wheels on PYTHONPATH: $(ls "$CARRY/wheels" | tr '\n' ' ')"
fi
FMNIST=/usr/share/datasets/fashion-mnist
if [ ! -d "$FMNIST" ] && compgen -G "$CARRY/fashion-mnist/*.gz" >/dev/null; then
  mkdir -p "$FMNIST" 2>/dev/null && cp "$CARRY"/fashion-mnist/*.gz "$FMNIST/" && say "Fashion-MNIST from .carry/"
fi

if [ "$DRY" = 1 ]; then
  say "dry run on $(uname -n): no GPU is used; results go to $LOGS, not benchmarks/results/"
  DEVICE=cpu
  RESULTS=$LOGS/results
else
  if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_check: torch sees no CUDA device here; use --dry-run on a machine without a GPU" >&2
    exit 2
  fi
  DEVICE=cuda
  RESULTS=$ROOT/benchmarks/results
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv \
    | tee -a "$LOGS/gpu_check.log" || true
fi
say "python $PY, $("$PY" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)')"

if has_step build; then
  # Against this machine's torch (no build isolation, no index), CUDA kernels forced. Without
  # TORCH_CUDA_ARCH_LIST, setup.py builds for the GPU it finds, or (dry run) the whole default list;
  # ninja in build/ext recompiles only what changed since the last build.
  run_step build "${BUILD_LIMIT:-360}" env FORCE_CUDA=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" bash scripts/build.sh "$PY"
  expect="import hfc_fast, sys; i = hfc_fast.backend_info(); print(i)
sys.exit(0 if i['backend'] == 'compiled' and i['cuda_kernels'] and (i['cuda_available'] or $DRY) else 1)"
  run_step info 60 "$PY" -c "$expect"
fi

if has_step test; then
  if [ "$DRY" = 1 ]; then
    # The whole suite is collected (every test imports, the CUDA ones are there), and the backend
    # test runs; the suite itself is run by CI's own test step.
    run_step test "${TEST_LIMIT:-540}" env HFC_FAST_EXPECT_COMPILED=1 "$PY" -m pytest tests -q -p no:cacheprovider \
      --collect-only
    run_step test-backend 120 env HFC_FAST_EXPECT_COMPILED=1 "$PY" -m pytest tests/test_backend.py -q \
      -p no:cacheprovider
  else
    run_step test "${TEST_LIMIT:-540}" env HFC_FAST_EXPECT_COMPILED=1 HFC_FAST_EXPECT_CUDA=1 "$PY" -m pytest tests \
      -q -p no:cacheprovider -x --durations=20 --junitxml="$LOGS/tests.xml"
  fi
fi

if has_step bench; then
  quick=()
  [ "$DRY" = 1 ] && quick=(--quick)
  export HFC_FAST_BENCH_OUT=$RESULTS
  run_step bench-ops "${BENCH_LIMIT:-540}" "$PY" benchmarks/run.py --device "$DEVICE" "${quick[@]}" --out "$RESULTS"
  if [ "$DRY" = 1 ]; then
    run_step bench-floor 300 "$PY" benchmarks/pass_floor.py --device cpu --images 200 --repeats 1 --epochs 1
    run_step bench-fourier 300 "$PY" benchmarks/fourier_map.py --device cpu --images 64 --train-steps 5
    run_step bench-pytest 300 "$PY" -m pytest benchmarks -q -p no:cacheprovider --benchmark-disable
  else
    run_step bench-floor 300 "$PY" benchmarks/pass_floor.py --device cuda --images 10000 --batch 1000
    run_step bench-fourier 300 "$PY" benchmarks/fourier_map.py --device cuda --model resnet18 --size 224 \
      --stride 4 --images 256 --skip-plain
    run_step bench-pytest 300 "$PY" -m pytest benchmarks -q -p no:cacheprovider --benchmark-only \
      --benchmark-json="$LOGS/pytest-benchmark.json"
  fi
fi

if [ ${#FAILED[@]} -gt 0 ]; then
  say "FAILED steps: ${FAILED[*]} (logs in $LOGS)"
  exit 1
fi
say "all steps passed (logs in $LOGS${RESULTS:+, results in $RESULTS})"
