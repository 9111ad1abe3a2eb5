"""GitHub's ``X-Hub-Signature-256``: HMAC-SHA256 of the raw body under the hook's secret.

Compared with ``hmac.compare_digest`` so the time taken says nothing about how much of a
forged signature was right.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "sha256="


def signature_for(secret: str, body: bytes) -> str:
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """False for a missing, malformed or wrong header; never raises on attacker input."""
    if not header:
        return False
    expected = signature_for(secret, body).encode()
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "replace"))


def burn_time(body: bytes) -> None:
    """The work of one check, for a request that has no secret to check against, so an
    unknown app and a wrong signature cost the same."""
    signature_ok(secrets.token_hex(16), body, PREFIX)


def new_secret() -> str:
    """256 bits, URL-safe: pasted into GitHub's form as is."""
    return secrets.token_urlsafe(32)
