"""App lifecycle and logs."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response, WebSocket

from basepod_agent.api import streams
from basepod_agent.api.deps import Caller, caller, require, services, ws_caller
from basepod_agent.protocol.apps import AppCreate, AppInfo, AppList, LogChunk
from basepod_agent.protocol.auth import Role
from basepod_agent.protocol.events import LogBatch, LogEnd
from basepod_agent.services.context import AgentServices
from basepod_agent.services.errors import AgentError

router = APIRouter(prefix="/api")
deployer = require(Role.DEPLOYER)


@router.get("/apps", response_model=AppList)
async def list_apps(_: Caller = Depends(caller), svc: AgentServices = Depends(services)) -> Response:
    # The hot path of every dashboard refresh: serialise once, skip FastAPI's re-validation.
    return Response(AppList(apps=svc.apps.list()).model_dump_json(), media_type="application/json")


@router.post("/apps", response_model=AppInfo, status_code=201)
async def create_app(body: AppCreate, who: Caller = Depends(deployer),
                     svc: AgentServices = Depends(services)) -> AppInfo:
    return await svc.apps.create(who.actor, body)


@router.get("/apps/{name}", response_model=AppInfo)
async def get_app(name: str, _: Caller = Depends(caller), svc: AgentServices = Depends(services)) -> AppInfo:
    return svc.apps.get(name)


@router.delete("/apps/{name}", status_code=204)
async def delete_app(name: str, who: Caller = Depends(deployer),
                     svc: AgentServices = Depends(services)) -> Response:
    await svc.apps.delete(who.actor, name)
    return Response(status_code=204)


@router.post("/apps/{name}/start", response_model=AppInfo)
async def start_app(name: str, who: Caller = Depends(deployer), svc: AgentServices = Depends(services)) -> AppInfo:
    return await svc.apps.start(who.actor, name)


@router.post("/apps/{name}/stop", response_model=AppInfo)
async def stop_app(name: str, who: Caller = Depends(deployer), svc: AgentServices = Depends(services)) -> AppInfo:
    return await svc.apps.stop(who.actor, name)


@router.post("/apps/{name}/restart", response_model=AppInfo)
async def restart_app(name: str, who: Caller = Depends(deployer),
                      svc: AgentServices = Depends(services)) -> AppInfo:
    return await svc.apps.restart(who.actor, name)


@router.get("/apps/{name}/logs", response_model=LogChunk)
async def app_logs(name: str, tail: int = Query(200), _: Caller = Depends(caller),
                   svc: AgentServices = Depends(services)) -> LogChunk:
    return LogChunk(app=name, lines=await svc.apps.logs(name, tail))


@router.websocket("/apps/{name}/logs/stream")
async def app_logs_stream(websocket: WebSocket, name: str, tail: int = 100, since: str | None = None) -> None:
    await websocket.accept()
    svc: AgentServices = websocket.app.state.services
    try:
        ws_caller(websocket)
        svc.apps.get(name)
    except AgentError as exc:
        await streams.fail(websocket, exc)
        return

    async def messages():
        async for lines in streams.coalesce(svc.apps.follow_logs(name, tail, since)):
            yield LogBatch(lines=lines)
        yield LogEnd(reason="the container stopped")

    await streams.pump(websocket, messages())
