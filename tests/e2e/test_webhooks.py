"""GitHub webhooks end to end: signed GitHub-format deliveries over real HTTP to the agent's
edge port, deploying commits of a local git repository with real Podman.

One agent (with a public URL) serves most tests, each on its own app; the replay test
restarts an agent of its own, and the rate limit test uses an agent with a tiny limit.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from deploy_helpers import commit, create_app, make_repo, set_git_source, wait_body, wait_deploy
from harness import AgentProcess
from harness.system import short_tmpdir
from webhook_helpers import deliver, deliveries, deploys_of, ping_payload, push_payload, setup_webhook, sign

PUBLIC_URL = "https://deploy.example.com"


def page(busybox_image: str, text: str) -> dict[str, str]:
    return {"Dockerfile": f"FROM {busybox_image}\nRUN echo '{text}' > /www/index.html\n"}


def start_agent(podman_service, toml: str) -> AgentProcess:
    agent = AgentProcess(short_tmpdir("bp-wh-"), podman_service, extra_args=["--stop-timeout", "1"])
    agent.state_dir.mkdir(parents=True, exist_ok=True)
    (agent.state_dir / "agent.toml").write_text(toml)
    return agent.start()


def login(agent) -> str:
    status, body = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                             "password": agent.admin_password})
    assert status == 200, body
    return body["token"]


@pytest.fixture(scope="module")
def hook_agent(podman_service):
    agent = start_agent(podman_service, f'public_url = "{PUBLIC_URL}/"\nwebhook_max_body_bytes = 65536\n')
    yield agent
    agent.stop()
    shutil.rmtree(agent.base_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def htoken(hook_agent):
    return login(hook_agent)


@pytest.fixture
def git_app(hook_agent, htoken, busybox_image, tmp_path, request):
    """An app with a git source whose first commit is not deployed yet, and its repo."""
    name = request.node.name.removeprefix("test_")[:20].rstrip("_").replace("_", "-")
    app = create_app(hook_agent, htoken, name, busybox_image)
    repo = make_repo(tmp_path / "repo", page(busybox_image, "first"), "first")
    set_git_source(hook_agent, htoken, name, repo)
    return name, app, repo


def test_signed_push_on_the_deploy_branch_deploys_the_pushed_commit(hook_agent, htoken, git_app, busybox_image):
    name, app, repo = git_app
    hook = setup_webhook(hook_agent, htoken, name)
    assert hook["url"] == f"{PUBLIC_URL}/api/apps/{name}/webhook" and hook["branch"] == "main"
    pushed = commit(repo, page(busybox_image, "pushed"), "the pushed one")
    commit(repo, page(busybox_image, "later"), "a later one, not pushed yet")

    answer = deliver(hook_agent.edge_url, name, hook["secret"], "push", push_payload(pushed, message="the pushed one"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == "deployed"
    done = wait_deploy(hook_agent, htoken, name, answer.json()["deploy_id"])
    assert done["status"] == "success" and done["commit"] == pushed
    assert done["triggered_by"] == "github:octocat"
    wait_body(app["host_port"], "pushed\n")

    (latest,) = deliveries(hook_agent, htoken, name)
    assert latest["signature_ok"] and latest["result"] == "deployed" and latest["event"] == "push"
    assert (latest["branch"], latest["commit"], latest["pusher"], latest["repository"]) == (
        "main", pushed, "octocat", "octo/app")
    assert latest["deploy_id"] == done["id"] and latest["commit_message"] == "the pushed one"


def test_wrong_or_missing_signature_is_401_and_deploys_nothing(hook_agent, htoken, git_app):
    name, _, repo = git_app
    hook = setup_webhook(hook_agent, htoken, name)
    sha = commit(repo, {"x": "1"}, "x")
    wrong = deliver(hook_agent.edge_url, name, hook["secret"] + "x", "push", push_payload(sha))
    missing = deliver(hook_agent.edge_url, name, None, "push", push_payload(sha))
    tampered_body = deliver(hook_agent.edge_url, name, None, "push", push_payload(sha),
                            signature=sign(hook["secret"], b"{}"))
    assert [r.status_code for r in (wrong, missing, tampered_body)] == [401, 401, 401]
    assert wrong.json()["code"] == "unauthenticated"
    assert deploys_of(hook_agent, htoken, name) == []
    recorded = deliveries(hook_agent, htoken, name)
    assert [(d["signature_ok"], d["result"]) for d in recorded] == [(False, "rejected")] * 3
    assert {d["detail"] for d in recorded} == {"wrong signature", "no X-Hub-Signature-256 header"}


def test_unknown_app_and_disabled_webhook_answer_exactly_like_a_bad_signature(hook_agent, htoken, git_app):
    name, _, _ = git_app
    never_enabled = deliver(hook_agent.edge_url, name, "guess", "ping", ping_payload())
    unknown = deliver(hook_agent.edge_url, "no-such-app", "guess", "ping", ping_payload())
    hook = setup_webhook(hook_agent, htoken, name)
    bad = deliver(hook_agent.edge_url, name, "guess", "ping", ping_payload())
    status, off = hook_agent.request("DELETE", f"/api/apps/{name}/webhook", token=htoken)
    assert status == 200 and off["enabled"] is False
    disabled = deliver(hook_agent.edge_url, name, hook["secret"], "ping", ping_payload())
    answers = {(r.status_code, r.text) for r in (never_enabled, unknown, bad, disabled)}
    assert len(answers) == 1 and answers.pop()[0] == 401


def test_ping_other_branches_tags_deleted_branches_and_other_events_are_recorded_and_ignored(
        hook_agent, htoken, git_app):
    name, _, repo = git_app
    secret = setup_webhook(hook_agent, htoken, name)["secret"]
    sha = commit(repo, {"y": "1"}, "y")
    sends = [("ping", ping_payload(), "pong"),
             ("push", push_payload(sha, branch="dev"), "ignored"),
             ("push", push_payload(sha, branch="refs/tags/v1.0"), "ignored"),
             ("push", push_payload("0" * 40), "ignored"),
             ("issues", {"action": "opened"}, "ignored")]
    for event, payload, result in sends:
        answer = deliver(hook_agent.edge_url, name, secret, event, payload)
        assert answer.status_code == 200 and answer.json()["result"] == result, answer.text
    assert deploys_of(hook_agent, htoken, name) == []
    recorded = deliveries(hook_agent, htoken, name)[::-1]
    assert [(d["event"], d["result"], d["signature_ok"]) for d in recorded] == [
        (e, r, True) for e, _, r in sends]
    assert "dev" in recorded[1]["detail"] and "deleted" in recorded[3]["detail"]


def test_oversized_body_is_refused_before_anything_is_recorded(hook_agent, htoken, git_app):
    name, _, repo = git_app
    secret = setup_webhook(hook_agent, htoken, name)["secret"]
    payload = push_payload(commit(repo, {"z": "1"}, "z"))
    payload["padding"] = "x" * 70_000
    answer = deliver(hook_agent.edge_url, name, secret, "push", payload)
    assert answer.status_code == 413 and answer.json()["code"] == "payload_too_large"
    assert deliveries(hook_agent, htoken, name) == [] and deploys_of(hook_agent, htoken, name) == []


def test_setup_regenerates_the_secret_and_the_secret_is_shown_only_on_demand(hook_agent, htoken, git_app):
    name, _, _ = git_app
    first = setup_webhook(hook_agent, htoken, name, branch="release")
    second = setup_webhook(hook_agent, htoken, name)
    assert second["secret"] != first["secret"] and second["branch"] == "release"
    for path in (f"/api/apps/{name}", f"/api/apps/{name}/webhook", f"/api/apps/{name}/webhook/deliveries"):
        assert second["secret"] not in str(hook_agent.request("GET", path, token=htoken)[1])
    status, shown = hook_agent.request("GET", f"/api/apps/{name}/webhook/secret", token=htoken)
    assert status == 200 and shown["secret"] == second["secret"]
    status, info = hook_agent.request("GET", f"/api/apps/{name}/webhook", token=htoken)
    assert info["enabled"] and info["branch"] == "release" and info["content_type"] == "application/json"
    assert deliver(hook_agent.edge_url, name, first["secret"], "ping", ping_payload()).status_code == 401
    assert deliver(hook_agent.edge_url, name, second["secret"], "ping", ping_payload()).status_code == 200
    assert hook_agent.request("POST", f"/api/apps/{name}/webhook/setup", {"branch": "a b"},
                              token=htoken)[1]["field"] == "branch"
    assert hook_agent.request("GET", f"/api/apps/{name}/webhook/secret")[0] == 401


def test_push_for_an_app_without_a_git_source_is_recorded_as_an_error(hook_agent, htoken, busybox_image):
    create_app(hook_agent, htoken, "imageonly", busybox_image)
    secret = setup_webhook(hook_agent, htoken, "imageonly")["secret"]
    answer = deliver(hook_agent.edge_url, "imageonly", secret, "push", push_payload("b" * 40), delivery="d-err")
    assert answer.status_code == 409 and answer.json()["field"] == "source"
    (recorded,) = deliveries(hook_agent, htoken, "imageonly")
    assert recorded["result"] == "error" and "git source" in recorded["detail"]
    assert deploys_of(hook_agent, htoken, "imageonly") == []
    again = deliver(hook_agent.edge_url, "imageonly", secret, "push", push_payload("b" * 40), delivery="d-err")
    assert again.status_code == 409, "a failed delivery may be redelivered once the cause is fixed"


def test_a_replayed_delivery_id_is_not_deployed_twice_even_after_a_restart(podman_service, busybox_image, tmp_path):
    agent = start_agent(podman_service, "")
    try:
        token = login(agent)
        create_app(agent, token, "replay", busybox_image)
        repo = make_repo(tmp_path / "repo", page(busybox_image, "one"), "one")
        set_git_source(agent, token, "replay", repo)
        secret = setup_webhook(agent, token, "replay")["secret"]
        payload = push_payload(commit(repo, page(busybox_image, "two"), "two"))
        first = deliver(agent.edge_url, "replay", secret, "push", payload, delivery="same-id")
        assert first.json()["result"] == "deployed"
        assert deliver(agent.edge_url, "replay", secret, "push", payload, delivery="same-id").json()["result"] \
            == "duplicate"
        wait_deploy(agent, token, "replay", first.json()["deploy_id"])
        agent.restart()
        token = login(agent)
        replay = deliver(agent.edge_url, "replay", secret, "push", payload, delivery="same-id")
        assert replay.status_code == 200 and replay.json()["result"] == "duplicate"
        assert len(deploys_of(agent, token, "replay")) == 1
        assert [d["result"] for d in deliveries(agent, token, "replay")] == ["duplicate", "duplicate", "deployed"]
    finally:
        agent.stop()
        shutil.rmtree(agent.base_dir, ignore_errors=True)


def test_rate_limits_per_app_and_per_client_answer_429_with_retry_after(podman_service, busybox_image):
    agent = start_agent(podman_service, "webhook_rate_per_minute = 1\nwebhook_burst = 2\n")
    try:
        token = login(agent)
        create_app(agent, token, "limited", busybox_image)
        info = setup_webhook(agent, token, "limited")
        assert info["url"] is None and "public_url" in info["url_note"]
        secret = info["secret"]
        per_app = [deliver(agent.edge_url, "limited", secret, "ping", ping_payload(), client_ip=f"10.0.0.{i}")
                   for i in range(3)]
        assert [r.status_code for r in per_app] == [200, 200, 429]
        assert int(per_app[2].headers["Retry-After"]) >= 1 and per_app[2].json()["code"] == "too_many_attempts"
        per_client = [deliver(agent.edge_url, f"other{i}", secret, "ping", ping_payload(), client_ip="10.9.9.9")
                      for i in range(3)]
        assert [r.status_code for r in per_client] == [401, 401, 429]
        assert len(deliveries(agent, token, "limited")) == 2
    finally:
        agent.stop()
        shutil.rmtree(agent.base_dir, ignore_errors=True)


def test_rotate_key_re_encrypts_webhook_secrets_so_signatures_still_verify(agent, token, busybox_image):
    create_app(agent, token, "rotated", busybox_image)
    secret = setup_webhook(agent, token, "rotated")["secret"]
    agent.stop()
    result = subprocess.run([sys.executable, "-m", "basepod_agent", "rotate-key", "--state-dir", str(agent.state_dir)],
                            env=agent.env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "re-encrypted 1 values" in result.stdout, result.stderr
    agent.start()
    assert deliver(agent.edge_url, "rotated", secret, "ping", ping_payload()).json()["result"] == "pong"
    assert secret.encode() not in (agent.state_dir / "agent.db").read_bytes()


def _user_token(agent, email: str, role) -> str:
    from datetime import timedelta

    from basepod_agent.services.auth import AuthService
    from basepod_agent.store.database import Database

    db = Database(agent.state_dir / "agent.db")
    try:
        AuthService(db, timedelta(hours=1)).create_user(email, "a long password 1", role)
    finally:
        db.close()
    status, body = agent.request("POST", "/api/auth/login", {"email": email, "password": "a long password 1"})
    assert status == 200, body
    return body["token"]


def test_viewers_see_the_status_only_and_deployers_may_set_up_and_read_the_secret(agent, token, busybox_image):
    from basepod_agent.protocol import Role

    create_app(agent, token, "roles", busybox_image)
    viewer = _user_token(agent, "view@example.com", Role.VIEWER)
    deployer = _user_token(agent, "dep@example.com", Role.DEPLOYER)
    for method, path in (("POST", "setup"), ("GET", "secret"), ("GET", "deliveries"), ("DELETE", "")):
        status, body = agent.request(method, f"/api/apps/roles/webhook/{path}".rstrip("/"), token=viewer)
        assert status == 403 and body["code"] == "forbidden", (method, path, body)
    secret = setup_webhook(agent, deployer, "roles")["secret"]
    assert agent.request("GET", "/api/apps/roles/webhook/secret", token=deployer)[1]["secret"] == secret
    status, info = agent.request("GET", "/api/apps/roles/webhook", token=viewer)
    assert status == 200 and info["enabled"] and secret not in str(info)
