"""GitHub-shaped webhook deliveries, signed like GitHub signs them, sent over real HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import httpx


def sign(secret: str, body: bytes) -> str:
    """Computed here independently of the agent's code, as GitHub would."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def push_payload(sha: str, branch: str = "main", message: str = "ship it", pusher: str = "octocat") -> dict:
    """The fields of GitHub's push event the agent reads, plus some it does not."""
    return {
        "ref": f"refs/heads/{branch}" if not branch.startswith("refs/") else branch,
        "before": "0" * 40, "after": sha, "created": False, "deleted": sha == "0" * 40, "forced": False,
        "compare": f"https://github.com/octo/app/compare/{sha[:12]}",
        "commits": [{"id": sha, "message": message, "author": {"name": pusher}}],
        "head_commit": {"id": sha, "message": message, "timestamp": "2026-12-03T10:00:00Z"},
        "repository": {"id": 1, "name": "app", "full_name": "octo/app", "private": True},
        "pusher": {"name": pusher, "email": f"{pusher}@example.com"},
        "sender": {"login": pusher},
    }


def ping_payload() -> dict:
    return {"zen": "Keep it logically awesome.", "hook_id": 1, "hook": {"type": "Repository", "events": ["push"]}}


def deliver(edge_url: str, app: str, secret: str | None, event: str, payload: dict | bytes,
            delivery: str | None = None, signature: str | None = None, client_ip: str | None = None,
            **headers: str) -> httpx.Response:
    """POST one delivery; ``secret=None`` sends no signature, ``signature`` forces one."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sent = {"Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/test",
            "X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()), **headers}
    if signature is not None or secret is not None:
        sent["X-Hub-Signature-256"] = signature or sign(secret, body)
    if client_ip:
        sent["X-Forwarded-For"] = client_ip  # the edge trusts it from loopback, as behind a proxy
    return httpx.post(f"{edge_url}/api/apps/{app}/webhook", content=body, headers=sent, timeout=30)


def setup_webhook(agent, token, app: str, branch: str | None = None) -> dict:
    status, body = agent.request("POST", f"/api/apps/{app}/webhook/setup",
                                 {"branch": branch} if branch else None, token=token)
    assert status == 200, body
    return body


def deliveries(agent, token, app: str) -> list[dict]:
    status, body = agent.request("GET", f"/api/apps/{app}/webhook/deliveries", token=token)
    assert status == 200, body
    return body["deliveries"]


def deploys_of(agent, token, app: str) -> list[dict]:
    status, body = agent.request("GET", f"/api/apps/{app}/deploys", token=token)
    assert status == 200, body
    return body["deploys"]
