"""Deploys end to end (issue #5): local git repos (file://) built by real Podman and served.

One agent serves the whole module (each test deploys its own app); the tests that kill
or restart an agent make their own.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import tarfile
import time

import pytest

from deploy_helpers import (
    commit, create_app, deploy_log, make_repo, set_git_source, start_deploy, wait_body, wait_deploy, wait_status,
)
from harness import AgentProcess
from harness.system import short_tmpdir
from harness.unix_http import unix_request

from basepod_agent.protocol import BuildEnd, BuildLogChunk, DeployChanged
from basepod_desktop.client import AgentClient

FAST = ["--stop-timeout", "1"]
UPLOAD_LIMIT = 2 * 1024 * 1024


def agent_toml(busybox_image: str) -> str:
    return (f'health_min_interval = 0.2\nmax_upload_bytes = {UPLOAD_LIMIT}\n'
            f'[base_images]\nstatic = "{busybox_image}"\n')


@pytest.fixture(scope="module")
def deploy_agent(podman_service, busybox_image):
    agent = AgentProcess(short_tmpdir("bp-dep-"), podman_service, extra_args=FAST)
    agent.state_dir.mkdir(parents=True, exist_ok=True)
    (agent.state_dir / "agent.toml").write_text(agent_toml(busybox_image))
    agent.start()
    yield agent
    agent.stop()
    shutil.rmtree(agent.base_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def dtoken(deploy_agent):
    status, body = deploy_agent.request("POST", "/api/auth/login", {"email": deploy_agent.admin_email,
                                                                    "password": deploy_agent.admin_password})
    assert status == 200, body
    return body["token"]


def dockerfile(base: str, body: str, slow: bool = False) -> str:
    return f"FROM {base}\n" + ("RUN sleep 5\n" if slow else "") + f"RUN echo '{body}' > /www/index.html\n"


def test_git_repo_with_a_dockerfile_is_built_and_served(deploy_agent, dtoken, busybox_image, tmp_path):
    app = create_app(deploy_agent, dtoken, "gitweb", busybox_image)
    repo = make_repo(tmp_path / "repo", {"Dockerfile": dockerfile(busybox_image, "version one")}, "ship v1")
    set_git_source(deploy_agent, dtoken, "gitweb", repo)
    deploy_id = start_deploy(deploy_agent, dtoken, "gitweb")
    done = wait_deploy(deploy_agent, dtoken, "gitweb", deploy_id)
    assert done["status"] == "success", deploy_log(deploy_agent, dtoken, "gitweb", deploy_id)
    assert done["commit_message"] == "ship v1" and len(done["commit"]) == 40
    assert done["image_tag"] == f"localhost/basepod/gitweb:{deploy_id}"
    assert done["triggered_by"] == deploy_agent.admin_email and done["source_type"] == "git"
    wait_body(app["host_port"], "version one\n")

    first = done["commit"]
    commit(repo, {"Dockerfile": dockerfile(busybox_image, "version two")}, "ship v2")
    second = wait_deploy(deploy_agent, dtoken, "gitweb", start_deploy(deploy_agent, dtoken, "gitweb"))
    assert second["status"] == "success" and second["commit_message"] == "ship v2"
    wait_body(app["host_port"], "version two\n")

    rollback = wait_deploy(deploy_agent, dtoken, "gitweb",
                           start_deploy(deploy_agent, dtoken, "gitweb", commit=first[:10]))
    assert rollback["status"] == "success" and rollback["commit"] == first
    wait_body(app["host_port"], "version one\n")
    history = deploy_agent.request("GET", "/api/apps/gitweb/deploys", token=dtoken)[1]["deploys"]
    assert [d["commit_message"] for d in history] == ["ship v1", "ship v2", "ship v1"]
    assert deploy_agent.request("GET", "/api/apps/gitweb", token=dtoken)[1]["host_port"] == app["host_port"]


def test_basepod_build_args_reach_the_build(deploy_agent, dtoken, busybox_image, tmp_path):
    app = create_app(deploy_agent, dtoken, "argweb", busybox_image)
    files = {
        "Dockerfile": f"FROM {busybox_image}\nARG GREETING=unset\nRUN echo \"$GREETING\" > /www/index.html\n",
        ".basepod": '[build]\nargs = { GREETING = "hello from build args" }\n',
    }
    set_git_source(deploy_agent, dtoken, "argweb", make_repo(tmp_path / "repo", files))
    done = wait_deploy(deploy_agent, dtoken, "argweb", start_deploy(deploy_agent, dtoken, "argweb"))
    assert done["status"] == "success"
    wait_body(app["host_port"], "hello from build args\n")


def test_basepod_port_command_env_and_health_are_applied_to_the_app(deploy_agent, dtoken, busybox_image, tmp_path):
    app = create_app(deploy_agent, dtoken, "cfgweb", busybox_image)
    files = {
        "Dockerfile": f"FROM {busybox_image}\nRUN echo 'configured' > /www/index.html\n",
        ".basepod": (
            'port = 9090\n'
            'command = ["/bin/httpd", "-f", "-p", "9090", "-h", "/www"]\n'
            '[env]\nGREETING = "from .basepod"\n'
            '[health]\npath = "/cgi-bin/health"\ninterval_seconds = 2\ntimeout_seconds = 1\n'
        ),
    }
    set_git_source(deploy_agent, dtoken, "cfgweb", make_repo(tmp_path / "repo", files))
    done = wait_deploy(deploy_agent, dtoken, "cfgweb", start_deploy(deploy_agent, dtoken, "cfgweb"))
    assert done["status"] == "success", (done["error"], deploy_log(deploy_agent, dtoken, "cfgweb", done["id"])[-1500:])
    # Same host port as before, now forwarded to the container port .basepod names.
    wait_body(app["host_port"], "configured\n")
    info = deploy_agent.request("GET", "/api/apps/cfgweb", token=dtoken)[1]
    assert info["port"] == 9090 and info["command"] == ["/bin/httpd", "-f", "-p", "9090", "-h", "/www"]
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{app['host_port']}/cgi-bin/env", timeout=5) as resp:
        assert "GREETING=from .basepod" in resp.read().decode()
    health = deploy_agent.request("GET", "/api/apps/cfgweb/health", token=dtoken)[1]
    assert health["config"]["enabled"] and health["config"]["path"] == "/cgi-bin/health"


def test_basepod_health_settings_that_conflict_fail_the_deploy_before_the_switch(
        deploy_agent, dtoken, busybox_image, tmp_path):
    app = create_app(deploy_agent, dtoken, "badhealth", busybox_image)
    files = {"Dockerfile": f"FROM {busybox_image}\nRUN echo 'never live' > /www/index.html\n",
             ".basepod": '[health]\ninterval_seconds = 1\n'}  # the default 5 s timeout exceeds it
    set_git_source(deploy_agent, dtoken, "badhealth", make_repo(tmp_path / "repo", files))
    done = wait_deploy(deploy_agent, dtoken, "badhealth", start_deploy(deploy_agent, dtoken, "badhealth"))
    assert done["status"] == "failed" and "timeout_seconds must not exceed" in done["error"]
    assert "internal" not in done["error"]
    assert wait_body(app["host_port"], "hello from basepod test\n")


def test_a_wrong_basepod_file_fails_before_building_and_names_the_field(deploy_agent, dtoken, busybox_image, tmp_path):
    create_app(deploy_agent, dtoken, "badcfg", busybox_image)
    files = {"Dockerfile": dockerfile(busybox_image, "never"), ".basepod": 'port = "8080"\n[build]\nargz = {}\n'}
    set_git_source(deploy_agent, dtoken, "badcfg", make_repo(tmp_path / "repo", files))
    deploy_id = start_deploy(deploy_agent, dtoken, "badcfg")
    done = wait_deploy(deploy_agent, dtoken, "badcfg", deploy_id)
    assert done["status"] == "failed"
    assert "port: must be a whole number" in done["error"] and "'argz'" in done["error"]
    assert "Building" not in deploy_log(deploy_agent, dtoken, "badcfg", deploy_id)


def test_static_site_without_dockerfile_is_built_by_the_fallback(deploy_agent, dtoken, busybox_image, tmp_path):
    app = create_app(deploy_agent, dtoken, "static", busybox_image)
    set_git_source(deploy_agent, dtoken, "static", make_repo(tmp_path / "repo", {"index.html": "<h1>static</h1>\n"}))
    deploy_id = start_deploy(deploy_agent, dtoken, "static")
    done = wait_deploy(deploy_agent, dtoken, "static", deploy_id)
    assert done["status"] == "success", deploy_log(deploy_agent, dtoken, "static", deploy_id)
    assert done["dockerfile_generated"] is True
    wait_body(app["host_port"], "<h1>static</h1>\n")
    status, generated = deploy_agent.request("GET", f"/api/apps/static/deploys/{deploy_id}/dockerfile", token=dtoken)
    assert status == 200 and f"FROM {busybox_image}" in generated["text"] and "COPY ./ /www/" in generated["text"]


def test_broken_dockerfile_fails_with_the_error_in_the_log_and_the_old_version_serving(
        deploy_agent, dtoken, busybox_image, tmp_path):
    app = create_app(deploy_agent, dtoken, "broken", busybox_image)
    repo = make_repo(tmp_path / "repo", {"Dockerfile": dockerfile(busybox_image, "good")})
    set_git_source(deploy_agent, dtoken, "broken", repo)
    assert wait_deploy(deploy_agent, dtoken, "broken", start_deploy(deploy_agent, dtoken, "broken"))["status"] == "success"
    wait_body(app["host_port"], "good\n")
    commit(repo, {"Dockerfile": f"FROM {busybox_image}\nRUN echo about to fail && exit 7\n"}, "break it")
    deploy_id = start_deploy(deploy_agent, dtoken, "broken")
    done = wait_deploy(deploy_agent, dtoken, "broken", deploy_id)
    assert done["status"] == "failed" and done["error"]
    assert done["commit_message"] == "break it" and len(done["commit"]) == 40  # recorded though it failed
    log = deploy_log(deploy_agent, dtoken, "broken", deploy_id)
    assert "about to fail" in log and "ERROR" in log and "exit status 7" in log
    assert wait_body(app["host_port"], "good\n")
    info = deploy_agent.request("GET", "/api/apps/broken", token=dtoken)[1]
    assert info["status"] == "running" and not info["image"].endswith(done["id"])


def test_late_log_client_gets_the_whole_log_then_the_live_tail(deploy_agent, dtoken, busybox_image, tmp_path):
    create_app(deploy_agent, dtoken, "latelog", busybox_image)
    repo = make_repo(tmp_path / "repo", {"Dockerfile": dockerfile(busybox_image, "late", slow=True)})
    set_git_source(deploy_agent, dtoken, "latelog", repo)
    deploy_id = start_deploy(deploy_agent, dtoken, "latelog")
    wait_status(deploy_agent, dtoken, "latelog", deploy_id, "building")

    async def collect() -> tuple[str, list]:
        async with AgentClient(str(deploy_agent.socket_path), dtoken) as client:
            await asyncio.sleep(1.0)  # attach mid-build, after the clone and the first steps
            text, ends, offsets = "", [], []
            async for message in client.follow_deploy_log("latelog", deploy_id):
                if isinstance(message, BuildLogChunk):
                    assert message.offset == len(text.encode())
                    text += message.text
                    offsets.append(message.offset)
                elif isinstance(message, BuildEnd):
                    ends.append(message.status.value)
            return text, ends

    streamed, ends = asyncio.run(collect())
    assert ends == ["success"]
    stored = deploy_log(deploy_agent, dtoken, "latelog", deploy_id)
    assert streamed == stored
    assert "Cloning" in streamed and "sleep 5" in streamed and f"Deploy {deploy_id} success" in streamed


def test_newer_request_cancels_the_queued_one_and_running_deploys_can_be_cancelled(
        deploy_agent, dtoken, busybox_image, tmp_path):
    create_app(deploy_agent, dtoken, "queue", busybox_image)
    repo = make_repo(tmp_path / "repo", {"Dockerfile": dockerfile(busybox_image, "queued", slow=True)})
    set_git_source(deploy_agent, dtoken, "queue", repo)

    async def watch_events(ready: asyncio.Event, stop: asyncio.Event, seen: list) -> None:
        async with AgentClient(str(deploy_agent.socket_path), dtoken) as client:
            async for event in client.events():
                ready.set()  # the first message (Hello) means we are subscribed
                if isinstance(event, DeployChanged) and event.app == "queue":
                    seen.append((event.id, event.status.value))
                if stop.is_set():
                    return

    async def scenario() -> tuple[list[str], list]:
        seen: list = []
        stop, ready = asyncio.Event(), asyncio.Event()
        watcher = asyncio.create_task(watch_events(ready, stop, seen))
        await asyncio.wait_for(ready.wait(), 10)
        first = await asyncio.to_thread(start_deploy, deploy_agent, dtoken, "queue")
        await asyncio.to_thread(wait_status, deploy_agent, dtoken, "queue", first, "building")
        second = await asyncio.to_thread(start_deploy, deploy_agent, dtoken, "queue")
        third = await asyncio.to_thread(start_deploy, deploy_agent, dtoken, "queue")
        status, cancelled = await asyncio.to_thread(
            deploy_agent.request, "POST", f"/api/apps/queue/deploys/{first}/cancel", None, dtoken)
        assert status == 200, cancelled
        await asyncio.to_thread(wait_deploy, deploy_agent, dtoken, "queue", third, 60)
        # The final event can trail the status a loaded machine reports; wait for it.
        for _ in range(200):
            if (third, "success") in seen:
                break
            await asyncio.sleep(0.05)
        stop.set()
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        return [first, second, third], seen

    (first, second, third), seen = asyncio.run(scenario())
    get = lambda i: deploy_agent.request("GET", f"/api/apps/queue/deploys/{i}", token=dtoken)[1]
    assert get(first)["status"] == "cancelled" and "cancelled by" in get(first)["error"]
    assert get(second)["status"] == "cancelled" and get(second)["error"] == f"superseded by {third}"
    assert get(third)["status"] == "success"
    assert (third, "success") in seen and (second, "cancelled") in seen and (first, "building") in seen


def test_agent_killed_mid_build_leaves_the_deploy_interrupted_and_the_old_version_running(
        agent_factory, busybox_image, tmp_path):
    agent = agent_factory(start=False, extra_args=FAST)
    agent.state_dir.mkdir(parents=True, exist_ok=True)
    (agent.state_dir / "agent.toml").write_text(agent_toml(busybox_image))
    agent.start()
    token = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                      "password": agent.admin_password})[1]["token"]
    app = create_app(agent, token, "crashy", busybox_image)
    wait_body(app["host_port"], "hello from basepod test\n")
    repo = make_repo(tmp_path / "repo", {"Dockerfile": dockerfile(busybox_image, "new", slow=True)})
    set_git_source(agent, token, "crashy", repo)
    deploy_id = start_deploy(agent, token, "crashy")
    wait_status(agent, token, "crashy", deploy_id, "building")
    time.sleep(1.5)
    agent.kill()
    agent.start()
    token = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                      "password": agent.admin_password})[1]["token"]
    info = agent.request("GET", f"/api/apps/crashy/deploys/{deploy_id}", token=token)[1]
    assert info["status"] == "interrupted" and info["finished_at"]
    assert "INTERRUPTED" in deploy_log(agent, token, "crashy", deploy_id)
    wait_body(app["host_port"], "hello from basepod test\n")
    assert agent.request("GET", "/api/apps/crashy", token=token)[1]["status"] == "running"


def test_source_deploy_key_is_stored_but_never_returned(deploy_agent, dtoken, busybox_image, tmp_path):
    create_app(deploy_agent, dtoken, "keyed", busybox_image)
    body = set_git_source(deploy_agent, dtoken, "keyed", tmp_path, deploy_key="-----BEGIN KEY-----\nsecret\n")
    assert body["has_deploy_key"] is True and "secret" not in str(body)
    got = deploy_agent.request("GET", "/api/apps/keyed/source", token=dtoken)[1]
    assert got["has_deploy_key"] is True and "deploy_key" not in got["source"]
    bad = deploy_agent.request("PUT", "/api/apps/keyed/source", {"type": "git", "url": "ext::sh -c x"}, token=dtoken)
    assert bad[0] == 422 and bad[1]["field"] == "url"


def _tar_with(path, blob: bytes, busybox_image: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("Dockerfile", f"FROM {busybox_image}\nCOPY blob /www/blob\n".encode()), ("blob", blob)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_upload_route_has_its_own_size_limit_above_the_control_api_one(deploy_agent, dtoken, busybox_image, tmp_path):
    create_app(deploy_agent, dtoken, "upl", busybox_image)
    headers = {"Authorization": f"Bearer {dtoken}", "Content-Type": "application/x-tar"}
    fits = _tar_with(tmp_path, b"x" * (1536 * 1024), busybox_image)  # over 1 MiB, under 2 MiB
    status, _, body = unix_request(str(deploy_agent.socket_path), "POST", "/api/apps/upl/deploy/upload?commit=abcdef1",
                                   fits, headers)
    assert status == 202, body
    done = wait_deploy(deploy_agent, dtoken, "upl", json.loads(body)["id"])
    assert done["status"] == "success" and done["source_type"] == "upload" and done["commit"] == "abcdef1"
    too_big = _tar_with(tmp_path, b"x" * (UPLOAD_LIMIT + 1), busybox_image)
    status, _, body = unix_request(str(deploy_agent.socket_path), "POST", "/api/apps/upl/deploy/upload",
                                   too_big, headers)
    assert status == 413 and b"payload_too_large" in body
    status, _, body = unix_request(str(deploy_agent.socket_path), "POST", "/api/apps/upl/deploy",
                                   b"{" + b" " * (1024 * 1024 + 10) + b"}", {**headers, "Content-Type": "application/json"})
    assert status == 413


def test_deleting_an_app_removes_its_deploy_logs_and_git_cache(deploy_agent, dtoken, busybox_image, tmp_path):
    create_app(deploy_agent, dtoken, "gone", busybox_image)
    set_git_source(deploy_agent, dtoken, "gone", make_repo(tmp_path / "repo", {
        "Dockerfile": dockerfile(busybox_image, "soon gone")}))
    deploy_id = start_deploy(deploy_agent, dtoken, "gone")
    assert wait_deploy(deploy_agent, dtoken, "gone", deploy_id)["status"] == "success"
    logs, cache = deploy_agent.state_dir / "deploys" / deploy_id, deploy_agent.state_dir / "git" / "gone"
    assert logs.is_dir() and cache.is_dir()
    old = time.time() - 120  # the sweep leaves folders of deploys being recorded right now
    os.utime(logs, (old, old))
    assert deploy_agent.request("DELETE", "/api/apps/gone", token=dtoken)[0] == 204
    deadline = time.monotonic() + 10
    while (logs.exists() or cache.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not logs.exists() and not cache.exists()

