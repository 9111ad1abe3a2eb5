"""Custom domains, kept releases and rollback (issue #6)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from basepod_agent.api.deps import Caller, caller, require, services
from basepod_agent.protocol.auth import Role
from basepod_agent.protocol.deploys import DeployCreated
from basepod_agent.protocol.routing import AppDomains, DomainsUpdate, ReleaseList, RollbackRequest
from basepod_agent.services.context import AgentServices

router = APIRouter(prefix="/api")
deployer = require(Role.DEPLOYER)


@router.get("/apps/{name}/domains", response_model=AppDomains)
async def get_domains(name: str, _: Caller = Depends(caller), svc: AgentServices = Depends(services)) -> AppDomains:
    return svc.routing.domains(name)


@router.put("/apps/{name}/domains", response_model=AppDomains)
async def put_domains(name: str, body: DomainsUpdate, who: Caller = Depends(deployer),
                      svc: AgentServices = Depends(services)) -> AppDomains:
    return await svc.routing.set_domains(who.actor, name, body)


@router.get("/apps/{name}/releases", response_model=ReleaseList)
async def releases(name: str, _: Caller = Depends(caller), svc: AgentServices = Depends(services)) -> ReleaseList:
    return await svc.deploys.releases.list(name)


@router.post("/apps/{name}/rollback", response_model=DeployCreated, status_code=202)
async def rollback(name: str, body: RollbackRequest | None = None, who: Caller = Depends(deployer),
                   svc: AgentServices = Depends(services)) -> DeployCreated:
    return await svc.deploys.rollback(who.actor, name, body.version if body else None)
