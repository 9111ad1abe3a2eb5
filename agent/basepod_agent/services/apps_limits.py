"""Bringing a container in line with the limits in force. A mixin of AppsService: it
runs under the app's lock like every other change of the container.

Podman 4.3's update changes the live cgroup but not the container's config (inspect
shows the old caps, the next start restores them), so where the update does not stick
the container is recreated with the current spec: a running app behind Caddy through
the blue/green cutover (no request dropped), otherwise by a restart.
"""

from __future__ import annotations

from basepod_agent.protocol.limits import LimitsApplied
from basepod_agent.runtime.podman import ContainerSpec


class LimitsMixin:
    async def apply_limits(self, actor: str, name: str) -> LimitsApplied:
        outcome = LimitsApplied.NO_CONTAINER
        cutover = False

        async def op(spec: ContainerSpec, _stale: bool) -> bool:
            nonlocal outcome, cutover
            await self.tracker.refresh_app(spec.app)
            state = self.tracker.get(spec.app)
            if state is None:
                return False
            wanted = (spec.cpus, spec.memory_bytes)
            if await self.runtime.container_limits(spec.name) == wanted:
                outcome = LimitsApplied.UNCHANGED
                return False
            running = state.state == "running"
            if running and await self.runtime.update_limits(spec.name, *wanted):
                outcome = LimitsApplied.IN_PLACE
                return False
            if running and self.serves_through_router(spec.app):
                cutover = True  # after this lock is released: the switch takes it itself
                return False
            if running:  # a forced remove would wait Podman's own 10 s, not the agent's stop timeout
                await self.runtime.stop(spec.name, self.config.stop_timeout)
            await self._ensure_container(spec, stale=True)
            if running:
                await self.runtime.start(spec.name)
            outcome = LimitsApplied.RECREATED
            return True

        await self._change(actor, name, "app.limits_apply", None, op)
        if cutover:
            await self.recreate_live(actor, name, "app.limits_cutover")
            outcome = LimitsApplied.RECREATED
        return outcome
