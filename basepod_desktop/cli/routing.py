"""``bp domains``, ``bp releases``, ``bp rollback``: how an app is reached through the
agent's Caddy, and going back to a kept version.

``bp rollback`` is a deploy like any other (same cutover, same record): it follows the
log and exits non-zero unless the rollback succeeds.
"""

from __future__ import annotations

import argparse
import sys

from basepod_agent.protocol.routing import DomainsUpdate
from basepod_desktop.cli import exitcodes
from basepod_desktop.cli.context import Context
from basepod_desktop.cli.deploys import follow
from basepod_desktop.cli.output import emit_json, since, table


async def domains(ctx: Context, args: argparse.Namespace) -> int:
    session = await ctx.session()
    try:
        client = session.client
        if args.action is None:
            info = await client.get_domains(args.name)
        else:
            if not args.domains and args.action != "set":
                raise ValueError(f"bp domains {args.name} {args.action} needs a domain")
            wanted = DomainsUpdate(domains=args.domains).domains  # the agent's own rules, checked here first
            current = (await client.get_domains(args.name)).domains
            if args.action == "add":
                wanted = current + [d for d in wanted if d not in current]
            elif args.action == "remove":
                missing = [d for d in wanted if d not in current]
                if missing:
                    raise ValueError(f"{args.name} has no domain {', '.join(missing)}")
                wanted = [d for d in current if d not in wanted]
            info = await client.set_domains(args.name, wanted)
    finally:
        await session.aclose()
    if ctx.json:
        emit_json(info)
        return exitcodes.OK
    if not info.routing:
        print(f"{args.name}: routing is off on this server (start the agent with --http-port)")
    for url in info.urls:
        print(url)
    if info.routing and not info.domains:
        print(f"(no custom domains: bp domains {args.name} add shop.example.com)", file=sys.stderr)
    return exitcodes.OK


async def releases(ctx: Context, args: argparse.Namespace) -> int:
    session = await ctx.session()
    try:
        listed = await session.client.releases(args.name)
    finally:
        await session.aclose()
    if ctx.json:
        emit_json(listed)
        return exitcodes.OK
    if not listed.releases:
        print(f"no kept versions of {args.name} yet: every successful deploy adds one")
        return exitcodes.OK
    rows = [(r.version, "live" if r.live else "", r.source_type or "", (r.commit or "")[:10],
             (r.commit_message or "")[:40], since(r.deployed_at) + " ago") for r in listed.releases]
    print(table(("VERSION", "", "SOURCE", "COMMIT", "MESSAGE", "LAST LIVE"), rows))
    print(f"(the last {listed.keep} versions are kept; bp rollback {args.name} [--to VERSION])", file=sys.stderr)
    return exitcodes.OK


async def rollback(ctx: Context, args: argparse.Namespace) -> int:
    session = await ctx.session()
    try:
        created = await session.client.rollback(args.name, args.to)
        if ctx.json or args.detach:
            emit_json(created) if ctx.json else print(created.id)
            return exitcodes.OK
        print(f"rollback {created.id} of {args.name} {created.status.value}", file=sys.stderr)
        return await follow(ctx, session.client, args.name, created.id)
    finally:
        await session.aclose()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("domains", help="show or change the domains an app is served at")
    p.add_argument("name")
    p.add_argument("action", nargs="?", choices=("set", "add", "remove"))
    p.add_argument("domains", nargs="*", metavar="DOMAIN")
    p.set_defaults(func=domains)

    p = sub.add_parser("releases", help="the kept versions of an app (what rollback can go to)")
    p.add_argument("name")
    p.set_defaults(func=releases)

    p = sub.add_parser("rollback", help="go back to a kept version (default: the previous one)")
    p.add_argument("name")
    p.add_argument("--to", metavar="VERSION", help="a version from bp releases")
    p.add_argument("--detach", "-d", action="store_true", help="print the deploy id and do not follow the log")
    p.set_defaults(func=rollback)
