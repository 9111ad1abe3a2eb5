"""The fleet: one ``ServerConnection`` per server plus the last known apps of each.

Pages read snapshots from here rather than asking the agent on every repaint, which is
what keeps server switching instant. Snapshots are persisted to ``fleet-cache.json`` so an
offline server still shows what it ran when last seen (marked stale by the UI).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ValidationError

from basepod_agent.protocol import LimitsUpdate, LimitsView
from basepod_agent.protocol import (
    AppCreate, AppInfo, AppRemoved, AppStateChanged, BuildEnd, BuildLogChunk, DeployChanged, DeployCreated,
    DeployInfo, DeployStatus, EnvChanged, EnvState, EnvView, Event, GitSource, HealthChanged, HealthConfig,
    HealthHistory, HealthReport, Hello, ImageSource, SourceInfo,
)
from basepod_agent.protocol.routing import AppDomains, ReleaseList
from basepod_agent.protocol import AlertReport, AlertSettings, AppMetrics, MetricsRange, MetricsSummary
from basepod_desktop.client import AgentUnreachable, ClientError
from basepod_desktop.core import paths
from basepod_desktop.core.connection import (
    ConnectionStatus, ConnState, NotConnected, ServerConnection, StreamInterrupted, StreamResumed,
)
from basepod_desktop.core.credentials import TokenStore
from basepod_desktop.core.profiles import ServerProfile

log = logging.getLogger(__name__)
CACHE_FILE = "fleet-cache.json"


class ServerSnapshot(BaseModel):
    """What we last saw of one server; ``updated_at`` None means never reached."""

    name: str
    apps: list[AppInfo] = []
    updated_at: Optional[datetime] = None
    last_error: Optional[str] = None

    def counts(self) -> Counter:
        return Counter(app.status.value for app in self.apps)

    def app(self, name: str) -> Optional[AppInfo]:
        return next((a for a in self.apps if a.name == name), None)

    def health_counts(self) -> Counter:
        """green/yellow/red of the monitored apps (unmonitored ones are not counted)."""
        return Counter(app.health.value for app in self.apps if app.health is not None)


class FleetCache:
    def __init__(self, config_dir: Optional[Path] = None) -> None:
        self.path = (Path(config_dir) if config_dir else paths.config_dir()) / CACHE_FILE

    def load(self) -> dict[str, ServerSnapshot]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {s["name"]: ServerSnapshot.model_validate(s) for s in raw.get("servers", [])}
        except FileNotFoundError:
            return {}
        except (ValueError, KeyError, TypeError, ValidationError, AttributeError) as exc:
            log.warning("ignoring unreadable fleet cache %s: %s", self.path, exc)
            return {}

    def save(self, snapshots: dict[str, ServerSnapshot]) -> None:
        payload = {"version": 1, "servers": [s.model_dump(mode="json") for s in snapshots.values()]}
        paths.ensure_private_dir(self.path.parent)
        paths.write_private_file(self.path, (json.dumps(payload, indent=1) + "\n").encode())


StatusCb = Callable[[str, ConnectionStatus], None]
NameCb = Callable[[str], None]
EventCb = Callable[[str, Event], None]


class Fleet:
    """Owns the connections; the UI subscribes with ``on_status``/``on_apps``/``on_event``."""

    def __init__(self, tokens: TokenStore, cache: FleetCache, *,
                 known_hosts_path: Optional[str | Path] = None) -> None:
        self.tokens = tokens
        self.cache = cache
        self.known_hosts_path = known_hosts_path
        self.connections: dict[str, ServerConnection] = {}
        self.snapshots: dict[str, ServerSnapshot] = cache.load()
        self.status_listeners: list[StatusCb] = []
        self.apps_listeners: list[NameCb] = []
        self.event_listeners: list[EventCb] = []
        self._tasks: set[asyncio.Task] = set()

    # --- membership --------------------------------------------------------------------

    def add(self, profile: ServerProfile, credentials=None) -> ServerConnection:
        """Start a connection for ``profile`` (replacing one with the same name)."""
        old = self.connections.pop(profile.name, None)
        if old is not None:
            self._spawn(old.aclose())
        conn = ServerConnection(profile, self.tokens, known_hosts_path=self.known_hosts_path,
                                credentials=credentials)
        conn.add_status_listener(lambda status, n=profile.name, c=conn: self._on_status(c, status))
        conn.add_event_listener(lambda event, c=conn: self._on_event(c, event))
        self.connections[profile.name] = conn
        self.snapshots.setdefault(profile.name, ServerSnapshot(name=profile.name))
        conn.start()
        return conn

    async def remove(self, name: str) -> None:
        conn = self.connections.pop(name, None)
        self.snapshots.pop(name, None)
        self._save()
        if conn is not None:
            await conn.aclose()

    def connection(self, name: str) -> ServerConnection:
        return self.connections[name]

    def snapshot(self, name: str) -> ServerSnapshot:
        return self.snapshots.setdefault(name, ServerSnapshot(name=name))

    def is_stale(self, name: str) -> bool:
        conn = self.connections.get(name)
        return conn is None or not conn.status.is_connected

    # --- app operations (the dashboard's verbs) ----------------------------------------

    async def refresh(self, name: str) -> list[AppInfo]:
        apps = await self.connection(name).call(lambda c: c.list_apps())
        snap = self.snapshot(name)
        snap.apps = sorted(apps, key=lambda a: a.name)
        snap.updated_at = datetime.now(timezone.utc)
        snap.last_error = None
        self._apps_changed(name)
        return apps

    async def create_app(self, name: str, spec: AppCreate) -> AppInfo:
        app = await self.connection(name).call(lambda c: c.create_app(spec))
        self._store_app(name, app)
        return app

    async def act(self, name: str, app: str, verb: str) -> Optional[AppInfo]:
        """``verb`` is start/stop/restart/delete; the result updates the snapshot at once."""
        if verb not in ("start", "stop", "restart", "delete"):
            raise ValueError(f"unknown action {verb!r}")
        result = await self.connection(name).call(lambda c: getattr(c, f"{verb}_app")(app))
        if verb == "delete":
            self._drop_app(name, app)
            return None
        self._store_app(name, result)
        return result

    async def get_app(self, name: str, app: str) -> AppInfo:
        info = await self.connection(name).call(lambda c: c.get_app(app))
        self._store_app(name, info)
        return info

    async def apply_app(self, name: str, app: str) -> AppInfo:
        """Recreate the container with its saved env (clears "restart needed")."""
        info = await self.connection(name).call(lambda c: c.apply_app(app))
        self._store_app(name, info)
        return info

    # --- env and health (the app page's tabs) ------------------------------------------

    async def get_env(self, name: str, app: str) -> EnvView:
        return await self.connection(name).call(lambda c: c.get_env(app))

    async def put_env(self, name: str, app: str, env: dict[str, str], revision: Optional[int]) -> EnvState:
        state = await self.connection(name).call(lambda c: c.put_env(app, env, revision))
        self._update_app(name, app, env_keys=state.keys, restart_needed=state.restart_needed)
        return state

    async def get_health(self, name: str, app: str) -> HealthReport:
        return await self.connection(name).call(lambda c: c.get_health(app))

    async def put_health(self, name: str, app: str, config: HealthConfig) -> HealthReport:
        report = await self.connection(name).call(lambda c: c.put_health(app, config))
        self._update_app(name, app, health=report.status if report.monitored else None)
        return report

    async def health_history(self, name: str, app: str, limit: int = 200) -> HealthHistory:
        return await self.connection(name).call(lambda c: c.health_history(app, limit))

    # --- sources and deploys (the Deploys tab) ------------------------------------------

    async def get_source(self, name: str, app: str) -> SourceInfo:
        return await self.connection(name).call(lambda c: c.get_source(app))

    async def set_source(self, name: str, app: str, source: GitSource | ImageSource) -> SourceInfo:
        return await self.connection(name).call(lambda c: c.set_source(app, source))

    async def deploy(self, name: str, app: str, commit: Optional[str] = None) -> DeployCreated:
        return await self.connection(name).call(lambda c: c.deploy(app, commit))

    async def list_deploys(self, name: str, app: str, limit: int = 50) -> list[DeployInfo]:
        return await self.connection(name).call(lambda c: c.list_deploys(app, limit))

    async def deploy_log(self, name: str, app: str, deploy_id: str) -> tuple[DeployInfo, str]:
        return await self.connection(name).call(lambda c: c.deploy_log(app, deploy_id))

    async def deploy_dockerfile(self, name: str, app: str, deploy_id: str) -> str:
        return await self.connection(name).call(lambda c: c.deploy_dockerfile(app, deploy_id))

    async def cancel_deploy(self, name: str, app: str, deploy_id: str) -> DeployInfo:
        return await self.connection(name).call(lambda c: c.cancel_deploy(app, deploy_id))

    async def follow_deploy_log(self, name: str, app: str, deploy_id: str
                                ) -> AsyncIterator[BuildLogChunk | BuildEnd | StreamInterrupted | StreamResumed]:
        """A deploy's build log from the start, live, across reconnects (the agent keeps
        building while we are away; we re-attach at the byte offset we got to)."""
        conn = self.connection(name)
        offset, resumed = 0, False
        while True:
            await conn.wait_connected()
            try:
                client = await conn.call(_the_client)
                async with aclosing(client.follow_deploy_log(app, deploy_id, offset)) as stream:
                    if resumed:
                        resumed = False
                        yield StreamResumed()
                    async for message in stream:
                        if isinstance(message, BuildLogChunk):
                            offset = message.offset + len(message.text.encode())
                        yield message
                        if isinstance(message, BuildEnd):
                            return
                return
            except (AgentUnreachable, NotConnected) as exc:
                if not resumed:
                    resumed = True
                    yield StreamInterrupted(exc.message)
                await asyncio.sleep(0.5)

    async def releases(self, name: str, app: str) -> ReleaseList:
        return await self.connection(name).call(lambda c: c.releases(app))

    async def rollback(self, name: str, app: str, version: Optional[str] = None) -> DeployCreated:
        return await self.connection(name).call(lambda c: c.rollback(app, version))

    async def get_domains(self, name: str, app: str) -> AppDomains:
        return await self.connection(name).call(lambda c: c.get_domains(app))

    async def set_domains(self, name: str, app: str, domains: list[str]) -> AppDomains:
        return await self.connection(name).call(lambda c: c.set_domains(app, domains))

    # --- metrics and alerts (dashboard sparklines, the Metrics tab) --------------------

    async def metrics(self, name: str, app: str, range_: MetricsRange) -> AppMetrics:
        return await self.connection(name).call(lambda c: c.metrics(app, range_))

    async def metrics_summary(self, name: str, range_: MetricsRange, points: int = 60) -> MetricsSummary:
        return await self.connection(name).call(lambda c: c.metrics_summary(range_, points))

    async def get_alerts(self, name: str, app: str) -> AlertReport:
        return await self.connection(name).call(lambda c: c.get_alerts(app))

    async def put_alerts(self, name: str, app: str, settings: AlertSettings) -> AlertReport:
        return await self.connection(name).call(lambda c: c.put_alerts(app, settings))

    # --- resource limits (the app page's Overview) ---------------------------------------

    async def get_limits(self, name: str, app: str) -> LimitsView:
        return await self.connection(name).call(lambda c: c.get_limits(app))

    async def put_limits(self, name: str, app: str, update: LimitsUpdate) -> LimitsView:
        """A change may recreate the container: the app is re-read for its new id and state."""
        view = await self.connection(name).call(lambda c: c.put_limits(app, update))
        await self._quiet(self.get_app(name, app))
        return view

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(c.aclose() for c in self.connections.values()), return_exceptions=True)
        self._save()

    # --- internals ---------------------------------------------------------------------

    def _on_status(self, conn: ServerConnection, status: ConnectionStatus) -> None:
        if self.connections.get(conn.name) is not conn:
            return
        if status.state in (ConnState.OFFLINE, ConnState.ERROR):
            self.snapshot(conn.name).last_error = status.reason
        for cb in list(self.status_listeners):
            cb(conn.name, status)

    def _on_event(self, conn: ServerConnection, event: Event) -> None:
        name = conn.name
        if self.connections.get(name) is not conn:
            return
        if isinstance(event, Hello):  # a fresh subscription: our list may be old
            self._spawn(self._quiet(self.refresh(name)))
        elif isinstance(event, AppStateChanged):
            snap = self.snapshot(name)
            app = snap.app(event.app)
            if app is not None:
                self._store_app(name, app.model_copy(update={"status": event.status, "exit_code": event.exit_code,
                                                              "oom_killed": event.oom_killed}))
            self._spawn(self._quiet(self.get_app(name, event.app)))  # times, ports, ...
        elif isinstance(event, AppRemoved):
            self._drop_app(name, event.app)
        elif isinstance(event, HealthChanged):
            self._update_app(name, event.app, health=event.status)
        elif isinstance(event, EnvChanged):
            self._update_app(name, event.app, restart_needed=event.restart_needed)
            self._spawn(self._quiet(self.get_app(name, event.app)))  # env_keys
        elif isinstance(event, DeployChanged) and event.status is DeployStatus.SUCCESS:
            self._spawn(self._quiet(self.get_app(name, event.app)))  # the new image
        for cb in list(self.event_listeners):
            cb(name, event)

    async def _quiet(self, coro) -> None:
        """Background refreshes: a failure is already visible as a connection state."""
        try:
            await coro
        except ClientError as exc:
            log.info("background refresh failed: %s", exc.message)

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _store_app(self, name: str, app: AppInfo) -> None:
        snap = self.snapshot(name)
        snap.apps = sorted([a for a in snap.apps if a.name != app.name] + [app], key=lambda a: a.name)
        snap.updated_at = datetime.now(timezone.utc)
        self._apps_changed(name)

    def _update_app(self, name: str, app: str, **fields) -> None:
        info = self.snapshot(name).app(app)
        if info is not None:
            self._store_app(name, info.model_copy(update=fields))

    def _drop_app(self, name: str, app: str) -> None:
        snap = self.snapshot(name)
        snap.apps = [a for a in snap.apps if a.name != app]
        self._apps_changed(name)

    def _apps_changed(self, name: str) -> None:
        self._save()
        for cb in list(self.apps_listeners):
            cb(name)

    def _save(self) -> None:
        try:
            self.cache.save(self.snapshots)
        except OSError as exc:  # a full disk must not break the live view
            log.warning("cannot write %s: %s", self.cache.path, exc)


async def _the_client(client):
    return client


def app_url(profile: ServerProfile, app: AppInfo) -> str:
    """Where a person opens the app: the agent's URL if it has one, else host:host_port."""
    if app.url:
        return app.url
    host = "127.0.0.1" if profile.kind == "local" else (profile.host or "127.0.0.1")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6 literal
    return f"http://{host}:{app.host_port}"
