"""``bp health NAME`` (status, config, recent history) and ``bp health set NAME ...``.

argparse cannot mix a positional NAME with a ``set`` sub-command, so ``health`` takes
words and dispatches on the first one.
"""

from __future__ import annotations

import argparse

from basepod_agent.protocol import HealthConfig, HealthReport
from basepod_desktop.cli.context import Context
from basepod_desktop.cli.output import emit_json, table

_SET_OPTIONS = ("path", "interval", "timeout", "threshold", "expect", "grace", "max_restarts",
                "window", "auto_restart", "enabled")


def parse_expect(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    try:
        return (int(low), int(high)) if sep else (int(low), int(low))
    except ValueError:
        raise ValueError(f"--expect {text!r} must look like 200-399 or 200") from None


def updated_config(current: HealthConfig, args: argparse.Namespace) -> HealthConfig:
    """The current config with the options given on the command line applied."""
    changes: dict = {}
    for option, field in (("path", "path"), ("interval", "interval_seconds"), ("timeout", "timeout_seconds"),
                          ("threshold", "failure_threshold"), ("grace", "grace_seconds"),
                          ("max_restarts", "max_restarts"), ("window", "restart_window_seconds"),
                          ("auto_restart", "auto_restart"), ("enabled", "enabled")):
        value = getattr(args, option)
        if value is not None:
            changes[field] = value
    if args.expect is not None:
        changes["expected_status_min"], changes["expected_status_max"] = parse_expect(args.expect)
    if "enabled" not in changes and not current.enabled:
        changes["enabled"] = True  # configuring a check turns it on unless told otherwise
    return HealthConfig.model_validate({**current.model_dump(), **changes})


def _show(report: HealthReport) -> None:
    c = report.config
    status = report.status.value if report.status else ("off" if not c.enabled else "not monitored")
    print(f"{report.app}: {status}" + (f" - {report.reason}" if report.reason and report.status else ""))
    if report.gave_up:
        print("auto-restart gave up (crash loop); start or restart the app to try again")
    print(f"check: GET {c.path} every {c.interval_seconds:g} s, timeout {c.timeout_seconds:g} s, "
          f"expect {c.expected_status_min}-{c.expected_status_max}, unhealthy after {c.failure_threshold} "
          f"failures, grace {c.grace_seconds:g} s")
    print(f"auto-restart: {'on' if c.auto_restart else 'off'} (at most {c.max_restarts} restarts in "
          f"{c.restart_window_seconds:g} s; {report.recent_restarts} recently)")
    if report.recent:
        print("\nrecent probes:")
        rows = [(p.at.strftime("%H:%M:%S"), "ok" if p.ok else "FAIL",
                 str(p.status_code or "-"), f"{p.latency_ms:.0f} ms" if p.latency_ms is not None else "-",
                 p.error or "") for p in report.recent[:10]]
        print(table(("AT", "RESULT", "HTTP", "LATENCY", "ERROR"), rows))
    if report.transitions:
        print("\ntransitions:")
        rows = [(t.at.strftime("%Y-%m-%d %H:%M:%S"), f"{t.previous.value if t.previous else '-'} -> "
                 f"{t.status.value}", t.reason) for t in report.transitions[:10]]
        print(table(("AT", "CHANGE", "REASON"), rows))


async def health(ctx: Context, args: argparse.Namespace) -> int:
    words = args.words
    setting = words[0] == "set"
    if setting and len(words) != 2 or not setting and len(words) != 1:
        raise ValueError("usage: bp health NAME  |  bp health set NAME [--path ...]")
    if not setting and any(getattr(args, o) is not None for o in _SET_OPTIONS):
        raise ValueError("options like --path change the check: use bp health set NAME ...")
    name = words[-1]
    session = await ctx.session()
    try:
        report = await session.client.get_health(name)
        if setting:
            report = await session.client.put_health(name, updated_config(report.config, args))
    finally:
        await session.aclose()
    if ctx.json:
        emit_json(report)
    else:
        _show(report)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("health", help="show an app's health, or configure its check with `health set`",
                       usage="bp health NAME | bp health set NAME [options]")
    p.add_argument("words", nargs="+", metavar="NAME | set NAME")
    p.add_argument("--path", help="HTTP path to probe (default /health)")
    p.add_argument("--interval", type=float, help="seconds between probes (1-3600)")
    p.add_argument("--timeout", type=float, help="seconds before a probe fails")
    p.add_argument("--threshold", type=int, help="consecutive failures before unhealthy")
    p.add_argument("--expect", help="healthy HTTP status range, e.g. 200-399")
    p.add_argument("--grace", type=float, help="start-up seconds when failures do not count")
    p.add_argument("--max-restarts", type=int, help="crash-loop guard: restarts allowed per window")
    p.add_argument("--window", type=float, help="crash-loop guard window in seconds")
    p.add_argument("--auto-restart", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--enabled", action=argparse.BooleanOptionalAction, default=None,
                   help="turn the check on or off")
    p.set_defaults(func=health)
