"""Exit codes a shell script can rely on (documented in the README)."""

from __future__ import annotations

from basepod_desktop.client import (
    AgentUnreachable,
    AuthRequired,
    BadCredentials,
    ClientError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ProtocolMismatch,
)
from basepod_desktop.core.profiles import ProfileError
from basepod_desktop.transport import TransportError

OK = 0
FAILED = 1  # the agent refused or failed the operation
USAGE = 2  # bad arguments or input (also argparse's code)
UNREACHABLE = 3  # no connection: SSH, tunnel, agent down, protocol mismatch
AUTH = 4  # not logged in, session expired, or not allowed
NOT_FOUND = 5
CONFLICT = 6


def for_exception(exc: BaseException) -> int:
    if isinstance(exc, (TransportError, AgentUnreachable, ProtocolMismatch)):
        return UNREACHABLE
    if isinstance(exc, (AuthRequired, BadCredentials, Forbidden)):
        return AUTH
    if isinstance(exc, NotFound):
        return NOT_FOUND
    if isinstance(exc, Conflict):
        return CONFLICT
    if isinstance(exc, (InvalidInput, ProfileError)):
        return USAGE
    if isinstance(exc, ClientError):
        return FAILED
    return FAILED
