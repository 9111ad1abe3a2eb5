"""Version, login/logout, who-am-I and server status."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from basepod_agent.api.deps import Caller, caller, services
from basepod_agent.protocol.auth import LoginRequest, LoginResponse, WhoAmI
from basepod_agent.protocol.meta import RuntimeInfo, VersionInfo
from basepod_agent.protocol.version import AGENT_VERSION, PROTOCOL_VERSION
from basepod_agent.services.context import AgentServices

router = APIRouter(prefix="/api")


@router.get("/version", response_model=VersionInfo)
async def version() -> VersionInfo:
    return VersionInfo(agent_version=AGENT_VERSION, protocol_version=PROTOCOL_VERSION)


@router.post("/auth/login", response_model=LoginResponse)
async def login(body: LoginRequest, svc: AgentServices = Depends(services)) -> LoginResponse:
    return await svc.auth.login(body.email, body.password)


@router.post("/auth/logout", status_code=204)
async def logout(who: Caller = Depends(caller), svc: AgentServices = Depends(services)) -> Response:
    svc.auth.logout(who.token)
    return Response(status_code=204)


@router.get("/auth/me", response_model=WhoAmI)
async def me(who: Caller = Depends(caller)) -> WhoAmI:
    return WhoAmI(user=who.user, token_expires_at=who.expires_at)


@router.get("/status", response_model=RuntimeInfo)
async def status(_: Caller = Depends(caller), svc: AgentServices = Depends(services)) -> RuntimeInfo:
    return svc.runtime_info()
