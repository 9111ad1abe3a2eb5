"""Deploy history retention (services/deploy_history.py) on a real database and real folders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from basepod_agent.config import load_config
from basepod_agent.protocol.deploys import DeployStatus
from basepod_agent.services.activity import utcnow
from basepod_agent.services.buildlog import BuildLogStore
from basepod_agent.services.deploy_history import prune_deploys
from basepod_agent.store.database import Database
from basepod_agent.store.models import App, Deploy


def _store(tmp_path, statuses: list[str]) -> tuple[Database, BuildLogStore, int, list[str]]:
    db = Database(tmp_path / "agent.db")
    db.migrate()
    logs = BuildLogStore(tmp_path)
    start = utcnow() - timedelta(hours=1)
    ids = [f"2026010100{index:04d}-abc" for index in range(len(statuses))]  # oldest first
    with db.session() as s:
        app = App(name="web", image="i", port=1, host_port=20000, created_at=start, updated_at=start)
        other = App(name="other", image="i", port=1, host_port=20001, created_at=start, updated_at=start)
        s.add_all([app, other])
        s.flush()
        for index, (deploy_id, status) in enumerate(zip(ids, statuses)):
            s.add(Deploy(id=deploy_id, app_id=app.id, source_type="image", triggered_by="t", status=status,
                         created_at=start + timedelta(seconds=index),
                         finished_at=start + timedelta(seconds=index, milliseconds=500)))
            logs.create(deploy_id).append("log line")
            logs.finish(deploy_id, DeployStatus.SUCCESS)
        s.add(Deploy(id="old-other-app", app_id=other.id, source_type="image", triggered_by="t",
                     status="success", created_at=start - timedelta(days=1)))
        app_id = app.id
    return db, logs, app_id, ids


def _left(db: Database) -> list[str]:
    with db.session() as s:
        return sorted(s.scalars(select(Deploy.id)))


def test_only_the_newest_records_and_their_log_folders_are_kept(tmp_path):
    db, logs, app_id, ids = _store(tmp_path, ["success", "failed", "cancelled", "success", "success"])
    assert prune_deploys(db, logs, app_id, keep=2) == ids[:3]
    assert _left(db) == sorted(ids[3:] + ["old-other-app"])
    assert [logs.path_for(i).parent.exists() for i in ids] == [False, False, False, True, True]


def test_unfinished_deploys_are_never_pruned_however_old(tmp_path):
    db, logs, app_id, ids = _store(tmp_path, ["building", "queued", "success", "success", "success"])
    assert prune_deploys(db, logs, app_id, keep=1) == ids[2:4]
    assert _left(db) == sorted([ids[0], ids[1], ids[4], "old-other-app"])
    assert logs.path_for(ids[0]).is_file() and logs.path_for(ids[1]).is_file()


def test_the_newest_successful_deploys_survive_a_run_of_failures_as_rollback_targets(tmp_path):
    db, logs, app_id, ids = _store(tmp_path, ["success", "success", "failed", "failed", "failed"])
    assert prune_deploys(db, logs, app_id, keep=2, keep_success=1) == [ids[0], ids[2]]
    assert _left(db) == sorted([ids[1], ids[3], ids[4], "old-other-app"])


def test_nothing_is_pruned_below_the_limit(tmp_path):
    db, logs, app_id, ids = _store(tmp_path, ["success", "failed"])
    assert prune_deploys(db, logs, app_id, keep=100) == []
    assert len(_left(db)) == 3


def test_deploy_history_setting_is_read_from_agent_toml_and_must_be_at_least_one(tmp_path):
    assert load_config(tmp_path).deploy_history == 100
    (tmp_path / "agent.toml").write_text("deploy_history = 5\n")
    assert load_config(tmp_path).deploy_history == 5
    for bad in ("0", '"10"'):
        (tmp_path / "agent.toml").write_text(f"deploy_history = {bad}\n")
        with pytest.raises(ValueError, match="deploy_history"):
            load_config(tmp_path)
