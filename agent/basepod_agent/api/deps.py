"""FastAPI dependencies: the services, the authenticated user, and role checks.

Authorization lives here, in the agent: the SSH tunnel only proves network access,
never who may do what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Depends, Request, WebSocket

from basepod_agent.protocol.auth import Role, UserInfo
from basepod_agent.protocol.errors import ErrorCode
from basepod_agent.services.context import AgentServices
from basepod_agent.services.errors import AgentError

_RANK = {Role.VIEWER: 0, Role.DEPLOYER: 1, Role.ADMIN: 2}


@dataclass
class Caller:
    user: UserInfo
    token: str
    expires_at: datetime

    @property
    def actor(self) -> str:
        return self.user.email


def services(request: Request) -> AgentServices:
    return request.app.state.services


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AgentError(ErrorCode.UNAUTHENTICATED, "missing bearer token; log in first")
    return token.strip()


def authenticate(svc: AgentServices, authorization: str | None) -> Caller:
    token = bearer_token(authorization)
    user, expires = svc.auth.authenticate(token)
    return Caller(user=user, token=token, expires_at=expires)


def caller(request: Request) -> Caller:
    return authenticate(services(request), request.headers.get("authorization"))


def ws_caller(websocket: WebSocket) -> Caller:
    return authenticate(websocket.app.state.services, websocket.headers.get("authorization"))


def require(role: Role):
    """Dependency factory: the caller must hold ``role`` or a higher one."""

    def check(who: Caller = Depends(caller)) -> Caller:
        if _RANK[who.user.role] < _RANK[role]:
            raise AgentError(ErrorCode.FORBIDDEN, f"this needs the {role.value} role")
        return who

    return check
