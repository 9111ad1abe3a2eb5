"""Resource limits on real Podman: validation, defaults, overrides, applying to a running
container, a CPU cap that holds, and an OOM kill the app shows."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from harness.cgroups import cpu_seconds
from harness.system import wait_until

FAST_STOP = ["--stop-timeout", "1"]
MiB = 1024 * 1024
BURNER = ["sh", "-c", "while :; do :; done"]
HOG = ["sh", "-c", "tail /dev/zero"]  # buffers an endless line: grows until the cap stops it


def login(agent) -> str:
    status, body = agent.request("POST", "/api/auth/login",
                                 {"email": agent.admin_email, "password": agent.admin_password})
    assert status == 200, body
    return body["token"]


def create(agent, token, name, image, command=None):
    status, app = agent.request("POST", "/api/apps", {"name": name, "image": image, "port": 8080,
                                                      "command": command}, token=token)
    assert status == 201, app
    return app


def host_limits(podman_service, name) -> tuple[int, int, int, str]:
    """(Memory, MemorySwap, CpuQuota, Id) from ``podman inspect``."""
    inspect = json.loads(podman_service.cli("inspect", f"basepod-{name}").stdout)[0]
    host = inspect["HostConfig"]
    return host["Memory"], host["MemorySwap"], host["CpuQuota"], inspect["Id"]


BAD_LIMITS = [
    ({"memory": "256X"}, "memory", "not a size"),
    ({"memory": "lots"}, "memory", "not a size"),
    ({"memory": "1M"}, "memory", "at least 6 MiB"),
    ({"memory": 4096}, "memory", "at least 6 MiB"),
    ({"memory": "-5M"}, "memory", "not a size"),
    ({"memory": True}, "memory", "must be a size"),
    ({"cpus": 0}, "cpus", "greater than 0"),
    ({"cpus": -1}, "cpus", "greater than 0"),
    ({"cpus": 10_000}, "cpus", "more than this server has"),
    ({"cpus": "fast"}, "cpus", "not a number"),
    ({"cpus": True}, "cpus", "number"),
]


def test_invalid_limits_are_refused_naming_the_field_and_nothing_changes(agent, token, busybox_image):
    create(agent, token, "web", busybox_image)
    for body, field, words in BAD_LIMITS:
        status, error = agent.request("PUT", "/api/apps/web/limits", body, token=token)
        assert status == 422, (body, error)
        assert error["code"] == "invalid_input" and error["field"] == field, (body, error)
        assert words in error["message"], (body, error)
    status, view = agent.request("GET", "/api/apps/web/limits", token=token)
    assert status == 200 and view["cpus"] is None and view["memory_bytes"] is None
    assert agent.request("PUT", "/api/apps/nope/limits", {"cpus": 0.5}, token=token)[0] == 404


def test_defaults_apply_to_new_apps_and_an_override_recreates_the_running_container(
        agent_factory, busybox_image, podman_service):
    agent = agent_factory(extra_args=[*FAST_STOP, "--default-cpus", "0.5", "--default-memory", "64M"])
    token = login(agent)
    app = create(agent, token, "capped", busybox_image)
    assert app["limits"] == {"cpus": 0.5, "memory_bytes": 64 * MiB}
    memory, swap, quota, first_id = host_limits(podman_service, "capped")
    assert (memory, swap, quota) == (64 * MiB, 64 * MiB, 50_000)

    status, view = agent.request("PUT", "/api/apps/capped/limits", {"cpus": 0.25, "memory": "32M"}, token=token)
    assert status == 200, view
    assert (view["cpus"], view["cpus_source"], view["memory_bytes"], view["memory_source"]) == (
        0.25, "app", 32 * MiB, "app")
    # Podman 4.3's update does not persist, so the agent recreated the container.
    assert view["applied"] == "recreated"
    memory, swap, quota, second_id = host_limits(podman_service, "capped")
    assert (memory, swap, quota) == (32 * MiB, 32 * MiB, 25_000) and second_id != first_id
    info = agent.request("GET", "/api/apps/capped", token=token)[1]
    assert info["status"] == "running" and info["limits"] == {"cpus": 0.25, "memory_bytes": 32 * MiB}

    status, view = agent.request("PUT", "/api/apps/capped/limits", {"cpus": 0.25}, token=token)
    assert view["applied"] == "unchanged" and view["memory_bytes"] == 32 * MiB  # omitted: kept
    assert host_limits(podman_service, "capped")[3] == second_id

    status, view = agent.request("PUT", "/api/apps/capped/limits", {"cpus": None, "memory": "unlimited"},
                                 token=token)
    assert (view["cpus"], view["cpus_source"], view["memory_bytes"], view["memory_source"]) == (
        0.5, "default", None, "app")
    memory, _, quota, _ = host_limits(podman_service, "capped")
    assert (memory, quota) == (0, 50_000)

    other = create(agent, token, "plain", busybox_image)  # no override: the defaults
    assert other["limits"] == {"cpus": 0.5, "memory_bytes": 64 * MiB}


def test_limits_of_a_stopped_app_reach_its_container_without_starting_it_and_are_logged(agent, token, busybox_image,
                                                                          podman_service):
    create(agent, token, "idle", busybox_image)
    agent.request("POST", "/api/apps/idle/stop", token=token)
    status, view = agent.request("PUT", "/api/apps/idle/limits", {"memory": "48M"}, token=token)
    assert status == 200 and view["applied"] == "recreated"
    assert host_limits(podman_service, "idle")[0] == 48 * MiB
    assert agent.request("GET", "/api/apps/idle", token=token)[1]["status"] == "stopped"
    rows = sqlite3.connect(agent.state_dir / "agent.db").execute(
        "SELECT action, detail FROM activity WHERE target = 'idle' AND action LIKE 'app.limits%' ORDER BY id"
    ).fetchall()
    assert rows == [("app.limits", "cpus=default memory=48 MiB"), ("app.limits_apply", None)]


def test_a_cpu_burner_capped_at_half_a_cpu_uses_about_half_a_core(agent_factory, busybox_image, podman_service):
    agent = agent_factory(extra_args=[*FAST_STOP, "--default-cpus", "0.5"])
    token = login(agent)
    create(agent, token, "burn", busybox_image, command=BURNER)
    container_id = host_limits(podman_service, "burn")[3]
    start_cpu, start = cpu_seconds(container_id), time.monotonic()
    time.sleep(4)  # a measuring window, not a wait for something to happen
    share = (cpu_seconds(container_id) - start_cpu) / (time.monotonic() - start)
    # The upper bound is the cap at work; the lower one only shows the burner ran at all:
    # the two cores are shared with other test runs, so its fair share can be below 0.5.
    assert 0.05 < share < 0.75, f"burner used {share:.0%} of a core under a 0.5 CPU cap"


def test_an_app_over_its_memory_cap_is_oom_killed_and_shows_it(agent_factory, busybox_image):
    # The cap is the default so the hog never runs uncapped, not even for a moment.
    agent = agent_factory(extra_args=[*FAST_STOP, "--default-memory", "16M"])
    token = login(agent)
    create(agent, token, "hog", busybox_image, command=HOG)
    info = wait_until(lambda: (a := agent.request("GET", "/api/apps/hog", token=token)[1])["status"] == "exited"
                      and a, timeout=30, what="the hog to be killed")
    assert info["exit_code"] == 137 and info["oom_killed"] is True
    assert info["limits"]["memory_bytes"] == 16 * MiB
    create(agent, token, "calm", busybox_image)
    agent.request("POST", "/api/apps/calm/stop", token=token)
    assert agent.request("GET", "/api/apps/calm", token=token)[1]["oom_killed"] is False


@pytest.mark.parametrize("flags, words", [
    (["--default-memory", "3M"], "at least 6 MiB"),
    (["--default-cpus", "100000"], "more than this server has"),
])
def test_bad_defaults_stop_the_agent_with_a_message(agent_factory, flags, words):
    agent = agent_factory(start=False, extra_args=flags)
    with pytest.raises(Exception):
        agent.start()
    assert words in agent.log_path.read_text()


def test_a_deployed_image_runs_under_the_apps_limits(agent, token, busybox_image, podman_service):
    create(agent, token, "site", busybox_image)
    agent.request("PUT", "/api/apps/site/limits", {"cpus": 0.5, "memory": "40M"}, token=token)
    status, created = agent.request("POST", "/api/apps/site/deploy/image", {"image": busybox_image}, token=token)
    assert status == 202, created
    wait_until(lambda: agent.request("GET", f"/api/apps/site/deploys/{created['id']}", token=token)[1]["status"]
               == "success", timeout=60, what="the deploy")
    # A deploy replaces the container; the new one must carry the caps too.
    wait_until(lambda: host_limits(podman_service, "site")[:3] == (40 * MiB, 40 * MiB, 50_000), timeout=20,
               what="the caps on the deployed container")
    assert agent.request("GET", "/api/apps/site", token=token)[1]["status"] == "running"
