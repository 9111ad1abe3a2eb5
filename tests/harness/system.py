"""Process, port and directory helpers shared by the harness modules.

Kept Linux-specific on purpose (reads /proc): the e2e harness only runs on the Debian
test machines described in /work/shared/TESTING.md.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")

# sun_path is 108 bytes including the NUL; keep a margin for suffixes like ".lock".
MAX_UNIX_SOCKET_PATH = 100


def require_binaries(*names: str) -> None:
    """Skip the calling test, naming what is missing, when a program is not installed."""
    import pytest

    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (see /work/shared/TESTING.md: "
                    "apt-get install podman runc openssh-server busybox-static)")


def short_tmpdir(prefix: str) -> Path:
    """A fresh dir directly under /tmp: pytest's tmp_path is often too deep for sockets."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def check_socket_path(path: Path) -> None:
    if len(os.fsencode(str(path))) > MAX_UNIX_SOCKET_PATH:
        raise ValueError(f"Unix socket path too long ({len(str(path))} bytes): {path}")


def free_port() -> int:
    """A TCP port that was free a moment ago (kernel ephemeral range, 32768+ on Linux).

    The ephemeral range never overlaps the per-worker agent port ranges (20000-31999).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll ``probe`` until it returns something truthy; its exceptions count as "not yet"."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = probe()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            last_error = exc
        if time.monotonic() > deadline:
            detail = f": last error {last_error!r}" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (all threads), empty if it is gone."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return children


def descendant_pids(pid: int) -> list[int]:
    """Every descendant of ``pid``, parents before children."""
    found: list[int] = []
    queue = child_pids(pid)
    while queue:
        child = queue.pop(0)
        found.append(child)
        queue.extend(child_pids(child))
    return found


def pids_mentioning(text: str) -> list[int]:
    """Processes whose command line contains ``text`` (a unique temp path, in practice).

    conmon and ``podman container cleanup`` daemonize away from the service that started
    them, so the only reliable handle on them is the store path in their arguments.
    """
    needle = os.fsencode(text)
    me = os.getpid()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def kill_pids(pids: list[int], sig: int = signal.SIGKILL) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def tail(path: Path, max_bytes: int = 4000) -> str:
    """The end of a log file, for error messages."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"<no log at {path}: {exc}>"
    return data[-max_bytes:].decode(errors="replace")
