"""Finding a Podman API socket, or starting ``podman system service`` when none runs."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from pathlib import Path


def _answers(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: podman\r\n\r\n")
            return b" 200 " in sock.recv(64)
    except OSError:
        return False


def candidate_sockets() -> list[str]:
    """Rootful first when we are root, then the rootless user socket."""
    found = []
    if os.geteuid() == 0:
        found.append("/run/podman/podman.sock")
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.geteuid()}"
    found.append(f"{runtime_dir}/podman/podman.sock")
    return found


def url_answers(url: str) -> bool:
    return url.startswith("unix://") and _answers(url[len("unix://"):])


class PodmanServiceProcess:
    """A ``podman system service`` child owned by the agent, stopped with it."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    async def start(self, timeout: float = 20.0) -> str:
        podman = shutil.which("podman")
        if podman is None:
            raise RuntimeError("podman is not installed on this server (apt-get install podman)")
        self.socket_path.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [podman, "system", "service", "--time=0", self.url],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise RuntimeError(f"podman system service exited: {err.strip()[:500]}")
            if _answers(str(self.socket_path)):
                return self.url
            await asyncio.sleep(0.1)
        raise RuntimeError("podman system service did not answer in time")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


async def resolve_podman(explicit: str | None, own_socket: Path) -> tuple[str, PodmanServiceProcess | None]:
    """Use the configured URL, else a running system socket, else start our own service."""
    if explicit:
        return explicit, None
    for path in candidate_sockets():
        if _answers(path):
            return f"unix://{path}", None
    service = PodmanServiceProcess(own_socket)
    return await service.start(), service
