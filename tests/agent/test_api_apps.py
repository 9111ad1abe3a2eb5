"""Apps on real Podman through the control API: lifecycle, reconciliation, bad input."""

from __future__ import annotations

import concurrent.futures
import json
import urllib.request

import pytest

from harness.system import wait_until


def http_body(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
        return resp.read().decode()


def serving(port: int) -> str | None:
    try:
        return http_body(port)
    except OSError:
        return None


def create(agent, token, **fields):
    body = {"name": "web", "port": 8080, **fields}
    return agent.request("POST", "/api/apps", body, token=token)


def test_created_app_runs_labelled_container_and_serves_http(agent, token, busybox_image, podman_service):
    status, app = create(agent, token, image=busybox_image, env={"GREETING": "hi"})
    assert status == 201, app
    assert app["status"] == "running" and app["env_keys"] == ["GREETING"]
    assert "GREETING" not in json.dumps({k: v for k, v in app.items() if k != "env_keys"})
    body = wait_until(lambda: serving(app["host_port"]), timeout=10, what="app HTTP")
    assert "hello from basepod test" in body
    inspect = json.loads(podman_service.cli("inspect", "basepod-web").stdout)[0]
    assert inspect["Config"]["Labels"]["basepod.app"] == "web"
    assert "GREETING=hi" in inspect["Config"]["Env"]
    listed = agent.request("GET", "/api/apps", token=token)[1]["apps"]
    assert [a["name"] for a in listed] == ["web"]


def test_stop_start_restart_and_delete_change_the_container(agent, token, busybox_image, podman_service):
    app = create(agent, token, image=busybox_image)[1]
    status, stopped = agent.request("POST", "/api/apps/web/stop", token=token)
    assert status == 200 and stopped["status"] == "stopped"
    assert serving(app["host_port"]) is None
    status, started = agent.request("POST", "/api/apps/web/start", token=token)
    assert started["status"] == "running"
    wait_until(lambda: serving(app["host_port"]), timeout=10, what="app HTTP after start")
    status, restarted = agent.request("POST", "/api/apps/web/restart", token=token)
    assert status == 200 and restarted["status"] == "running"
    assert agent.request("DELETE", "/api/apps/web", token=token)[0] == 204
    assert agent.request("GET", "/api/apps/web", token=token)[0] == 404
    assert podman_service.cli("container", "exists", "basepod-web", check=False).returncode == 1


def test_container_removed_by_hand_shows_missing_and_start_recreates_it(agent, token, busybox_image, podman_service):
    app = create(agent, token, image=busybox_image, env={"KEEP": "me"})[1]
    podman_service.cli("rm", "-f", "-t", "0", "basepod-web")
    wait_until(lambda: agent.request("GET", "/api/apps/web", token=token)[1]["status"] == "missing",
               timeout=10, what="status missing")
    status, started = agent.request("POST", "/api/apps/web/start", token=token)
    assert status == 200 and started["status"] == "running"
    inspect = json.loads(podman_service.cli("inspect", "basepod-web").stdout)[0]
    assert "KEEP=me" in inspect["Config"]["Env"]
    wait_until(lambda: serving(app["host_port"]), timeout=10, what="recreated app HTTP")


def test_a_crashed_container_shows_exited_with_its_exit_code(agent, token, busybox_image):
    status, app = create(agent, token, image=busybox_image, command=["/bin/sh", "-c", "sleep 0.5; exit 7"])
    assert status == 201
    final = wait_until(
        lambda: (a := agent.request("GET", "/api/apps/web", token=token)[1])["status"] == "exited" and a,
        timeout=10, what="exited status")
    assert final["exit_code"] == 7


def test_state_is_reconciled_with_podman_when_the_agent_starts(agent, token, busybox_image, podman_service):
    create(agent, token, image=busybox_image)
    agent.stop()
    podman_service.cli("rm", "-f", "-t", "0", "basepod-web")
    agent.start()
    status, app = agent.request("GET", "/api/apps/web", token=token)
    assert status == 200 and app["status"] == "missing"


def test_logs_return_the_tail_of_container_output(agent, token, busybox_image):
    create(agent, token, image=busybox_image,
           command=["/bin/sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; sleep 60"])
    lines = wait_until(
        lambda: (b := agent.request("GET", "/api/apps/web/logs?tail=2", token=token)[1])["lines"]
        and len(b["lines"]) == 2 and b["lines"], timeout=10, what="two log lines")
    assert [line["text"] for line in lines] == ["line 4", "line 5"]
    assert lines[0]["ts"].startswith("20")
    status, body = agent.request("GET", "/api/apps/web/logs?tail=-1", token=token)
    assert status == 422 and body["field"] == "tail"


@pytest.mark.parametrize(
    "fields, status, code, field",
    [
        ({"name": "Bad_Name"}, 422, "invalid_input", "name"),
        ({"port": 0}, 422, "invalid_input", "port"),
        ({"port": 70000}, 422, "invalid_input", "port"),
        ({"port": "eighty"}, 422, "invalid_input", "port"),
        ({"image": "localhost/does-not-exist:1"}, 422, "image_not_found", "image"),
        ({"env": {"1BAD": "x"}}, 422, "invalid_input", "env"),
        ({"name": None}, 422, "invalid_input", "name"),
    ],
)
def test_bad_create_requests_get_a_clear_4xx(agent, token, busybox_image, fields, status, code, field):
    got_status, body = create(agent, token, **{"image": busybox_image, **fields})
    assert (got_status, body["code"], body["field"]) == (status, code, field), body
    assert "Traceback" not in body["message"]
    assert agent.request("GET", "/api/apps", token=token)[1]["apps"] == []


def test_duplicate_names_and_unknown_apps_are_refused(agent, token, busybox_image):
    assert create(agent, token, image=busybox_image)[0] == 201
    status, body = create(agent, token, image=busybox_image)
    assert status == 409 and body["code"] == "already_exists"
    for method, path in [("POST", "/api/apps/nope/start"), ("GET", "/api/apps/nope"),
                         ("DELETE", "/api/apps/nope"), ("GET", "/api/apps/nope/logs")]:
        status, body = agent.request(method, path, token=token)
        assert status == 404 and body["message"] == "app 'nope' not found"


def test_malformed_and_oversized_bodies_are_refused(agent, token):
    from harness.unix_http import unix_request

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    status, _, data = unix_request(str(agent.socket_path), "POST", "/api/apps", b"{not json", headers)
    assert status == 422 and json.loads(data)["message"] == "request body is not valid JSON"
    big = json.dumps({"name": "web", "image": "x" * (2 * 1024 * 1024), "port": 80}).encode()
    status, _, data = unix_request(str(agent.socket_path), "POST", "/api/apps", big, headers)
    assert status == 413 and json.loads(data)["code"] == "payload_too_large"


def test_concurrent_requests_on_one_app_are_serialised_safely(agent, token, busybox_image, podman_service):
    create(agent, token, image=busybox_image)
    actions = ["start", "stop", "restart"] * 4 + ["start"]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(
            lambda a: agent.request("POST", f"/api/apps/web/{a}", token=token), actions))
    assert all(status == 200 for status, _ in results), results
    names = podman_service.cli("ps", "-a", "--filter", "label=basepod.app=web", "--format", "{{.Names}}").stdout.split()
    assert names == ["basepod-web"]


def test_every_change_is_in_the_activity_log(agent, token, busybox_image):
    import sqlite3

    create(agent, token, image=busybox_image)
    agent.request("POST", "/api/apps/web/stop", token=token)
    agent.request("DELETE", "/api/apps/web", token=token)
    rows = sqlite3.connect(agent.state_dir / "agent.db").execute(
        "SELECT actor, action, target FROM activity WHERE target = 'web' ORDER BY id").fetchall()
    assert rows == [(agent.admin_email, "app.create", "web"), (agent.admin_email, "app.stop", "web"),
                    (agent.admin_email, "app.delete", "web")]


def test_deleting_an_app_is_not_reported_as_an_unexpected_stop(agent, token, busybox_image):
    import asyncio

    from basepod_desktop.client import AgentClient

    async def scenario():
        async with AgentClient(str(agent.socket_path), token=token) as client:
            events = client.events()
            assert (await anext(events)).type == "hello"
            create(agent, token, image=busybox_image)
            await asyncio.to_thread(agent.request, "DELETE", "/api/apps/web", None, token)
            seen = []
            while not seen or seen[-1].type != "app_removed":
                seen.append(await asyncio.wait_for(anext(events), 10))
            await events.aclose()
            return seen

    seen = asyncio.run(scenario())
    assert not any(getattr(e, "unexpected", False) for e in seen), seen


def test_log_stream_since_replays_every_line_from_that_second(agent, token, busybox_image):
    import asyncio

    from basepod_agent.protocol import LogBatch
    from basepod_desktop.client import AgentClient

    create(agent, token, image=busybox_image,
           command=["/bin/sh", "-c", "i=0; while [ $i -lt 40 ]; do echo n $i; i=$((i+1)); sleep 0.05; done; sleep 60"])

    async def scenario():
        async with AgentClient(str(agent.socket_path), token=token) as client:
            await asyncio.sleep(3)
            everything = (await client.logs("web", tail=1000)).lines
            pivot = everything[len(everything) // 2]
            replayed = []
            async with asyncio.timeout(10):
                async for message in client.follow_logs("web", since=pivot.ts):
                    if isinstance(message, LogBatch):
                        replayed.extend(message.lines)
                    if replayed and replayed[-1].text == "n 39":
                        break
            return everything, pivot, replayed

    everything, pivot, replayed = asyncio.run(scenario())
    first = next(i for i, line in enumerate(everything) if line.ts == pivot.ts)
    assert [line.text for line in replayed] == [line.text for line in everything[first:]]
    status, body = agent.request("GET", "/api/apps/web", token=token)
    assert status == 200
