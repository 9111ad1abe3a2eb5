"""``bp metrics`` and ``bp alerts`` end to end through a real SSH tunnel to a real agent."""

from __future__ import annotations

import json

import pytest

from harness.agent import start_configured
from harness.system import wait_until
from test_cli_over_ssh import Bp, add_server


@pytest.fixture
def cli(tmp_path, sshd_server, agent_factory, busybox_image, podman_service):
    agent = start_configured(agent_factory, "metrics_interval = 1\n", extra_args=["--stop-timeout", "1"])
    bp = Bp(tmp_path, sshd_server.known_hosts_path)
    add_server(bp, sshd_server, agent)
    bp("login", "--email", agent.admin_email, "--password-stdin", input=agent.admin_password + "\n")
    bp("create", "web", "--image", busybox_image, "--port", "8080")
    yield bp
    podman_service.cli("rm", "-f", "-t", "0", "basepod-web", check=False)


def test_metrics_prints_current_average_and_maximum_of_each_series(cli):
    data = wait_until(lambda: (m := json.loads(cli("--json", "metrics", "web").stdout))["series"]["t"][2:] and m,
                      30, "three points")
    assert data["stats"]["memory"]["max"] > 0 and data["current"]["app"] == "web"
    out = cli("metrics", "web", "--range", "24h").stdout
    assert out.startswith("web: last 24h") and "60 s" in out
    header, *rows = out.splitlines()[1:]
    assert header.split() == ["CURRENT", "AVG", "MAX", "LIMIT"]
    lines = {row.split()[0]: row for row in rows}
    assert "uncapped" in lines["cpu"] and "%" in lines["cpu"] and "iB" in lines["memory"]
    assert {"net", "block"} <= set(lines)
    assert cli("metrics", "web", "--range", "2d", check=False).returncode == 2
    missing = cli("metrics", "nope", check=False)
    assert missing.returncode == 5 and missing.stderr.startswith("bp:")


def test_alerts_set_off_and_back_to_the_defaults(cli):
    assert cli("alerts", "web").stdout.startswith("web: off (server defaults)")
    report = json.loads(cli("--json", "alerts", "web", "set", "--cpu", "90", "--memory", "80", "--for", "5m").stdout)
    assert report["config"] == {"enabled": True, "cpu_percent": 90.0, "memory_percent": 80.0, "for_seconds": 300}
    assert "cpu above 90% or memory above 80% for 300 s" in cli("alerts", "web").stdout
    assert json.loads(cli("--json", "alerts", "web", "off").stdout)["config"]["enabled"] is False
    assert json.loads(cli("--json", "alerts", "web", "default").stdout)["inherited"] is True
    bad = cli("alerts", "web", "set", "--for", "5 minutes", check=False)
    assert bad.returncode == 2 and "--for" in bad.stderr
    too_high = cli("alerts", "web", "set", "--cpu", "150", check=False)
    assert too_high.returncode == 2 and "cpu_percent" in too_high.stderr
    assert cli("alerts", "web", "--cpu", "5", check=False).returncode == 2
