"""A private repository deployed over ssh:// with a deploy key, through the whole pipeline.

The git server is a real OpenSSH server (the own_sshd fixture) on 127.0.0.1 that only
lets in the keys in its authorized_keys; the deploy key is generated per test and set
through the API like a user would with ``bp source --deploy-key``.
"""

from __future__ import annotations

import json
import subprocess

from deploy_helpers import create_app, deploy_log, make_repo, start_deploy, wait_body, wait_deploy

from basepod_agent.services.crypto import SecretBox, deploy_key_aad
from basepod_agent.store.database import Database
from basepod_agent.store.models import AppSource


def _deploy_key(tmp_path) -> tuple[str, str]:
    path = tmp_path / "deploy_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "deploy", "-f", str(path)], check=True)
    return path.read_text(), (tmp_path / "deploy_key.pub").read_text()


def _login(agent) -> str:
    return agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                     "password": agent.admin_password})[1]["token"]


def test_private_repo_is_deployed_with_its_deploy_key_which_never_leaves_the_agent_in_clear(
        agent_factory, own_sshd, busybox_image, tmp_path):
    agent = agent_factory(extra_args=["--stop-timeout", "1"])
    token = _login(agent)
    private_key, public_key = _deploy_key(tmp_path)
    own_sshd.authorized_keys.write_text(public_key)  # only the deploy key gets in
    repo = make_repo(tmp_path / "private", {
        "Dockerfile": f"FROM {busybox_image}\nRUN echo 'from a private repo' > /www/index.html\n"})
    url = f"ssh://{own_sshd.user}@127.0.0.1:{own_sshd.port}{repo}"
    app = create_app(agent, token, "secret", busybox_image)

    status, keyless = agent.request("PUT", "/api/apps/secret/source",
                                    {"type": "git", "url": url, "branch": "main"}, token=token)
    assert status == 200, keyless
    refused = wait_deploy(agent, token, "secret", start_deploy(agent, token, "secret"))
    assert refused["status"] == "failed" and "could not authenticate" in refused["error"]

    status, source = agent.request("PUT", "/api/apps/secret/source", {"type": "git", "url": url, "branch": "main",
                                                                      "deploy_key": private_key}, token=token)
    assert status == 200 and source["has_deploy_key"] is True
    done = wait_deploy(agent, token, "secret", start_deploy(agent, token, "secret"))
    log_text = deploy_log(agent, token, "secret", done["id"])
    assert done["status"] == "success", (done["error"], log_text[-2000:])
    wait_body(app["host_port"], "from a private repo\n")
    first_use = f"First SSH connection to [127.0.0.1]:{own_sshd.port}: trusted its host key"
    assert first_use in deploy_log(agent, token, "secret", refused["id"]) and first_use not in log_text
    assert own_sshd.host_public_key in (agent.state_dir / "git" / "known_hosts").read_text()

    key_body = "".join(private_key.splitlines()[1:-1])  # the base64 without the armour lines
    every_answer = [agent.request("GET", path, token=token)[1] for path in (
        "/api/apps", "/api/apps/secret", "/api/apps/secret/source", "/api/apps/secret/deploys",
        f"/api/apps/secret/deploys/{done['id']}", f"/api/apps/secret/deploys/{done['id']}/log")]
    for answer in every_answer:
        text = json.dumps(answer)
        assert key_body[:40] not in text and "PRIVATE KEY" not in text
    agent.stop()
    raw = b"".join(path.read_bytes() for path in agent.state_dir.glob("agent.db*"))
    assert key_body[:40].encode() not in raw and b"PRIVATE KEY" not in raw
    db = Database(agent.state_dir / "agent.db")
    try:
        with db.session() as s:
            stored = s.query(AppSource).one()
            box = SecretBox.from_file(agent.state_dir / "agent.key")
            assert box.decrypt(stored.deploy_key_enc, deploy_key_aad(stored.app_id)).strip() == private_key.strip()
    finally:
        db.close()


def test_a_changed_host_key_of_the_git_server_fails_the_deploy_and_says_what_to_do(
        agent_factory, own_sshd, busybox_image, tmp_path):
    agent = agent_factory(extra_args=["--stop-timeout", "1"])
    token = _login(agent)
    private_key, public_key = _deploy_key(tmp_path)
    own_sshd.authorized_keys.write_text(public_key)
    repo = make_repo(tmp_path / "private", {
        "Dockerfile": f"FROM {busybox_image}\nRUN echo 'pinned' > /www/index.html\n"})
    app = create_app(agent, token, "pinned", busybox_image)
    url = f"ssh://{own_sshd.user}@127.0.0.1:{own_sshd.port}{repo}"
    assert agent.request("PUT", "/api/apps/pinned/source", {"type": "git", "url": url, "branch": "main",
                                                           "deploy_key": private_key}, token=token)[0] == 200
    assert wait_deploy(agent, token, "pinned", start_deploy(agent, token, "pinned"))["status"] == "success"

    own_sshd.restart_with_new_host_key()
    failed = wait_deploy(agent, token, "pinned", start_deploy(agent, token, "pinned"))
    known_hosts = agent.state_dir / "git" / "known_hosts"
    assert failed["status"] == "failed"
    assert "SSH host key" in failed["error"] and "changed since this agent first connected" in failed["error"]
    assert f"remove its line from {known_hosts}" in failed["error"]
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in deploy_log(agent, token, "pinned", failed["id"])
    wait_body(app["host_port"], "pinned\n")  # the running version is untouched
