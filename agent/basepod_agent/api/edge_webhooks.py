"""``POST /api/apps/{name}/webhook`` on the edge: GitHub delivers pushes here.

Throttled before the body is read; the body limit is the edge's own (see edge.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from basepod_agent.api.deps import services
from basepod_agent.protocol.errors import ErrorBody, ErrorCode
from basepod_agent.protocol.webhooks import WebhookAnswer
from basepod_agent.services.context import AgentServices
from basepod_agent.services.ratelimit import retry_after
from basepod_agent.services.webhooks import Incoming

router = APIRouter(prefix="/api")
WEBHOOK_PATH = r"/api/apps/[^/]+/webhook"


@router.post("/apps/{name}/webhook", response_model=WebhookAnswer)
async def github_webhook(name: str, request: Request, svc: AgentServices = Depends(services)):
    client = request.client.host if request.client else "unknown"
    wait = svc.webhooks.throttle(name, client)
    if wait:
        body = ErrorBody(code=ErrorCode.TOO_MANY_ATTEMPTS, message="too many webhook deliveries; retry later")
        return JSONResponse(status_code=429, content=body.model_dump(mode="json"),
                            headers={"Retry-After": retry_after(wait)})
    headers = request.headers
    incoming = Incoming(event=headers.get("x-github-event"), delivery_id=headers.get("x-github-delivery"),
                        signature=headers.get("x-hub-signature-256"), content_type=headers.get("content-type"),
                        body=await request.body())
    return await svc.webhooks.receive(name, incoming)
