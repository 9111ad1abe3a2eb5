"""Apps: the v1 base of Basepod. One container per app, named ``basepod-<app>``.

Every change takes the app's lock (so concurrent requests on one app serialise),
writes the activity log in the same transaction, and refreshes the cached state.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

from sqlalchemy import select

from basepod_agent.config import AgentConfig
from basepod_agent.protocol.apps import AppCreate, AppInfo, AppStatus, LogLine
from basepod_agent.protocol.errors import ErrorCode
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
from basepod_agent.services.crypto import SecretBox
from basepod_agent.services.errors import AgentError, not_found
from basepod_agent.services.events import EventBus
from basepod_agent.services.ports import pick_host_port
from basepod_agent.services.state import StateTracker
from basepod_agent.store.database import Database
from basepod_agent.store.models import App, EnvVar

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


def _env_aad(app_id: int, key: str) -> str:
    return f"env:{app_id}:{key}"


class AppsService:
    def __init__(
        self, config: AgentConfig, db: Database, box: SecretBox, runtime: PodmanRuntime,
        tracker: StateTracker, bus: EventBus,
    ) -> None:
        self.config, self.db, self.box, self.runtime = config, db, box, runtime
        self.tracker, self.bus = tracker, bus
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._create_lock = asyncio.Lock()
        self._busy: set[str] = set()
        self._desired: dict[str, str] = {}
        tracker.on_change(self._on_state_change)

    # --- reads -----------------------------------------------------------------------

    def _row(self, session, name: str) -> App:
        row = session.scalar(select(App).where(App.name == name))
        if row is None:
            raise not_found(f"app {name!r}")
        return row

    def _info(self, row: App, keys: list[str]) -> AppInfo:
        state = self.tracker.get(row.name)
        self._desired[row.name] = row.desired_state
        host = self.config.public_host
        return AppInfo(
            name=row.name, image=row.image, port=row.port, host_port=row.host_port,
            command=json.loads(row.command_json) if row.command_json else None,
            status=status_of(row.desired_state, state),
            exit_code=state.exit_code if state else None,
            env_keys=keys, created_at=row.created_at,
            started_at=state.started_at if state else None,
            finished_at=state.finished_at if state else None,
            url=f"http://{host}:{row.host_port}" if host else None,
            container_id=state.id[:12] if state else None,
        )

    def list(self) -> list[AppInfo]:
        with self.db.session() as s:
            rows = s.scalars(select(App).order_by(App.name)).all()
            keys: defaultdict[int, list[str]] = defaultdict(list)
            for app_id, key in s.execute(select(EnvVar.app_id, EnvVar.key).order_by(EnvVar.key)):
                keys[app_id].append(key)
            return [self._info(row, keys[row.id]) for row in rows]

    def get(self, name: str) -> AppInfo:
        with self.db.session() as s:
            row = self._row(s, name)
            keys = list(s.scalars(select(EnvVar.key).where(EnvVar.app_id == row.id).order_by(EnvVar.key)))
            return self._info(row, keys)

    def env_of(self, session, row: App) -> dict[str, str]:
        pairs = session.execute(select(EnvVar.key, EnvVar.value_enc).where(EnvVar.app_id == row.id))
        return {key: self.box.decrypt(blob, _env_aad(row.id, key)) for key, blob in pairs}

    # --- changes ---------------------------------------------------------------------

    async def create(self, actor: str, req: AppCreate) -> AppInfo:
        async with self._create_lock, self._locks[req.name]:
            with self.db.session() as s:
                if s.scalar(select(App.id).where(App.name == req.name)) is not None:
                    raise AgentError(ErrorCode.ALREADY_EXISTS, f"app {req.name!r} already exists", "name")
                taken = list(s.scalars(select(App.host_port)))
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
                )
                s.add(row)
                s.flush()
                for key, value in (req.env or {}).items():
                    s.add(EnvVar(app_id=row.id, key=key, value_enc=self.box.encrypt(value, _env_aad(row.id, key))))
                activity.record(s, actor, "app.create", req.name, f"image={req.image}")
                spec = self._spec(row, req.env or {})
            self._desired[req.name] = "running"
            self._busy.add(req.name)
            try:
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
            await self.tracker.refresh()
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
            env=env,
        )

    async def _change(self, actor: str, name: str, action: str, desired: str | None, op) -> AppInfo:
        """Shared path for start/stop/restart: lock, record, run ``op``, refresh."""
        async with self._locks[name]:
            with self.db.session() as s:
                row = self._row(s, name)
                if desired:
                    row.desired_state = desired
                    self._desired[name] = desired
                row.updated_at = activity.utcnow()
                env = self.env_of(s, row)
                spec = self._spec(row, env)
                activity.record(s, actor, action, name)
            self._busy.add(name)
            try:
                await op(spec)
            except RuntimeFailure as exc:
                raise runtime_error(exc) from exc
            finally:
                await self.tracker.refresh()
                self._busy.discard(name)
        return self.get(name)

    async def _ensure_container(self, spec: ContainerSpec) -> bool:
        """Recreate a container removed by hand; True when it had to be created."""
        if self.tracker.get(spec.app) is not None:
            return False
        await self.runtime.ensure_image(spec.image)
        await self.runtime.create(spec)
        return True

    async def start(self, actor: str, name: str) -> AppInfo:
        async def op(spec: ContainerSpec) -> None:
            await self.tracker.refresh()
            await self._ensure_container(spec)
            state = self.tracker.get(spec.app)
            if state is None or state.state != "running":
                await self.runtime.start(spec.name)

        return await self._change(actor, name, "app.start", "running", op)

    async def stop(self, actor: str, name: str) -> AppInfo:
        async def op(spec: ContainerSpec) -> None:
            try:
                await self.runtime.stop(spec.name, self.config.stop_timeout)
            except ContainerMissing:
                pass

        return await self._change(actor, name, "app.stop", "stopped", op)

    async def restart(self, actor: str, name: str) -> AppInfo:
        async def op(spec: ContainerSpec) -> None:
            await self.tracker.refresh()
            if await self._ensure_container(spec):
                await self.runtime.start(spec.name)
            else:
                await self.runtime.restart(spec.name, self.config.stop_timeout)

        return await self._change(actor, name, "app.restart", "running", op)

    async def delete(self, actor: str, name: str) -> None:
        async with self._locks[name]:
            self._require(name)
            self._busy.add(name)
            try:
                await self.runtime.remove(container_name(name))
            except RuntimeFailure as exc:
                raise runtime_error(exc) from exc
            finally:
                self._busy.discard(name)
            with self.db.session() as s:
                s.delete(self._row(s, name))
                activity.record(s, actor, "app.delete", name)
            self._desired.pop(name, None)
            await self.tracker.refresh()
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

    async def follow_logs(self, name: str, tail: int):
        self._require(name)
        if not 0 <= tail <= MAX_LOG_TAIL:
            raise AgentError(ErrorCode.INVALID_INPUT, f"tail must be between 0 and {MAX_LOG_TAIL}", "tail")
        try:
            async for batch in self.runtime.follow_logs(container_name(name), tail):
                yield [split_timestamp(line) for line in batch]
        except ContainerMissing:
            raise AgentError(ErrorCode.NOT_FOUND, f"app {name!r} has no container (missing)") from None
        except RuntimeFailure as exc:
            raise runtime_error(exc) from exc

    # --- events ----------------------------------------------------------------------

    def _on_state_change(self, app: str, before: ContainerState | None, after: ContainerState | None) -> None:
        desired = self._desired.get(app, "running")
        old, new = status_of(desired, before), status_of(desired, after)
        if old == new:
            return
        unexpected = (
            app not in self._busy and desired == "running" and old == AppStatus.RUNNING
            and new in (AppStatus.EXITED, AppStatus.MISSING)
        )
        self.bus.publish(AppStateChanged(
            app=app, status=new, exit_code=after.exit_code if after else None,
            unexpected=unexpected, at=activity.utcnow(),
        ))

    async def load_desired(self) -> None:
        with self.db.session() as s:
            self._desired = {name: desired for name, desired in s.execute(select(App.name, App.desired_state))}

    def counts(self) -> tuple[int, int]:
        apps = self.list()
        return len(apps), sum(1 for a in apps if a.status == AppStatus.RUNNING)
