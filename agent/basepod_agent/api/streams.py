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


async def coalesce(batches: AsyncIterator[list], window: float = 0.02, limit: int = 2000) -> AsyncIterator[list]:
    """Merge batches that arrive within ``window`` seconds into one (up to ``limit`` items).

    Podman writes each log line as its own frame; sending each as its own WebSocket
    message would cost a chatty app 10,000 messages a second. A short window keeps the
    stream live while cutting the message count by orders of magnitude.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue(maxsize=256)
    done = object()

    async def read() -> None:
        try:
            async for batch in batches:
                await queue.put(batch)
        except Exception as exc:  # handed to the consumer, raised there in order
            await queue.put(exc)
        await queue.put(done)

    reader = asyncio.create_task(read())
    try:
        pending: Exception | object | None = None
        while pending is None:
            item = await queue.get()
            if item is done or isinstance(item, Exception):
                pending = item
                break
            merged = list(item)
            deadline = loop.time() + window
            while len(merged) < limit and (remaining := deadline - loop.time()) > 0:
                try:
                    item = await asyncio.wait_for(queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
                if item is done or isinstance(item, Exception):
                    pending = item
                    break
                merged.extend(item)
            yield merged
        if isinstance(pending, Exception):
            raise pending
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


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
