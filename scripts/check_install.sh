#!/usr/bin/env bash
# The existing-environment install paths, checked as a user meets them and from outside
# the source tree (so that a file missing from the package shows):
#
#   bash scripts/check_install.sh [TORCH_VERSION]     (default 2.11.0, the GPU machines' torch)
#
# 1. a virtual environment with that torch (not the pinned one) and the test dependencies;
# 2. a plain `pip install .` there stops with one line naming --no-build-isolation;
# 3. `pip wheel --no-build-isolation --no-deps --no-index .` compiles _C against that torch
#    (CUDA kernels for TORCH_CUDA_ARCH_LIST, default 9.0, when nvcc is here), the wheel is
#    installed there with no package index, and the op tests run against it;
# 4. the same wheel installed into a fresh environment passes the same op tests.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TORCH=${1:-2.11.0}
WORK=${CHECK_INSTALL_DIR:-$ROOT/build/check-install}
PYTHON=${PYTHON:-python3}
OP_TESTS=(test_backend.py test_frequency_split.py test_radial_mask.py test_radial_power_spectrum.py
          test_smooth_kernels.py test_pgd_step.py test_fourier.py test_fourier_perturb.py)
cert=${PIP_CERT:-}
[ -z "$cert" ] && [ -f /etc/ssl/certs/ca-certificates.crt ] && cert=/etc/ssl/certs/ca-certificates.crt
deps=("torch==$TORCH" numpy pytest scipy pillow matplotlib tqdm)

fresh_env() {  # fresh_env DIR [PACKAGE...]: a venv with torch $TORCH, what the op tests need, and PACKAGEs
  local dir=$1
  shift
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  "$dir/bin/python" -m pip install --isolated --disable-pip-version-check -q ${cert:+--cert "$cert"} \
    "${deps[@]}" "$@"
}
op_tests() {  # op_tests PY: the op tests against the installed hfc_fast, from a folder outside the source
  local py=$1 away
  away=$(mktemp -d)
  (cd "$away" && "$py" -c "import hfc_fast, sys; f = hfc_fast.__file__; print('hfc_fast from', f); \
sys.exit('check_install: hfc_fast was imported from the source tree' if f.startswith('$ROOT/hfc_fast/') else 0)")
  (cd "$away" && HFC_FAST_EXPECT_COMPILED=1 "$py" -m pytest -q -p no:cacheprovider --rootdir "$ROOT" \
     "${OP_TESTS[@]/#/$ROOT/tests/}")
  rm -rf "$away"
}

mkdir -p "$WORK"
echo "check_install: a virtual environment with torch $TORCH"
fresh_env "$WORK/env" setuptools wheel ninja
PY=$WORK/env/bin/python

echo "check_install: a plain pip install . must stop with one line"
set +e
plain=$("$PY" -m pip install --isolated --disable-pip-version-check ${cert:+--cert "$cert"} --no-deps . 2>&1)
rc=$?
set -e
if [ $rc = 0 ] || ! grep -q "pip install --no-build-isolation" <<<"$plain"; then
  echo "$plain" | tail -20
  echo "check_install: a plain pip install . did not stop with the --no-build-isolation line (exit $rc)" >&2
  exit 1
fi
grep "hfc_fast setup:" <<<"$plain" | head -1

echo "check_install: the wheel, built against torch $TORCH with no build isolation and no package index"
rm -rf "$WORK/dist"
cuda=0
command -v nvcc >/dev/null && cuda=1
FORCE_CUDA=$cuda TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0} MAX_JOBS=${MAX_JOBS:-$(nproc)} \
  "$PY" -m pip wheel --isolated --disable-pip-version-check -q --no-build-isolation --no-deps --no-index \
  -w "$WORK/dist" .
rm -rf "$ROOT/build/lib"* "$ROOT"/build/bdist* "$ROOT"/*.egg-info 2>/dev/null || true
wheel=$(ls "$WORK"/dist/hfc_fast-*.whl)
"$PY" -m pip install --isolated --disable-pip-version-check -q --no-index --no-deps "$wheel"
op_tests "$PY"

echo "check_install: the same wheel in a fresh environment"
fresh_env "$WORK/clean"
"$WORK/clean/bin/python" -m pip install --isolated --disable-pip-version-check -q --no-index --no-deps "$wheel"
op_tests "$WORK/clean/bin/python"
echo "check_install: torch $TORCH: plain install refused in one line; wheel built, installed twice, op tests passed"
