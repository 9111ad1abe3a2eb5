"""Rotation of the secrets key, safe against interruption at any point.

Order: write ``agent.key.new``; hard-link the current key to ``agent.key.old`` (the
backup, 0600 like its source); re-encrypt every secret in one transaction; atomically
rename ``agent.key.new`` over ``agent.key``; remove the backup. If the process dies in
between, the key files left behind tell that a rotation was under way, and
``recover_interrupted_rotation`` (run by ``rotate-key`` and at every agent start) keeps
whichever key actually decrypts the database.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from sqlalchemy import select, text

from basepod_agent.services.crypto import SecretBox, create_key_file, deploy_key_aad, env_aad, webhook_secret_aad
from basepod_agent.store.database import Database
from basepod_agent.store.models import AppSource, EnvVar, Webhook

log = logging.getLogger(__name__)


class KeyRotationError(Exception):
    pass


def _siblings(key_path: Path) -> tuple[Path, Path]:
    return key_path.with_name(key_path.name + ".new"), key_path.with_name(key_path.name + ".old")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _opens_database(box: SecretBox, db: Database) -> bool:
    """True when ``box`` decrypts a stored secret (or when there is none to check)."""
    with db.session() as s:
        row = s.scalars(select(EnvVar).limit(1)).first()
        if row is None:
            return True
        try:
            box.decrypt(row.value_enc, env_aad(row.app_id, row.key))
        except Exception:
            return False
        return True


def recover_interrupted_rotation(key_path: Path, db: Database) -> None:
    new, old = _siblings(key_path)
    if not new.exists() and not old.exists():
        return
    for candidate in (key_path, new, old):
        if candidate.exists() and _opens_database(SecretBox.from_file(candidate), db):
            if candidate != key_path:
                os.replace(candidate, key_path)
                _fsync_dir(key_path.parent)
            new.unlink(missing_ok=True)
            old.unlink(missing_ok=True)
            log.warning("finished an interrupted key rotation: kept %s", candidate.name)
            return
    raise KeyRotationError(f"none of {key_path.name}, {new.name}, {old.name} decrypts the stored secrets")


def _agent_answers(control_socket: Path) -> bool:
    if not control_socket.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect(str(control_socket))
        except OSError:
            return False
    return True


def rotate_key(key_path: Path, db_path: Path, control_socket: Path) -> int:
    """Re-encrypt every secret under a fresh key; return how many values were rewritten.

    Refused while the agent runs: it holds the old key in memory and would write
    values the new key cannot read.
    """
    if _agent_answers(control_socket):
        raise KeyRotationError(f"the agent is running (it answers on {control_socket}); stop it first")
    new, old = _siblings(key_path)
    db = Database(db_path)
    try:
        db.migrate()
        recover_interrupted_rotation(key_path, db)
        old_box = SecretBox.from_file(key_path)
        create_key_file(new)
        new_box = SecretBox.from_file(new)
        os.link(key_path, old)
        with db.session() as s:
            rows = s.scalars(select(EnvVar)).all()
            for row in rows:
                aad = env_aad(row.app_id, row.key)
                row.value_enc = new_box.encrypt(old_box.decrypt(row.value_enc, aad), aad)
            count = len(rows)
            for source in s.scalars(select(AppSource).where(AppSource.deploy_key_enc.is_not(None))).all():
                aad = deploy_key_aad(source.app_id)
                source.deploy_key_enc = new_box.encrypt(old_box.decrypt(source.deploy_key_enc, aad), aad)
                count += 1
            for hook in s.scalars(select(Webhook)).all():
                aad = webhook_secret_aad(hook.app_id)
                hook.secret_enc = new_box.encrypt(old_box.decrypt(hook.secret_enc, aad), aad)
                count += 1
        with db.engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(FULL)"))
        os.replace(new, key_path)
        _fsync_dir(key_path.parent)
        old.unlink()
        return count
    finally:
        db.close()
