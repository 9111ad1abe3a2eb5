"""``bp apps``, ``bp create``, ``bp start|stop|restart|delete``, ``bp logs``."""

from __future__ import annotations

import argparse
import shlex
import sys

from basepod_agent.protocol import AppCreate, AppInfo, AppStatus, LogBatch, LogLine
from basepod_desktop.cli.context import Context
from basepod_desktop.cli.output import emit_json, since, table


def app_url(info: AppInfo, ctx: Context) -> str:
    if info.url:
        return info.url
    profile = ctx.profile()
    host = profile.host if profile.kind == "ssh" else "127.0.0.1"
    return f"http://{host}:{info.host_port}"


async def list_apps(ctx: Context, args: argparse.Namespace) -> int:
    session = await ctx.session()
    try:
        apps = await session.client.list_apps()
    finally:
        await session.aclose()
    if ctx.json:
        emit_json(apps)
        return 0
    if not apps:
        print("no apps yet: bp create NAME --image IMAGE --port PORT")
        return 0
    rows = []
    for a in apps:
        status = a.status.value + (f" ({a.exit_code})" if a.status == AppStatus.EXITED else "")
        uptime = since(a.started_at) if a.status == AppStatus.RUNNING else "-"
        rows.append((a.name, status, a.image, f"{a.port}->{a.host_port}", app_url(a, ctx), uptime))
    print(table(("NAME", "STATUS", "IMAGE", "PORTS", "URL", "UPTIME"), rows))
    return 0


def _parse_env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--env {pair!r} must look like KEY=VALUE")
        env[key] = value
    return env


def _show(ctx: Context, info: AppInfo, verb: str) -> None:
    if ctx.json:
        emit_json(info)
    else:
        print(f"{info.name} {verb}: {info.status.value}, {app_url(info, ctx)}")


async def create(ctx: Context, args: argparse.Namespace) -> int:
    spec = AppCreate(
        name=args.name, image=args.image, port=args.port,
        command=shlex.split(args.command) if args.command else None,
        env=_parse_env(args.env) or None,
    )
    session = await ctx.session()
    try:
        info = await session.client.create_app(spec)
    finally:
        await session.aclose()
    _show(ctx, info, "created")
    return 0


async def lifecycle(ctx: Context, args: argparse.Namespace) -> int:
    session = await ctx.session()
    client = session.client
    action = {"start": client.start_app, "stop": client.stop_app, "restart": client.restart_app}
    try:
        info = await action[args.command](args.name)
    finally:
        await session.aclose()
    _show(ctx, info, {"start": "started", "stop": "stopped", "restart": "restarted"}[args.command])
    return 0


async def delete(ctx: Context, args: argparse.Namespace) -> int:
    if not args.yes:
        if not sys.stdin.isatty():
            raise ValueError(f"refusing to delete {args.name} without --yes when not in a terminal")
        answer = input(f"Delete app {args.name} and its container? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("not deleted")
            return 1
    session = await ctx.session()
    try:
        await session.client.delete_app(args.name)
    finally:
        await session.aclose()
    if ctx.json:
        emit_json({"deleted": args.name})
    else:
        print(f"deleted {args.name}")
    return 0


def _print_lines(ctx: Context, lines: list[LogLine], timestamps: bool) -> None:
    out = sys.stdout
    for line in lines:
        if ctx.json:
            out.write(line.model_dump_json() + "\n")
        elif timestamps and line.ts:
            out.write(f"{line.ts} {line.text}\n")
        else:
            out.write(line.text + "\n")
    out.flush()


async def logs(ctx: Context, args: argparse.Namespace) -> int:
    session = await ctx.session()
    try:
        if not args.follow:
            chunk = await session.client.logs(args.name, tail=args.lines)
            _print_lines(ctx, chunk.lines, args.timestamps)
            return 0
        async for message in session.client.follow_logs(args.name, tail=args.lines):
            if isinstance(message, LogBatch):
                _print_lines(ctx, message.lines, args.timestamps)
            else:
                print(f"-- {message.reason} --", file=sys.stderr)
    finally:
        await session.aclose()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("apps", help="list apps and their state")
    p.set_defaults(func=list_apps)

    p = sub.add_parser("create", help="create and start an app from an image")
    p.add_argument("name")
    p.add_argument("--image", required=True)
    p.add_argument("--port", type=int, required=True, help="port the app listens on in the container")
    p.add_argument("--env", "-e", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--command", help="override the image's command (shell-quoted)")
    p.set_defaults(func=create)

    for verb in ("start", "stop", "restart"):
        p = sub.add_parser(verb, help=f"{verb} an app")
        p.add_argument("name")
        p.set_defaults(func=lifecycle)

    p = sub.add_parser("delete", help="delete an app and its container")
    p.add_argument("name")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=delete)

    p = sub.add_parser("logs", help="print an app's logs")
    p.add_argument("name")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new lines")
    p.add_argument("--lines", "-n", type=int, default=100, help="lines from the end (default 100)")
    p.add_argument("--timestamps", "-t", action="store_true")
    p.set_defaults(func=logs)
