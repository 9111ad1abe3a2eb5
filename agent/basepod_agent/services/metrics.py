"""The metrics collector: every running app's CPU, memory, network, block I/O and pids.

It runs in the agent, independent of any client, on a fixed grid of ``metrics_interval``
seconds aligned to the wall clock (so stored times are stable across restarts). A tick
is one Podman stats call for all running apps, one database transaction and one
``MetricsTick`` event; a tick that overruns makes the next slot be skipped, never
queued. Podman reports cumulative counters, so CPU % and rates come from the difference
with the previous tick of the same container; a new (or restarted) container is first
only remembered.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time

from basepod_agent.config import AgentConfig
from basepod_agent.protocol.errors import ErrorCode
from basepod_agent.protocol.events import MetricsTick
from basepod_agent.protocol.metrics import AppMetrics, AppSample, AppSparkline, MetricsRange, MetricsSummary
from basepod_agent.runtime.podman import PodmanRuntime, RuntimeFailure
from basepod_agent.runtime.podman_stats import ContainerStats
from basepod_agent.services.apps import AppsService
from basepod_agent.services.env import app_row
from basepod_agent.services.errors import AgentError
from basepod_agent.services.events import EventBus
from basepod_agent.services.health_store import at_from
from basepod_agent.services.metrics_alerts import MetricsAlerts, defaults_from
from basepod_agent.services.metrics_store import MetricsStore, Sample
from basepod_agent.services.state import StateTracker
from basepod_agent.store.database import Database

log = logging.getLogger(__name__)

CPU_LIMIT_TTL = 300.0
MAX_INSPECTS_PER_TICK = 10
SPARK_POINTS = 60


def host_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def rate(now: int, before: int, seconds: float) -> float:
    return max(0, now - before) / seconds


class MetricsService:
    def __init__(self, config: AgentConfig, db: Database, runtime: PodmanRuntime, tracker: StateTracker,
                 apps: AppsService, bus: EventBus) -> None:
        self.config, self.db, self.runtime, self.tracker, self.bus = config, db, runtime, tracker, bus
        self.interval = float(config.metrics_interval)
        self.store = MetricsStore(db, config.metrics_retention_days)
        self.alerts = MetricsAlerts(db, bus, defaults_from(config.metrics_alerts))
        self.latest: dict[str, AppSample] = {}
        self.host_memory, self.host_cpus = host_memory(), float(os.cpu_count() or 1)
        self._previous: dict[str, ContainerStats] = {}  # by container id
        self._cpu_limits: dict[str, tuple[float | None, float]] = {}  # container id -> (cores, checked at)
        self._task: asyncio.Task | None = None
        apps.on_lifecycle(self._on_lifecycle)

    async def start(self) -> None:
        await asyncio.to_thread(self.alerts.load)
        self._task = asyncio.create_task(self._run())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            now = time.time()
            slot = math.floor(now / self.interval + 1) * self.interval
            await asyncio.sleep(slot - now)
            try:
                await self.tick(slot)
            except Exception:
                log.exception("metrics tick failed")

    async def tick(self, slot: float) -> None:
        """Collect, store, publish and check alerts for one grid slot."""
        if not self.tracker.podman_ok:
            return
        known = await asyncio.to_thread(self.store.app_ids)  # another agent's containers may share the store
        running = {app: st.id for app, st in self.tracker.states.items() if st.state == "running" and app in known}
        try:
            stats = await self.runtime.container_stats(list(running.values()))
        except RuntimeFailure as exc:
            log.warning("metrics: Podman stats failed: %s", exc)
            return
        await self._refresh_cpu_limits(running)
        t = int(round(slot))
        samples: dict[str, Sample] = {}
        live: list[AppSample] = []
        for app, cid in running.items():
            current = stats.get(cid)
            if current is None:
                continue
            sample = self._sample(t, current)
            if sample is None:
                continue
            samples[app] = sample
            live.append(AppSample.model_construct(
                app=app, cpu_percent=round(sample.cpu, 2), memory_bytes=sample.mem,
                memory_limit_bytes=sample.mem_limit, net_rx_bps=round(sample.rx, 1), net_tx_bps=round(sample.tx, 1),
                block_read_bps=round(sample.rd, 1), block_write_bps=round(sample.wr, 1), pids=sample.pids))
        self._previous = {cid: stats[cid] for cid in running.values() if cid in stats}
        self.latest = {s.app: s for s in live}
        if samples:
            await asyncio.to_thread(self.store.write, samples, slot)
        self.bus.publish(MetricsTick(at=at_from(slot), interval_seconds=self.interval, samples=live))
        shares = {app: self._shares(running[app], s) for app, s in samples.items()}
        bases = {app: self._bases(running[app], s) for app, s in samples.items()}
        await asyncio.to_thread(self.alerts.observe, shares, set(running), slot, bases)

    def _sample(self, t: int, now: ContainerStats) -> Sample | None:
        before = self._previous.get(now.id)
        seconds = (now.at_ns - before.at_ns) / 1e9 if before else 0.0
        if before is None or seconds <= 0 or now.cpu_ns < before.cpu_ns:
            return None  # first look at this container, or its counters restarted
        limit = now.memory_limit_bytes if 0 < now.memory_limit_bytes < self.host_memory else None
        return Sample(
            t=t, cpu=(now.cpu_ns - before.cpu_ns) / (now.at_ns - before.at_ns) * 100, mem=now.memory_bytes,
            mem_limit=limit, rx=rate(now.net_rx, before.net_rx, seconds), tx=rate(now.net_tx, before.net_tx, seconds),
            rd=rate(now.block_read, before.block_read, seconds), wr=rate(now.block_write, before.block_write, seconds),
            pids=now.pids)

    def _shares(self, cid: str, s: Sample) -> tuple[float, float]:
        cores = self.cpu_limit_of(cid) or self.host_cpus
        return s.cpu / cores, s.mem / (s.mem_limit or self.host_memory) * 100

    def _bases(self, cid: str, s: Sample) -> tuple[str, str]:
        cores = self.cpu_limit_of(cid)
        return (f"its {cores:g} CPU limit" if cores else f"the host's {self.host_cpus:g} cores",
                f"its {s.mem_limit / 2**20:.0f} MiB limit" if s.mem_limit else "the host's memory")

    def cpu_limit_of(self, cid: str | None) -> float | None:
        entry = self._cpu_limits.get(cid) if cid else None
        return entry[0] if entry else None

    async def _refresh_cpu_limits(self, running: dict[str, str]) -> None:
        """One inspect per new container (and every few minutes), a bounded number per tick."""
        now = time.monotonic()
        ids = set(running.values())
        self._cpu_limits = {cid: v for cid, v in self._cpu_limits.items() if cid in ids}
        stale = [cid for cid in ids if now - self._cpu_limits.get(cid, (None, -math.inf))[1] > CPU_LIMIT_TTL]
        for cid in stale[:MAX_INSPECTS_PER_TICK]:
            try:
                self._cpu_limits[cid] = (await self.runtime.container_cpu_limit(cid), now)
            except RuntimeFailure:
                continue

    def _on_lifecycle(self, actor: str, action: str, name: str) -> None:
        """Limits may change in place (and a recreated container is a new id anyway)."""
        cid = self.tracker.get(name).id if self.tracker.get(name) else None
        self._cpu_limits.pop(cid, None)
        if action == "app.delete":
            self.latest.pop(name, None)
            self.alerts.forget(name)

    # --- API ------------------------------------------------------------------------------

    def _app_id(self, name: str) -> int:
        with self.db.session() as s:
            return app_row(s, name).id

    def app_metrics(self, name: str, range_: MetricsRange) -> AppMetrics:
        app_id = self._app_id(name)
        res, series, stats = self.store.series(app_id, range_, time.time())
        current = self.latest.get(name)
        if current is not None:
            stats.cpu.current, stats.memory.current = current.cpu_percent, float(current.memory_bytes)
            stats.net_rx.current, stats.net_tx.current = current.net_rx_bps, current.net_tx_bps
            stats.block_read.current, stats.block_write.current = current.block_read_bps, current.block_write_bps
        else:
            for item in (stats.cpu, stats.memory, stats.net_rx, stats.net_tx, stats.block_read, stats.block_write):
                item.current = None
        state = self.tracker.get(name)
        return AppMetrics(app=name, range=range_, resolution_seconds=res or int(self.interval),
                          interval_seconds=self.interval, series=series, stats=stats, current=current,
                          cpu_limit=self.cpu_limit_of(state.id if state else None))

    def summary(self, range_: MetricsRange, points: int = SPARK_POINTS) -> MetricsSummary:
        if not 2 <= points <= 500:
            raise AgentError(ErrorCode.INVALID_INPUT, "points must be between 2 and 500", "points")
        ids = self.store.app_ids()
        bucket, lines = self.store.sparklines(sorted(ids.values()), range_, time.time(), points)
        apps = []
        for name in sorted(ids):
            t, cpu, mem = lines[ids[name]]
            state = self.tracker.get(name)
            apps.append(AppSparkline.model_construct(
                app=name, t=t, cpu=cpu, memory=mem, current=self.latest.get(name),
                cpu_limit=self.cpu_limit_of(state.id if state else None)))
        return MetricsSummary.model_construct(range=range_, bucket_seconds=bucket, interval_seconds=self.interval,
                                              apps=apps)
