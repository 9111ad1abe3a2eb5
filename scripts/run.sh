#!/usr/bin/env bash
# Installs Basepod on Debian 12 (as root) and opens the desktop app on "This computer":
# a local agent managing local Podman, started and stopped by the app itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/basepod "$@"
