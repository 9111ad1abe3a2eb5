"""Switching an app to a new image (the last step of a deploy or rollback) and finishing
or undoing a half-done switch after a crash. A mixin of AppsService: it needs the app's
lock and cached state.

With routing on (services/routing.py) the switch is a blue/green cutover that drops no
request:

1. the new container ``basepod-<app>-next`` starts beside the old one, published on the
   app's spare host port, its spec derived from the app's normal one;
2. it must pass the app's health check (or accept TCP connections) within
   ``cutover_timeout``; if it never does it is removed, the old one never stopped
   serving, and the deploy fails;
3. traffic moves: the app's live marker is renamed to the spare port, which Caddy reads
   per request (services/routing.py; Caddy's config is not reloaded);
4. after ``drain_seconds`` (requests in flight to the old one finish) the old container
   is removed, the database records the new image with the two ports swapped, and the
   new container takes the app's name.

``AppRoute.pending_json`` holds the new version's settings from step 1 on, and says
"switched" once it passed its check (just before step 3), so ``recover_switch`` can tell,
after a kill -9, whether to throw the new container away (traffic never reached it) or
finish the cutover.

With routing off there is one host port, so the old container is stopped to free it
before the new one starts: a short outage, as before issue #6.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Callable

from sqlalchemy import select

from basepod_agent.protocol.apps import AppInfo
from basepod_agent.protocol.errors import ErrorCode
from basepod_agent.protocol.health import HealthConfig
from basepod_agent.runtime.caddy import CaddyError
from basepod_agent.runtime.podman import ContainerMissing, ContainerSpec, RuntimeFailure, container_name
from basepod_agent.services import activity
from basepod_agent.services.cutover import NotHealthy, wait_healthy
from basepod_agent.services.errors import AgentError
from basepod_agent.services.ports import is_free, pick_host_port
from basepod_agent.store.models import App, AppRoute, HealthCheck

STAGED_SUFFIX = "-next"
log = logging.getLogger("basepod_agent.cutover")


class ImageSwitchMixin:
    router = None  # RoutingService when the agent fronts apps with Caddy (set by the context)

    async def switch_image(self, actor: str, name: str, image: str, port: int | None = None,
                           command: list[str] | None = None,
                           default_env: dict[str, str] | None = None,
                           say: Callable[[str], None] | None = None,
                           check: HealthConfig | None = None, action: str = "app.switch_image") -> AppInfo:
        """Run ``name`` from ``image``, keeping its env; the app's env wins over
        ``default_env`` (``.basepod`` defaults). ``port``/``command`` None keep the app's.
        ``say`` is told each step of a cutover (the deploy's log); ``check`` is the health
        check the new version brings (``.basepod``), else the app's own gates it.
        ``action`` names the change in the activity log and to lifecycle listeners."""
        async with self._locks[name]:
            with self.db.session() as s:
                row = self._row(s, name)
                env = {**(default_env or {}), **self.env.read(s, row.id)}
                revision = row.env_revision
                spec = self._spec(row, env)
            new_port = port or spec.port
            new_command = command if command is not None else spec.command
            staged = dataclasses.replace(spec, name=spec.name + STAGED_SUFFIX, image=image, port=new_port,
                                         command=new_command)
            self._busy.add(name)
            try:
                if self.router is not None and self.router.enabled:
                    await self._cutover(name, spec, staged, say or (lambda _text: None), check)
                else:
                    await self._swap_in_place(spec, staged)
            except RuntimeFailure as exc:
                from basepod_agent.services.apps import runtime_error

                raise runtime_error(exc) from exc
            finally:
                await self.tracker.refresh_app(name)
                self._busy.discard(name)
            with self.db.session() as s:
                row = self._row(s, name)
                row.image, row.port = image, new_port
                row.command_json = json.dumps(new_command) if new_command else None
                row.desired_state = "running"
                row.applied_env_revision = revision
                row.updated_at = activity.utcnow()
                activity.record(s, actor, action, name, f"image={image}")
            self._desired[name] = "running"
        self._notify(actor, action, name)
        return self.get(name)

    def serves_through_router(self, name: str) -> bool:
        """True when ``name`` runs behind Caddy: recreating its container (new env, new
        caps) then goes through the blue/green cutover instead of stop-then-start."""
        state = self.tracker.get(name)
        return (self.router is not None and self.router.enabled
                and state is not None and state.state == "running")

    async def recreate_live(self, actor: str, name: str, action: str) -> AppInfo:
        """The running version again, from the app's current spec, without dropping a request."""
        return await self.switch_image(actor, name, self.get(name).image, action=action)

    def _gate_check(self, s, app_id: int) -> HealthConfig | None:
        stored = s.get(HealthCheck, app_id)
        return HealthConfig.model_validate_json(stored.config_json) if stored else None

    async def _swap_in_place(self, spec: ContainerSpec, staged: ContainerSpec) -> None:
        await self._discard_container(staged.name)
        await self.runtime.ensure_image(staged.image)
        await self.runtime.create(staged)
        await self.tracker.refresh_app(spec.app)
        had_old = self.tracker.get(spec.app) is not None
        if had_old:
            await self.runtime.stop(spec.name, self.config.stop_timeout)
        try:
            await self.runtime.start(staged.name)
        except RuntimeFailure:
            await self._discard_container(staged.name)
            if had_old:
                await self.runtime.start(spec.name)
            raise
        await self.runtime.remove(spec.name)
        await self.runtime.rename(staged.name, spec.name)

    # --- blue/green --------------------------------------------------------------------

    def _spare_port(self, s, row: App) -> tuple[int, bool]:
        """The app's spare port (routing picks it when the app is created) and whether
        it is new: picked again because something else started listening on it."""
        route = s.get(AppRoute, row.id)
        if route is not None and is_free(route.spare_port):
            return route.spare_port, False
        taken = list(s.scalars(select(App.host_port))) + list(s.scalars(select(AppRoute.spare_port)))
        port = pick_host_port(self.config.port_range, taken)
        if route is None:
            route = AppRoute(app_id=row.id, spare_port=port)
            s.add(route)
        route.spare_port = port
        return port, True

    def _set_pending(self, name: str, pending: dict | None) -> None:
        with self.db.session() as s:
            route = s.get(AppRoute, self._row(s, name).id)
            route.pending_json = json.dumps(pending) if pending is not None else None

    async def _cutover(self, name: str, spec: ContainerSpec, staged: ContainerSpec,
                       say: Callable[[str], None], check: HealthConfig | None = None) -> None:
        with self.db.session() as s:
            spare, new_spare = self._spare_port(s, self._row(s, name))
            check = check or self._gate_check(s, self._row(s, name).id)
        staged = dataclasses.replace(staged, host_port=spare)
        pending = {"image": staged.image, "port": staged.port, "command": staged.command, "switched": False}
        self._set_pending(name, pending)
        switched = False
        try:
            if new_spare:
                await self.router.apply()  # Caddy learns the new port before any traffic goes there
            await self._discard_container(staged.name)
            await self.runtime.ensure_image(staged.image)
            await self.runtime.create(staged)
            await self.runtime.start(staged.name)
            say(f"Started the new version beside the running one (port {spare}); waiting for it to be healthy")
            passed = await wait_healthy(spare, check, self.config.cutover_timeout,
                                        lambda: self.runtime.container_status(staged.name))
            healthy_at = time.perf_counter()
            # Recorded first: from here a crash finishes the cutover (the new version is
            # healthy), so a Caddy that outlives the agent never points at a removed container.
            self._set_pending(name, {**pending, "switched": True})
            switched = True
            await self.router.point(name, spare)
            log.info("cutover of %s: %s; traffic switched %.1f ms after", name, passed,
                     (time.perf_counter() - healthy_at) * 1000)
            say(f"Healthy ({passed}); traffic switched to the new version, the old one drains for "
                f"{self.config.drain_seconds:g} s")
        except (NotHealthy, CaddyError, RuntimeFailure, asyncio.CancelledError) as exc:
            await self._discard_container(staged.name)
            if switched:
                await self._quiet_point(name, None)
            self._set_pending(name, None)
            if isinstance(exc, NotHealthy):
                raise AgentError(ErrorCode.CONFLICT, f"{exc}; the previous version keeps serving") from None
            if isinstance(exc, CaddyError):
                raise AgentError(ErrorCode.RUNTIME_ERROR, f"{exc}; the previous version keeps serving") from None
            raise
        await asyncio.sleep(self.config.drain_seconds)
        await self._finish_cutover(name, spare)
        say("Stopped the old version")

    async def _finish_cutover(self, name: str, spare: int) -> None:
        """Old container out, database updated (ports swapped), new one renamed: in
        this order so that a crash at any point leaves facts ``recover_switch`` reads."""
        main = container_name(name)
        try:
            await self.runtime.stop(main, self.config.stop_timeout)
        except ContainerMissing:
            pass
        await self.runtime.remove(main)
        with self.db.session() as s:
            row = self._row(s, name)
            route = s.get(AppRoute, row.id)
            pending = json.loads(route.pending_json) if route.pending_json else None
            if pending is not None and row.host_port != spare:
                route.spare_port, row.host_port = row.host_port, spare
                row.image, row.port = pending["image"], pending["port"]
                row.command_json = json.dumps(pending["command"]) if pending["command"] else None
            route.pending_json = None
        await self.runtime.rename(main + STAGED_SUFFIX, main)

    async def _quiet_point(self, name: str, port: int | None) -> None:
        try:
            await self.router.point(name, port)
        except CaddyError:
            pass  # the watch loop applies the database's routes again

    # --- after a crash -------------------------------------------------------------------

    async def recover_switch(self, name: str) -> bool:
        """After a crash mid-switch: finish a cutover that already sent traffic to the
        new version, otherwise keep the old one; run whatever is left. True when the
        new version is what serves afterwards."""
        main, staged = container_name(name), container_name(name) + STAGED_SUFFIX
        completed = False
        async with self._locks[name]:
            try:
                with self.db.session() as s:
                    row = self._row(s, name)
                    route = s.get(AppRoute, row.id)
                    pending = json.loads(route.pending_json) if route and route.pending_json else None
                    spare = route.spare_port if route else None
                main_state = await self.runtime.container_status(main)
                staged_state = await self.runtime.container_status(staged)
                if staged_state is not None and (main_state is None or (pending or {}).get("switched")):
                    if self.router is not None and self.router.enabled and spare is not None:
                        if staged_state != "running":
                            await self.runtime.start(staged)
                        await self._finish_cutover(name, spare)
                    else:
                        await self.runtime.remove(main)
                        await self.runtime.rename(staged, main)
                    completed = True
                else:
                    await self._discard_container(staged)
                    if route is not None and pending is not None:
                        self._set_pending(name, None)
                if self.desired(name) == "running":
                    await self.runtime.start(main)
            except RuntimeFailure:
                pass
            finally:
                await self.tracker.refresh_app(name)
        return completed
