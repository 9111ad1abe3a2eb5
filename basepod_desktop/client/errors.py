"""The client's exception tree: one base, one class per thing a caller reacts to."""

from __future__ import annotations

from basepod_agent.protocol import ErrorBody, ErrorCode


class ClientError(Exception):
    """Base of everything the client raises; ``message`` is fit to show a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AgentUnreachable(ClientError):
    """The socket (or tunnel) does not answer: the agent is down or the link dropped."""


class ProtocolMismatch(ClientError):
    def __init__(self, agent_version: str, agent_protocol: int, client_protocol: int) -> None:
        newer = "agent" if agent_protocol > client_protocol else "desktop app / bp"
        older = "desktop app / bp" if newer == "agent" else "agent"
        super().__init__(
            f"the agent speaks protocol {agent_protocol} (agent {agent_version}) but this client "
            f"speaks {client_protocol}: upgrade the {older} to match the {newer}"
        )
        self.agent_version = agent_version
        self.agent_protocol = agent_protocol
        self.client_protocol = client_protocol


class ApiError(ClientError):
    """The agent refused the request; ``code`` is the stable reason."""

    def __init__(self, status: int, body: ErrorBody) -> None:
        super().__init__(body.message)
        self.status = status
        self.code = body.code
        self.field = body.field


class AuthRequired(ApiError):
    """No valid session: log in (again)."""


class BadCredentials(ApiError):
    """Login refused: wrong email or password, or too many attempts."""


class Forbidden(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class InvalidInput(ApiError):
    pass


_BY_CODE: dict[ErrorCode, type[ApiError]] = {
    ErrorCode.UNAUTHENTICATED: AuthRequired,
    ErrorCode.TOKEN_EXPIRED: AuthRequired,
    ErrorCode.FORBIDDEN: Forbidden,
    ErrorCode.BAD_CREDENTIALS: BadCredentials,
    ErrorCode.TOO_MANY_ATTEMPTS: BadCredentials,
    ErrorCode.NOT_FOUND: NotFound,
    ErrorCode.ALREADY_EXISTS: Conflict,
    ErrorCode.CONFLICT: Conflict,
    ErrorCode.INVALID_INPUT: InvalidInput,
    ErrorCode.IMAGE_NOT_FOUND: InvalidInput,
}


def api_error(status: int, body: ErrorBody) -> ApiError:
    return _BY_CODE.get(body.code, ApiError)(status, body)
