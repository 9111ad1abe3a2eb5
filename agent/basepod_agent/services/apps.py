"""Apps: the v1 base of Basepod. One container per app, named ``basepod-<app>``.

Every change takes the app's lock (so concurrent requests on one app serialise),
writes the activity log in the same transaction, and refreshes the cached state.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import select

from basepod_agent.config import AgentConfig
from basepod_agent.protocol.apps import AppCreate, AppInfo, AppStatus, LogLine
from basepod_agent.protocol.errors import ErrorCode
from basepod_agent.protocol.health_status import HealthStatus
from basepod_agent.protocol.events import AppRemoved, AppStateChanged
from basepod_agent.runtime.podman import (
    ContainerMissing,
    ContainerSpec,
    ContainerState,
    ImageMissing,
    PodmanRuntime,
    RuntimeFailure,
    RuntimeUnavailable,
    container_name,
)
from basepod_agent.services import activity
from basepod_agent.services.apps_switch import ImageSwitchMixin
from basepod_agent.services.apps_limits import LimitsMixin
from basepod_agent.services.env import EnvService, app_row, restart_needed
from basepod_agent.services.errors import AgentError
from basepod_agent.services.events import EventBus
from basepod_agent.services.limits import limits_in_force, oom_killed
from basepod_agent.services.ports import pick_host_port
from basepod_agent.services.state import StateTracker
from basepod_agent.store.database import Database
from basepod_agent.store.models import App, AppRoute, EnvVar

MAX_LOG_TAIL = 10_000


def runtime_error(exc: RuntimeFailure) -> AgentError:
    if isinstance(exc, RuntimeUnavailable):
        return AgentError(ErrorCode.RUNTIME_UNAVAILABLE, str(exc))
    if isinstance(exc, ImageMissing):
        return AgentError(ErrorCode.IMAGE_NOT_FOUND, str(exc), "image")
    return AgentError(ErrorCode.RUNTIME_ERROR, f"Podman: {exc}")


def status_of(desired: str, state: ContainerState | None) -> AppStatus:
    if state is None:
        return AppStatus.MISSING
    if state.state in ("running", "stopping"):
        return AppStatus.RUNNING
    if state.state == "paused":
        return AppStatus.PAUSED
    if desired == "stopped":
        return AppStatus.STOPPED
    if state.state in ("created", "configured", "initialized"):
        return AppStatus.CREATED
    if state.state in ("exited", "stopped"):
        return AppStatus.EXITED
    return AppStatus.UNKNOWN


def split_timestamp(line: str) -> LogLine:
    head, sep, rest = line.partition(" ")
    if sep and len(head) >= 20 and head[4:5] == "-" and head[10:11] == "T":
        return LogLine(ts=head, text=rest)
    return LogLine(text=line)


LifecycleListener = Callable[[str, str, str], None]
"""Called with (actor, action, app) after a lifecycle change succeeded."""


def _epoch_of(moment: str) -> int:
    try:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        raise AgentError(ErrorCode.INVALID_INPUT, f"since {moment!r} is not an RFC 3339 timestamp", "since") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp())


class AppsService(ImageSwitchMixin, LimitsMixin):
    def __init__(
        self, config: AgentConfig, db: Database, env: EnvService, runtime: PodmanRuntime,
        tracker: StateTracker, bus: EventBus,
    ) -> None:
        self.config, self.db, self.env, self.runtime = config, db, env, runtime
        self.tracker, self.bus = tracker, bus
        self.health_of: Callable[[str], HealthStatus | None] = lambda _name: None
        self.url_of: Callable[[str], str | None] = lambda _name: None  # the Caddy URL when routing is on
        self._listeners: list[LifecycleListener] = []
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._create_lock = asyncio.Lock()
        self._busy: set[str] = set()
        self._desired: dict[str, str] = {}
        tracker.on_change(self._on_state_change)

    # --- reads -----------------------------------------------------------------------

    def on_lifecycle(self, listener: LifecycleListener) -> None:
        self._listeners.append(listener)

    def _notify(self, actor: str, action: str, name: str) -> None:
        for listener in self._listeners:
            listener(actor, action, name)

    def _row(self, session, name: str) -> App:
        return app_row(session, name)

    def _info(self, row: App, keys: list[str]) -> AppInfo:
        state = self.tracker.get(row.name)
        self._desired[row.name] = row.desired_state
        host = self.config.public_host
        limits = limits_in_force(row, self.config)
        status = status_of(row.desired_state, state)
        return AppInfo(
            name=row.name, image=row.image, port=row.port, host_port=row.host_port,
            command=json.loads(row.command_json) if row.command_json else None,
            status=status,
            exit_code=state.exit_code if state else None,
            env_keys=keys, created_at=row.created_at,
            started_at=state.started_at if state else None,
            finished_at=state.finished_at if state else None,
            url=self.url_of(row.name) or (f"http://{host}:{row.host_port}" if host else None),
            container_id=state.id[:12] if state else None,
            restart_needed=restart_needed(row),
            health=self.health_of(row.name),
            limits=limits,
            oom_killed=oom_killed(status, state.exit_code if state else None, limits),
        )

    def list(self) -> list[AppInfo]:
        with self.db.session() as s:
            # Plain rows, not ORM objects: the dashboard's hot path (3x cheaper for 100 apps).
            rows = s.execute(select(App.__table__).order_by(App.name)).all()
            keys: defaultdict[int, list[str]] = defaultdict(list)
            for app_id, key in s.execute(select(EnvVar.app_id, EnvVar.key).order_by(EnvVar.key)):
                keys[app_id].append(key)
            return [self._info(row, keys[row.id]) for row in rows]

    def get(self, name: str) -> AppInfo:
        with self.db.session() as s:
            row = self._row(s, name)
            keys = list(s.scalars(select(EnvVar.key).where(EnvVar.app_id == row.id).order_by(EnvVar.key)))
            return self._info(row, keys)

    # --- changes ---------------------------------------------------------------------

    async def create(self, actor: str, req: AppCreate) -> AppInfo:
        async with self._create_lock, self._locks[req.name]:
            with self.db.session() as s:
                if s.scalar(select(App.id).where(App.name == req.name)) is not None:
                    raise AgentError(ErrorCode.ALREADY_EXISTS, f"app {req.name!r} already exists", "name")
                taken = list(s.scalars(select(App.host_port))) + list(s.scalars(select(AppRoute.spare_port)))
            try:
                await self.runtime.ensure_image(req.image)
            except RuntimeFailure as exc:
                raise runtime_error(exc) from exc
            host_port = pick_host_port(self.config.port_range, taken)
            now = activity.utcnow()
            with self.db.session() as s:
                row = App(
                    name=req.name, image=req.image, port=req.port, host_port=host_port,
                    command_json=json.dumps(req.command) if req.command else None,
                    desired_state="running", created_at=now, updated_at=now,
                    env_revision=1 if req.env else 0, applied_env_revision=1 if req.env else 0,
                )
                s.add(row)
                s.flush()
                self.env.write(s, row.id, req.env or {})
                activity.record(s, actor, "app.create", req.name, f"image={req.image}")
                spec = self._spec(row, req.env or {})
            self._desired[req.name] = "running"
            self._busy.add(req.name)
            try:
                if self.tracker.get(req.name) is not None:
                    await self.runtime.remove(spec.name)  # a leftover from a crashed create
                await self.runtime.create(spec)
                await self.runtime.start(spec.name)
            except RuntimeFailure as exc:
                await self._discard_container(spec.name)
                with self.db.session() as s:
                    s.delete(self._row(s, req.name))
                    activity.record(s, actor, "app.create_failed", req.name, str(exc)[:500])
                raise runtime_error(exc) from exc
            finally:
                self._busy.discard(req.name)
            await self.tracker.refresh_app(req.name)
        self._notify(actor, "app.create", req.name)
        return self.get(req.name)

    async def _discard_container(self, name: str) -> None:
        try:
            await self.runtime.remove(name)
        except RuntimeFailure:
            pass

    def _spec(self, row: App, env: dict[str, str]) -> ContainerSpec:
        return ContainerSpec(
            name=container_name(row.name), image=row.image, app=row.name, port=row.port,
            host_port=row.host_port, command=json.loads(row.command_json) if row.command_json else None,
            env=env, **limits_in_force(row, self.config).model_dump(),
        )

    def desired(self, name: str) -> str:
        """What the user asked for ("running" or "stopped"), as last read or changed."""
        return self._desired.get(name, "running")

    async def _change(self, actor: str, name: str, action: str, desired: str | None, op,
                      unless_stopped: bool = False) -> AppInfo:
        """Shared path for start/stop/restart/apply: lock, record, run ``op``, refresh.

        ``op(spec, stale)`` returns True when it (re)created the container, which then
        carries the env revision read here: "restart needed" clears only for that one.
        """
        async with self._locks[name]:
            with self.db.session() as s:
                row = self._row(s, name)
                if unless_stopped and row.desired_state == "stopped":
                    return self._info(row, sorted(self.env.read(s, row.id)))
                if desired:
                    row.desired_state = desired
                    self._desired[name] = desired
                row.updated_at = activity.utcnow()
                spec = self._spec(row, self.env.read(s, row.id))
                revision, stale = row.env_revision, restart_needed(row)
                activity.record(s, actor, action, name)
            self._busy.add(name)
            try:
                recreated = await op(spec, stale)
            except RuntimeFailure as exc:
                raise runtime_error(exc) from exc
            finally:
                await self.tracker.refresh_app(name)
                self._busy.discard(name)
            if recreated:
                with self.db.session() as s:
                    self._row(s, name).applied_env_revision = revision
        self._notify(actor, action, name)
        return self.get(name)

    async def _ensure_container(self, spec: ContainerSpec, stale: bool = False) -> bool:
        """(Re)create the container when it was removed by hand or carries an old env
        (Podman cannot change an existing container's env). True when it was created."""
        if self.tracker.get(spec.app) is not None:
            if not stale:
                return False
            await self.runtime.remove(spec.name)
        await self.runtime.ensure_image(spec.image)
        await self.runtime.create(spec)
        return True

    async def start(self, actor: str, name: str) -> AppInfo:
        async def op(spec: ContainerSpec, stale: bool) -> bool:
            await self.tracker.refresh_app(spec.app)
            created = await self._ensure_container(spec, stale)
            state = self.tracker.get(spec.app)
            if created or state is None or state.state != "running":
                await self.runtime.start(spec.name)
            return created

        return await self._change(actor, name, "app.start", "running", op)

    async def stop(self, actor: str, name: str) -> AppInfo:
        async def op(spec: ContainerSpec, _stale: bool) -> bool:
            try:
                await self.runtime.stop(spec.name, self.config.stop_timeout)
            except ContainerMissing:
                pass
            return False

        return await self._change(actor, name, "app.stop", "stopped", op)

    async def restart(self, actor: str, name: str, unless_stopped: bool = False) -> AppInfo:
        """``unless_stopped``: for automatic restarts, which must not revive an app a
        person stopped while the restart waited for the app's lock."""

        async def op(spec: ContainerSpec, stale: bool) -> bool:
            await self.tracker.refresh_app(spec.app)
            if await self._ensure_container(spec, stale):
                await self.runtime.start(spec.name)
                return True
            await self.runtime.restart(spec.name, self.config.stop_timeout)
            return False

        return await self._change(actor, name, "app.restart", "running", op, unless_stopped)

    async def apply(self, actor: str, name: str) -> AppInfo:
        """Recreate the container with the current env and start it (clears "restart needed").

        A running app behind Caddy gets the new container beside the old one (cutover)."""
        await self.tracker.refresh_app(name)
        if self.serves_through_router(name):
            return await self.recreate_live(actor, name, "app.apply")

        async def op(spec: ContainerSpec, _stale: bool) -> bool:
            await self.tracker.refresh_app(spec.app)
            await self._ensure_container(spec, stale=True)
            await self.runtime.start(spec.name)
            return True

        return await self._change(actor, name, "app.apply", "running", op)

    async def delete(self, actor: str, name: str) -> None:
        async with self._locks[name]:
            self._require(name)
            self._busy.add(name)
            try:
                await self.runtime.remove(container_name(name))
                with self.db.session() as s:
                    s.delete(self._row(s, name))
                    activity.record(s, actor, "app.delete", name)
                self._desired.pop(name, None)
                await self.tracker.refresh_app(name)
            except RuntimeFailure as exc:
                raise runtime_error(exc) from exc
            finally:
                self._busy.discard(name)
        self._notify(actor, "app.delete", name)
        self.bus.publish(AppRemoved(app=name, at=activity.utcnow()))

    # --- logs ------------------------------------------------------------------------

    def _require(self, name: str) -> None:
        with self.db.session() as s:
            self._row(s, name)

    async def logs(self, name: str, tail: int) -> list[LogLine]:
        self._require(name)
        if not 0 <= tail <= MAX_LOG_TAIL:
            raise AgentError(ErrorCode.INVALID_INPUT, f"tail must be between 0 and {MAX_LOG_TAIL}", "tail")
        try:
            lines = await self.runtime.logs(container_name(name), tail) if tail else []
        except ContainerMissing:
            raise AgentError(
                ErrorCode.NOT_FOUND, f"app {name!r} has no container (missing); start it to recreate"
            ) from None
        except RuntimeFailure as exc:
            raise runtime_error(exc) from exc
        return [split_timestamp(line) for line in lines]

    async def follow_logs(self, name: str, tail: int, since: str | None = None):
        """Live log lines; with ``since`` (a line's timestamp) every line from that second on.

        ``since`` is how a client resumes exactly after a dropped link: Podman's log
        timestamps have one-second resolution here, so the client asks from the second of
        the last line it has and skips the lines of that second it already showed.
        """
        self._require(name)
        if not 0 <= tail <= MAX_LOG_TAIL:
            raise AgentError(ErrorCode.INVALID_INPUT, f"tail must be between 0 and {MAX_LOG_TAIL}", "tail")
        since_epoch = _epoch_of(since) if since is not None else None
        try:
            async for batch in self.runtime.follow_logs(container_name(name), tail, since_epoch):
                yield [split_timestamp(line) for line in batch]
        except ContainerMissing:
            raise AgentError(ErrorCode.NOT_FOUND, f"app {name!r} has no container (missing)") from None
        except RuntimeFailure as exc:
            raise runtime_error(exc) from exc

    # --- events ----------------------------------------------------------------------

    def _on_state_change(self, app: str, before: ContainerState | None, after: ContainerState | None) -> None:
        desired = self._desired.get(app)
        if desired is None:  # deleted, or never ours: AppRemoved covers it
            return
        old, new = status_of(desired, before), status_of(desired, after)
        if old == new and (before and before.exit_code) == (after and after.exit_code):
            return
        unexpected = (
            app not in self._busy and desired == "running" and old == AppStatus.RUNNING
            and new in (AppStatus.EXITED, AppStatus.MISSING)
        )
        exit_code = after.exit_code if after else None
        self.bus.publish(AppStateChanged(
            app=app, status=new, exit_code=exit_code,
            unexpected=unexpected, at=activity.utcnow(),
            oom_killed=exit_code is not None and self._oom_killed(app, new, exit_code),
        ))

    def _oom_killed(self, app: str, status: AppStatus, exit_code: int) -> bool:
        with self.db.session() as s:
            row = s.scalar(select(App).where(App.name == app))
            return row is not None and oom_killed(status, exit_code, limits_in_force(row, self.config))

    async def load_desired(self) -> None:
        with self.db.session() as s:
            self._desired = {name: desired for name, desired in s.execute(select(App.name, App.desired_state))}

    def counts(self) -> tuple[int, int]:
        apps = self.list()
        return len(apps), sum(1 for a in apps if a.status == AppStatus.RUNNING)
