"""One connected, version-checked, authenticated (if a token is known) agent session.

Both ``bp`` (one session per command) and the desktop (one long-lived, reconnecting
session per server) start here, so the connect sequence exists once:
open the target (local socket or SSH tunnel) -> check the protocol -> attach the token.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from basepod_agent.protocol import VersionInfo
from basepod_desktop.client import AgentClient
from basepod_desktop.core.credentials import TokenStore
from basepod_desktop.core.profiles import ServerProfile
from basepod_desktop.transport.target import open_target


@dataclass
class AgentSession:
    profile: ServerProfile
    client: AgentClient
    target: object  # LocalTarget | TunnelTarget
    version: VersionInfo

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.target.aclose()

    async def wait_closed(self) -> None:
        await self.target.wait_closed()

    async def remember_token(self, tokens: TokenStore) -> None:
        if self.client.token:
            await asyncio.to_thread(tokens.set, self.profile.name, self.client.token)

    async def forget_token(self, tokens: TokenStore) -> None:
        await asyncio.to_thread(tokens.delete, self.profile.name)


async def connect(profile: ServerProfile, tokens: TokenStore | None = None, **target_kwargs) -> AgentSession:
    """Open a session; ``target_kwargs`` (known_hosts_path, confirm_host_key, ...) go to the tunnel."""
    target = await open_target(profile, **target_kwargs)
    client = AgentClient(target.socket_path)
    try:
        version = await client.check_version()
        if tokens is not None:
            client.token = await asyncio.to_thread(tokens.get, profile.name)
    except BaseException:
        await client.aclose()
        await target.aclose()
        raise
    return AgentSession(profile=profile, client=client, target=target, version=version)
