"""Live container state, polled from Podman and cached for fast reads.

Podman's event stream is unreliable on hosts with the file events logger (and shared
between stores), so the agent polls: one list call per interval for all apps. Reads
(``GET /api/apps``) never wait on Podman; changes are published as events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from basepod_agent.runtime.podman import ContainerState, PodmanRuntime, RuntimeFailure

log = logging.getLogger(__name__)

ChangeHandler = Callable[[str, ContainerState | None, ContainerState | None], None]


class StateTracker:
    def __init__(self, runtime: PodmanRuntime, interval: float = 2.0) -> None:
        self.runtime = runtime
        self.interval = interval
        self.states: dict[str, ContainerState] = {}
        self.podman_ok = False
        self.loaded = False
        self._handlers: list[ChangeHandler] = []
        self._refresh_lock = asyncio.Lock()

    def on_change(self, handler: ChangeHandler) -> None:
        self._handlers.append(handler)

    def get(self, app: str) -> ContainerState | None:
        return self.states.get(app)

    async def refresh(self) -> None:
        async with self._refresh_lock:
            try:
                fresh = await self.runtime.list_managed()
            except RuntimeFailure as exc:
                if self.podman_ok:
                    log.warning("lost Podman: %s", exc)
                self.podman_ok = False
                return
            self.podman_ok = True
            old, self.states = self.states, fresh
            first = not self.loaded
            self.loaded = True
            if first:
                return
            for app in old.keys() | fresh.keys():
                before, after = old.get(app), fresh.get(app)
                if _changed(before, after):
                    for handler in self._handlers:
                        handler(app, before, after)

    async def refresh_app(self, app: str) -> None:
        """Refresh one app after an operation on it: one inspect, not a full listing."""
        async with self._refresh_lock:
            try:
                after = await self.runtime.inspect_managed(app)
            except RuntimeFailure:
                return
            before = self.states.get(app)
            if after is None:
                self.states.pop(app, None)
            else:
                self.states[app] = after
            if self.loaded and _changed(before, after):
                for handler in self._handlers:
                    handler(app, before, after)

    async def run(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self.interval)


def _changed(before: ContainerState | None, after: ContainerState | None) -> bool:
    if before is None or after is None:
        return before is not after
    return (before.id, before.state, before.exit_code) != (after.id, after.state, after.exit_code)
