"""The control API: everything the desktop and ``bp`` do, served on the agent's Unix socket.

Each capability has its own ``routes_*`` module; this module only assembles them.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from basepod_agent.api import routes_apps, routes_auth, routes_deploys, routes_env, routes_events, routes_health
from basepod_agent.api import routes_limits, routes_metrics, routes_routing, routes_webhooks
from basepod_agent.api.errors import install_error_handlers
from basepod_agent.api.limits import BodyLimitMiddleware
from basepod_agent.protocol.version import AGENT_VERSION
from basepod_agent.services.context import AgentServices

ROUTERS = (routes_auth.router, routes_apps.router, routes_env.router, routes_health.router,
           routes_events.router, routes_deploys.router, routes_webhooks.router, routes_routing.router,
           routes_metrics.router, routes_limits.router)


def create_control_app(svc: AgentServices) -> FastAPI:
    app = FastAPI(title="Basepod agent control API", version=AGENT_VERSION,
                  docs_url=None, redoc_url=None)
    app.state.services = svc
    for router in ROUTERS:
        app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=svc.config.max_body_bytes,
                       path_limits=[(routes_deploys.UPLOAD_PATH, svc.config.max_upload_bytes)])
    # Small answers cross the SSH tunnel in one packet: a response larger than an SSH
    # channel packet (32 KiB) ends in a short TCP segment that Nagle holds for the
    # client's delayed ACK (~40 ms). Compressed, 100 apps fit in a few KiB.
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=5)
    return app
