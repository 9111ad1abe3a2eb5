"""``bp server ...``: the server profiles shared with the desktop app."""

from __future__ import annotations

import argparse

from basepod_desktop.cli import server_setup
from basepod_desktop.cli.context import Context
from basepod_desktop.cli.output import emit_json, table
from basepod_desktop.core.profiles import DEFAULT_REMOTE_SOCKET, ServerProfile


def add(ctx: Context, args: argparse.Namespace) -> int:
    unused = [f"--{k.replace('_', '-')}" for k in ("admin_email", "password_stdin", "prefix", "state_dir", "podman_url",
                                                   "edge") if getattr(args, k)]
    if unused and not args.install:
        raise ValueError(f"{', '.join(unused)}: only used with --install")
    if args.local_agent:
        profile = ServerProfile.local(name=args.name, socket=args.socket)
    else:
        if not args.host:
            raise ValueError("--host is required for an SSH server (or use --local-agent)")
        profile = ServerProfile(
            name=args.name, kind="ssh", host=args.host, port=args.port, user=args.user,
            key_path=args.key, socket=args.socket or DEFAULT_REMOTE_SOCKET,
        )
        if args.install:
            return server_setup.add_and_install(ctx, args, profile)
    ctx.profiles.add(profile, replace=args.replace)
    if ctx.profiles.get_default() is None or args.default:
        ctx.profiles.set_default(profile.name)
    if ctx.json:
        emit_json(profile)
    else:
        print(f"added server {profile.name} ({profile.display_target})")
    return 0


def list_(ctx: Context, args: argparse.Namespace) -> int:
    profiles = ctx.profiles.list()
    default = ctx.profiles.get_default()
    if ctx.json:
        emit_json([{**p.model_dump(mode="json"), "default": p.name == default} for p in profiles])
        return 0
    if not profiles:
        print("no servers yet: bp server add NAME --host HOST [--user USER] [--key PATH]")
        return 0
    rows = [("*" if p.name == default else "", p.name, p.kind, p.display_target, p.socket) for p in profiles]
    print(table(("", "NAME", "KIND", "TARGET", "AGENT SOCKET"), rows))
    return 0


def remove(ctx: Context, args: argparse.Namespace) -> int:
    ctx.profiles.remove(args.name)
    ctx.tokens.delete(args.name)
    if not ctx.json:
        print(f"removed server {args.name}")
    return 0


def set_default(ctx: Context, args: argparse.Namespace) -> int:
    ctx.profiles.get(args.name)
    ctx.profiles.set_default(args.name)
    if not ctx.json:
        print(f"default server is now {args.name}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    server = sub.add_parser("server", help="manage server profiles")
    ssub = server.add_subparsers(dest="server_command", required=True)

    p = ssub.add_parser("add", help="add a server reached over SSH (or the local agent)")
    p.add_argument("name")
    p.add_argument("--host", help="SSH host name or address (aliases from ~/.ssh/config work)")
    p.add_argument("--port", type=int, default=22)
    p.add_argument("--user", help="SSH user (default: from ~/.ssh/config, else yours)")
    p.add_argument("--key", "--identity", dest="key", help="private key file (default: ssh-agent and ~/.ssh keys)")
    p.add_argument("--socket", help=f"agent socket on the server (default {DEFAULT_REMOTE_SOCKET})")
    p.add_argument("--local-agent", action="store_true", help="a local agent socket, no SSH")
    p.add_argument("--default", action="store_true", help="make it the default server")
    p.add_argument("--replace", action="store_true", help="overwrite a server of that name")
    server_setup.add_install_arguments(p)
    p.set_defaults(func=add, offline=True)

    p = ssub.add_parser("list", help="list servers")
    p.set_defaults(func=list_, offline=True)

    p = ssub.add_parser("remove", help="forget a server and its stored token")
    p.add_argument("name")
    p.set_defaults(func=remove, offline=True)

    p = ssub.add_parser("default", help="choose the server commands use by default")
    p.add_argument("name")
    p.set_defaults(func=set_default, offline=True)

    server_setup.register(ssub)
