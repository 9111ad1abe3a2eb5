"""Bringing a container in line with the limits in force. A mixin of AppsService: it
runs under the app's lock like every other change of the container.

Podman 4.3's update changes the live cgroup but not the container's config (inspect
shows the old caps, the next start restores them), so where the update does not stick
the container is recreated with the current spec; a running app restarts once.
"""

from __future__ import annotations

from basepod_agent.protocol.limits import LimitsApplied
from basepod_agent.runtime.podman import ContainerSpec


class LimitsMixin:
    async def apply_limits(self, actor: str, name: str) -> LimitsApplied:
        outcome = LimitsApplied.NO_CONTAINER

        async def op(spec: ContainerSpec, _stale: bool) -> bool:
            nonlocal outcome
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
            # LIMITS-RECREATE: the managed recreate, through the same path as `apply`;
            # the lead may route it through the deploy cutover (apps_switch) later.
            if running:  # a forced remove would wait Podman's own 10 s, not the agent's stop timeout
                await self.runtime.stop(spec.name, self.config.stop_timeout)
            await self._ensure_container(spec, stale=True)
            if running:
                await self.runtime.start(spec.name)
            outcome = LimitsApplied.RECREATED
            return True

        await self._change(actor, name, "app.limits_apply", None, op)
        return outcome
