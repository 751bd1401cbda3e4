# Sourced by the scripts: PY is the interpreter scripts/setup.sh set up (.hfc-python),
# else ./.venv's; HFC_PYTHON overrides both. Sets it up first when there is none.
PY=${HFC_PYTHON:-}
if [ -z "$PY" ] && [ -f .hfc-python ] && [ -x "$(cat .hfc-python)" ]; then PY=$(cat .hfc-python); fi
if [ -z "$PY" ]; then
  [ -x .venv/bin/python ] || bash scripts/setup.sh
  PY=$PWD/.venv/bin/python
fi
