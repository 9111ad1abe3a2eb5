"""ServerConnection (Qt-free) against a real agent: login states, reconnect, re-subscribe."""

from __future__ import annotations

import asyncio

import pytest

from basepod_agent.protocol import Hello
from basepod_desktop.core.connection import ConnState, NotConnected, ServerConnection
from basepod_desktop.core.credentials import TokenStore
from basepod_desktop.core.profiles import ServerProfile
from basepod_desktop.transport import Backoff

EMAIL, PASSWORD = "admin@example.com", "correct horse battery"


async def _until(predicate, timeout: float = 20, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def tokens(tmp_path) -> TokenStore:
    return TokenStore(tmp_path, use_keyring=False)


async def test_connection_waits_for_login_then_remembers_the_token(agent_factory, tokens):
    agent = agent_factory()
    conn = ServerConnection(ServerProfile.local("box", agent.socket_path), tokens)
    conn.start()
    try:
        await _until(lambda: conn.status.state is ConnState.NEEDS_LOGIN, what="needs login")
        with pytest.raises(NotConnected):
            await conn.call(lambda c: c.list_apps())
        await conn.login(EMAIL, PASSWORD, remember=True)
        await asyncio.wait_for(conn.wait_connected(), 10)
        assert await conn.call(lambda c: c.list_apps()) == []
        assert tokens.get("box") and conn.user.email == EMAIL
    finally:
        await conn.aclose()
    assert conn.status.state is ConnState.CLOSED


async def test_agent_restart_reconnects_and_resubscribes_to_events(agent_factory, tokens):
    agent = agent_factory()

    async def credentials():
        return EMAIL, PASSWORD

    conn = ServerConnection(ServerProfile.local("box", agent.socket_path), tokens, credentials=credentials,
                            backoff=Backoff(initial=0.2, maximum=1))
    hellos, states = [], []
    conn.add_event_listener(lambda e: hellos.append(e) if isinstance(e, Hello) else None)
    conn.add_status_listener(lambda s: states.append(s.state))
    conn.start()
    try:
        await _until(lambda: hellos, what="the first Hello")
        await asyncio.to_thread(agent.kill)
        await _until(lambda: ConnState.RECONNECTING in states, what="reconnecting")
        await asyncio.to_thread(agent.start)
        await _until(lambda: len(hellos) >= 2, timeout=30, what="a second Hello after the restart")
        assert conn.status.is_connected
    finally:
        await conn.aclose()


def test_resumed_log_skips_exactly_the_lines_of_the_last_second_already_shown():
    from basepod_agent.protocol import LogLine
    from basepod_desktop.core.logcursor import LogCursor, ReplayFilter

    def lines(*pairs):
        return [LogLine(ts=ts, text=text) for ts, text in pairs]

    cursor = LogCursor()
    cursor.advance(lines(("t1", "a"), ("t1", "b"), ("t2", "x"), ("t2", "x")))
    assert (cursor.second, cursor.seen_in_second) == ("t2", 2)
    # The agent replays from second t2: the two "x" already shown, then what is new,
    # even when the new line has the same second and the same text.
    replay = ReplayFilter(cursor)
    assert replay(lines(("t2", "x"))) == []
    assert [(ln.ts, ln.text) for ln in replay(lines(("t2", "x"), ("t2", "x"), ("t3", "c")))] == [
        ("t2", "x"), ("t3", "c")]
    assert replay(lines(("t3", "d"))) == lines(("t3", "d"))


def test_a_replay_that_starts_later_than_expected_keeps_every_line():
    from basepod_agent.protocol import LogLine
    from basepod_desktop.core.logcursor import LogCursor, ReplayFilter

    cursor = LogCursor(second="t2", seen_in_second=3)
    replay = ReplayFilter(cursor)
    assert replay([LogLine(ts="t5", text="new")]) == [LogLine(ts="t5", text="new")]
