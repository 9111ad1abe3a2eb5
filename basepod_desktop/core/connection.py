"""``ServerConnection``: one long-lived, self-healing connection to one server's agent.

The desktop keeps a connection per configured server. Each is a small state machine run
by one asyncio task, so the UI never waits on SSH: it watches states through callbacks
and calls the agent through ``call()``. What needs a person (an unknown host key, a login,
a changed host key) parks the machine in a state that says so, instead of retrying
forever; what a network blip causes (tunnel dropped, agent restarting) is retried with
``Backoff`` and the event subscription is renewed. Qt-free on purpose: the same class
could drive a TUI, and it is testable without a display.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import aclosing
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Optional, TypeVar

from basepod_agent.protocol import Event, LogBatch, LogEnd, UserInfo
from basepod_desktop.client import AgentClient, AgentUnreachable, AuthRequired, ClientError, ProtocolMismatch
from basepod_desktop.core import session as session_mod
from basepod_desktop.core.credentials import TokenStore
from basepod_desktop.core.logcursor import LogCursor, ReplayFilter
from basepod_desktop.core.profiles import ServerProfile
from basepod_desktop.transport import (
    AuthenticationFailed,
    Backoff,
    HostKeyChanged,
    HostKeyInfo,
    HostKeyRejected,
    TransportError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


Credentials = Callable[[], Awaitable[tuple[str, str]]]


class ConnState(str, Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"
    ERROR = "error"
    NEEDS_LOGIN = "needs_login"
    NEEDS_HOST_KEY_CONFIRMATION = "needs_host_key_confirmation"
    CLOSED = "closed"


_LABELS = {
    ConnState.CONNECTING: "Connecting…",
    ConnState.CONNECTED: "Connected",
    ConnState.RECONNECTING: "Reconnecting…",
    ConnState.OFFLINE: "Offline",
    ConnState.ERROR: "Error",
    ConnState.NEEDS_LOGIN: "Login required",
    ConnState.NEEDS_HOST_KEY_CONFIRMATION: "Verify host key",
    ConnState.CLOSED: "Closed",
}


@dataclass(frozen=True)
class ConnectionStatus:
    state: ConnState
    reason: Optional[str] = None
    host_key: Optional[HostKeyInfo] = None
    retry_at: Optional[float] = None  # time.monotonic() of the next automatic attempt
    since: float = field(default_factory=time.time)

    @property
    def label(self) -> str:
        return _LABELS[self.state]

    @property
    def is_connected(self) -> bool:
        return self.state is ConnState.CONNECTED

    @property
    def needs_person(self) -> bool:
        return self.state in (ConnState.ERROR, ConnState.NEEDS_LOGIN, ConnState.NEEDS_HOST_KEY_CONFIRMATION)


class NotConnected(ClientError):
    """A call was made while the server is not connected (the UI shows why)."""


@dataclass(frozen=True)
class StreamInterrupted:
    """Yielded by ``follow_logs`` when the link dropped; the stream re-attaches by itself."""

    reason: str


@dataclass(frozen=True)
class StreamResumed:
    """Yielded by ``follow_logs`` once it is attached again after an interruption."""


StatusListener = Callable[[ConnectionStatus], None]
EventListener = Callable[[Event], None]


class ServerConnection:
    def __init__(
        self,
        profile: ServerProfile,
        tokens: TokenStore,
        *,
        known_hosts_path: Optional[str | Path] = None,
        credentials: Optional[Credentials] = None,
        backoff: Optional[Backoff] = None,
    ) -> None:
        self.profile = profile
        self.tokens = tokens
        self.known_hosts_path = known_hosts_path
        self.credentials = credentials  # the local agent logs in by itself
        self.user: Optional[UserInfo] = None
        self._backoff = backoff or Backoff(initial=0.5, maximum=15)
        self._status = ConnectionStatus(ConnState.CONNECTING)
        self._status_listeners: list[StatusListener] = []
        self._event_listeners: list[EventListener] = []
        self._session: Optional[session_mod.AgentSession] = None
        self._lost = asyncio.Event()
        self._wake = asyncio.Event()
        self._connected = asyncio.Event()
        self._host_key_answer: Optional[asyncio.Future[bool]] = None
        self._login_done: Optional[asyncio.Future[None]] = None
        self._pending: Optional[session_mod.AgentSession] = None
        self._task: Optional[asyncio.Task] = None
        self._closing = False

    # --- observing ---------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def status(self) -> ConnectionStatus:
        return self._status

    @property
    def agent_version(self) -> Optional[str]:
        """The connected agent's version (None while not connected): the upgrade offer compares it."""
        return self._session.version.agent_version if self._session is not None else None

    def add_status_listener(self, listener: StatusListener) -> Callable[[], None]:
        self._status_listeners.append(listener)
        return lambda: self._status_listeners.remove(listener)

    def add_event_listener(self, listener: EventListener) -> Callable[[], None]:
        self._event_listeners.append(listener)
        return lambda: self._event_listeners.remove(listener)

    def _set(self, state: ConnState, reason: Optional[str] = None, *,
             host_key: Optional[HostKeyInfo] = None, retry_in: Optional[float] = None) -> None:
        retry_at = time.monotonic() + retry_in if retry_in is not None else None
        self._status = ConnectionStatus(state, reason, host_key, retry_at)
        if state is ConnState.CONNECTED:
            self._connected.set()
        else:
            self._connected.clear()
        log.info("%s: %s%s", self.name, state.value, f" ({reason})" if reason else "")
        for listener in list(self._status_listeners):
            try:
                listener(self._status)
            except Exception:  # a broken listener must not kill the connection
                log.exception("status listener failed")

    # --- commands from the UI ----------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def retry_now(self) -> None:
        """Skip the backoff wait, or try again after an error a person has fixed."""
        self._wake.set()

    def answer_host_key(self, accept: bool) -> None:
        if self._host_key_answer is not None and not self._host_key_answer.done():
            self._host_key_answer.set_result(accept)

    async def login(self, email: str, password: str, remember: bool) -> None:
        """Log in on the parked session; errors (bad password...) go to the caller."""
        pending = self._pending
        if pending is None or self._login_done is None:
            raise NotConnected(f"{self.name} is not waiting for a login")
        await pending.client.login(email, password)
        if remember:
            await pending.remember_token(self.tokens)
        if not self._login_done.done():
            self._login_done.set_result(None)

    async def logout(self) -> None:
        session = self._session
        if session is not None:
            try:
                await session.client.logout()
            except ClientError as exc:
                log.info("logout on %s: %s", self.name, exc.message)
            await session.forget_token(self.tokens)
            self._lost.set()

    async def call(self, op: Callable[[AgentClient], Awaitable[T]]) -> T:
        """Run ``op(client)`` on the live session; a dead link triggers a reconnect."""
        session = self._session
        if session is None or not self._status.is_connected:
            raise NotConnected(f"{self.name} is not connected ({self._status.label.lower()}"
                               f"{': ' + self._status.reason if self._status.reason else ''})")
        try:
            return await op(session.client)
        except AgentUnreachable:
            if session is self._session:
                self._lost.set()
            raise
        except AuthRequired:
            if session is self._session:
                await session.forget_token(self.tokens)
                self._lost.set()
            raise

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def aclose(self) -> None:
        self._closing = True
        self._wake.set()
        self._lost.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for session in (self._session, self._pending):
            if session is not None:
                await session.aclose()
        self._session = self._pending = None
        self._set(ConnState.CLOSED)

    # --- log streams that survive reconnects -------------------------------------------

    async def follow_logs(self, app: str, tail: int = 200
                          ) -> AsyncIterator[LogBatch | LogEnd | StreamInterrupted | StreamResumed]:
        """Follow an app's log across reconnects, with neither gaps nor repeats.

        After a drop it re-attaches with ``since`` = the second of the last line delivered
        and skips the lines of that second already delivered (see ``core/logcursor.py``).
        """
        cursor = LogCursor()
        session: Optional[session_mod.AgentSession] = None
        resumed = False
        while True:
            session = await self._next_session(session)
            if resumed:
                yield StreamResumed()
            replay = ReplayFilter(cursor) if resumed and cursor.second else None
            since = cursor.second if replay else None
            try:
                async with aclosing(session.client.follow_logs(app, tail, since=since)) as stream:
                    async for message in stream:
                        if isinstance(message, LogBatch):
                            lines = replay(message.lines) if replay else message.lines
                            cursor.advance(lines)
                            if lines:
                                yield LogBatch(lines=lines)
                        elif isinstance(message, LogEnd):
                            yield message
                            return
                if await self._still_alive(session):
                    return  # the agent ended the stream on purpose
                reason = "the log stream was cut"
            except AgentUnreachable as exc:
                reason = exc.message
            if session is self._session:
                self._lost.set()
            resumed = True
            yield StreamInterrupted(reason)

    async def _next_session(self, old: Optional[session_mod.AgentSession]) -> session_mod.AgentSession:
        """The live session, once it is not ``old`` (the one a stream just lost)."""
        while True:
            await self.wait_connected()
            session = self._session
            if session is not None and session is not old:
                return session
            await asyncio.sleep(0.1)

    async def _still_alive(self, session: session_mod.AgentSession) -> bool:
        try:
            await session.client.version()
            return True
        except ClientError:
            return False

    # --- the state machine -------------------------------------------------------------

    async def _run(self) -> None:
        ever_connected = False
        while not self._closing:
            self._set(ConnState.RECONNECTING if ever_connected else ConnState.CONNECTING)
            try:
                session = await session_mod.connect(
                    self.profile, self.tokens, known_hosts_path=self.known_hosts_path,
                    confirm_host_key=self._confirm_host_key,
                )
            except (HostKeyChanged, HostKeyRejected, AuthenticationFailed, ProtocolMismatch) as exc:
                await self._park(ConnState.ERROR, exc.message)
                continue
            except (TransportError, ClientError, OSError) as exc:
                await self._backoff_wait(ever_connected, _message(exc))
                continue
            try:
                await self._authenticate(session)
            except (TransportError, AgentUnreachable, OSError) as exc:
                await self._discard(session)
                await self._backoff_wait(ever_connected, _message(exc))
                continue
            except ClientError as exc:
                await self._discard(session)
                await self._park(ConnState.ERROR, exc.message)
                continue
            ever_connected = True
            self._backoff.reset()
            reason = await self._serve(session)
            if not self._closing:
                await self._backoff_wait(True, reason)

    async def _serve(self, session: session_mod.AgentSession) -> str:
        """Stay CONNECTED until the link drops; return why it ended."""
        self._lost = asyncio.Event()
        self._session = session
        self._set(ConnState.CONNECTED)
        events = asyncio.ensure_future(self._pump_events(session))
        closed = asyncio.ensure_future(session.wait_closed())
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({events, closed, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._session = None
            self._connected.clear()
            for task in (events, closed, lost):
                task.cancel()
            await asyncio.gather(events, closed, lost, return_exceptions=True)
            await self._discard(session)
        if events.done() and not events.cancelled() and events.exception() is not None:
            log.warning("%s: event stream failed", self.name, exc_info=events.exception())
            return _message(events.exception())
        return "the connection to the server was lost"

    async def _pump_events(self, session: session_mod.AgentSession) -> None:
        async with aclosing(session.client.events()) as events:
            async for event in events:
                for listener in list(self._event_listeners):
                    try:
                        listener(event)
                    except Exception:
                        log.exception("event listener failed")

    async def _authenticate(self, session: session_mod.AgentSession) -> None:
        client = session.client
        if client.token:
            try:
                self.user = (await client.me()).user
                return
            except AuthRequired:
                client.token = None
                await session.forget_token(self.tokens)
        if self.credentials is not None:
            email, password = await self.credentials()
            await client.login(email, password)
            await session.remember_token(self.tokens)
            self.user = (await client.me()).user
            return
        self._pending = session
        self._login_done = asyncio.get_running_loop().create_future()
        self._set(ConnState.NEEDS_LOGIN, f"Log in to {self.profile.display_target} to continue.")
        closed = asyncio.ensure_future(session.wait_closed())
        try:
            await asyncio.wait({self._login_done, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            self._pending = None
        if not self._login_done.done():
            raise AgentUnreachable("the connection dropped while waiting for the login")
        self.user = (await client.me()).user

    async def _confirm_host_key(self, info: HostKeyInfo) -> bool:
        self._host_key_answer = asyncio.get_running_loop().create_future()
        self._set(ConnState.NEEDS_HOST_KEY_CONFIRMATION,
                  f"First connection to {info.host}:{info.port}: confirm its host key.", host_key=info)
        try:
            return await self._host_key_answer
        finally:
            self._host_key_answer = None

    async def _park(self, state: ConnState, reason: str) -> None:
        """Wait for a person (``retry_now``) instead of hammering a server that refused us."""
        self._wake.clear()
        self._set(state, reason)
        await self._wake.wait()
        self._wake.clear()

    async def _backoff_wait(self, was_connected: bool, reason: str) -> None:
        delay = self._backoff.next_delay()
        self._wake.clear()
        self._set(ConnState.RECONNECTING if was_connected else ConnState.OFFLINE, reason, retry_in=delay)
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=delay)
        except asyncio.TimeoutError:
            pass
        self._wake.clear()

    async def _discard(self, session: session_mod.AgentSession) -> None:
        try:
            await session.aclose()
        except Exception as exc:  # closing a broken tunnel may fail; we are done with it
            log.debug("closing session of %s: %s", self.name, exc)


def _message(exc: BaseException) -> str:
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


