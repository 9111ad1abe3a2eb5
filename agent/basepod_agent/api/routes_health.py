"""Health-check configuration, verdict and history of an app."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from basepod_agent.api.deps import Caller, caller, require, services
from basepod_agent.protocol.auth import Role
from basepod_agent.protocol.health import HealthConfig, HealthHistory, HealthReport
from basepod_agent.services.context import AgentServices

router = APIRouter(prefix="/api")
deployer = require(Role.DEPLOYER)


@router.get("/apps/{name}/health", response_model=HealthReport)
async def get_health(name: str, _: Caller = Depends(caller), svc: AgentServices = Depends(services)) -> HealthReport:
    return svc.health.report(name)


@router.put("/apps/{name}/health", response_model=HealthReport)
async def put_health(name: str, body: HealthConfig, who: Caller = Depends(deployer),
                     svc: AgentServices = Depends(services)) -> HealthReport:
    return svc.health.configure(who.actor, name, body)


@router.get("/apps/{name}/health/history", response_model=HealthHistory)
async def health_history(name: str, limit: int = Query(50), _: Caller = Depends(caller),
                         svc: AgentServices = Depends(services)) -> HealthHistory:
    return svc.health.history(name, limit)
