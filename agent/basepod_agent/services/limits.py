"""Resource limits: per-app CPU and memory overrides over the agent's global defaults.

An app row stores overrides only (NULL: the default applies; 0: explicitly no cap), so
changing a default in ``agent.toml`` reaches every app without an override the next
time its container is created. Applying a change to a live container is the apps
service's job (``apps_limits.LimitsMixin``): it needs the app's lock.
"""

from __future__ import annotations

import os

from basepod_agent.config import AgentConfig
from basepod_agent.protocol.apps import AppLimits, AppStatus
from basepod_agent.protocol.errors import ErrorCode
from basepod_agent.protocol.limits import UNLIMITED, LimitSource, LimitsUpdate, LimitsView, cpus_problem, format_memory
from basepod_agent.services import activity
from basepod_agent.services.env import app_row
from basepod_agent.services.errors import AgentError
from basepod_agent.store.database import Database

OOM_EXIT_CODE = 137  # 128 + SIGKILL


def _pick(override, default):
    """(value in force, source) for one field; an override of 0 means "no cap"."""
    if override is None:
        return default, LimitSource.DEFAULT
    return (override or None), LimitSource.APP


def limits_in_force(row, config: AgentConfig) -> AppLimits:
    """``row``: an App ORM object or a plain row of the apps table."""
    cpus, _ = _pick(row.cpus_limit, config.default_cpus)
    memory, _ = _pick(row.memory_limit, config.default_memory)
    return AppLimits(cpus=cpus, memory_bytes=memory)


def oom_killed(status: AppStatus, exit_code: int | None, limits: AppLimits) -> bool:
    """A capped container that died of SIGKILL while meant to run was killed for memory.

    Podman's ``State.OOMKilled`` would be the direct answer, but Podman 4.3 with runc on
    cgroup v1 (this project's servers) never sets it, although the kernel counts the
    kill: exit code 137 with nobody from Basepod stopping it (status ``exited``, not
    ``stopped``) is the evidence left. A ``podman kill`` by hand looks the same.
    """
    return status == AppStatus.EXITED and exit_code == OOM_EXIT_CODE and limits.memory_bytes is not None


def _describe(value, unit: str) -> str:
    if value is None:
        return "default"
    if value == 0:
        return UNLIMITED
    return format_memory(value) if unit == "memory" else f"{value:g}"


class LimitsService:
    def __init__(self, config: AgentConfig, db: Database, apps) -> None:
        self.config, self.db, self.apps = config, db, apps
        self.host_cpus = os.cpu_count() or 1

    def view(self, name: str) -> LimitsView:
        with self.db.session() as s:
            row = app_row(s, name)
            cpus, cpus_source = _pick(row.cpus_limit, self.config.default_cpus)
            memory, memory_source = _pick(row.memory_limit, self.config.default_memory)
        return LimitsView(
            app=name, cpus=cpus, cpus_source=cpus_source, memory_bytes=memory, memory_source=memory_source,
            default_cpus=self.config.default_cpus, default_memory_bytes=self.config.default_memory,
            host_cpus=self.host_cpus,
        )

    def _check(self, req: LimitsUpdate) -> None:
        if isinstance(req.cpus, float) and (problem := cpus_problem(req.cpus, self.host_cpus)):
            raise AgentError(ErrorCode.INVALID_INPUT, f"cpus: {problem}", "cpus")

    async def update(self, actor: str, name: str, req: LimitsUpdate) -> LimitsView:
        """Store the overrides, then bring the container in line (in place or recreated)."""
        self._check(req)
        given = req.model_fields_set
        with self.db.session() as s:
            row = app_row(s, name)
            if "cpus" in given:
                row.cpus_limit = None if req.cpus is None else 0.0 if req.cpus == UNLIMITED else req.cpus
            if "memory" in given:
                row.memory_limit = None if req.memory is None else 0 if req.memory == UNLIMITED else req.memory
            row.updated_at = activity.utcnow()
            activity.record(s, actor, "app.limits", name,
                            f"cpus={_describe(row.cpus_limit, 'cpus')} memory={_describe(row.memory_limit, 'memory')}")
        applied = await self.apps.apply_limits(actor, name)
        return self.view(name).model_copy(update={"applied": applied})
