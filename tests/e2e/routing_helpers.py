"""Pieces of the routing/cutover tests: an agent behind its own Caddy, a client that
keeps requesting through Caddy, test images for old/new/broken versions."""

from __future__ import annotations

import http.client
import tempfile
import threading
from pathlib import Path

from harness import build_busybox_variant
from harness.system import free_port, wait_until

ROOT = "basepod.test"
OLD, NEW = "version one\n", "version two\n"


def routed_agent(agent_factory, drain: float = 0.5, timeout: float = 5, extra: tuple[str, ...] = ()):
    """An agent fronting apps with its own Caddy on a free HTTP port, plain HTTP."""
    port = free_port()
    agent = agent_factory(extra_args=["--stop-timeout", "1", "--http-port", str(port), "--root-domain", ROOT,
                                      "--tls", "off", "--drain-seconds", str(drain),
                                      "--cutover-timeout", str(timeout), *extra])
    agent.http_port = port
    return agent


def get(port: int, host: str, path: str = "/", timeout: float = 5) -> tuple[int, str]:
    """One request on a new connection, as a browser opening the app would make."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def wait_routed(port: int, host: str, body: str, timeout: float = 20) -> str:
    return wait_until(lambda: get(port, host) == (200, body) and body, timeout, f"{body!r} at {host}")


class SteadyClient:
    """Requests through Caddy back to back in a thread; records every outcome."""

    def __init__(self, port: int, host: str) -> None:
        self.port, self.host = port, host
        self.bodies: list[str] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status, body = get(self.port, self.host)
            except OSError as exc:
                self.failures.append(repr(exc))
                continue
            if status != 200:
                self.failures.append(f"HTTP {status}: {body[:200]}")
            else:
                self.bodies.append(body)

    def __enter__(self) -> "SteadyClient":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def runs(self) -> list[str]:
        """The bodies seen, consecutive repeats collapsed: [old, new] is one clean switch."""
        runs: list[str] = []
        for body in self.bodies:
            if not runs or runs[-1] != body:
                runs.append(body)
        return runs


def variant(podman, label: str, body: str) -> str:
    return build_busybox_variant(podman, f"localhost/basepod-test/route-{label}:1", body)


def broken_image(podman, base: str) -> str:
    """Starts and keeps running but never listens: a version that never becomes healthy."""
    tag = "localhost/basepod-test/never-listens:1"
    if podman.cli("image", "exists", tag, check=False).returncode != 0:
        with tempfile.TemporaryDirectory(prefix="bp-broken-") as work:
            (Path(work) / "Containerfile").write_text(f'FROM {base}\nCMD ["/bin/sleep", "3600"]\n')
            podman.cli("build", "-q", "-t", tag, "-f", str(Path(work) / "Containerfile"), work)
    return tag


def app_containers(agent, app: str = "web") -> list[str]:
    names = agent.podman.cli("ps", "-a", "--format", "{{.Names}}").stdout.split()
    return [n for n in names if n.startswith(f"basepod-{app}")]


def start_image_deploy(agent, token: str, image: str, app: str = "web") -> str:
    status, created = agent.request("POST", f"/api/apps/{app}/deploy/image", {"image": image}, token=token)
    assert status == 202, created
    return created["id"]
