"""Webhook setup, status, the secret on demand and the delivery history (control API)."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query

from basepod_agent.api.deps import Caller, caller, require, services
from basepod_agent.protocol.auth import Role
from basepod_agent.protocol.webhooks import (
    WebhookDeliveryList, WebhookSecret, WebhookSetup, WebhookSetupResult, WebhookStatus,
)
from basepod_agent.services.context import AgentServices

router = APIRouter(prefix="/api")
deployer = require(Role.DEPLOYER)


@router.get("/apps/{name}/webhook", response_model=WebhookStatus)
async def webhook_status(name: str, _: Caller = Depends(caller), svc: AgentServices = Depends(services)):
    return svc.webhooks.status(name)


@router.post("/apps/{name}/webhook/setup", response_model=WebhookSetupResult)
async def webhook_setup(name: str, body: WebhookSetup | None = Body(default=None), who: Caller = Depends(deployer),
                        svc: AgentServices = Depends(services)):
    return svc.webhooks.setup(who.actor, name, body or WebhookSetup())


@router.get("/apps/{name}/webhook/secret", response_model=WebhookSecret)
async def webhook_secret(name: str, who: Caller = Depends(deployer), svc: AgentServices = Depends(services)):
    """The secret in full; every call is written to the activity log."""
    return svc.webhooks.reveal(who.actor, name)


@router.delete("/apps/{name}/webhook", response_model=WebhookStatus)
async def webhook_disable(name: str, who: Caller = Depends(deployer), svc: AgentServices = Depends(services)):
    return svc.webhooks.disable(who.actor, name)


@router.get("/apps/{name}/webhook/deliveries", response_model=WebhookDeliveryList)
async def webhook_deliveries(name: str, limit: int = Query(50), _: Caller = Depends(deployer),
                             svc: AgentServices = Depends(services)):
    return WebhookDeliveryList(deliveries=svc.webhooks.deliveries(name, limit))
