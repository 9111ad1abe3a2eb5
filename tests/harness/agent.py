"""The Basepod agent as a real subprocess, driven through its CLI contract.

    python -m basepod_agent init  --state-dir DIR --admin-email E   (BASEPOD_ADMIN_PASSWORD)
    python -m basepod_agent serve --state-dir DIR --podman-url URL [--edge H:P] [--port-range A-B]

Readiness is ``GET /api/version`` answering 200 on DIR/agent.sock.
"""

from __future__ import annotations

import itertools
import json as jsonlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

from .podman import PodmanService
from .system import check_socket_path, free_port, tail, wait_until
from .unix_http import unix_request

AGENT_SOURCE = Path(__file__).resolve().parents[2] / "agent"
PORTS_PER_WORKER = 1000
PORTS_PER_AGENT = 100
_agent_slots = itertools.count()


def worker_port_block() -> int:
    """First port of this xdist worker's block: none → 20000, gw0 → 21000, gw1 → 22000...

    Blocks stay below the kernel's ephemeral range (32768+), which free_port() uses.
    ``BASEPOD_TEST_PORT_LANE`` keeps concurrent runs from different work trees apart.
    """
    match = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
    worker = int(match.group(1)) if match else None
    lane = os.environ.get("BASEPOD_TEST_PORT_LANE")
    if lane is not None:
        # Several test runs at once on one machine (one per work tree): lane N of 0-5
        # owns 20000+2000N .. +1999, split between two workers.
        return 20000 + int(lane) % 6 * 2 * PORTS_PER_WORKER + (worker or 0) % 2 * PORTS_PER_WORKER
    if worker is None:
        return 20000
    return 21000 + worker % 11 * PORTS_PER_WORKER


def next_port_range() -> str:
    """A 100-port slice of the worker's block, distinct for each agent the worker starts,
    so two live agents of one worker (say shared_agent and a factory one) never race
    for the same host port."""
    start = worker_port_block() + (next(_agent_slots) % (PORTS_PER_WORKER // PORTS_PER_AGENT)) * PORTS_PER_AGENT
    return f"{start}-{start + PORTS_PER_AGENT - 1}"


class AgentProcess:
    def __init__(
        self,
        base_dir: str | os.PathLike[str],
        podman: PodmanService,
        admin_email: str = "admin@example.com",
        admin_password: str = "correct horse battery",
        edge: bool = True,
        port_range: str | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir = self.base_dir / "state"
        self.socket_path = self.state_dir / "agent.sock"
        check_socket_path(self.socket_path)
        self.log_path = self.base_dir / "agent.log"
        self.podman = podman
        self.admin_email = admin_email
        self.admin_password = admin_password
        self.port_range = port_range or next_port_range()
        self.edge_port = free_port() if edge else None
        self.edge_url = f"http://127.0.0.1:{self.edge_port}" if edge else None
        self.extra_args = list(extra_args)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        """Podman's env plus the agent source on PYTHONPATH (works before it is installed)."""
        env = dict(self.podman.env)
        env["BASEPOD_ADMIN_PASSWORD"] = self.admin_password
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(AGENT_SOURCE), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        return env

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> "AgentProcess":
        if not (self.state_dir / "agent.db").exists():
            self._init()
        args = [sys.executable, "-m", "basepod_agent", "serve",
                "--state-dir", str(self.state_dir),
                "--podman-url", self.podman.url,
                "--port-range", self.port_range]
        if self.edge_port is not None:
            args += ["--edge", f"127.0.0.1:{self.edge_port}"]
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== serve: {' '.join(args + self.extra_args)}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                args + self.extra_args, env=self.env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        try:
            wait_until(self._is_ready, timeout=20, what=f"agent API on {self.socket_path}", interval=0.1)
        except Exception as exc:
            self.stop()
            raise RuntimeError(f"agent did not become ready: {exc}\n--- agent log tail ---\n"
                               f"{tail(self.log_path)}") from exc
        return self

    def _init(self) -> None:
        args = [sys.executable, "-m", "basepod_agent", "init",
                "--state-dir", str(self.state_dir), "--admin-email", self.admin_email]
        result = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=60)
        with open(self.log_path, "a") as log:
            log.write(f"=== init: {' '.join(args)}\n{result.stdout}{result.stderr}")
        if result.returncode != 0:
            raise RuntimeError(f"agent init failed ({result.returncode}):\n{result.stderr[-4000:]}")

    def _is_ready(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"agent exited with {self._process.returncode}")
        status, _ = agent_request(str(self.socket_path), "GET", "/api/version", timeout=2)
        return status == 200

    def request(self, method: str, path: str, json: Any = None, token: str | None = None):
        return agent_request(str(self.socket_path), method, path, json=json, token=token)

    def kill(self) -> None:
        """SIGKILL: simulate a crash (no shutdown handlers run)."""
        self._signal_and_reap(signal.SIGKILL, timeout=10)

    def stop(self) -> None:
        """SIGTERM for a clean shutdown, SIGKILL if it takes longer than 10 s."""
        if self._process is None:
            return
        try:
            self._signal_and_reap(signal.SIGTERM, timeout=10)
        except subprocess.TimeoutExpired:
            self._signal_and_reap(signal.SIGKILL, timeout=10)

    def restart(self) -> "AgentProcess":
        self.stop()
        return self.start()

    def _signal_and_reap(self, sig: int, timeout: float) -> None:
        if self._process is None:
            return
        try:
            os.killpg(self._process.pid, sig)  # the agent's own helpers (git, builds) too
        except ProcessLookupError:
            pass
        self._process.wait(timeout=timeout)
        self._process = None


def agent_request(
    socket_path: str,
    method: str,
    path: str,
    json: Any = None,
    token: str | None = None,
    timeout: float = 30.0,
) -> tuple[int, Any]:
    """Call the agent's control API with the standard library only.

    Returns (status, parsed JSON); the body is returned as text if it is not JSON and
    as None if it is empty.
    """
    headers = {"Accept": "application/json"}
    body = None
    if json is not None:
        body = jsonlib.dumps(json).encode()
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    status, _, data = unix_request(socket_path, method, path, body, headers, timeout=timeout)
    if not data:
        return status, None
    try:
        return status, jsonlib.loads(data)
    except ValueError:
        return status, data.decode(errors="replace")


def start_configured(make, toml: str, **kwargs) -> AgentProcess:
    """An agent from the ``agent_factory`` fixture with ``agent.toml`` written before it starts."""
    agent = make(start=False, **kwargs)
    agent.state_dir.mkdir(parents=True, exist_ok=True)
    (agent.state_dir / "agent.toml").write_text(toml)
    return agent.start()


def admin_token(agent: AgentProcess) -> str:
    status, body = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                             "password": agent.admin_password})
    if status != 200:
        raise RuntimeError(f"admin login failed: {status} {body}")
    return body["token"]
