"""WebSocket plumbing shared by every live stream (logs now, builds and events later).

A stream ends when the source ends, when the client disconnects (noticed even while the
source is silent), or with a typed error message; never with a bare socket drop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import BaseModel

from basepod_agent.protocol.errors import ErrorBody, ErrorCode
from basepod_agent.protocol.events import StreamError
from basepod_agent.services.errors import AgentError

CLOSE_CODES = {
    ErrorCode.UNAUTHENTICATED: 4401,
    ErrorCode.TOKEN_EXPIRED: 4401,
    ErrorCode.FORBIDDEN: 4403,
    ErrorCode.NOT_FOUND: 4404,
}


async def send_model(websocket: WebSocket, model: BaseModel) -> None:
    await websocket.send_text(model.model_dump_json())


async def fail(websocket: WebSocket, error: AgentError) -> None:
    body = ErrorBody(code=error.code, message=error.message, field=error.field)
    await send_model(websocket, StreamError(error=body))
    await websocket.close(code=CLOSE_CODES.get(error.code, 4500), reason=error.message[:120])


async def _wait_disconnect(websocket: WebSocket) -> None:
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
    except (WebSocketDisconnect, RuntimeError):
        return


async def pump(websocket: WebSocket, messages: AsyncIterator[BaseModel]) -> None:
    """Send every message from ``messages`` until it ends or the client goes away."""

    async def forward() -> None:
        try:
            async for message in messages:
                await send_model(websocket, message)
        except AgentError as exc:
            await fail(websocket, exc)
            return
        await websocket.close(code=1000)

    sender = asyncio.create_task(forward())
    watcher = asyncio.create_task(_wait_disconnect(websocket))
    try:
        await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, watcher):
            task.cancel()
        await asyncio.gather(sender, watcher, return_exceptions=True)
        aclose = getattr(messages, "aclose", None)
        if aclose is not None:
            await aclose()
