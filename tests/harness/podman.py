"""An isolated ``podman system service`` per test session (and per xdist worker).

Everything that Podman keeps per store lives under one base dir: image/container storage
(--root, --runroot) and libpod state (--tmpdir: alive file, exit codes, the events log),
so parallel workers never see each other's containers or events, and the machine's
default store is never touched. --tmpdir matters: without it the events log and exit
files of every store go to the shared /run/libpod, and the first invocation fixes the
value in the store's database for good.

Shared with the host on purpose: network definitions (/etc/containers/networks), the
netavark IPAM database (/run/containers/networks) and iptables rules. The lock file in
the network config dir is what serializes netavark across stores: a per-store
--network-config-dir made parallel workers race on the podman0 iptables chains
("unable to append rule ... No chain/target/match by that name"). Networks created in
tests are therefore visible to every worker: give them unique names and remove them.
The SHM lock segment (/dev/shm/libpod_lock) is shared too; it is a global allocator.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .system import check_socket_path, kill_pids, pids_mentioning, tail, wait_until
from .unix_http import unix_request

CONTAINERS_CONF = Path(__file__).resolve().parent.parent / "containers.conf"


class PodmanError(subprocess.CalledProcessError):
    def __str__(self) -> str:
        return f"{super().__str__()}\nstderr: {self.stderr.strip()}"


class PodmanService:
    def __init__(self, base_dir: str | os.PathLike[str]) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.root = self.base_dir / "root"
        self.runroot = self.base_dir / "runroot"
        self.tmpdir = self.base_dir / "libpod"
        self.socket_path = self.base_dir / "podman.sock"
        self.log_path = self.base_dir / "service.log"
        self.storage_conf = self.base_dir / "storage.conf"
        check_socket_path(self.socket_path)
        self.url = f"unix://{self.socket_path}"
        # A plain `podman` run with this env uses the same store: CONTAINERS_STORAGE_CONF
        # selects root/runroot and libpod's database then supplies the matching tmpdir.
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
        ]

    def start(self) -> "PodmanService":
        for directory in (self.root, self.runroot, self.tmpdir):
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
                cwd=self.base_dir,  # conmon (2.1.6) drops an `oom` marker file in its working dir
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
        """Run the podman CLI against this store; output captured as text.

        With check=True a failure raises PodmanError, whose message includes stderr.
        """
        result = subprocess.run(
            ["podman", *self.global_args, *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise PodmanError(result.returncode, result.args, result.stdout, result.stderr)
        return result

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
        self._reap_stragglers()

    def _reap_stragglers(self, grace: float = 5, deadline: float = 15) -> None:
        """Wait for conmon / `podman container cleanup` to finish, then SIGKILL the rest.

        conmon spawns the cleanup command as the container dies, which can be after
        `rm` returned, so a single sweep races with it: sweep until nothing is left.
        """
        started = time.monotonic()
        while pids := pids_mentioning(str(self.base_dir)):
            elapsed = time.monotonic() - started
            if elapsed > deadline:
                raise RuntimeError(f"processes using {self.base_dir} survive SIGKILL: {pids}")
            if elapsed > grace:
                kill_pids(pids)
            time.sleep(0.1)

    def destroy(self) -> None:
        """stop(), then delete the store (unmounting any overlay left mounted under it)."""
        self.stop()
        prefix = str(self.base_dir) + "/"
        with open("/proc/self/mounts") as mounts:
            targets = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
        for target in sorted(targets, key=len, reverse=True):
            subprocess.run(["umount", "-l", target], check=False, capture_output=True)
        shutil.rmtree(self.base_dir, ignore_errors=True)
