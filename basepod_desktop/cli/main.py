"""Entry point of ``bp``: parse, run one async command, map failures to exit codes."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys

from pydantic import ValidationError

from basepod_agent.protocol import AGENT_VERSION
from basepod_desktop.cli import (
    apps, auth, deploys, env, exitcodes, health, limits, metrics, routing, servers, webhooks,
)
from basepod_desktop.cli.context import Context, NoServer
from basepod_desktop.cli.output import err
from basepod_desktop.client import AuthRequired, ClientError
from basepod_desktop.core.profiles import ProfileError
from basepod_desktop.transport import TransportError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bp", description="Basepod command-line client")
    parser.add_argument("--version", action="version", version=f"bp {AGENT_VERSION}")
    parser.add_argument("--server", "-s", help="server profile to use (default: the default server)")
    parser.add_argument("--local", action="store_true", help="talk to the agent on this computer")
    parser.add_argument("--socket", help="with --local: the agent socket path")
    parser.add_argument("--known-hosts", help="known_hosts file (default ~/.ssh/known_hosts)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    servers.register(sub)
    auth.register(sub)
    apps.register(sub)
    env.register(sub)
    health.register(sub)
    deploys.register(sub)
    webhooks.register(sub)
    routing.register(sub)
    metrics.register(sub)
    limits.register(sub)
    return parser


def _validation_text(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {str(e['msg']).removeprefix('Value error, ')}"
        for e in exc.errors()
    )


async def _run(args: argparse.Namespace) -> int:
    result = args.func(Context(args), args)
    if inspect.isawaitable(result):
        result = await result
    return int(result or 0)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 130
    except AuthRequired as exc:
        err(f"{exc.message} (run: bp login)")
        return exitcodes.AUTH
    except (ClientError, TransportError) as exc:
        err(exc.message)
        return exitcodes.for_exception(exc)
    except ValidationError as exc:
        err(_validation_text(exc))
        return exitcodes.USAGE
    except (ProfileError, NoServer, ValueError) as exc:
        err(str(exc))
        return exitcodes.USAGE
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
