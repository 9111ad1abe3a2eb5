"""Switching an app to a new image (the last step of a deploy) and undoing a half-done
switch after a crash. A mixin of AppsService: it needs the app's lock and cached state.

The new container is created next to the old one (``basepod-<app>-next``) so a bad
image or spec fails while the old one still serves. The old one is stopped only to free
the host port; if the new one does not start it is removed and the old one started
again. Zero-downtime cutover through the reverse proxy is issue #6.
"""

from __future__ import annotations

import json

from basepod_agent.protocol.apps import AppInfo
from basepod_agent.runtime.podman import ContainerSpec, RuntimeFailure, container_name
from basepod_agent.services import activity

STAGED_SUFFIX = "-next"


class ImageSwitchMixin:
    async def switch_image(self, actor: str, name: str, image: str, port: int | None = None,
                           command: list[str] | None = None,
                           default_env: dict[str, str] | None = None) -> AppInfo:
        """Run ``name`` from ``image``, keeping its host port and env; the app's env wins
        over ``default_env`` (``.basepod`` defaults). ``port``/``command`` None keep the app's."""
        async with self._locks[name]:
            with self.db.session() as s:
                row = self._row(s, name)
                env = {**(default_env or {}), **self.env.read(s, row.id)}
                revision = row.env_revision
                spec = self._spec(row, env)
            new_port = port or spec.port
            new_command = command if command is not None else spec.command
            staged = ContainerSpec(name=spec.name + STAGED_SUFFIX, image=image, app=name, port=new_port,
                                   host_port=spec.host_port, command=new_command, env=env)
            self._busy.add(name)
            try:
                await self._discard_container(staged.name)
                await self.runtime.ensure_image(image)
                await self.runtime.create(staged)
                await self.tracker.refresh_app(name)
                had_old = self.tracker.get(name) is not None
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
                activity.record(s, actor, "app.switch_image", name, f"image={image}")
            self._desired[name] = "running"
        self._notify(actor, "app.switch_image", name)
        return self.get(name)

    async def recover_switch(self, name: str) -> None:
        """After a crash mid-switch: keep whichever container is complete and run it."""
        main, staged = container_name(name), container_name(name) + STAGED_SUFFIX
        async with self._locks[name]:
            try:
                await self.tracker.refresh_app(name)
                if self.tracker.get(name) is not None:
                    await self._discard_container(staged)
                else:
                    await self.runtime.rename(staged, main)
                if self.desired(name) == "running":
                    await self.runtime.start(main)
            except RuntimeFailure:
                pass
            finally:
                await self.tracker.refresh_app(name)
