"""Webhook calls of the desktop (the Webhook tab), through a fleet's connections.

Kept out of ``fleet.py``: the tab is the only user, and it needs nothing of the fleet
but a connection to call through.
"""

from __future__ import annotations

from typing import Optional

from basepod_agent.protocol import WebhookDelivered, WebhookDelivery, WebhookSecret, WebhookSetupResult, WebhookStatus
from basepod_desktop.client import Forbidden
from basepod_desktop.core.fleet import Fleet


class WebhookCalls:
    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet

    async def status(self, server: str, app: str) -> WebhookStatus:
        return await self.fleet.connection(server).call(lambda c: c.webhook_status(app))

    async def setup(self, server: str, app: str, branch: Optional[str] = None) -> WebhookSetupResult:
        return await self.fleet.connection(server).call(lambda c: c.webhook_setup(app, branch))

    async def secret(self, server: str, app: str) -> WebhookSecret:
        return await self.fleet.connection(server).call(lambda c: c.webhook_secret(app))

    async def disable(self, server: str, app: str) -> WebhookStatus:
        return await self.fleet.connection(server).call(lambda c: c.webhook_disable(app))

    async def deliveries(self, server: str, app: str, limit: int = 50) -> list[WebhookDelivery]:
        return await self.fleet.connection(server).call(lambda c: c.webhook_deliveries(app, limit))

    async def overview(self, server: str, app: str) -> tuple[WebhookStatus, list[WebhookDelivery]]:
        """What the tab shows, in one task: status, then deliveries when the caller may read
        them (a viewer may not: the tab then shows the setup without the history)."""
        status = await self.status(server, app)
        if not status.enabled and status.last_delivery_at is None:
            return status, []
        try:
            return status, await self.deliveries(server, app)
        except Forbidden:
            return status, []


def is_delivery_of(event: object, app: str) -> bool:
    return isinstance(event, WebhookDelivered) and event.app == app


def short_commit(sha: Optional[str]) -> str:
    return sha[:10] if sha else "-"
