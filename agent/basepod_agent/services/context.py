"""The agent's composition of services, built once by ``main`` and shared by the API."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from basepod_agent.config import AgentConfig
from basepod_agent.protocol.meta import RuntimeInfo
from basepod_agent.protocol.version import AGENT_VERSION, PROTOCOL_VERSION
from basepod_agent.runtime.podman import PodmanRuntime
from basepod_agent.services.apps import AppsService
from basepod_agent.services.auth import AuthService
from basepod_agent.services.crypto import SecretBox
from basepod_agent.services.deploys import DeployService
from basepod_agent.services.env import EnvService
from basepod_agent.services.events import EventBus
from basepod_agent.services.health import HealthService
from basepod_agent.services.keys import recover_interrupted_rotation
from basepod_agent.services.routing import RoutingService
from basepod_agent.services.limits import LimitsService
from basepod_agent.services.state import StateTracker
from basepod_agent.services.webhooks import WebhookService
from basepod_agent.store.database import Database
from basepod_agent.services.metrics import MetricsService


@dataclass
class AgentServices:
    config: AgentConfig
    db: Database
    runtime: PodmanRuntime
    bus: EventBus
    tracker: StateTracker
    auth: AuthService
    apps: AppsService
    env: EnvService
    health: HealthService
    deploys: DeployService
    started: float = field(default_factory=time.monotonic)
    podman_version: str | None = None
    webhooks: WebhookService = None  # type: ignore[assignment]  # always set by build()
    routing: RoutingService | None = None
    metrics: MetricsService | None = None
    limits: LimitsService | None = None

    @classmethod
    def build(cls, config: AgentConfig, podman_url: str) -> AgentServices:
        db = Database(config.db_path)
        db.migrate()
        recover_interrupted_rotation(config.key_path, db)
        box = SecretBox.from_file(config.key_path)
        runtime = PodmanRuntime(podman_url)
        bus = EventBus()
        tracker = StateTracker(runtime)
        auth = AuthService(db, timedelta(hours=config.token_ttl_hours))
        env = EnvService(db, box, bus)
        apps = AppsService(config, db, env, runtime, tracker, bus)
        health = HealthService(config, db, apps, tracker, bus)
        deploys = DeployService(config, db, box, apps, health, bus, podman_url)
        routing = RoutingService(config, db)
        apps.router, apps.url_of = routing, routing.url_of
        apps.on_lifecycle(routing.on_lifecycle)
        return cls(config=config, db=db, runtime=runtime, bus=bus, tracker=tracker, auth=auth, apps=apps,
                   env=env, health=health, deploys=deploys,
                   webhooks=WebhookService(config, db, box, deploys, bus), routing=routing,
                   metrics=MetricsService(config, db, runtime, tracker, apps, bus),
                   limits=LimitsService(config, db, apps))

    def runtime_info(self) -> RuntimeInfo:
        total, running = self.apps.counts()
        return RuntimeInfo(
            agent_version=AGENT_VERSION, protocol_version=PROTOCOL_VERSION,
            podman_version=self.podman_version, podman_reachable=self.tracker.podman_ok,
            apps_total=total, apps_running=running,
            uptime_seconds=round(time.monotonic() - self.started, 1),
        )

    async def aclose(self) -> None:
        if self.routing is not None:
            await self.routing.aclose()
        await self.runtime.aclose()
        self.db.close()
