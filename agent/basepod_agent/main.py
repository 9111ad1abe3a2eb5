"""``basepod-agent``: initialise a state directory and serve the APIs."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import socket
import sys
from contextlib import nullcontext
from pathlib import Path

import uvicorn

from basepod_agent.api.coalesce import CoalescingH11Protocol
from basepod_agent.api.control import create_control_app
from basepod_agent.api.edge import create_edge_app
from basepod_agent.config import DEFAULT_STATE_DIR, AgentConfig, load_config, parse_port_range
from basepod_agent.protocol.auth import Role
from basepod_agent.protocol.version import AGENT_VERSION
from basepod_agent.runtime.podman_service import resolve_podman
from basepod_agent.services.context import AgentServices
from basepod_agent.services.crypto import create_key_file
from basepod_agent.services.errors import AgentError
from basepod_agent.services.keys import KeyRotationError, rotate_key
from basepod_agent.services.auth import AuthService
from basepod_agent.store.database import Database

log = logging.getLogger("basepod_agent")
logging.getLogger("httpx").setLevel(logging.WARNING)


class _Server(uvicorn.Server):
    """Signals are handled once for both servers by ``serve`` below."""

    def capture_signals(self):
        return nullcontext()


def _unix_listener(path: Path) -> socket.socket:
    """Bind the control socket with mode 0600 from the first instant (umask), unlike uvicorn's 0666."""
    path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _tcp_listener(edge: str) -> socket.socket:
    host, _, port = edge.rpartition(":")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]") or "0.0.0.0", int(port)))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def cmd_init(args: argparse.Namespace) -> int:
    state = Path(args.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    config = AgentConfig(state_dir=state)
    if not config.key_path.exists():
        create_key_file(config.key_path)
    db = Database(config.db_path)
    db.migrate()
    auth = AuthService(db, token_ttl=None)  # type: ignore[arg-type]
    password = os.environ.get("BASEPOD_ADMIN_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            print("error: set BASEPOD_ADMIN_PASSWORD or run interactively", file=sys.stderr)
            return 2
        password = getpass.getpass(f"Password for {args.admin_email}: ")
        if password != getpass.getpass("Repeat password: "):
            print("error: passwords differ", file=sys.stderr)
            return 2
    try:
        auth.create_user(args.admin_email, password, Role.ADMIN, actor="basepod-agent init")
    except AgentError as exc:
        if exc.code.value == "already_exists":
            print(f"{args.admin_email} already exists; state dir {state} is ready")
            return 0
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    finally:
        db.close()
    print(f"initialised {state} with admin {args.admin_email}")
    return 0


async def _serve(config: AgentConfig) -> None:
    url, own_podman = await resolve_podman(config.podman_url, config.podman_socket_default)
    svc = AgentServices.build(config, url)
    try:
        svc.podman_version = await svc.runtime.version()
    except Exception as exc:  # the agent still serves; status shows podman unreachable
        log.warning("Podman at %s is not answering yet: %s", url, exc)
    await svc.apps.load_desired()
    await svc.tracker.refresh()
    interrupted = await svc.deploys.recover()
    if interrupted:
        log.warning("marked %d unfinished deploys as interrupted: %s", len(interrupted), ", ".join(interrupted))
    tracker_task = asyncio.create_task(svc.tracker.run())
    await svc.routing.start()
    await svc.health.start()
    await svc.metrics.start()

    servers: list[tuple[_Server, socket.socket]] = []
    control = uvicorn.Config(create_control_app(svc), log_level="warning", lifespan="off",
                             http=CoalescingH11Protocol, ws="websockets-sansio",
                             ws_ping_interval=20, timeout_graceful_shutdown=3)
    servers.append((_Server(control), _unix_listener(config.control_socket)))
    if config.edge:
        edge = uvicorn.Config(create_edge_app(svc), log_level="warning", lifespan="off",
                              proxy_headers=True, timeout_graceful_shutdown=3,
                              http=CoalescingH11Protocol)  # one write per answer: no Nagle stall
        servers.append((_Server(edge), _tcp_listener(config.edge)))

    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server, _ in servers:
            server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    log.info("basepod-agent %s serving %s (podman %s)", AGENT_VERSION, config.control_socket, url)
    try:
        await asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in servers))
    finally:
        await svc.deploys.aclose()
        await svc.health.aclose()
        await svc.metrics.aclose()
        tracker_task.cancel()
        await asyncio.gather(tracker_task, return_exceptions=True)
        await svc.aclose()
        config.control_socket.unlink(missing_ok=True)
        if own_podman:
            own_podman.stop()


def cmd_rotate_key(args: argparse.Namespace) -> int:
    state = Path(args.state_dir)
    config = AgentConfig(state_dir=state)
    if not config.db_path.exists():
        print(f"error: {state} is not initialised", file=sys.stderr)
        return 2
    try:
        count = rotate_key(config.key_path, config.db_path, config.control_socket)
    except KeyRotationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"rotated the secrets key; re-encrypted {count} values")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    state = Path(args.state_dir)
    if not (state / "agent.db").exists():
        print(f"error: {state} is not initialised; run basepod-agent init first", file=sys.stderr)
        return 2
    try:
        config = load_config(
            state, socket_path=Path(args.socket) if args.socket else None, edge=args.edge,
            podman_url=args.podman_url, public_host=args.public_host, stop_timeout=args.stop_timeout,
            port_range=parse_port_range(args.port_range) if args.port_range else None,
            public_url=args.public_url,
            http_port=args.http_port, https_port=args.https_port, root_domain=args.root_domain,
            tls_mode=args.tls, caddy_admin=args.caddy_admin, caddy_binary=args.caddy_binary,
            drain_seconds=args.drain_seconds, cutover_timeout=args.cutover_timeout,
            default_cpus=args.default_cpus, default_memory=args.default_memory,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    asyncio.run(_serve(config))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="basepod-agent", description="Basepod server agent")
    parser.add_argument("--version", action="version", version=f"basepod-agent {AGENT_VERSION}")
    sub = parser.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="create the state directory, key, database and admin")
    init.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR))
    init.add_argument("--admin-email", required=True)
    init.set_defaults(func=cmd_init)

    serve = sub.add_parser("serve", help="serve the control API (Unix socket) and edge API")
    serve.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR))
    serve.add_argument("--socket", help="control socket path (default STATE_DIR/agent.sock)")
    serve.add_argument("--edge", metavar="HOST:PORT", help="serve the public edge API here")
    serve.add_argument("--podman-url", help="Podman API, e.g. unix:///run/podman/podman.sock")
    serve.add_argument("--port-range", help="host ports for apps, e.g. 20000-29999")
    serve.add_argument("--public-host", help="host name used in app URLs")
    serve.add_argument("--stop-timeout", type=int, help="seconds before a stop kills (default 10)")
    serve.add_argument("--public-url", help="edge API as GitHub reaches it, e.g. https://deploy.example.com")
    serve.add_argument("--http-port", type=int, help="route apps through Caddy on this HTTP port (off when unset)")
    serve.add_argument("--https-port", type=int, help="Caddy's HTTPS port (default 443)")
    serve.add_argument("--root-domain", help="apps are served at APP.ROOT_DOMAIN (default localhost)")
    serve.add_argument("--tls", choices=("auto", "internal", "off"),
                       help="auto: ACME certificates for public names, HTTP for local ones (default)")
    serve.add_argument("--caddy-admin", help="use this Caddy's admin API instead of starting one")
    serve.add_argument("--caddy-binary", help="the caddy program the agent starts (default caddy)")
    serve.add_argument("--drain-seconds", type=float, help="the old version serves on this long after a cutover")
    serve.add_argument("--cutover-timeout", type=float, help="seconds a new version has to become healthy")
    serve.add_argument("--default-cpus", type=float, help="CPU cap for apps without their own, e.g. 1.5")
    serve.add_argument("--default-memory", help="memory cap for apps without their own, e.g. 512M")
    serve.set_defaults(func=cmd_serve)

    rotate = sub.add_parser("rotate-key", help="new secrets key; re-encrypt every stored secret (agent stopped)")
    rotate.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR))
    rotate.set_defaults(func=cmd_rotate_key)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return args.func(args)
