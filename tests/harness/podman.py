"""An isolated ``podman system service`` per test session (and per xdist worker).

Everything that Podman keeps per store lives under one base dir: image/container storage
(--root, --runroot), libpod state (--tmpdir: alive file, exit codes, the events log) and
network definitions (--network-config-dir), so parallel workers never see each other's
containers, events or networks, and the machine's default store is never touched.

Shared with the host, by Podman's design: iptables rules for published ports, the SHM
lock segment (/dev/shm/libpod_lock, a global allocator, harmless) and the netavark IPAM
database in /run/containers/networks (shared, which is what keeps container IPs distinct
across stores on the common podman0 bridge).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from .system import check_socket_path, kill_pids, pids_mentioning, tail, wait_until
from .unix_http import unix_request

CONTAINERS_CONF = Path(__file__).resolve().parent.parent / "containers.conf"


class PodmanService:
    def __init__(self, base_dir: str | os.PathLike[str]) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.root = self.base_dir / "root"
        self.runroot = self.base_dir / "runroot"
        self.tmpdir = self.base_dir / "libpod"
        self.network_config_dir = self.base_dir / "networks"
        self.socket_path = self.base_dir / "podman.sock"
        self.log_path = self.base_dir / "service.log"
        self.storage_conf = self.base_dir / "storage.conf"
        check_socket_path(self.socket_path)
        self.url = f"unix://{self.socket_path}"
        # A plain `podman` run with this env uses the same store: CONTAINERS_STORAGE_CONF
        # selects root/runroot and libpod's database then supplies the matching tmpdir.
        # Network definitions need the flag: podman 4.3 has no CONTAINERS_CONF_OVERRIDE.
        self.env = {
            **os.environ,
            "CONTAINERS_CONF": str(CONTAINERS_CONF),
            "CONTAINERS_STORAGE_CONF": str(self.storage_conf),
        }
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def global_args(self) -> list[str]:
        """The flags that pin a podman invocation to this store; pass them first."""
        return [
            "--root", str(self.root),
            "--runroot", str(self.runroot),
            "--tmpdir", str(self.tmpdir),
            "--network-config-dir", str(self.network_config_dir),
        ]

    def start(self) -> "PodmanService":
        for directory in (self.root, self.runroot, self.tmpdir, self.network_config_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self.storage_conf.write_text(
            '[storage]\ndriver = "overlay"\n'
            f'graphroot = "{self.root}"\nrunroot = "{self.runroot}"\n'
        )
        self.socket_path.unlink(missing_ok=True)
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                ["podman", *self.global_args, "system", "service", "--time=0", self.url],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until(self._answers_ping, timeout=30, what=f"podman service at {self.socket_path}")
        except Exception as exc:
            self.stop()
            raise RuntimeError(f"podman service did not start: {exc}\n{tail(self.log_path)}") from exc
        return self

    def _answers_ping(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"podman service exited with {self._process.returncode}")
        status, _, body = unix_request(str(self.socket_path), "GET", "/_ping", timeout=2)
        return status == 200 and body.strip() == b"OK"

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """Raw REST call on the service socket, e.g. ``request("GET", "/v4.0.0/libpod/info")``."""
        headers = {"Content-Type": "application/json"} if body is not None else None
        status, _, data = unix_request(str(self.socket_path), method, path, body, headers)
        return status, data

    def cli(self, *args: str, check: bool = True, input: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run the podman CLI against this store; output captured as text."""
        return subprocess.run(
            ["podman", *self.global_args, *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )

    def stop(self) -> None:
        """Remove every container, stop the service, and kill whatever it left behind.

        conmon double-forks away from the service, so killing the service alone leaks
        one conmon (and a running container) per container: remove them through the
        CLI first, then sweep any process still naming this store in its arguments.
        """
        if self.root.exists():
            for args in (("pod", "rm", "-af", "-t", "0"), ("rm", "-af", "-t", "0")):
                try:
                    self.cli(*args, check=False, timeout=60)
                except subprocess.TimeoutExpired:
                    pass
        if self._process is not None:
            try:
                os.killpg(self._process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=10)
            self._process = None
        kill_pids(pids_mentioning(str(self.base_dir)))

    def destroy(self) -> None:
        """stop(), then delete the store (unmounting any overlay left mounted under it)."""
        self.stop()
        prefix = str(self.base_dir) + "/"
        with open("/proc/self/mounts") as mounts:
            targets = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
        for target in sorted(targets, key=len, reverse=True):
            subprocess.run(["umount", "-l", target], check=False, capture_output=True)
        shutil.rmtree(self.base_dir, ignore_errors=True)
