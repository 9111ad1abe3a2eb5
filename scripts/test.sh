#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine (as root): installs, lints layers, tests.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/agent -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
# The [test] extra may be missing from a venv made by scripts/run.sh.
.venv/bin/python -c "import pytest, xdist, pytestqt, importlinter" 2>/dev/null \
  || .venv/bin/pip install -q -e ".[test]"

export QT_QPA_PLATFORM=offscreen
export BASEPOD_KEYRING=0
echo "== import-linter (layering contracts)"
.venv/bin/lint-imports
echo "== pytest"
exec .venv/bin/python -m pytest -n "${BASEPOD_TEST_WORKERS:-2}" -p no:cacheprovider "$@"
