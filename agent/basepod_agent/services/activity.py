"""The activity log: every state change records who did what to which target."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.orm import Session

from basepod_agent.store.models import Activity


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def record(session: Session, actor: str, action: str, target: str, detail: str | None = None) -> None:
    """Written in the caller's transaction, so the log and the change land together."""
    session.add(Activity(at=utcnow(), actor=actor, action=action, target=target, detail=detail))
