"""Bounded deploy history: an app keeps its newest ``keep`` deploy records and logs.

Pruned whenever one of the app's deploys finishes, so the history never grows past
``keep`` finished records plus the unfinished ones, which are never removed: a running
deploy still writes its record and log, and a queued one is about to. The newest
``keep_success`` successful records also stay whatever their age: release retention
(services/releases.py) counts kept versions over them, so a run of failed deploys must
not make a rollback target vanish. Images are not this module's business.
"""

from __future__ import annotations

import shutil

from sqlalchemy import delete, select

from basepod_agent.protocol.deploys import DeployStatus
from basepod_agent.services.buildlog import BuildLogStore
from basepod_agent.store.database import Database
from basepod_agent.store.models import Deploy

_UNFINISHED = (DeployStatus.QUEUED.value, DeployStatus.BUILDING.value, DeployStatus.DEPLOYING.value)


def prune_deploys(db: Database, logs: BuildLogStore, app_id: int, keep: int, keep_success: int = 0) -> list[str]:
    """Delete the app's finished deploys older than its newest ``keep`` (sparing the newest
    ``keep_success`` successful ones); return their ids."""
    with db.session() as s:
        newest = select(Deploy.id).where(Deploy.app_id == app_id).order_by(
            Deploy.created_at.desc(), Deploy.id.desc()).limit(keep)
        releases = select(Deploy.id).where(Deploy.app_id == app_id, Deploy.status == DeployStatus.SUCCESS.value).order_by(
            Deploy.finished_at.desc(), Deploy.id.desc()).limit(keep_success)
        doomed = list(s.scalars(select(Deploy.id).where(
            Deploy.app_id == app_id, Deploy.status.not_in(_UNFINISHED), Deploy.id.not_in(newest),
            Deploy.id.not_in(releases)).order_by(Deploy.created_at)))
        if doomed:
            s.execute(delete(Deploy).where(Deploy.id.in_(doomed)))
    for deploy_id in doomed:
        shutil.rmtree(logs.path_for(deploy_id).parent, ignore_errors=True)
    return doomed
