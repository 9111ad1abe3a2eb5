"""``bp env`` and ``bp health`` end to end through a real SSH tunnel to a real agent."""

from __future__ import annotations

import json
import urllib.request

import pytest

from harness.system import wait_until
from test_cli_over_ssh import Bp, add_server

SECRET = "pa55word-from-bp"


@pytest.fixture
def cli(tmp_path, sshd_server, agent, busybox_image):
    bp = Bp(tmp_path, sshd_server.known_hosts_path)
    add_server(bp, sshd_server, agent)
    bp("login", "--email", agent.admin_email, "--password-stdin", input=agent.admin_password + "\n")
    bp("create", "web", "--image", busybox_image, "--port", "8080")
    return bp


def env_page(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/cgi-bin/env", timeout=5) as resp:
            return resp.read().decode()
    except OSError:
        return None


def test_env_set_list_reveal_unset_and_apply_reach_the_container(cli):
    out = cli("env", "set", "web", f"DB_PASSWORD={SECRET}", "MODE=prod").stdout
    assert "restart needed" in out and "bp apply web" in out
    masked = cli("env", "list", "web").stdout
    assert "DB_PASSWORD" in masked and SECRET not in masked and "••••••" in masked
    assert SECRET in cli("env", "list", "web", "--reveal").stdout
    cli("env", "unset", "web", "MODE")
    revealed = json.loads(cli("--json", "env", "list", "web", "--reveal").stdout)
    assert revealed["env"] == {"DB_PASSWORD": SECRET} and revealed["restart_needed"] is True
    app = json.loads(cli("--json", "apply", "web").stdout)
    assert app["restart_needed"] is False
    page = wait_until(lambda: env_page(app["host_port"]), 10, "env page")
    assert f"DB_PASSWORD={SECRET}" in page and "MODE=" not in page


def test_env_import_reads_a_dotenv_file_and_a_bad_line_saves_nothing(cli, tmp_path):
    good = tmp_path / "good.env"
    good.write_text("# settings\nexport A=1\nB=\"two words\"\n")
    assert "imported 2 variables" in cli("env", "import", "web", str(good)).stdout
    bad = tmp_path / "bad.env"
    bad.write_text("C=3\nD=4\nnot a line\n")
    result = cli("env", "import", "web", str(bad), check=False)
    assert result.returncode == 2 and f"{bad}:3:" in result.stderr and "nothing was changed" in result.stderr
    assert json.loads(cli("--json", "env", "list", "web", "--reveal").stdout)["env"] == {"A": "1", "B": "two words"}
    bad_key = cli("env", "set", "web", "1X=y", check=False)
    assert bad_key.returncode == 2 and "environment variable name" in bad_key.stderr


def test_health_set_configures_the_check_and_health_prints_status_and_history(cli):
    out = cli("health", "set", "web", "--path", "/cgi-bin/health", "--interval", "1", "--timeout", "1",
              "--threshold", "2", "--grace", "0").stdout
    assert "GET /cgi-bin/health every 1 s" in out and "unhealthy after 2 failures" in out
    shown = wait_until(lambda: (o := cli("health", "web").stdout).startswith("web: green") and o, 15, "green")
    assert "recent probes:" in shown and "transitions:" in shown and "yellow -> green" in shown
    report = json.loads(cli("--json", "health", "web").stdout)
    assert report["config"]["failure_threshold"] == 2 and report["status"] == "green"
    assert json.loads(cli("--json", "apps").stdout)[0]["health"] == "green"
    too_fast = cli("health", "set", "web", "--interval", "0.1", "--timeout", "0.1", check=False)
    assert too_fast.returncode == 2 and "at least 1 s" in too_fast.stderr
    off = cli("health", "set", "web", "--no-enabled").stdout
    assert off.startswith("web: off")
