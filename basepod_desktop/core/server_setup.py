"""One onboarding conversation with a server: connect, inspect, prepare an install or an
upgrade. `bp` and the desktop's wizard and Diagnostics panel all go through it, so the
sequence "SSH -> inspect -> build the wheel -> Onboarding" exists once.
"""

from __future__ import annotations

import asyncio
from typing import Optional

from basepod_agent.protocol import AGENT_VERSION

from .agent_wheel import AgentWheel, build_agent_wheel
from .credentials import TokenStore
from .onboarding import Onboarding, compare_versions, inspect_host, upgrade_reason
from .onboarding_doctor import Check, diagnose
from .onboarding_model import HostFacts, resolve_options
from .profiles import ServerProfile
from basepod_desktop.transport.remote import RemoteHost


class NothingToUpgrade(Exception):
    """The agent is current (or newer than this Basepod); `str(exc)` says which."""


class NotInstalledByBasepod(Exception):
    pass


class ServerSetup:
    def __init__(self, profile: ServerProfile, tokens: Optional[TokenStore] = None, **tunnel_kwargs) -> None:
        self.profile = profile
        self.tokens = tokens
        self.tunnel_kwargs = tunnel_kwargs
        self.remote: Optional[RemoteHost] = None
        self.facts: Optional[HostFacts] = None
        self.wheel: Optional[AgentWheel] = None

    async def _remote(self) -> RemoteHost:
        """The SSH connection, reopened when it dropped (a wizard may sit open for a while)."""
        if self.remote is None or self.remote.conn.is_closed():
            self.remote = await RemoteHost.connect(self.profile, **self.tunnel_kwargs)
        return self.remote

    async def inspect(self, prefix: Optional[str] = None, state_dir: Optional[str] = None) -> HostFacts:
        self.facts = await inspect_host(await self._remote(), prefix or self.profile.agent_prefix, state_dir)
        return self.facts

    async def agent_wheel(self) -> AgentWheel:
        if self.wheel is None:
            self.wheel = await asyncio.to_thread(build_agent_wheel)
        return self.wheel

    async def prepare_install(self, admin_email: str, password: str, **options) -> Onboarding:
        """An install job for the inspected host; `options` are InstallOptions fields."""
        prefix, state_dir = options.get("prefix"), options.get("state_dir")
        facts = self.facts
        if facts is None or (prefix and prefix != facts.prefix) or (state_dir and state_dir != facts.state_dir):
            facts = await self.inspect(prefix, state_dir)  # what is installed depends on where
        resolved = resolve_options(facts, admin_email=admin_email, **options)
        return Onboarding(await self._remote(), self.profile, facts, resolved, await self.agent_wheel(),
                          tokens=self.tokens, password=password, tunnel_kwargs=self.tunnel_kwargs)

    async def upgrade_offer(self) -> Optional[str]:
        """Why an upgrade is due, or None (inspects again: the answer must be current)."""
        facts = await self.inspect()
        if facts.manifest is None:
            return None
        return upgrade_reason(facts, await self.agent_wheel())

    async def prepare_upgrade(self, force: bool = False) -> tuple[Onboarding, str]:
        facts = await self.inspect()
        if facts.manifest is None:
            raise NotInstalledByBasepod(
                f"no Basepod-installed agent in {facts.prefix} on {self.profile.display_target}; install one with "
                f"`bp server add {self.profile.name} --host {self.profile.host} --install --replace`")
        wheel = await self.agent_wheel()
        reason = upgrade_reason(facts, wheel)
        if reason is None and not force:
            if facts.installed_version and compare_versions(facts.installed_version, wheel.version) > 0:
                raise NothingToUpgrade(f"the server's agent {facts.installed_version} is newer than this Basepod "
                                       f"({AGENT_VERSION}): upgrade Basepod instead")
            raise NothingToUpgrade(f"agent {facts.installed_version} on {self.profile.name} is up to date")
        job = Onboarding(await self._remote(), self.profile, facts, facts.manifest.options(), wheel,
                         tokens=self.tokens, tunnel_kwargs=self.tunnel_kwargs, reinstall=force)
        return job, reason or "forced reinstall and restart"

    async def diagnose(self) -> list[Check]:
        return await diagnose(self.profile, self.tokens, **self.tunnel_kwargs)

    async def aclose(self) -> None:
        if self.remote is not None:
            remote, self.remote = self.remote, None
            await remote.aclose()
