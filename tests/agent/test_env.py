"""Env variables on a real agent and real Podman: revisioned, admin-only values,
encrypted at rest, injected into the container on apply, and a safe key rotation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from datetime import timedelta

import pytest

from basepod_agent.protocol.auth import Role
from basepod_agent.services.auth import AuthService
from basepod_agent.store.database import Database
from harness.system import wait_until

SECRET = "s3cr3t-Value-that-must-not-leak"


def env_page(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/cgi-bin/env", timeout=5) as resp:
            return resp.read().decode()
    except OSError:
        return None


@pytest.fixture
def web(agent, token, busybox_image):
    status, app = agent.request("POST", "/api/apps", {"name": "web", "image": busybox_image, "port": 8080,
                                                      "env": {"FIRST": "one"}}, token=token)
    assert status == 201, app
    return app


def deployer_token(agent) -> str:
    db = Database(agent.state_dir / "agent.db")
    try:
        AuthService(db, timedelta(hours=1)).create_user("dep@example.com", "deployer password 1", Role.DEPLOYER)
    finally:
        db.close()
    status, body = agent.request("POST", "/api/auth/login",
                                 {"email": "dep@example.com", "password": "deployer password 1"})
    assert status == 200, body
    return body["token"]


def test_put_replaces_the_set_and_get_returns_values_with_a_revision(agent, token, web):
    status, view = agent.request("GET", "/api/apps/web/env", token=token)
    assert status == 200 and view == {"env": {"FIRST": "one"}, "revision": 1, "restart_needed": False}
    status, state = agent.request("PUT", "/api/apps/web/env", {"env": {"A": "1", "B": SECRET}}, token=token)
    assert status == 200 and state == {"keys": ["A", "B"], "revision": 2, "restart_needed": True}
    assert agent.request("GET", "/api/apps/web/env", token=token)[1]["env"] == {"A": "1", "B": SECRET}
    app = agent.request("GET", "/api/apps/web", token=token)[1]
    assert app["env_keys"] == ["A", "B"] and app["restart_needed"] is True
    assert SECRET not in json.dumps(app)


def test_patch_sets_and_unsets_single_keys(agent, token, web):
    status, state = agent.request("PATCH", "/api/apps/web/env", {"set": {"X": "x"}, "unset": ["FIRST"]},
                                  token=token)
    assert status == 200 and state["keys"] == ["X"] and state["revision"] == 2
    same = agent.request("PATCH", "/api/apps/web/env", {"set": {"X": "x"}}, token=token)[1]
    assert same["revision"] == 2  # no change, no new revision


def test_a_stale_revision_is_refused_with_409_and_changes_nothing(agent, token, web):
    assert agent.request("PUT", "/api/apps/web/env", {"env": {"A": "mine"}, "revision": 1}, token=token)[0] == 200
    status, body = agent.request("PUT", "/api/apps/web/env", {"env": {"A": "theirs"}, "revision": 1}, token=token)
    assert status == 409 and body["code"] == "conflict" and body["field"] == "revision"
    status, body = agent.request("PATCH", "/api/apps/web/env", {"set": {"B": "b"}, "revision": 1}, token=token)
    assert status == 409
    assert agent.request("GET", "/api/apps/web/env", token=token)[1]["env"] == {"A": "mine"}


BAD_BODIES = [
    ({"env": {"1BAD": "x"}}, "environment variable name"),
    ({"env": {"OK": "x", "BAD-KEY": "y"}}, "environment variable name"),
    ({"env": {"BIG": "x" * 40000}}, "KiB"),
    ({"env": {f"K{i}": "v" for i in range(201)}}, "at most 200"),
    ({"env": {"NUL": "a\x00b"}}, "NUL"),
]


def test_bad_env_is_refused_and_nothing_is_saved(agent, token, web):
    for body, fragment in BAD_BODIES:
        status, error = agent.request("PUT", "/api/apps/web/env", body, token=token)
        assert status == 422 and error["code"] == "invalid_input" and fragment in error["message"], error
    assert agent.request("GET", "/api/apps/web/env", token=token)[1] == {
        "env": {"FIRST": "one"}, "revision": 1, "restart_needed": False}


def test_patch_that_would_exceed_the_count_limit_is_refused(agent, token, web):
    agent.request("PUT", "/api/apps/web/env", {"env": {f"K{i}": "v" for i in range(200)}}, token=token)
    status, error = agent.request("PATCH", "/api/apps/web/env", {"set": {"ONE_MORE": "v"}}, token=token)
    assert status == 422 and "at most 200" in error["message"]
    status, error = agent.request("PATCH", "/api/apps/web/env", {"set": {"A": "1"}, "unset": ["A"]}, token=token)
    assert status == 422 and "both set and unset" in error["message"]


def test_values_are_only_revealed_to_admins_but_deployers_may_write(agent, token, web):
    dep = deployer_token(agent)
    status, body = agent.request("GET", "/api/apps/web/env", token=dep)
    assert status == 403 and body["code"] == "forbidden"
    status, state = agent.request("PATCH", "/api/apps/web/env", {"set": {"D": "d"}}, token=dep)
    assert status == 200 and state == {"keys": ["D", "FIRST"], "revision": 2, "restart_needed": True}


def test_env_change_marks_restart_needed_and_apply_injects_it_into_the_container(agent, token, web):
    assert "FIRST=one" in wait_until(lambda: env_page(web["host_port"]), 10, "env page")
    agent.request("PATCH", "/api/apps/web/env", {"set": {"SECOND": SECRET}}, token=token)
    assert SECRET not in env_page(web["host_port"])  # the running container keeps its env
    status, app = agent.request("POST", "/api/apps/web/apply", token=token)
    assert status == 200 and app["restart_needed"] is False and app["status"] == "running"
    page = wait_until(lambda: env_page(web["host_port"]), 10, "env page after apply")
    assert f"SECOND={SECRET}" in page and "FIRST=one" in page


def test_restart_and_start_of_a_stale_container_recreate_it_with_the_new_env(agent, token, web):
    agent.request("PATCH", "/api/apps/web/env", {"set": {"VIA": "restart"}}, token=token)
    app = agent.request("POST", "/api/apps/web/restart", token=token)[1]
    assert app["restart_needed"] is False
    assert "VIA=restart" in wait_until(lambda: env_page(web["host_port"]), 10, "env page")
    agent.request("POST", "/api/apps/web/stop", token=token)
    agent.request("PATCH", "/api/apps/web/env", {"set": {"VIA": "start"}}, token=token)
    assert agent.request("GET", "/api/apps/web", token=token)[1]["restart_needed"] is True
    app = agent.request("POST", "/api/apps/web/start", token=token)[1]
    assert app["restart_needed"] is False
    assert "VIA=start" in wait_until(lambda: env_page(web["host_port"]), 10, "env page")


def _database_bytes(agent) -> bytes:
    state = agent.state_dir
    return b"".join((state / name).read_bytes() for name in ("agent.db", "agent.db-wal")
                    if (state / name).exists())


def test_the_database_files_contain_no_plaintext_value(agent, token, web):
    agent.request("PUT", "/api/apps/web/env", {"env": {"TOKEN": SECRET}}, token=token)
    agent.request("POST", "/api/apps/web/apply", token=token)
    assert SECRET.encode() not in _database_bytes(agent)
    agent.stop()  # checkpoint the WAL into the main file, then look again
    assert SECRET.encode() not in _database_bytes(agent)


def rotate(agent) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "basepod_agent", "rotate-key", "--state-dir", str(agent.state_dir)],
                          env=agent.env, capture_output=True, text=True, timeout=60)


def test_rotate_key_re_encrypts_everything_and_refuses_while_the_agent_runs(agent, token, web):
    agent.request("PUT", "/api/apps/web/env", {"env": {"TOKEN": SECRET, "B": "b"}}, token=token)
    refused = rotate(agent)
    assert refused.returncode == 1 and "running" in refused.stderr
    key_path = agent.state_dir / "agent.key"
    old_key = key_path.read_bytes()
    agent.stop()
    result = rotate(agent)
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 2 values" in result.stdout
    assert key_path.read_bytes() != old_key and os.stat(key_path).st_mode & 0o777 == 0o600
    assert sorted(p.name for p in agent.state_dir.glob("agent.key*")) == ["agent.key"]
    agent.start()
    assert agent.request("GET", "/api/apps/web/env", token=token)[1]["env"] == {"B": "b", "TOKEN": SECRET}


@pytest.fixture
def store_with_secret(tmp_path):
    """A state dir with one encrypted value, without any agent process."""
    from basepod_agent.services.crypto import SecretBox, create_key_file, env_aad
    from basepod_agent.store.models import App, EnvVar
    from basepod_agent.services.activity import utcnow

    create_key_file(tmp_path / "agent.key")
    db = Database(tmp_path / "agent.db")
    db.migrate()
    box = SecretBox.from_file(tmp_path / "agent.key")
    with db.session() as s:
        app = App(name="web", image="i", port=1, host_port=20000, created_at=utcnow(), updated_at=utcnow())
        s.add(app)
        s.flush()
        s.add(EnvVar(app_id=app.id, key="K", value_enc=box.encrypt(SECRET, env_aad(app.id, "K"))))
    db.close()
    return tmp_path


def _readable_with_current_key(state) -> str:
    from basepod_agent.services.crypto import SecretBox, env_aad
    from basepod_agent.store.models import EnvVar
    from sqlalchemy import select

    db = Database(state / "agent.db")
    try:
        with db.session() as s:
            row = s.scalars(select(EnvVar)).one()
            return SecretBox.from_file(state / "agent.key").decrypt(row.value_enc, env_aad(row.app_id, row.key))
    finally:
        db.close()


@pytest.mark.parametrize("crash_after", ["backup_made", "committed", "key_replaced"])
def test_an_interrupted_rotation_is_recovered_with_the_key_that_opens_the_database(
        store_with_secret, monkeypatch, crash_after):
    """A crash at each step (simulated by failing the next file operation) leaves a state
    that the next start or rotation settles on the one key that decrypts the values."""
    from pathlib import Path as _Path

    from basepod_agent.services import keys

    state = store_with_secret
    key, new, old = state / "agent.key", state / "agent.key.new", state / "agent.key.old"

    def crash(*_args, **_kwargs):
        raise KeyboardInterrupt("power cut")

    if crash_after == "backup_made":
        real_link = os.link
        monkeypatch.setattr(keys.os, "link", lambda *a: (real_link(*a), crash()))
    elif crash_after == "committed":
        monkeypatch.setattr(keys.os, "replace", crash)
    else:
        real_unlink = _Path.unlink
        monkeypatch.setattr(_Path, "unlink", lambda self, *a, **k: crash() if self == old
                            else real_unlink(self, *a, **k))
    with pytest.raises(KeyboardInterrupt):
        keys.rotate_key(key, state / "agent.db", state / "agent.sock")
    monkeypatch.undo()
    assert old.exists()  # a rotation was under way
    db = Database(state / "agent.db")
    try:
        keys.recover_interrupted_rotation(key, db)
    finally:
        db.close()
    assert not new.exists() and not old.exists()
    assert _readable_with_current_key(state) == SECRET
