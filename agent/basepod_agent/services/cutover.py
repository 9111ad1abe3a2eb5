"""Health-gating a new version before it receives traffic.

The gate is the app's own health check when one is enabled (same path and status range
as the health loop), otherwise the port accepting TCP connections. A container that
exits while starting fails at once rather than after the whole timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from basepod_agent.protocol.health import HealthConfig
from basepod_agent.services.health_probe import probe

POLL_SECONDS = 0.2


class NotHealthy(Exception):
    """The new version did not pass its check in time; the message says what it saw."""


async def port_accepts(port: int, timeout: float) -> str | None:
    """None when 127.0.0.1:port accepts a connection, else why not."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
    except TimeoutError:
        return f"connect timed out after {timeout:g} s"
    except OSError as exc:
        return "connection refused" if isinstance(exc, ConnectionRefusedError) else f"connect failed: {exc}"
    writer.transport.abort()
    return None


async def wait_healthy(port: int, check: HealthConfig | None, timeout: float,
                       status: Callable[[], Awaitable[str | None]]) -> str:
    """Poll until the new version passes; returns what passed, raises NotHealthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = "not checked yet"
    while True:
        state = await status()
        if state not in ("running", None) and state != "created":
            raise NotHealthy(f"the new container stopped while starting ({state})")
        if check is not None and check.enabled:
            result = await probe(port, check.path, min(check.timeout_seconds, max(timeout, 0.5)),
                                 (check.expected_status_min, check.expected_status_max))
            if result.ok:
                return f"health check {check.path}: {result.detail}"
            last = f"health check {check.path}: {result.detail}"
        else:
            problem = await port_accepts(port, 2.0)
            if problem is None:
                return f"port {port} accepts connections"
            last = f"port {port}: {problem}"
        if loop.time() >= deadline:
            raise NotHealthy(f"the new version did not become healthy within {timeout:g} s ({last})")
        await asyncio.sleep(POLL_SECONDS)
