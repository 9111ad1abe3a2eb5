"""One way to say "give me a socket that reaches this server's agent".

Callers (the HTTP client, the CLI, the desktop) do not care whether the agent is local
or behind SSH; they get a socket path, can wait for it to go away, and close it.
"""

from __future__ import annotations

import asyncio
import os
import stat
from typing import Protocol

from ..core.profiles import ServerProfile
from .errors import LocalAgentNotRunning, TransportError
from .ssh import SshTunnel


class AgentTarget(Protocol):
    socket_path: str

    async def aclose(self) -> None: ...

    async def wait_closed(self) -> None: ...


class LocalTarget:
    """The embedded agent's own socket: nothing to open, nothing to tear down.

    `wait_closed()` only returns after `aclose()`; the local agent's liveness is the
    job of whoever spawned it (a dead socket shows up as a connection error anyway).
    """

    def __init__(self, socket_path: str):
        self.socket_path = socket_path
        self._closed = asyncio.Event()

    @property
    def is_alive(self) -> bool:
        return not self._closed.is_set() and os.path.exists(self.socket_path)

    async def aclose(self) -> None:
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()


class TunnelTarget:
    """An open SshTunnel seen through the AgentTarget interface."""

    def __init__(self, tunnel: SshTunnel, socket_path: str):
        self.tunnel = tunnel
        self.socket_path = socket_path

    @property
    def is_alive(self) -> bool:
        return self.tunnel.is_alive

    async def aclose(self) -> None:
        await self.tunnel.aclose()

    async def wait_closed(self) -> None:
        await self.tunnel.wait_closed()


async def open_target(profile: ServerProfile, **tunnel_kwargs) -> "LocalTarget | TunnelTarget":
    """Open whatever reaches `profile`'s agent; `tunnel_kwargs` go to SshTunnel."""
    if profile.kind == "local":
        path = profile.socket
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise LocalAgentNotRunning(path) from None
        except OSError as exc:
            raise TransportError(f"Cannot use the local agent socket {path}: {exc.strerror}.") from None
        if not stat.S_ISSOCK(mode):
            raise TransportError(f"{path} exists but is not a socket; is another program using that path?")
        return LocalTarget(path)
    tunnel = SshTunnel(profile, **tunnel_kwargs)
    return TunnelTarget(tunnel, await tunnel.open())
