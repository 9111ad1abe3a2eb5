"""Per-app CPU and memory caps."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from basepod_agent.api.deps import Caller, caller, require, services
from basepod_agent.protocol.auth import Role
from basepod_agent.protocol.limits import LimitsUpdate, LimitsView
from basepod_agent.services.context import AgentServices

router = APIRouter(prefix="/api")
deployer = require(Role.DEPLOYER)


@router.get("/apps/{name}/limits", response_model=LimitsView)
async def get_limits(name: str, _: Caller = Depends(caller), svc: AgentServices = Depends(services)) -> LimitsView:
    return svc.limits.view(name)


@router.put("/apps/{name}/limits", response_model=LimitsView)
async def put_limits(name: str, body: LimitsUpdate, who: Caller = Depends(deployer),
                     svc: AgentServices = Depends(services)) -> LimitsView:
    """Omitted fields keep the app's override, null clears it, "unlimited" removes the cap."""
    return await svc.limits.update(who.actor, name, body)
