"""The edge API: the only surface reachable from the internet. Deliberately tiny."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from basepod_agent.api import edge_webhooks
from basepod_agent.api.errors import install_error_handlers
from basepod_agent.api.limits import BodyLimitMiddleware
from basepod_agent.protocol.meta import EdgeHealth
from basepod_agent.protocol.version import AGENT_VERSION
from basepod_agent.services.context import AgentServices

router = APIRouter()


@router.get("/health", response_model=EdgeHealth)
async def health() -> EdgeHealth:
    return EdgeHealth()


def create_edge_app(svc: AgentServices) -> FastAPI:
    app = FastAPI(title="Basepod agent edge API", version=AGENT_VERSION,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = svc
    app.include_router(router)
    app.include_router(edge_webhooks.router)
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=256 * 1024,
                       path_limits=[(edge_webhooks.WEBHOOK_PATH, svc.config.webhook_max_body_bytes)])
    return app
