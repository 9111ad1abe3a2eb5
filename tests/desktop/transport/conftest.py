"""Fixtures for tunnel tests: an isolated HOME, a stand-in agent socket, profiles.

The stand-in agent is a tiny asyncio HTTP server on a Unix socket: the tunnel only moves
bytes, so any HTTP server proves a request made it through SSH to the "agent".
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from harness.system import short_tmpdir
from tunnel_support import AGENT_BODY


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch) -> Path:
    """Never read or write the real ~/.ssh, and never let an ssh-agent offer keys."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the tunnel's "is the agent there?" probe connects and hangs up
    else:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(AGENT_BODY)}\r\nConnection: close\r\n\r\n".encode()
            + AGENT_BODY
        )
        await writer.drain()
    writer.close()


@pytest.fixture
async def agent_socket():
    base = short_tmpdir("bp-fake-agent-")
    path = str(base / "agent.sock")
    server = await asyncio.start_unix_server(_answer, path)
    try:
        yield path
    finally:
        server.close()
        await server.wait_closed()
        shutil.rmtree(base, ignore_errors=True)
