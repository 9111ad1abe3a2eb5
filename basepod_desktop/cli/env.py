"""``bp env list|set|unset|import``: an app's environment variables.

``list`` shows keys with masked values (taken from the app, so no value crosses the
wire) unless ``--reveal`` asks the agent for the values, which needs the admin role.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from basepod_agent.protocol import DotenvError, EnvState, parse_dotenv
from basepod_agent.protocol.validation import env_key_problem
from basepod_desktop.cli.context import Context
from basepod_desktop.cli.output import emit_json, table

MASK = "••••••"


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"{pair!r} must look like KEY=VALUE")
        if problem := env_key_problem(key):
            raise ValueError(problem)
        env[key] = value
    return env


def _report(ctx: Context, name: str, state: EnvState, verb: str) -> None:
    if ctx.json:
        emit_json(state)
        return
    print(f"{name}: {verb}; {len(state.keys)} variables, revision {state.revision}")
    if state.restart_needed:
        print(f"restart needed: run `bp apply {name}` to recreate the container with the new env")


async def list_env(ctx: Context, args: argparse.Namespace) -> int:
    session = await ctx.session()
    try:
        if args.reveal:
            view = await session.client.get_env(args.name)
            env, revision, restart = view.env, view.revision, view.restart_needed
        else:
            info = await session.client.get_app(args.name)
            env, revision, restart = {k: MASK for k in info.env_keys}, None, info.restart_needed
    finally:
        await session.aclose()
    if ctx.json:
        emit_json({"env": env, "revision": revision, "restart_needed": restart})
        return 0
    if not env:
        print(f"{args.name} has no environment variables")
    else:
        print(table(("KEY", "VALUE"), sorted(env.items())))
    if restart:
        print(f"\nrestart needed: run `bp apply {args.name}`")
    return 0


async def set_env(ctx: Context, args: argparse.Namespace) -> int:
    values = parse_assignments(args.assignments)
    session = await ctx.session()
    try:
        state = await session.client.patch_env(args.name, set=values)
    finally:
        await session.aclose()
    _report(ctx, args.name, state, f"set {', '.join(sorted(values))}")
    return 0


async def unset_env(ctx: Context, args: argparse.Namespace) -> int:
    for key in args.keys:
        if problem := env_key_problem(key):
            raise ValueError(problem)
    session = await ctx.session()
    try:
        state = await session.client.patch_env(args.name, unset=args.keys)
    finally:
        await session.aclose()
    _report(ctx, args.name, state, f"unset {', '.join(args.keys)}")
    return 0


def read_env_file(path: str) -> dict[str, str]:
    """Parse before connecting: a bad file fails fast, naming file and line, and saves nothing."""
    source = "stdin" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {source}: {exc}") from None
    try:
        return parse_dotenv(text)
    except DotenvError as exc:
        raise ValueError(f"{source}:{exc.line}: {exc.message} (nothing was changed)") from None


async def import_env(ctx: Context, args: argparse.Namespace) -> int:
    values = read_env_file(args.file)
    if not values and not args.replace:
        raise ValueError(f"{args.file} defines no variables")
    session = await ctx.session()
    try:
        if args.replace:
            state = await session.client.put_env(args.name, values)
        else:
            state = await session.client.patch_env(args.name, set=values)
    finally:
        await session.aclose()
    _report(ctx, args.name, state, f"imported {len(values)} variables" + (" (replacing all)" if args.replace else ""))
    return 0


async def apply(ctx: Context, args: argparse.Namespace) -> int:
    session = await ctx.session()
    try:
        info = await session.client.apply_app(args.name)
    finally:
        await session.aclose()
    if ctx.json:
        emit_json(info)
    else:
        print(f"{info.name} recreated with its current env: {info.status.value}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    env = sub.add_parser("env", help="list or change an app's environment variables")
    verbs = env.add_subparsers(dest="env_command", required=True, metavar="ACTION")

    p = verbs.add_parser("list", help="list variables (values masked unless --reveal)")
    p.add_argument("name")
    p.add_argument("--reveal", action="store_true", help="show values (admin only)")
    p.set_defaults(func=list_env)

    p = verbs.add_parser("set", help="set one or more variables")
    p.add_argument("name")
    p.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    p.set_defaults(func=set_env)

    p = verbs.add_parser("unset", help="remove one or more variables")
    p.add_argument("name")
    p.add_argument("keys", nargs="+", metavar="KEY")
    p.set_defaults(func=unset_env)

    p = verbs.add_parser("import", help="set variables from a .env file ('-' for stdin)")
    p.add_argument("name")
    p.add_argument("file")
    p.add_argument("--replace", action="store_true", help="replace the whole set instead of merging")
    p.set_defaults(func=import_env)

    p = sub.add_parser("apply", help="recreate an app's container with its current env")
    p.add_argument("name")
    p.set_defaults(func=apply)
