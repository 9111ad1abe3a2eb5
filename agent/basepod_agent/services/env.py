"""Environment variables: encrypted at rest, revisioned, and never in ``AppInfo``.

Every change bumps ``apps.env_revision``; the container carries the env of
``apps.applied_env_revision``. While they differ the app shows "restart needed", and
the next start/restart/apply recreates the container (Podman cannot change the env of
an existing container).
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from basepod_agent.protocol.env import EnvPatch, EnvReplace, EnvState, EnvView
from basepod_agent.protocol.errors import ErrorCode
from basepod_agent.protocol.events import EnvChanged
from basepod_agent.protocol.validation import env_problem
from basepod_agent.services import activity
from basepod_agent.services.crypto import SecretBox, env_aad
from basepod_agent.services.errors import AgentError, not_found
from basepod_agent.services.events import EventBus
from basepod_agent.store.database import Database
from basepod_agent.store.models import App, EnvVar


def app_row(session: Session, name: str) -> App:
    row = session.scalar(select(App).where(App.name == name))
    if row is None:
        raise not_found(f"app {name!r}")
    return row


def restart_needed(row: App) -> bool:
    return row.env_revision != row.applied_env_revision


class EnvService:
    def __init__(self, db: Database, box: SecretBox, bus: EventBus) -> None:
        self.db, self.box, self.bus = db, box, bus

    # --- used inside other services' transactions -------------------------------------

    def read(self, session: Session, app_id: int) -> dict[str, str]:
        pairs = session.execute(select(EnvVar.key, EnvVar.value_enc).where(EnvVar.app_id == app_id))
        return {key: self.box.decrypt(blob, env_aad(app_id, key)) for key, blob in pairs}

    def write(self, session: Session, app_id: int, env: dict[str, str]) -> None:
        """Replace the app's whole set; the caller's transaction makes it atomic."""
        session.execute(delete(EnvVar).where(EnvVar.app_id == app_id))
        session.flush()
        for key, value in env.items():
            session.add(EnvVar(app_id=app_id, key=key, value_enc=self.box.encrypt(value, env_aad(app_id, key))))

    # --- API --------------------------------------------------------------------------

    def view(self, name: str) -> EnvView:
        with self.db.session() as s:
            row = app_row(s, name)
            env = self.read(s, row.id)
            return EnvView(env=dict(sorted(env.items())), revision=row.env_revision,
                           restart_needed=restart_needed(row))

    def replace(self, actor: str, name: str, req: EnvReplace) -> EnvState:
        return self._update(actor, name, req.revision, "env.replace", lambda _current: dict(req.env))

    def patch(self, actor: str, name: str, req: EnvPatch) -> EnvState:
        def change(current: dict[str, str]) -> dict[str, str]:
            updated = {k: v for k, v in current.items() if k not in req.unset}
            updated.update(req.set)
            return updated

        action = "env.set" if req.set and not req.unset else "env.unset" if not req.set else "env.patch"
        return self._update(actor, name, req.revision, action, change)

    def _update(self, actor: str, name: str, revision: int | None, action: str, change) -> EnvState:
        """Read, check the revision, change, validate the result, write: one transaction."""
        with self.db.session() as s:
            row = app_row(s, name)
            if revision is not None and revision != row.env_revision:
                raise AgentError(
                    ErrorCode.CONFLICT,
                    f"the env of {name} changed meanwhile (revision {row.env_revision}, your edit was "
                    f"based on {revision}); reload and edit again", "revision",
                )
            current = self.read(s, row.id)
            updated = change(current)
            if problem := env_problem(updated):
                raise AgentError(ErrorCode.INVALID_INPUT, problem, "env")
            if updated != current:
                self.write(s, row.id, updated)
                row.env_revision += 1
                row.updated_at = activity.utcnow()
                changed = sorted(k for k in current.keys() | updated.keys() if current.get(k) != updated.get(k))
                activity.record(s, actor, action, name, f"keys={','.join(changed)}"[:500])
            state = EnvState(keys=sorted(updated), revision=row.env_revision, restart_needed=restart_needed(row))
        if updated != current:
            self.bus.publish(EnvChanged(app=name, revision=state.revision,
                                        restart_needed=state.restart_needed, at=activity.utcnow()))
        return state
