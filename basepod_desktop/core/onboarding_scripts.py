"""The only shell text onboarding sends to a server: fixed, reviewed POSIX sh scripts.

Inputs are positional arguments ($1, $2, ...), always expanded inside double quotes;
no script is ever built by string formatting. Each script is check-then-act, so running
it twice does no harm.
"""

from __future__ import annotations

import json
from typing import Optional

from pydantic import ValidationError

from .onboarding_model import HostFacts, InstallManifest

# $1 = prefix or "", $2 = state dir or "" (empty: the installed one, else this user's default)
INSPECT = r"""
uid=$(id -u)
prefix=$1; state=$2
if [ -z "$prefix" ]; then
  if [ "$uid" = 0 ]; then prefix=/opt/basepod; else prefix="$HOME/.local/share/basepod-agent"; fi
fi
if [ -z "$state" ] && [ -r "$prefix/install.json" ]; then
  state=$(sed -n 's/^ *"state_dir": *"\([^"]*\)".*/\1/p' "$prefix/install.json")
fi
if [ -z "$state" ]; then
  if [ "$uid" = 0 ]; then state=/var/lib/basepod; else state="$prefix/state"; fi
fi
echo "uid=$uid"
echo "user=$(id -un)"
echo "home=$HOME"
echo "prefix=$prefix"
echo "state_dir=$state"
echo "now=$(date +%s)"
[ -r /etc/os-release ] && sed -n 's/^\(ID\|ID_LIKE\|PRETTY_NAME\)=/os_\1=/p' /etc/os-release
# The distribution's Python outlives a user's pyenv/conda shims, so it is preferred.
if [ -x /usr/bin/python3 ]; then py=/usr/bin/python3; else py=$(command -v python3 || true); fi
echo "python=$py"
if [ -n "$py" ]; then
  "$py" -c 'import sys; print("python_version=%d.%d.%d" % sys.version_info[:3])'
  if "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then echo python_venv=1; fi
fi
if command -v podman >/dev/null 2>&1; then echo "podman_version=$(podman --version 2>/dev/null | awk '{print $NF}')"; fi
if grep -q "^$(id -un):" /etc/subuid 2>/dev/null; then echo subuid=1; fi
if [ -d /run/systemd/system ]; then echo "systemd=$(systemctl is-system-running 2>/dev/null || true)"; fi
for pm in apt-get dnf; do
  if command -v $pm >/dev/null 2>&1; then echo "package_manager=$pm"; break; fi
done
if [ "$uid" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then echo sudo=1; fi
d=$state
while [ ! -d "$d" ]; do d=$(dirname "$d"); done
echo "disk_kb=$(df -Pk "$d" | awk 'NR==2 {print $4}')"
awk '/^MemTotal:/ {print "mem_total_kb=" $2} /^MemAvailable:/ {print "mem_available_kb=" $2}' /proc/meminfo
if [ -x "$prefix/venv/bin/python" ]; then
  echo "installed_version=$("$prefix/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("basepod-agent"))' 2>/dev/null)"
fi
if [ -r "$prefix/install.json" ]; then echo "manifest=$(tr -d '\n' < "$prefix/install.json")"; fi
if [ -f "$state/agent.db" ]; then echo initialised=1; fi
exit 0
"""

# $1 = file: print its sha256, or nothing when it does not exist
SHA256 = r"""[ -f "$1" ] && sha256sum "$1" | awk '{print $1}'; exit 0"""

# $1 = directory, $2 = mode: create it (and parents) once
MKDIR = r"""mkdir -p "$1" && chmod "$2" "$1" """

# $1 = python, $2 = venv dir: a working venv, made (or repaired) only when missing
VENV = r"""
if [ -x "$2/bin/python" ] && "$2/bin/python" -c 'import sys' >/dev/null 2>&1; then echo "venv exists"; exit 0; fi
"$1" -m venv --clear "$2" && echo "created $2"
"""

# stdin = the admin password line; $1... = the agent's init command (exec'd: no shell left)
WITH_PASSWORD = r"""IFS= read -r BASEPOD_ADMIN_PASSWORD || exit 3
export BASEPOD_ADMIN_PASSWORD
exec "$@"
"""

# $1 = pidfile, $2 = log file, $3... = the agent's serve command. Detached from the SSH
# session (setsid, stdio redirected) so closing the connection does not end it.
START_DETACHED = r"""
pidfile=$1; logfile=$2; shift 2
if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile")
  if [ -n "$pid" ] && grep -qa basepod-agent "/proc/$pid/cmdline" 2>/dev/null; then
    echo "already running (pid $pid)"; exit 0
  fi
fi
umask 077
setsid "$@" >>"$logfile" 2>&1 </dev/null &
echo $! > "$pidfile"
echo "started (pid $!)"
"""

# $1 = pidfile: stop the detached agent, waiting up to 20 s; only a process whose command
# line names basepod-agent is signalled (a reused pid is left alone).
STOP_DETACHED = r"""
pidfile=$1
[ -f "$pidfile" ] || { echo "not running"; exit 0; }
pid=$(cat "$pidfile")
if [ -z "$pid" ] || ! grep -qa basepod-agent "/proc/$pid/cmdline" 2>/dev/null; then
  rm -f "$pidfile"; echo "not running"; exit 0
fi
kill -TERM "$pid"
i=0
while [ -d "/proc/$pid" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
if [ -d "/proc/$pid" ]; then kill -KILL "$pid"; fi
rm -f "$pidfile"
echo "stopped (pid $pid)"
"""

# $1 = pidfile: exit 0 when the detached agent runs
DETACHED_RUNNING = r"""
[ -f "$1" ] || exit 1
pid=$(cat "$1")
[ -n "$pid" ] && grep -qa basepod-agent "/proc/$pid/cmdline" 2>/dev/null
"""


def _kb(value: Optional[str]) -> Optional[int]:
    return int(value) * 1024 if value and value.isdigit() else None


def parse_inspect(output: str) -> HostFacts:
    """Turn INSPECT's `key=value` lines into HostFacts (unknown keys are ignored)."""
    raw: dict[str, str] = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            raw[key.strip()] = value.strip()

    def unquote(v: str) -> str:
        return v[1:-1] if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'" else v

    manifest = None
    if raw.get("manifest"):
        try:
            manifest = InstallManifest.model_validate(json.loads(raw["manifest"]))
        except (ValueError, ValidationError):
            manifest = None  # a damaged manifest means "reinstall", not "crash"
    systemd_state = raw.get("systemd")
    return HostFacts(
        user=raw.get("user", ""), uid=int(raw.get("uid", "-1") or -1), home=raw.get("home", ""),
        os_id=unquote(raw.get("os_ID", "")), os_like=unquote(raw.get("os_ID_LIKE", "")).split(),
        os_name=unquote(raw.get("os_PRETTY_NAME", "")),
        python=raw.get("python") or None, python_version=raw.get("python_version") or None,
        python_venv=raw.get("python_venv") == "1", podman_version=raw.get("podman_version") or None,
        subuid=raw.get("subuid") == "1",
        systemd=systemd_state is not None and systemd_state not in ("offline", ""),
        systemd_state=systemd_state or "", package_manager=raw.get("package_manager") or None,
        sudo=raw.get("sudo") == "1", disk_free_bytes=_kb(raw.get("disk_kb")),
        mem_total_bytes=_kb(raw.get("mem_total_kb")), mem_available_bytes=_kb(raw.get("mem_available_kb")),
        server_time=int(raw["now"]) if raw.get("now", "").isdigit() else None,
        prefix=raw.get("prefix", ""), state_dir=raw.get("state_dir", ""),
        installed_version=raw.get("installed_version") or None, manifest=manifest,
        initialised=raw.get("initialised") == "1",
    )
