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


class Webhook(Base):
    """An app's GitHub webhook. The secret is AES-GCM ciphertext: HMACs need it back."""

    __tablename__ = "webhooks"
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    branch: Mapped[str] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    secret_rotated_at: Mapped[datetime]


class WebhookDeliveryRow(Base):
    """Delivery history shown to users; pruned per app."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    delivery_id: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime]
    event: Mapped[str | None] = mapped_column(String(64))
    branch: Mapped[str | None] = mapped_column(String(255))
    commit: Mapped[str | None] = mapped_column(String(40))
    commit_message: Mapped[str | None] = mapped_column(Text)
    repository: Mapped[str | None] = mapped_column(String(255))
    pusher: Mapped[str | None] = mapped_column(String(255))
    signature_ok: Mapped[bool] = mapped_column(Boolean)
    result: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    deploy_id: Mapped[str | None] = mapped_column(String(40))


class WebhookSeen(Base):
    """Signed delivery ids already handled, so a replay is refused even after a restart.

    Kept far longer than the history (a separate, tiny table) and never written for an
    unsigned request, so nobody can burn a real delivery id in advance.
    """

    __tablename__ = "webhook_seen"
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    at: Mapped[datetime]


class AppDomain(Base):
    """A custom domain routed to an app; the primary key makes it one app's only."""

    __tablename__ = "app_domains"
    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))


class AppRoute(Base):
    """The app's spare host port (the staged version's, during a cutover) and the cutover
    in flight, if any (JSON: image, port, command)."""

    __tablename__ = "app_routes"
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    spare_port: Mapped[int] = mapped_column(unique=True)
    pending_json: Mapped[str | None] = mapped_column(Text)
class MetricPoint(Base):
    """One sample (``res`` 0) or one roll-up bucket (``res`` 60 or 600 seconds) of an app.

    Clustered on (app, resolution, time) without a rowid: a range query is one
    contiguous read and the table needs no second index. Averages are over ``n`` samples.
    """

    __tablename__ = "metric_points"
    __table_args__ = {"sqlite_with_rowid": False}
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    res: Mapped[int] = mapped_column(primary_key=True)
    t: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int]
    cpu: Mapped[float] = mapped_column(Float)
    cpu_max: Mapped[float] = mapped_column(Float)
    mem: Mapped[float] = mapped_column(Float)
    mem_max: Mapped[int]
    mem_limit: Mapped[int | None]
    rx: Mapped[float] = mapped_column(Float)
    tx: Mapped[float] = mapped_column(Float)
    rd: Mapped[float] = mapped_column(Float)
    wr: Mapped[float] = mapped_column(Float)
    pids: Mapped[int]


class MetricAlertConfig(Base):
    """An app's own alert thresholds (JSON of protocol.AlertConfig); absent: the defaults."""

    __tablename__ = "metric_alert_configs"
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    config_json: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class MetricAlertRow(Base):
    """A fired alert; ``cleared_at`` None while it is active (so it survives an agent restart)."""

    __tablename__ = "metric_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(8))
    threshold: Mapped[float] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)
    fired_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]
