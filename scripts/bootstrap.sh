#!/usr/bin/env bash
# Installs what Basepod needs on Debian 12 (as root): system packages and a venv in .venv.
# Idempotent and quick when everything is already there. Usage: scripts/bootstrap.sh [test]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(podman runc uidmap slirp4netns openssh-server openssh-client git busybox-static
          caddy python3 python3-venv python3-dev gcc
          libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0
          libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
          libxcb-render-util0 libxcb-image0)
if [[ "${1:-}" == "test" ]]; then
  packages+=(debootstrap)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
stamp=.venv/.basepod-installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp || agent/pyproject.toml -nt $stamp ]]; then
  .venv/bin/pip install -q --upgrade pip
  extras=""
  [[ "${1:-}" == "test" ]] && extras="[test]"
  .venv/bin/pip install -q -e ./agent -e ".${extras}"
  touch "$stamp"
fi
