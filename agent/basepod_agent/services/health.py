"""The health loop: probes every monitored app over HTTP and restarts the unhealthy ones.

It runs in the agent, independent of any client. One scheduler task keeps a heap of
due times on each app's fixed grid (see ``health_policy.Schedule``) and starts a short
task per probe; a semaphore bounds how many probes are in flight, so 200 apps cost the
same loop as 2. Restarts go through ``AppsService`` (lock, activity log with actor
``health-check``, env re-applied), and status transitions are stored and pushed to
every client as ``HealthChanged``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from basepod_agent.config import AgentConfig
from basepod_agent.protocol.errors import ErrorCode
from basepod_agent.protocol.events import HealthChanged
from basepod_agent.protocol.health import HealthConfig, HealthHistory, HealthProbe, HealthReport, HealthTransition
from basepod_agent.protocol.health_status import HealthStatus
from basepod_agent.runtime.podman import ContainerState
from basepod_agent.services.apps import AppsService
from basepod_agent.services.env import app_row
from basepod_agent.services.errors import AgentError, check_limit
from basepod_agent.services.events import EventBus
from basepod_agent.services.health_policy import AppHealthState, Observation, Schedule
from basepod_agent.services.health_probe import ProbeResult, probe
from basepod_agent.services.health_store import RECENT, HealthStore, StoredCheck, at_from
from basepod_agent.services.state import StateTracker
from basepod_agent.store.database import Database

log = logging.getLogger(__name__)

HEALTH_ACTOR = "health-check"
FLUSH_SECONDS = 1.0
PRUNE_SECONDS = 60.0
MAX_HISTORY = 200
Prober = Callable[[int, str, float, tuple[int, int]], Awaitable[ProbeResult]]


@dataclass(eq=False)
class Monitor:
    app_id: int
    app: str
    host_port: int
    state: AppHealthState
    schedule: Schedule
    generation: int
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT))
    busy: bool = False


def _down_detail(state: ContainerState | None) -> str:
    if state is None:
        return "container is missing"
    if state.state == "exited":
        return f"container exited (code {state.exit_code})"
    return f"container is {state.state}"


class HealthService:
    def __init__(self, config: AgentConfig, db: Database, apps: AppsService, tracker: StateTracker,
                 bus: EventBus, prober: Prober | None = None) -> None:
        self.config, self.apps, self.tracker, self.bus = config, apps, tracker, bus
        self.db, self.store = db, HealthStore(db)
        self.monitors: dict[str, Monitor] = {}
        self.drift: deque[float] = deque(maxlen=200_000)  # probe start - due time, seconds
        self._prober: Prober = prober or probe
        self._heap: list[tuple[float, int, str, int]] = []
        self._seq = itertools.count()
        self._generations = itertools.count(1)
        self._pending: list[tuple[int, HealthProbe]] = []
        self._tasks: set[asyncio.Task] = set()
        self._loops: list[asyncio.Task] = []
        self._wake: asyncio.Event | None = None
        self._sem: asyncio.Semaphore | None = None
        apps.health_of = self.status_of
        apps.on_lifecycle(self._on_lifecycle)

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        self._wake, self._sem = asyncio.Event(), asyncio.Semaphore(self.config.health_concurrency)
        for stored in self.store.load():
            self._install(stored, restored=True)
        self._loops = [asyncio.create_task(self._run()), asyncio.create_task(self._flush_loop())]

    async def aclose(self) -> None:
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)
        await self._flush()

    def _install(self, stored: StoredCheck, restored: bool = False) -> Monitor:
        state = AppHealthState.fresh(stored.config, stored.restarts)
        if restored and stored.status is not None:
            state.status, state.reason, state.gave_up = stored.status, stored.reason or "", stored.gave_up
        loop = asyncio.get_running_loop()
        mon = Monitor(stored.app_id, stored.app, stored.host_port, state,
                      Schedule.staggered(stored.app, loop.time(), stored.config.interval_seconds),
                      next(self._generations))
        mon.recent.extend(stored.recent)
        self.monitors[stored.app] = mon
        if stored.config.enabled:
            heapq.heappush(self._heap, (mon.schedule.first(loop.time()), next(self._seq), mon.app, mon.generation))
            if self._wake is not None:
                self._wake.set()
        return mon

    # --- the loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            while self._heap and self._heap[0][0] <= now:
                due, _, name, generation = heapq.heappop(self._heap)
                mon = self.monitors.get(name)
                if mon is None or mon.generation != generation:
                    continue
                heapq.heappush(self._heap, (mon.schedule.next_after(now), next(self._seq), name, generation))
                task = asyncio.create_task(self._tick(mon, due))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            self._wake.clear()
            delay = self._heap[0][0] - loop.time() if self._heap else None
            if delay is None or delay > 0:
                try:
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    def _monitoring(self, mon: Monitor) -> bool:
        return (mon.state.config.enabled and self.tracker.podman_ok
                and self.apps.desired(mon.app) == "running")

    async def _tick(self, mon: Monitor, due: float) -> None:
        if mon.busy or not self._monitoring(mon):
            return
        mon.busy = True
        try:
            cfg = mon.state.config
            container = self.tracker.get(mon.app)
            running = container is not None and container.state == "running"
            if running:
                async with self._sem:
                    self.drift.append(asyncio.get_running_loop().time() - due)
                    result = await self._prober(mon.host_port, cfg.path, cfg.timeout_seconds,
                                                (cfg.expected_status_min, cfg.expected_status_max))
            else:
                result = ProbeResult(False, None, None, _down_detail(container))
            if self.monitors.get(mon.app) is not mon:
                return  # reconfigured or deleted while probing
            now = time.time()
            record = HealthProbe.model_construct(  # built from checked values: skip validation
                at=at_from(now), ok=result.ok, status_code=result.status_code,
                latency_ms=round(result.latency_ms, 2) if result.latency_ms else None, error=result.error)
            mon.recent.append(record)
            self._pending.append((mon.app_id, record))
            started = container.started_at.timestamp() if running and container.started_at else None
            outcome = mon.state.observe(Observation(running, result.ok, result.detail, started), now)
            self._set_status(mon, outcome.status, outcome.reason)
            if outcome.restart:
                await self._restart(mon, result.detail)
        except Exception:
            log.exception("health check of %s failed", mon.app)
        finally:
            mon.busy = False

    async def _restart(self, mon: Monitor, detail: str) -> None:
        failures = mon.state.failures
        mon.state.restarted(time.time())
        self._set_status(mon, HealthStatus.YELLOW, f"restarting after {failures} failures ({detail})")
        try:
            await self.apps.restart(HEALTH_ACTOR, mon.app, unless_stopped=True)
        except AgentError as exc:
            self._set_status(mon, HealthStatus.RED, f"restart failed: {exc.message}")
        finally:
            mon.state.grace_until = time.time() + mon.state.config.grace_seconds

    def _set_status(self, mon: Monitor, status: HealthStatus, reason: str) -> None:
        """Keep the latest reason; store and publish only changes of status."""
        previous = mon.state.status
        mon.state.reason = reason
        if status == previous:
            return
        mon.state.status = status
        change = HealthTransition(at=at_from(time.time()), status=status, previous=previous, reason=reason)
        self.store.save_transition(mon.app_id, change, mon.state.guard.restarts, mon.state.gave_up)
        self.bus.publish(HealthChanged(app=mon.app, status=status, previous=previous, reason=reason, at=change.at))

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        pruned = loop.time()
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                await self._flush()
                if loop.time() - pruned > PRUNE_SECONDS:
                    pruned = loop.time()
                    await asyncio.to_thread(self.store.prune)
            except Exception:
                log.exception("could not store health probes")

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            await asyncio.to_thread(self.store.add_probes, batch)

    def _on_lifecycle(self, actor: str, action: str, name: str) -> None:
        if action == "app.delete":
            self.monitors.pop(name, None)
            return
        mon = self.monitors.get(name)
        if mon is not None and action == "app.switch_image":
            mon.host_port = self._app_id(name)[1]  # a cutover moves the live container to the spare port
        if mon is None or actor == HEALTH_ACTOR or action not in ("app.start", "app.restart", "app.apply"):
            return
        mon.state.reset(time.time())
        self._set_status(mon, HealthStatus.YELLOW, f"starting ({action.removeprefix('app.')} by {actor})")

    # --- API --------------------------------------------------------------------------

    def status_of(self, name: str) -> HealthStatus | None:
        mon = self.monitors.get(name)
        if mon is None or not mon.state.config.enabled or self.apps.desired(name) == "stopped":
            return None
        return mon.state.status

    def _app_id(self, name: str) -> tuple[int, int]:
        with self.db.session() as s:
            row = app_row(s, name)
            return row.id, row.host_port

    def report(self, name: str) -> HealthReport:
        app_id, _ = self._app_id(name)
        mon = self.monitors.get(name)
        if mon is None:
            return HealthReport(app=name, config=HealthConfig(enabled=False), monitored=False)
        _, transitions = self.store.history(app_id, RECENT)
        st = mon.state
        return HealthReport(
            app=name, config=st.config, monitored=self.status_of(name) is not None,
            status=self.status_of(name), reason=st.reason, consecutive_failures=st.failures,
            recent_restarts=len(st.guard.recent(time.time())), gave_up=st.gave_up,
            recent=list(reversed(mon.recent)), transitions=transitions,
        )

    def history(self, name: str, limit: int) -> HealthHistory:
        check_limit(limit, MAX_HISTORY)
        app_id, _ = self._app_id(name)
        probes, transitions = self.store.history(app_id, limit)
        pending = [p for a, p in reversed(self._pending) if a == app_id]
        return HealthHistory(app=name, probes=(pending + probes)[:limit], transitions=transitions)

    def configure(self, actor: str, name: str, config: HealthConfig) -> HealthReport:
        floor = self.config.health_min_interval
        if config.interval_seconds < floor:
            raise AgentError(ErrorCode.INVALID_INPUT,
                             f"interval_seconds must be at least {floor:g} s", "interval_seconds")
        app_id, host_port = self._app_id(name)
        self.store.save_config(actor, name, app_id, config)
        old = self.monitors.get(name)
        mon = self._install(StoredCheck(app_id, name, host_port, config, None, None, [], False,
                                        list(old.recent) if old else []))
        mon.state.status = old.state.status if old else None
        if config.enabled:
            mon.state.grace_until = 0.0
            self._set_status(mon, HealthStatus.YELLOW, "waiting for the first probe")
        return self.report(name)
