"""Fixtures for the desktop UI tests: one qasync loop, the real app, helpers that pump Qt.

Pattern: tests are plain (sync) functions. A session-wide ``qasync.QEventLoop`` runs
asyncio on the Qt event loop; ``ui.wait_until(predicate)`` runs that loop until the
predicate holds, so widgets repaint, signals fire and network coroutines progress
together, exactly as in the running app. No pytest-asyncio loop is involved.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync

from harness import SshServer

from basepod_desktop.app import BasepodApp
from basepod_desktop.core.credentials import TokenStore
from basepod_desktop.core.profiles import ProfileStore, ServerProfile

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery"


class TestLoop(qasync.QEventLoop):
    """qasync's loop without the extra ``processEvents`` after ``run_until_complete``.

    qasync (0.28) processes Qt events once more after the loop has stopped and the running
    loop is unset; an asyncio task stepped in that window fails with "no running event
    loop" (seen here: the desktop's event-stream handshake, about one run in ten). The app
    itself runs ``run_forever`` and never takes that path.
    """

    def run_until_complete(self, future):
        future = asyncio.ensure_future(future, loop=self)
        future.add_done_callback(lambda _f: self.stop())
        self.run_forever()
        if not future.done():
            raise RuntimeError("event loop stopped before the awaited future completed")
        return future.result()


@pytest.fixture(scope="session")
def qloop(qapp) -> Iterator[qasync.QEventLoop]:
    loop = TestLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()  # joins qasync's executor threads (asyncio.to_thread for the keyring)
    asyncio.set_event_loop(None)


class Ui:
    """Drive the loop from sync test code."""

    def __init__(self, loop: qasync.QEventLoop, artifacts: Path) -> None:
        self.loop = loop
        self.artifacts = artifacts
        self.diagnostics: list[Callable[[], str]] = []  # appended to timeout messages

    def run(self, coro, timeout: float = 30) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
        async def poll() -> Any:
            deadline = time.monotonic() + timeout
            while True:
                value = predicate()
                if value:
                    return value
                if time.monotonic() > deadline:
                    notes = "; ".join(d() for d in self.diagnostics)
                    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}"
                                         + (f" ({notes})" if notes else ""))
                await asyncio.sleep(0.03)
        return self.loop.run_until_complete(poll())

    def pump(self, seconds: float = 0.1) -> None:
        self.loop.run_until_complete(asyncio.sleep(seconds))

    def screenshot(self, widget, name: str) -> Path:
        self.pump(0.15)  # let queued repaints and the log viewer's flush timer run
        path = self.artifacts / f"desktop-{name}.png"
        assert widget.grab().save(str(path)), f"could not save {path}"
        return path


@pytest.fixture
def ui(qloop, artifacts_dir) -> Ui:
    return Ui(qloop, artifacts_dir)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch) -> Path:
    """No real ~/.ssh, no ssh-agent, no keyring: every file lives in tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("BASEPOD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home


def ssh_profile(name: str, server: SshServer, socket: str | Path) -> ServerProfile:
    return ServerProfile(name=name, kind="ssh", host=server.host, port=server.port, user="root",
                         key_path=str(server.client_key), socket=str(socket))


@pytest.fixture
def make_app(ui, qapp, tmp_path) -> Iterator[Callable[..., BasepodApp]]:
    """make_app(profiles=[...], known_hosts=path, local_agent=False) -> started BasepodApp."""
    made: list[BasepodApp] = []
    config = tmp_path / "config"

    def make(profiles: list[ServerProfile] = (), known_hosts: Path | None = None,
             local_agent=False, start: bool = True) -> BasepodApp:
        store = ProfileStore(config)
        for profile in profiles:
            store.add(profile, replace=True)
        app = BasepodApp(qapp, config_dir=config, tokens=TokenStore(config, use_keyring=False),
                         known_hosts_path=known_hosts, local_agent=local_agent)
        app.window.sig_quit_requested.disconnect()  # tests close through aclose()
        made.append(app)
        ui.diagnostics.append(lambda: f"notices: {[(n.title, n.text) for n in app.ctx.notifier.history]}; "
                              f"states: {[(n, c.status.state.value, c.status.reason) for n, c in app.fleet.connections.items()]}; "
                              f"apps: {[(n, [(a.name, a.status.value) for a in s.apps]) for n, s in app.fleet.snapshots.items()]}; "
                              f"pending tasks: {[repr(t.get_coro()) for t in app.ctx.tasks._running]}")
        if start:
            app.start()
            ui.pump(0.05)
        return app

    yield make
    for app in made:
        ui.run(app.aclose())
        app.window.deleteLater()
        app.tray.deleteLater()
    ui.pump(0.05)


def open_app_on_local_agent(ui, make_app, agent, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD):
    """A started desktop connected to ``agent`` over its Unix socket, showing app "web"."""
    app = make_app([], start=False)

    async def credentials():
        return email, password

    app.fleet.add(ServerProfile.local("box", socket=agent.socket_path), credentials=credentials)
    app.start()
    conn = app.fleet.connection("box")
    ui.wait_until(lambda: conn.status.is_connected, what="the agent connection")
    app.window.show_server("box")
    ui.wait_until(lambda: app.fleet.snapshot("box").app("web") is not None, what="the app list")
    app.window.show_app("box", "web")
    return app

