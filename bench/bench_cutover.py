"""Requests per second through Caddy while idle vs during a zero-downtime cutover, and
the cutover duration (health check passed -> Caddy serving the new version).

A real agent with its own Caddy (plain HTTP, Host header routing) runs a busybox app;
CLIENTS threads request it back to back, each on a new connection. Each round deploys
the other of two image variants (an image deploy: no build, so the window is the
cutover itself: start beside, health-gate, switch, drain, stop the old one).

    python bench/bench_cutover.py [--rounds 5] [--clients 4] [--idle 3]

Prints rps idle and during each cutover, failed requests, and p50 of the cutover
duration as the agent logs it ("traffic switched N ms after" the check passed).
"""

from __future__ import annotations

import argparse
import http.client
import re
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import AgentProcess, PodmanService, percentile, short_tmpdir  # noqa: E402

from harness import build_busybox_variant  # noqa: E402
from harness.system import free_port, wait_until  # noqa: E402

HOST = "web.bench.test"


class Load:
    def __init__(self, port: int, clients: int) -> None:
        self.port, self.clients = port, clients
        self.ok = self.failed = 0
        self.reasons: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def _run(self) -> None:
        while not self._stop.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            why = None
            try:
                conn.request("GET", "/", headers={"Host": HOST})
                response = conn.getresponse()
                if response.status != 200:
                    why = f"HTTP {response.status} {response.read()[:200]!r}"
            except OSError as exc:
                why = repr(exc)
            finally:
                conn.close()
            with self._lock:
                if why is None:
                    self.ok += 1
                else:
                    self.failed += 1
                    self.reasons.append(f"{time.perf_counter() - self.started:.3f}s {why}")

    def __enter__(self) -> "Load":
        self.started = time.perf_counter()
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(10)
        self.seconds = time.perf_counter() - self.started

    @property
    def rps(self) -> float:
        return self.ok / self.seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idle load")
    parser.add_argument("--drain", type=float, default=1.0)
    args = parser.parse_args()
    podman = PodmanService(short_tmpdir("bp-bench-pod-")).start()
    http_port = free_port()
    agent = AgentProcess(short_tmpdir("bp-bench-agent-"), podman, edge=False, extra_args=[
        "--stop-timeout", "1", "--http-port", str(http_port), "--root-domain", "bench.test", "--tls", "off",
        "--drain-seconds", str(args.drain)])
    try:
        images = [build_busybox_variant(podman, f"localhost/bench/cut-{n}:1", f"version {n}\n") for n in (0, 1)]
        agent.start()
        token = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                          "password": agent.admin_password})[1]["token"]
        agent.request("POST", "/api/apps", {"name": "web", "image": images[0], "port": 8080}, token=token)
        wait_until(lambda: _body(http_port) == "version 0\n", 30, "the app through Caddy")

        with Load(http_port, args.clients) as idle:
            time.sleep(args.idle)
        print(f"idle:     {idle.rps:8.0f} rps  ({idle.ok} ok, {idle.failed} failed, {args.clients} clients)")
        during, failed, windows = [], 0, []
        for n in range(args.rounds):
            image = images[(n + 1) % 2]
            with Load(http_port, args.clients) as load:
                created = agent.request("POST", "/api/apps/web/deploy/image", {"image": image}, token=token)[1]
                done = wait_until(lambda: _finished(agent, token, created["id"]), 120, "the deploy", interval=0.05)
            during.append(load.rps)
            failed += load.failed
            windows.append(load.seconds)
            print(f"cutover {n + 1}: {load.rps:8.0f} rps  ({load.ok} ok, {load.failed} failed, "
                  f"deploy {done} in {load.seconds:.2f} s)")
            for reason in load.reasons[:5]:
                print(f"    failed at {reason}")
        switched = [float(m) for m in re.findall(r"traffic switched ([\d.]+) ms after", agent.log_path.read_text())]
        print(f"\nrps during cutover / idle: {statistics.median(during) / idle.rps:.2f} "
              f"(median {statistics.median(during):.0f} vs {idle.rps:.0f}); failed requests: {failed}")
        if switched:
            print(f"cutover duration (healthy -> all traffic on the new version): p50 {percentile(switched, 50):.1f} ms"
                  f", max {max(switched):.1f} ms (n={len(switched)}); whole deploy p50 "
                  f"{statistics.median(windows):.2f} s incl. {args.drain:g} s drain")
    finally:
        agent.stop()
        podman.destroy()
    return 0


def _body(port: int) -> str | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        conn.request("GET", "/", headers={"Host": HOST})
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def _finished(agent, token, deploy_id: str) -> str | None:
    status = agent.request("GET", f"/api/apps/web/deploys/{deploy_id}", token=token)[1]["status"]
    return status if status in ("success", "failed", "cancelled", "interrupted") else None


if __name__ == "__main__":
    sys.exit(main())
