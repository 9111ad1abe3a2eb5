"""``bp webhook NAME`` (status and payload URL), ``bp webhook setup NAME [--branch B]``
(prints the URL and a new secret), ``bp webhook secret NAME``, ``bp webhook deliveries
NAME`` and ``bp webhook disable NAME``.

Like ``bp health``, the command takes words: a positional NAME cannot sit next to
argparse sub-commands.
"""

from __future__ import annotations

import argparse

from basepod_agent.protocol import WebhookDelivery, WebhookStatus
from basepod_desktop.cli.context import Context
from basepod_desktop.cli.output import emit_json, since, table

_VERBS = ("setup", "secret", "deliveries", "disable")
USAGE = "bp webhook NAME | bp webhook {setup [--branch B],secret,deliveries,disable} NAME"


def _url_lines(url: str | None, note: str | None) -> list[str]:
    return [f"payload URL:  {url}"] if url else [f"payload URL:  (none) {note or ''}".rstrip()]


def _status_text(status: WebhookStatus) -> str:
    if not status.enabled:
        return f"{status.app}: webhook off (enable it with: bp webhook setup {status.app})"
    lines = [f"{status.app}: webhook on, deploys pushes to {status.branch}",
             *_url_lines(status.url, status.url_note),
             f"content type: {status.content_type}",
             f"events:       {', '.join(status.events)}",
             f"last delivery: {since(status.last_delivery_at)} ago" if status.last_delivery_at
             else "last delivery: none yet"]
    return "\n".join(lines)


def _deliveries_text(rows: list[WebhookDelivery]) -> str:
    if not rows:
        return "no deliveries yet"
    return table(("AT", "EVENT", "BRANCH", "COMMIT", "SIGNATURE", "RESULT", "DEPLOY", "DETAIL"), [
        (d.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"), d.event or "-", d.branch or "-",
         (d.commit or "-")[:10], "ok" if d.signature_ok else "BAD", d.result.value, d.deploy_id or "-",
         (d.detail or "")[:60]) for d in rows])


async def webhook(ctx: Context, args: argparse.Namespace) -> int:
    words = args.words
    verb = words[0] if len(words) == 2 and words[0] in _VERBS else None
    if len(words) != (2 if verb else 1):
        raise ValueError(f"usage: {USAGE}")
    if args.branch is not None and verb != "setup":
        raise ValueError("--branch goes with: bp webhook setup NAME --branch B")
    name = words[-1]
    session = await ctx.session()
    try:
        client = session.client
        if verb == "setup":
            result = await client.webhook_setup(name, args.branch)
            text = "\n".join([f"{name}: webhook on, deploys pushes to {result.branch}",
                              *_url_lines(result.url, result.url_note),
                              f"secret:       {result.secret}",
                              "content type: application/json; events: just the push event",
                              "Paste both into GitHub: Settings > Webhooks > Add webhook."])
        elif verb == "secret":
            result = await client.webhook_secret(name)
            text = result.secret
        elif verb == "deliveries":
            result = await client.webhook_deliveries(name, args.limit)
            text = _deliveries_text(result)
        elif verb == "disable":
            result = await client.webhook_disable(name)
            text = f"{name}: webhook off; GitHub's deliveries are now refused"
        else:
            result = await client.webhook_status(name)
            text = _status_text(result)
    finally:
        await session.aclose()
    if ctx.json:
        emit_json(result)
    else:
        print(text)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("webhook", help="GitHub webhook of an app: status, setup, secret, deliveries",
                       usage=USAGE)
    p.add_argument("words", nargs="+", metavar="[setup|secret|deliveries|disable] NAME")
    p.add_argument("--branch", help="with setup: the branch whose pushes deploy (default: the source's)")
    p.add_argument("--limit", type=int, default=50, help="with deliveries: how many (1-200)")
    p.set_defaults(func=webhook)
