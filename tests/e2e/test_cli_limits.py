"""``bp limits`` end to end through a real SSH tunnel to a real agent on real Podman."""

from __future__ import annotations

import json

from test_cli_env_health import cli  # noqa: F401 - the fixture: bp logged in, app "web" created

MiB = 1024 * 1024


def test_limits_set_show_and_clear_reach_the_container(cli, podman_service):
    out = cli("limits", "web").stdout
    assert "cpus    no cap (server default)" in out and "memory  no cap (server default)" in out
    out = cli("limits", "web", "--cpus", "0.5", "--memory", "256M").stdout
    assert "0.5 CPUs" in out and "256 MiB" in out and "container recreated" in out
    host = json.loads(podman_service.cli("inspect", "basepod-web").stdout)[0]["HostConfig"]
    assert (host["Memory"], host["CpuQuota"]) == (256 * MiB, 50_000)
    view = json.loads(cli("--json", "limits", "web").stdout)
    assert (view["cpus"], view["memory_bytes"], view["cpus_source"]) == (0.5, 256 * MiB, "app")
    cleared = json.loads(cli("--json", "limits", "web", "--clear").stdout)
    assert (cleared["cpus"], cleared["memory_bytes"], cleared["memory_source"]) == (None, None, "default")
    assert json.loads(podman_service.cli("inspect", "basepod-web").stdout)[0]["HostConfig"]["Memory"] == 0


def test_bad_limits_exit_2_with_the_reason_and_change_nothing(cli):
    local = cli("limits", "web", "--memory", "12Q", check=False)
    assert local.returncode == 2 and "memory" in local.stderr and "not a size" in local.stderr
    too_many = cli("limits", "web", "--cpus", "4096", check=False)
    assert too_many.returncode == 2 and "more than this server has" in too_many.stderr
    assert json.loads(cli("--json", "limits", "web").stdout)["cpus_source"] == "default"
