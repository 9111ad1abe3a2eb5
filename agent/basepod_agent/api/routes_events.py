"""The server event stream every connected desktop listens to."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from basepod_agent.api import streams
from basepod_agent.api.deps import ws_caller
from basepod_agent.protocol.events import Hello
from basepod_agent.protocol.version import AGENT_VERSION, PROTOCOL_VERSION
from basepod_agent.services.context import AgentServices
from basepod_agent.services.errors import AgentError

router = APIRouter(prefix="/api")


@router.websocket("/events")
async def events(websocket: WebSocket) -> None:
    await websocket.accept()
    svc: AgentServices = websocket.app.state.services
    try:
        ws_caller(websocket)
    except AgentError as exc:
        await streams.fail(websocket, exc)
        return

    async def messages():
        yield Hello(agent_version=AGENT_VERSION, protocol_version=PROTOCOL_VERSION)
        async with svc.bus.subscribe() as queue:
            while True:
                yield await queue.get()

    await streams.pump(websocket, messages())
