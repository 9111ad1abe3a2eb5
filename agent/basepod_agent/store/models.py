"""SQLAlchemy tables. Columns are added only through a migration in ``migrations.py``."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """SQLite forgets time zones; everything is stored in UTC and read back aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None else None


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(512))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class Token(Base):
    """Only the SHA-256 of a token is kept: a leaked database grants no session."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="session")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class App(Base):
    __tablename__ = "apps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    image: Mapped[str] = mapped_column(String(255))
    port: Mapped[int]
    host_port: Mapped[int] = mapped_column(unique=True)
    command_json: Mapped[str | None] = mapped_column(Text)
    desired_state: Mapped[str] = mapped_column(String(16), default="running")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    env_revision: Mapped[int] = mapped_column(default=0)
    applied_env_revision: Mapped[int] = mapped_column(default=0)
    # Resource limit overrides: NULL = the agent's default applies, 0 = explicitly no cap.
    cpus_limit: Mapped[float | None] = mapped_column(Float)
    memory_limit: Mapped[int | None] = mapped_column(Integer)


class EnvVar(Base):
    """Values are AES-GCM ciphertext; the key file never enters the database."""

    __tablename__ = "env_vars"
    __table_args__ = (UniqueConstraint("app_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    value_enc: Mapped[bytes] = mapped_column(LargeBinary)


class Activity(Base):
    __tablename__ = "activity"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str | None] = mapped_column(Text)


class HealthCheck(Base):
    """Config (JSON of protocol.HealthConfig) plus the state the loop resumes from."""

    __tablename__ = "health_checks"
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    config_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(Text)
    restarts_json: Mapped[str] = mapped_column(Text, default="[]")
    gave_up: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]


class HealthProbeRow(Base):
    __tablename__ = "health_probes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None]
    latency_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)


class HealthEventRow(Base):
    __tablename__ = "health_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    status: Mapped[str | None] = mapped_column(String(8))
    previous: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)


class AppSource(Base):
    """Where an app's code comes from (issue #5). The deploy key is AES-GCM ciphertext."""

    __tablename__ = "app_sources"
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    type: Mapped[str] = mapped_column(String(8))
    url: Mapped[str | None] = mapped_column(Text)
    branch: Mapped[str | None] = mapped_column(String(255))
    subdir: Mapped[str | None] = mapped_column(Text)
    image: Mapped[str | None] = mapped_column(String(255))
    deploy_key_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime]


class Deploy(Base):
    """One deploy: what was asked for, how it went. The log lives in deploys/<id>/build.log."""

    __tablename__ = "deploys"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    source_type: Mapped[str] = mapped_column(String(8))
    requested: Mapped[str | None] = mapped_column(String(255))  # commit or image asked for
    commit: Mapped[str | None] = mapped_column(String(40))
    commit_message: Mapped[str | None] = mapped_column(Text)
    triggered_by: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    image_tag: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    dockerfile_generated: Mapped[bool] = mapped_column(Boolean, default=False)
