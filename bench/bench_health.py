"""Health loop at scale: N monitored apps probed every INTERVAL seconds over real HTTP.

The real HealthService (scheduler, semaphore, httpx probes, SQLite batches and pruning)
runs in this process against N tiny HTTP endpoints served by a child process, so the CPU
figure is the agent side only. Containers are not involved (200 containers would measure
Podman, not the loop): the state tracker and apps service are minimal stand-ins.

    python bench/bench_health.py [--apps 200] [--interval 5] [--seconds 60]

Prints probe start drift (actual start - scheduled time) and CPU % of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import percentile  # noqa: E402

from basepod_agent.config import AgentConfig  # noqa: E402
from basepod_agent.protocol.health import HealthConfig  # noqa: E402
from basepod_agent.runtime.podman import ContainerState  # noqa: E402
from basepod_agent.services.events import EventBus  # noqa: E402
from basepod_agent.services.health import HealthService  # noqa: E402
from basepod_agent.store.database import Database  # noqa: E402
from basepod_agent.store.models import App  # noqa: E402

SERVER = r'''
import asyncio, json, sys
BODY = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
async def handle(reader, writer):
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(BODY)
        await writer.drain()
    except Exception:
        pass
    finally:
        writer.close()
async def main(n):
    servers = [await asyncio.start_server(handle, "127.0.0.1", 0) for _ in range(n)]
    print(json.dumps([s.sockets[0].getsockname()[1] for s in servers]), flush=True)
    await asyncio.Event().wait()
asyncio.run(main(int(sys.argv[1])))
'''


class Tracker:
    """Like the real StateTracker, answers from a cache filled by its own poll."""

    podman_ok = True
    _state = ContainerState(id="x", name="basepod-app", app="app", state="running", exit_code=None,
                            started_at=datetime(2020, 1, 1, tzinfo=timezone.utc), finished_at=None)

    def get(self, _app: str) -> ContainerState:
        return self._state


class Apps:
    def __init__(self) -> None:
        self.health_of = None

    def desired(self, _name: str) -> str:
        return "running"

    def on_lifecycle(self, _listener) -> None:
        pass


async def run(n: int, interval: float, seconds: float) -> None:
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(n)], stdout=subprocess.PIPE, text=True)
    try:
        ports = json.loads(server.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(Path(tmp) / "agent.db")
            db.migrate()
            now = datetime.now(timezone.utc)
            with db.session() as s:
                for i, port in enumerate(ports):
                    s.add(App(name=f"app{i}", image="x", port=80, host_port=port, created_at=now, updated_at=now))
            svc = HealthService(AgentConfig(state_dir=Path(tmp)), db, Apps(), Tracker(), EventBus())
            config = HealthConfig(path="/health", interval_seconds=interval, timeout_seconds=min(2.0, interval),
                                  grace_seconds=0)
            for i, _ in enumerate(ports):
                svc.store.save_config("bench", f"app{i}", i + 1, config)
            await svc.start()
            await asyncio.sleep(interval)  # every app has had its first probe
            svc.drift.clear()
            cpu0, wall0, ru0 = time.process_time(), time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
            await asyncio.sleep(seconds)
            cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            drift_ms = [d * 1000 for d in svc.drift]
            greens = sum(1 for m in svc.monitors.values() if m.state.status.value == "green")
            await svc.aclose()
            db.close()
    finally:
        server.terminate()
        server.wait(10)
    expected = n * seconds / interval
    print(f"apps {n}, interval {interval:g} s, measured {wall:.1f} s")
    print(f"probes started      {len(drift_ms)} (expected ~{expected:.0f}); apps green {greens}/{n}")
    print(f"probe start drift   p50 {percentile(drift_ms, 50):.2f} ms  p99 {percentile(drift_ms, 99):.2f} ms  "
          f"max {max(drift_ms):.2f} ms   (goal p99 <= 250 ms)")
    print(f"agent CPU           {100 * cpu / wall:.2f} % of one core "
          f"(user {ru1.ru_utime - ru0.ru_utime:.2f} s, sys {ru1.ru_stime - ru0.ru_stime:.2f} s)   (goal <= 5 %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    asyncio.run(run(args.apps, args.interval, args.seconds))


if __name__ == "__main__":
    main()
