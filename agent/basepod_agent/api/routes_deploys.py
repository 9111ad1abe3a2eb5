"""Sources, deploys, their logs (HTTP and live WebSocket) and local-source uploads."""

from __future__ import annotations

import os

from fastapi import APIRouter, Body, Depends, Query, Request, WebSocket
from pydantic import ValidationError

from basepod_agent.api import streams
from basepod_agent.api.deps import Caller, caller, require, services, ws_caller
from basepod_agent.protocol.auth import Role
from basepod_agent.protocol.deploys import (
    SOURCE_ADAPTER,
    BuildEnd,
    DeployCreated,
    DeployImageRequest,
    DeployInfo,
    DeployList,
    DeployLog,
    DeployRequest,
    DeployStatus,
    GeneratedDockerfile,
    SourceInfo,
)
from basepod_agent.protocol.errors import ErrorCode
from basepod_agent.services.context import AgentServices
from basepod_agent.services.errors import AgentError

router = APIRouter(prefix="/api")
deployer = require(Role.DEPLOYER)
UPLOAD_PATH = r"/api/apps/[^/]+/deploy/upload"
MAX_LOG_READ = 1024 * 1024
_COMMIT_CHARS = set("0123456789abcdefABCDEF")


@router.get("/apps/{name}/source", response_model=SourceInfo)
async def get_source(name: str, _: Caller = Depends(caller), svc: AgentServices = Depends(services)) -> SourceInfo:
    return svc.deploys.get_source(name)


@router.put("/apps/{name}/source", response_model=SourceInfo)
async def put_source(name: str, body: dict = Body(...), who: Caller = Depends(deployer),
                     svc: AgentServices = Depends(services)) -> SourceInfo:
    try:
        source = SOURCE_ADAPTER.validate_python(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"][1:]) or "type"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise AgentError(ErrorCode.INVALID_INPUT, f"{field}: {message}", field) from None
    return svc.deploys.set_source(who.actor, name, source)


@router.post("/apps/{name}/deploy", response_model=DeployCreated, status_code=202)
async def deploy(name: str, body: DeployRequest | None = None, who: Caller = Depends(deployer),
                 svc: AgentServices = Depends(services)) -> DeployCreated:
    return await svc.deploys.deploy(who.actor, name, body.commit if body else None)


@router.post("/apps/{name}/deploy/image", response_model=DeployCreated, status_code=202)
async def deploy_image(name: str, body: DeployImageRequest, who: Caller = Depends(deployer),
                       svc: AgentServices = Depends(services)) -> DeployCreated:
    return await svc.deploys.deploy_image(who.actor, name, body.image)


@router.post("/apps/{name}/deploy/upload", response_model=DeployCreated, status_code=202)
async def deploy_upload(request: Request, name: str, commit: str | None = Query(None, max_length=40),
                        message: str | None = Query(None, max_length=1000), who: Caller = Depends(deployer),
                        svc: AgentServices = Depends(services)) -> DeployCreated:
    """The body is a tar (optionally gzip) of the source; the body limit middleware caps it
    at ``max_upload_bytes``. ``commit``/``message`` describe a git checkout, if it is one."""
    svc.apps.get(name)
    if commit is not None and (len(commit) < 7 or not set(commit) <= _COMMIT_CHARS):
        raise AgentError(ErrorCode.INVALID_INPUT, "commit must be 7 to 40 hexadecimal digits", "commit")
    path = svc.deploys.upload_path()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            async for chunk in request.stream():
                handle.write(chunk)
        if path.stat().st_size == 0:
            raise AgentError(ErrorCode.INVALID_INPUT, "the upload is empty: send a tar of the source")
        return await svc.deploys.deploy_upload(who.actor, name, path, commit.lower() if commit else None,
                                               message.splitlines()[0] if message else None)
    finally:
        path.unlink(missing_ok=True)


@router.get("/apps/{name}/deploys", response_model=DeployList)
async def list_deploys(name: str, limit: int = Query(50), _: Caller = Depends(caller),
                       svc: AgentServices = Depends(services)) -> DeployList:
    return DeployList(deploys=svc.deploys.list(name, limit))


@router.get("/apps/{name}/deploys/{deploy_id}", response_model=DeployInfo)
async def get_deploy(name: str, deploy_id: str, _: Caller = Depends(caller),
                     svc: AgentServices = Depends(services)) -> DeployInfo:
    return svc.deploys.get(name, deploy_id)


@router.get("/apps/{name}/deploys/{deploy_id}/log", response_model=DeployLog)
async def deploy_log(name: str, deploy_id: str, offset: int = Query(0, ge=0),
                     limit: int = Query(MAX_LOG_READ, ge=1, le=MAX_LOG_READ), _: Caller = Depends(caller),
                     svc: AgentServices = Depends(services)) -> DeployLog:
    info = svc.deploys.get(name, deploy_id)
    log = svc.deploys.log_of(name, deploy_id)
    text, next_offset = log.read(offset, limit)
    return DeployLog(id=deploy_id, status=info.status, offset=offset, next_offset=next_offset,
                     size=log.size, text=text)


@router.get("/apps/{name}/deploys/{deploy_id}/dockerfile", response_model=GeneratedDockerfile)
async def deploy_dockerfile(name: str, deploy_id: str, _: Caller = Depends(caller),
                            svc: AgentServices = Depends(services)) -> GeneratedDockerfile:
    return GeneratedDockerfile(id=deploy_id, text=svc.deploys.dockerfile(name, deploy_id))


@router.post("/apps/{name}/deploys/{deploy_id}/cancel", response_model=DeployInfo)
async def cancel_deploy(name: str, deploy_id: str, who: Caller = Depends(deployer),
                        svc: AgentServices = Depends(services)) -> DeployInfo:
    return svc.deploys.cancel(who.actor, name, deploy_id)


@router.websocket("/apps/{name}/deploys/{deploy_id}/log/stream")
async def deploy_log_stream(websocket: WebSocket, name: str, deploy_id: str, offset: int = 0) -> None:
    """Everything from ``offset`` (default: the start), then the live tail, then BuildEnd."""
    await websocket.accept()
    svc: AgentServices = websocket.app.state.services
    try:
        ws_caller(websocket)
        log = svc.deploys.log_of(name, deploy_id)
    except AgentError as exc:
        await streams.fail(websocket, exc)
        return

    async def messages():
        async for chunk in log.follow(max(offset, 0)):
            yield chunk
        status = log.status or svc.deploys.get(name, deploy_id).status
        yield BuildEnd(status=status if isinstance(status, DeployStatus) else DeployStatus(status))

    await streams.pump(websocket, messages())
