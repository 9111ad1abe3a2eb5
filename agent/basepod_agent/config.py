"""Agent settings: command-line flags over ``agent.toml`` in the state dir over defaults.

A leaf module: every layer may read settings, and it imports nothing from them.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

DEFAULT_STATE_DIR = Path("/var/lib/basepod")
CONFIG_FILE = "agent.toml"
KEY_FILE = "agent.key"
DB_FILE = "agent.db"
SOCKET_FILE = "agent.sock"
TLS_MODES = ("auto", "internal", "off")


@dataclass
class AgentConfig:
    state_dir: Path = DEFAULT_STATE_DIR
    socket_path: Path | None = None
    edge: str | None = None
    podman_url: str | None = None
    port_range: tuple[int, int] = (20000, 29999)
    public_host: str | None = None
    stop_timeout: int = 10
    token_ttl_hours: float = 24 * 30
    max_body_bytes: int = 1024 * 1024
    reconcile_interval: float = 30.0
    health_min_interval: float = 1.0  # users get >= 1 s; tests lower it in agent.toml
    health_concurrency: int = 50  # probes in flight at once, whatever the number of apps
    max_upload_bytes: int = 200 * 1024 * 1024  # local-folder deploys (POST .../deploy/upload)
    build_log_bytes: int = 5 * 1024 * 1024  # per deploy; the end of a longer log is kept
    git_timeout: float = 600.0
    base_images: dict[str, str] = field(default_factory=dict)  # [base_images] for the buildpack fallback
    deploy_history: int = 100  # deploy records (and logs) kept per app; unfinished ones always stay
    default_cpus: float | None = None  # CPU cap for apps without their own; None = no cap
    default_memory: int | None = None  # bytes (agent.toml and --default-memory take "512M")
    extra: dict = field(default_factory=dict)
    public_url: str | None = None  # e.g. https://deploy.example.com: where GitHub reaches the edge API
    webhook_max_body_bytes: int = 1024 * 1024  # GitHub push payloads; the rest of the edge keeps 256 KiB
    webhook_rate_per_minute: float = 60.0  # per app and per source IP (token buckets)
    webhook_burst: int = 20
    # Routing through Caddy (issue #6): on when http_port is set; see services/routing.py.
    http_port: int | None = None
    https_port: int | None = None
    root_domain: str = "localhost"
    tls_mode: str = "auto"  # auto: ACME for public names, plain HTTP for local ones; internal; off
    caddy_admin: str | None = None  # an existing Caddy's admin API; None: the agent runs its own
    caddy_binary: str = "caddy"
    drain_seconds: float = 5.0  # the old version keeps running this long after the switch
    cutover_timeout: float = 60.0  # the new version must be healthy within this
    routing_check_interval: float = 2.0  # how often Caddy's routes are checked and re-applied
    keep_releases: int = 5
    metrics_interval: float = 10.0  # seconds between collector ticks (one Podman stats call each)
    metrics_retention_days: float = 14.0  # how long 10-minute points are kept
    metrics_alerts: dict = field(default_factory=dict)  # [metrics_alerts]: default alert thresholds

    @property
    def key_path(self) -> Path:
        return self.state_dir / KEY_FILE

    @property
    def db_path(self) -> Path:
        return self.state_dir / DB_FILE

    @property
    def control_socket(self) -> Path:
        return self.socket_path or self.state_dir / SOCKET_FILE

    @property
    def routing(self) -> bool:
        return self.http_port is not None

    @property
    def podman_socket_default(self) -> Path:
        """Where the agent starts its own ``podman system service`` when none runs."""
        return self.state_dir / "podman.sock"


def parse_port_range(text: str) -> tuple[int, int]:
    try:
        low_text, high_text = text.split("-", 1)
        low, high = int(low_text), int(high_text)
    except ValueError:
        raise ValueError(f"port range {text!r} must look like 20000-29999") from None
    if not (1024 <= low <= high <= 65535):
        raise ValueError(f"port range {text!r} must lie within 1024-65535, low before high")
    return low, high


def _limit_defaults(values: dict, path: Path) -> None:
    from basepod_agent.protocol.limits import UNLIMITED, cpus_problem, parse_memory

    if values.get("default_memory") in (UNLIMITED, 0, ""):
        values["default_memory"] = None
    if values.get("default_memory") is not None:
        try:
            values["default_memory"] = parse_memory(values["default_memory"])
        except ValueError as exc:
            raise ValueError(f"default_memory in {path} or --default-memory: {exc}") from None
    if values.get("default_cpus") in (UNLIMITED, 0):
        values["default_cpus"] = None
    if values.get("default_cpus") is not None:
        cpus = values["default_cpus"]
        problem = "cpus must be a number" if isinstance(cpus, bool) or not isinstance(cpus, (int, float)) \
            else cpus_problem(float(cpus), os.cpu_count() or 1)
        if problem:
            raise ValueError(f"default_cpus in {path} or --default-cpus: {problem}")
        values["default_cpus"] = float(cpus)


def load_config(state_dir: Path, **overrides) -> AgentConfig:
    """Build the config; ``None`` overrides mean "not given on the command line"."""
    values: dict = {}
    path = state_dir / CONFIG_FILE
    if path.exists():
        with path.open("rb") as fh:
            values.update(tomllib.load(fh))
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(AgentConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown settings in {path}: {', '.join(unknown)}")
    if isinstance(values.get("port_range"), str):
        values["port_range"] = parse_port_range(values["port_range"])
    if not isinstance(values.get("base_images", {}), dict) or not all(
            isinstance(v, str) for v in values.get("base_images", {}).values()):
        raise ValueError(f"[base_images] in {path} must map stack names to image names")
    if not isinstance(values.get("deploy_history", 1), int) or values.get("deploy_history", 1) < 1:
        raise ValueError(f"deploy_history in {path} must be a whole number of at least 1")
    public_url = values.get("public_url")
    if public_url is not None and not (isinstance(public_url, str) and public_url.startswith(("https://", "http://"))):
        raise ValueError(f"public_url {public_url!r} must start with https:// (or http://)")
    if values.get("tls_mode", "auto") not in TLS_MODES:
        raise ValueError(f"tls_mode must be one of {', '.join(TLS_MODES)}")
    _check_metrics(values, path)
    _limit_defaults(values, path)
    for key in ("socket_path",):
        if isinstance(values.get(key), str):
            values[key] = Path(values[key])
    return AgentConfig(state_dir=state_dir, **values)


_ALERT_KEYS = {"enabled", "cpu_percent", "memory_percent", "for_seconds"}


def _check_metrics(values: dict, path: Path) -> None:
    interval = values.get("metrics_interval", 10.0)
    if not isinstance(interval, (int, float)) or not 1 <= interval <= 3600:
        raise ValueError(f"metrics_interval in {path} must be between 1 and 3600 seconds")
    alerts = values.get("metrics_alerts", {})
    if not isinstance(alerts, dict) or set(alerts) - _ALERT_KEYS:
        raise ValueError(f"[metrics_alerts] in {path} takes only {', '.join(sorted(_ALERT_KEYS))}")
    for key in ("cpu_percent", "memory_percent"):
        value = alerts.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not 0 < value <= 100):
            raise ValueError(f"[metrics_alerts] {key} in {path} must be a percentage above 0, at most 100")
    hold = alerts.get("for_seconds", 300)
    if isinstance(hold, bool) or not isinstance(hold, int) or not 0 <= hold <= 86_400:
        raise ValueError(f"[metrics_alerts] for_seconds in {path} must be whole seconds, 0-86400")
    if not isinstance(alerts.get("enabled", True), bool):
        raise ValueError(f"[metrics_alerts] enabled in {path} must be true or false")
