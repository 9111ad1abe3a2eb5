"""``bp login``, ``bp logout``, ``bp status``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from basepod_desktop.cli.context import Context
from basepod_desktop.cli.output import emit_json, err


async def login(ctx: Context, args: argparse.Namespace) -> int:
    email = args.email or await asyncio.to_thread(input, "Email: ")
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = await asyncio.to_thread(getpass.getpass, "Password: ")
    session = await ctx.session()
    try:
        result = await session.client.login(email.strip(), password)
        await session.remember_token(ctx.tokens)
    finally:
        await session.aclose()
    if ctx.tokens.fallback_notice:
        err(ctx.tokens.fallback_notice)
    if ctx.json:
        emit_json({"user": result.user.model_dump(mode="json"), "expires_at": result.expires_at.isoformat()})
    else:
        print(f"logged in to {session.profile.name} as {result.user.email} ({result.user.role.value}); "
              f"session valid until {result.expires_at:%Y-%m-%d %H:%M} UTC")
    return 0


async def logout(ctx: Context, args: argparse.Namespace) -> int:
    session = await ctx.session()
    try:
        if session.client.token:
            await session.client.logout()
        await session.forget_token(ctx.tokens)
    finally:
        await session.aclose()
    if not ctx.json:
        print(f"logged out of {session.profile.name}")
    return 0


async def status(ctx: Context, args: argparse.Namespace) -> int:
    session = await ctx.session()
    try:
        info = await session.client.status()
        me = await session.client.me()
    finally:
        await session.aclose()
    if ctx.json:
        emit_json({"server": session.profile.name, "target": session.profile.display_target,
                   "user": me.user.model_dump(mode="json"), **info.model_dump(mode="json")})
        return 0
    podman = f"Podman {info.podman_version}" if info.podman_reachable else "Podman NOT reachable"
    print(f"server   {session.profile.name} ({session.profile.display_target})")
    print(f"agent    {info.agent_version} (protocol {info.protocol_version}), up {int(info.uptime_seconds)} s")
    print(f"runtime  {podman}")
    print(f"apps     {info.apps_running} running of {info.apps_total}")
    print(f"user     {me.user.email} ({me.user.role.value})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("login", help="log in to the server and remember the session")
    p.add_argument("--email")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(func=login)

    p = sub.add_parser("logout", help="end the session and forget its token")
    p.set_defaults(func=logout)

    p = sub.add_parser("status", help="agent, Podman and app counts of the server")
    p.set_defaults(func=status)
