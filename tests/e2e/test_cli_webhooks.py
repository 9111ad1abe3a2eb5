"""``bp webhook`` through a real SSH tunnel; the deliveries it lists come over real HTTP."""

from __future__ import annotations

import json

from test_cli_env_health import cli  # noqa: F401  (fixture: bp logged in, app "web")
from webhook_helpers import deliver, ping_payload


def test_webhook_setup_secret_status_deliveries_and_disable(cli, agent):
    assert "webhook off" in cli("webhook", "web").stdout
    out = cli("webhook", "setup", "web", "--branch", "prod").stdout
    assert "deploys pushes to prod" in out and "public_url" in out  # this agent has no public URL
    secret = cli("webhook", "secret", "web").stdout.strip()
    assert f"secret:       {secret}" in out
    status = cli("webhook", "web").stdout
    assert "webhook on" in status and secret not in status and "none yet" in status

    assert deliver(agent.edge_url, "web", secret, "ping", ping_payload(), delivery="cli-1").status_code == 200
    assert deliver(agent.edge_url, "web", "wrong", "ping", ping_payload()).status_code == 401
    table = cli("webhook", "deliveries", "web").stdout
    assert "pong" in table and "rejected" in table and "BAD" in table
    rows = json.loads(cli("--json", "webhook", "deliveries", "web").stdout)
    assert [(r["delivery_id"], r["result"]) for r in rows][1] == ("cli-1", "pong")

    regenerated = json.loads(cli("--json", "webhook", "setup", "web").stdout)
    assert regenerated["secret"] != secret and regenerated["branch"] == "prod" and regenerated["url"] is None
    assert json.loads(cli("--json", "webhook", "web").stdout)["enabled"] is True
    cli("webhook", "disable", "web")
    refused = cli("webhook", "secret", "web", check=False)
    assert refused.returncode == 6 and "no webhook" in refused.stderr
    usage = cli("webhook", "secret", "web", "extra", check=False)
    assert usage.returncode == 2 and "usage" in usage.stderr
