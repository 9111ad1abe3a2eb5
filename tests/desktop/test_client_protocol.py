"""The client refuses an agent speaking another protocol version, with a clear message."""

from __future__ import annotations

import asyncio
import json

import pytest

from basepod_agent.protocol import PROTOCOL_VERSION
from basepod_desktop.client import AgentClient, AgentUnreachable, ProtocolMismatch


async def _fake_agent(path: str, protocol: int) -> asyncio.AbstractServer:
    """A Unix-socket HTTP server answering /api/version like an agent of another version."""
    body = json.dumps({"agent_version": "9.9.9", "protocol_version": protocol}).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    return await asyncio.start_unix_server(handle, path)


@pytest.mark.parametrize("protocol, upgrade", [(PROTOCOL_VERSION + 1, "upgrade the desktop app / bp"),
                                               (PROTOCOL_VERSION - 1, "upgrade the agent")])
async def test_protocol_mismatch_says_which_side_to_upgrade(tmp_path, protocol, upgrade):
    path = str(tmp_path / "agent.sock")
    server = await _fake_agent(path, protocol)
    try:
        async with AgentClient(path) as client:
            with pytest.raises(ProtocolMismatch) as info:
                await client.check_version()
        assert upgrade in info.value.message and "9.9.9" in info.value.message
    finally:
        server.close()


async def test_a_missing_socket_is_reported_as_unreachable(tmp_path):
    async with AgentClient(str(tmp_path / "nothing.sock")) as client:
        with pytest.raises(AgentUnreachable, match="cannot reach the agent"):
            await client.version()
