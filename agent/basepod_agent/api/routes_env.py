"""Environment variables of an app. Values leave the agent only for admins."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from basepod_agent.api.deps import Caller, require, services
from basepod_agent.protocol.apps import AppInfo
from basepod_agent.protocol.auth import Role
from basepod_agent.protocol.env import EnvPatch, EnvReplace, EnvState, EnvView
from basepod_agent.services.context import AgentServices

router = APIRouter(prefix="/api")
deployer = require(Role.DEPLOYER)
admin = require(Role.ADMIN)


@router.get("/apps/{name}/env", response_model=EnvView)
async def get_env(name: str, _: Caller = Depends(admin), svc: AgentServices = Depends(services)) -> EnvView:
    return svc.env.view(name)


@router.put("/apps/{name}/env", response_model=EnvState)
async def put_env(name: str, body: EnvReplace, who: Caller = Depends(deployer),
                  svc: AgentServices = Depends(services)) -> EnvState:
    return svc.env.replace(who.actor, name, body)


@router.patch("/apps/{name}/env", response_model=EnvState)
async def patch_env(name: str, body: EnvPatch, who: Caller = Depends(deployer),
                    svc: AgentServices = Depends(services)) -> EnvState:
    return svc.env.patch(who.actor, name, body)


@router.post("/apps/{name}/apply", response_model=AppInfo)
async def apply_app(name: str, who: Caller = Depends(deployer), svc: AgentServices = Depends(services)) -> AppInfo:
    """Recreate the container with the current env ("restart needed" -> applied)."""
    return await svc.apps.apply(who.actor, name)
