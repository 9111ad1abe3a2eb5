"""Error codes and the error body every failed request carries.

Clients branch on ``code`` (stable), show ``message`` (human), and may highlight
``field`` in a form. HTTP status is a coarse hint; the code is the contract.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel


class ErrorCode(str, Enum):
    INVALID_INPUT = "invalid_input"
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    CONFLICT = "conflict"
    UNAUTHENTICATED = "unauthenticated"
    TOKEN_EXPIRED = "token_expired"
    FORBIDDEN = "forbidden"
    BAD_CREDENTIALS = "bad_credentials"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    IMAGE_NOT_FOUND = "image_not_found"
    PORT_UNAVAILABLE = "port_unavailable"
    RUNTIME_ERROR = "runtime_error"
    RUNTIME_UNAVAILABLE = "runtime_unavailable"
    INTERNAL = "internal"


class ErrorBody(BaseModel):
    code: ErrorCode
    message: str
    field: str | None = None
