"""Metrics: collector CPU with N running containers, query times over a week, DB size.

Collector: a real agent process on an isolated Podman with N busybox apps, run twice,
once with ``metrics_interval`` = INTERVAL and once with the collector effectively off
(an hour), so the difference in the agent's CPU is the collector's (the state poll and
the rest of the agent cost the same in both runs). Podman's own CPU for the stats calls
is printed too.

Queries: a synthetic steady-state week for APPS apps, written the way the store keeps
it (an hour of raw 10 s points, a day of 1-minute, a week of 10-minute and hourly
buckets), then
the 7-day read of one app (store + response model + JSON, as the API does) and the
dashboard summary of every app (one grouped query). Size: the file per app after that
week, and what each further week adds until retention.

    python bench/bench_metrics.py [--containers 50] [--interval 10] [--seconds 90] [--apps 100]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import AgentProcess, PodmanService, build_busybox_image, percentile, short_tmpdir  # noqa: E402

from basepod_agent.protocol.metrics import AppMetrics, AppSparkline, MetricsRange, MetricsSummary  # noqa: E402
from basepod_agent.services.metrics_store import MetricsStore  # noqa: E402
from basepod_agent.store.database import Database  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure(agent: AgentProcess, podman: PodmanService, token: str, interval: float, seconds: float,
            containers: int) -> tuple[float, float]:
    """(agent CPU %, podman CPU %) over ``seconds`` after a restart with the given interval."""
    (agent.state_dir / "agent.toml").write_text(f"metrics_interval = {interval:g}\n")
    agent.restart()
    time.sleep(25)  # every container seen by the state poll, the first ticks primed
    a0, p0, w0 = cpu_seconds(agent.pid), cpu_seconds(podman._process.pid), time.monotonic()
    time.sleep(seconds)
    a1, p1, wall = cpu_seconds(agent.pid), cpu_seconds(podman._process.pid), time.monotonic() - w0
    body = agent.request("GET", "/api/metrics/summary?range=1h", token=token)[1]
    sampled = sum(1 for a in body["apps"] if a["current"])
    agent_pct, podman_pct = 100 * (a1 - a0) / wall, 100 * (p1 - p0) / wall
    print(f"  metrics_interval {interval:g} s: agent {agent_pct:.2f} % of a core, podman service "
          f"{podman_pct:.2f} %, apps with a live sample {sampled}/{containers}")
    return agent_pct, podman_pct


def collector(containers: int, interval: float, seconds: float) -> None:
    podman = PodmanService(short_tmpdir("bp-bench-pod-"))
    podman.start()
    agent = AgentProcess(short_tmpdir("bp-bench-m-"), podman, edge=False, port_range="27000-27199",
                         extra_args=["--stop-timeout", "1"])
    try:
        image = build_busybox_image(podman)
        agent.start()
        token = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                          "password": agent.admin_password})[1]["token"]
        for i in range(containers):
            status, body = agent.request("POST", "/api/apps", {"name": f"m{i}", "image": image, "port": 8080},
                                         token=token)
            assert status == 201, body
        print(f"collector: {containers} running busybox apps, {seconds:g} s per run")
        on_agent, on_podman = measure(agent, podman, token, interval, seconds, containers)
        off_agent, off_podman = measure(agent, podman, token, 3600, seconds, containers)
    finally:
        agent.stop()
        podman.destroy()
    print(f"collector CPU (agent, on - off)   {on_agent - off_agent:.2f} % of one core   (goal <= 2 %)")
    print(f"Podman's side of the stats calls  {on_podman - off_podman:.2f} % of one core")


def synthetic_week(db: Database, apps: int, now: int) -> None:
    """Steady state after a week, per app: 360 raw, 1,440 one-minute, 1,008 ten-minute, 168 hourly rows."""
    rng = random.Random(1)
    with sqlite3.connect(db.path) as conn:
        stamp = datetime.now(timezone.utc).isoformat(" ")
        conn.executemany("INSERT INTO apps (name, image, port, host_port, desired_state, created_at, updated_at) "
                         "VALUES (?, 'img', 80, ?, 'running', ?, ?)",
                         [(f"app{i}", 20000 + i, stamp, stamp) for i in range(apps)])
        rows = []
        for app_id in range(1, apps + 1):
            for res, step, count in ((0, 10, 360), (60, 60, 1440), (600, 600, 1008), (3600, 3600, 168)):
                n = max(1, step // 10)
                base = now - now % step
                for k in range(count):
                    cpu = rng.uniform(0, 80)
                    mem = rng.randrange(20_000_000, 200_000_000)
                    rows.append((app_id, res, base - k * step, n, cpu, cpu * 1.3, float(mem), mem, None,
                                 rng.uniform(0, 5e4), rng.uniform(0, 5e4), 0.0, rng.uniform(0, 1e4), 3))
        conn.executemany("INSERT INTO metric_points VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    with sqlite3.connect(db.path, isolation_level=None) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def queries(apps: int) -> None:
    now = int(time.time())
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "agent.db")
        db.migrate()
        empty = db.path.stat().st_size
        synthetic_week(db, apps, now)
        size = db.path.stat().st_size
        store = MetricsStore(db)

        def one() -> None:
            res, series, stats = store.series(random.randrange(1, apps + 1), MetricsRange.WEEK, now)
            AppMetrics(app="x", range=MetricsRange.WEEK, resolution_seconds=res, interval_seconds=10,
                       series=series, stats=stats).model_dump_json()

        def spark() -> None:
            bucket, lines = store.sparklines(list(range(1, apps + 1)), MetricsRange.WEEK, now, 60)
            MetricsSummary.model_construct(range=MetricsRange.WEEK, bucket_seconds=bucket, interval_seconds=10, apps=[
                AppSparkline.model_construct(app=str(i), t=t, cpu=c, memory=m, current=None, cpu_limit=None)
                for i, (t, c, m) in lines.items()]).model_dump_json()

        single = timed(one, 200)
        many = timed(spark, 30)
        points = len(store.series(1, MetricsRange.WEEK, now)[1].t)
        with sqlite3.connect(db.path) as conn:
            ten_minute = conn.execute("SELECT count(*) FROM metric_points WHERE res = 600").fetchone()[0]
        db.close()
    per_app = (size - empty) / apps
    per_row = per_app / (360 + 1440 + 1008 + 168)
    weekly = per_row * (1008 + 168)
    print(f"queries over a synthetic week, {apps} apps ({ten_minute // apps} ten-minute points each)")
    print(f"7-day query, one app ({points} points)   p50 {percentile(single, 50):.2f} ms  "
          f"p99 {percentile(single, 99):.2f} ms   (goal <= 20 ms)")
    print(f"7-day sparklines, {apps} apps, 60 points   p50 {percentile(many, 50):.2f} ms  "
          f"p99 {percentile(many, 99):.2f} ms   (goal <= 200 ms)")
    print(f"database per app after a week         {per_app / 1024:.0f} KiB ({per_row:.0f} B per row)")
    print(f"growth per app per further week       {weekly / 1024:.0f} KiB until retention (14 days), "
          f"then flat   (goal <= 5 MB)")


def api_queries(apps: int) -> None:
    """The same two reads through a real agent's control API (HTTP over its Unix socket)."""
    podman = PodmanService(short_tmpdir("bp-bench-pod-"))
    podman.start()
    agent = AgentProcess(short_tmpdir("bp-bench-q-"), podman, edge=False, port_range="27200-27399")
    try:
        agent._init()
        synthetic_week(Database(agent.state_dir / "agent.db"), apps, int(time.time()))
        agent.start()
        token = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                          "password": agent.admin_password})[1]["token"]
        one = timed(lambda: agent.request("GET", f"/api/apps/app{random.randrange(apps)}/metrics?range=7d",
                                          token=token), 100)
        many = timed(lambda: agent.request("GET", "/api/metrics/summary?range=7d", token=token), 30)
    finally:
        agent.stop()
        podman.destroy()
    print(f"through the API: 7-day query p50 {percentile(one, 50):.2f} ms  p99 {percentile(one, 99):.2f} ms; "
          f"{apps} sparklines p50 {percentile(many, 50):.2f} ms  p99 {percentile(many, 99):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=50)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--apps", type=int, default=100)
    parser.add_argument("--skip-collector", action="store_true")
    args = parser.parse_args()
    queries(args.apps)
    api_queries(args.apps)
    if not args.skip_collector:
        collector(args.containers, args.interval, args.seconds)


if __name__ == "__main__":
    main()
