"""Issue #3 figure: UI event-loop lag while the log viewer ingests ~10,000 lines/s that
come from a real container, through a real agent and a real OpenSSH tunnel.

    .venv/bin/python bench/bench_log_tunnel.py [--seconds 10]

A busybox container prints 500 lines every 50 ms; the desktop's own ServerConnection
follows them over SSH into a LogViewer on the qasync loop while a 5 ms heartbeat measures
lag (goal p99 <= 16 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
from contextlib import aclosing

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync  # noqa: E402
from _setup import AgentProcess, PodmanService, SshServer, build_busybox_image, short_tmpdir  # noqa: E402
from bench_log_viewer import run_ingest_benchmark  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from basepod_agent.protocol import AppCreate, LogBatch  # noqa: E402
from basepod_desktop.core.connection import ServerConnection  # noqa: E402
from basepod_desktop.core.credentials import TokenStore  # noqa: E402
from basepod_desktop.core.profiles import ServerProfile  # noqa: E402
from basepod_desktop.ui.logs import LogViewer  # noqa: E402

NOISY = "while true; do seq 1 500; usleep 50000; done"


async def lines_from(conn: ServerConnection, app: str):
    async with aclosing(conn.follow_logs(app, tail=0)) as stream:
        async for message in stream:
            if isinstance(message, LogBatch):
                yield message.lines


async def measure(args, podman, sshd, agent) -> None:
    image = build_busybox_image(podman)
    profile = ServerProfile(name="bench", kind="ssh", host=sshd.host, port=sshd.port, user=sshd.user,
                            key_path=str(sshd.client_key), socket=str(agent.socket_path))

    async def credentials():
        return agent.admin_email, agent.admin_password

    conn = ServerConnection(profile, TokenStore(tempfile.mkdtemp(), use_keyring=False),
                            known_hosts_path=sshd.known_hosts_path, credentials=credentials)
    conn.start()
    await conn.wait_connected()
    await conn.call(lambda c: c.create_app(AppCreate(name="noisy", image=image, port=8080,
                                                     command=["/bin/sh", "-c", NOISY])))
    viewer = LogViewer()
    viewer.resize(1100, 700)
    viewer.show()
    async with aclosing(lines_from(conn, "noisy")) as source:
        result = await run_ingest_benchmark(viewer, source, args.seconds)
    print(result.report("log viewer fed by a container through agent + SSH tunnel"))
    await conn.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    podman = PodmanService(short_tmpdir("bp-blt-pod-"))
    sshd = SshServer(short_tmpdir("bp-blt-ssh-"))
    podman.start()
    sshd.start()
    agent = AgentProcess(short_tmpdir("bp-blt-agent-"), podman, port_range="34000-34099",
                         extra_args=["--stop-timeout", "1"])
    agent.start()
    try:
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        with loop:
            loop.run_until_complete(measure(args, podman, sshd, agent))
    finally:
        agent.stop()
        sshd.stop()
        podman.destroy()
        shutil.rmtree(agent.base_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
