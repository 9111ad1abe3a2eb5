"""The one exception services raise for anything a client did wrong or must know.

The API layer turns it into an ``ErrorBody`` with the matching HTTP status.
"""

from __future__ import annotations

from basepod_agent.protocol.errors import ErrorCode

_STATUS = {
    ErrorCode.INVALID_INPUT: 422,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.ALREADY_EXISTS: 409,
    ErrorCode.CONFLICT: 409,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.TOKEN_EXPIRED: 401,
    ErrorCode.BAD_CREDENTIALS: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.TOO_MANY_ATTEMPTS: 429,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.IMAGE_NOT_FOUND: 422,
    ErrorCode.PORT_UNAVAILABLE: 409,
    ErrorCode.RUNTIME_ERROR: 502,
    ErrorCode.RUNTIME_UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
}


class AgentError(Exception):
    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    @property
    def status(self) -> int:
        return _STATUS[self.code]


def not_found(what: str) -> AgentError:
    return AgentError(ErrorCode.NOT_FOUND, f"{what} not found")


def check_limit(limit: int, most: int) -> None:
    """The ``limit`` of a history listing: at least 1, at most what the agent keeps."""
    if not 1 <= limit <= most:
        raise AgentError(ErrorCode.INVALID_INPUT, f"limit must be between 1 and {most}", "limit")
