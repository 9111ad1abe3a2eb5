"""Accounts, login and bearer tokens.

Tokens are random, shown once, and stored as SHA-256 hashes; they expire and can be
revoked. Failed logins are throttled per email so a password cannot be guessed quickly
through the tunnel.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from basepod_agent.protocol.auth import LoginResponse, Role, UserInfo
from basepod_agent.protocol.errors import ErrorCode
from basepod_agent.services import activity
from basepod_agent.services.errors import AgentError
from basepod_agent.services.passwords import hash_password, password_problem, verify_password
from basepod_agent.store.database import Database
from basepod_agent.store.models import Token, User

TOKEN_PREFIX = "bpt_"
_FREE_FAILURES = 5
_LAST_USED_GRANULARITY = timedelta(minutes=1)
_AUTH_CACHE_SECONDS = 2.0
_dummy_hash: str | None = None


def dummy_hash() -> str:
    """Verified against when the email is unknown, so response time does not reveal accounts.

    Made on first use: scrypt at import would cost every agent start 100 ms and 32 MiB.
    """
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_hex(8))
    return _dummy_hash


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def user_info(user: User) -> UserInfo:
    return UserInfo(id=user.id, email=user.email, role=Role(user.role))


class Throttle:
    """After a few failures, each further attempt for that email must wait longer."""

    def __init__(self) -> None:
        self._failures: dict[str, tuple[int, float]] = {}

    def check(self, email: str) -> None:
        count, last = self._failures.get(email, (0, 0.0))
        if count < _FREE_FAILURES:
            return
        wait = min(2 ** (count - _FREE_FAILURES), 300) - (time.monotonic() - last)
        if wait > 0:
            raise AgentError(
                ErrorCode.TOO_MANY_ATTEMPTS,
                f"too many failed logins for {email}; try again in {int(wait) + 1} s",
            )

    def failed(self, email: str) -> None:
        count, _ = self._failures.get(email, (0, 0.0))
        self._failures[email] = (count + 1, time.monotonic())

    def succeeded(self, email: str) -> None:
        self._failures.pop(email, None)


class AuthService:
    def __init__(self, db: Database, token_ttl: timedelta) -> None:
        self.db = db
        self.token_ttl = token_ttl
        self.throttle = Throttle()
        # token hash -> (user, expiry, checked at): every request authenticates, and a
        # dashboard polls; a short-lived cache spares the database. Only this process
        # revokes tokens, and logout drops the entry at once.
        self._recent: dict[str, tuple[UserInfo, datetime, float]] = {}

    def create_user(self, email: str, password: str, role: Role, actor: str = "system") -> UserInfo:
        email = email.strip().lower()
        if "@" not in email or len(email) > 254:
            raise AgentError(ErrorCode.INVALID_INPUT, f"{email!r} is not an email address", "email")
        problem = password_problem(password)
        if problem:
            raise AgentError(ErrorCode.INVALID_INPUT, problem, "password")
        with self.db.session() as s:
            if s.scalar(select(User).where(User.email == email)):
                raise AgentError(ErrorCode.ALREADY_EXISTS, f"user {email} already exists", "email")
            user = User(
                email=email, password_hash=hash_password(password), role=role.value,
                created_at=activity.utcnow(),
            )
            s.add(user)
            s.flush()
            activity.record(s, actor, "user.create", email, f"role={role.value}")
            return user_info(user)

    async def login(self, email: str, password: str) -> LoginResponse:
        email = email.strip().lower()
        self.throttle.check(email)
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.email == email))
            stored = user.password_hash if user else dummy_hash()
        ok = await asyncio.to_thread(verify_password, password, stored)
        if not (ok and user):
            self.throttle.failed(email)
            raise AgentError(ErrorCode.BAD_CREDENTIALS, "wrong email or password")
        self.throttle.succeeded(email)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = activity.utcnow()
        with self.db.session() as s:
            row = Token(
                user_id=user.id, token_hash=token_hash(token), kind="session",
                created_at=now, expires_at=now + self.token_ttl,
            )
            s.add(row)
            activity.record(s, user.email, "auth.login", user.email)
        return LoginResponse(token=token, expires_at=row.expires_at, user=user_info(user))

    def authenticate(self, token: str) -> tuple[UserInfo, datetime]:
        """Return the token's user and expiry, or raise: unknown, revoked or expired."""
        now = activity.utcnow()
        digest = token_hash(token)
        cached = self._recent.get(digest)
        if cached and time.monotonic() - cached[2] < _AUTH_CACHE_SECONDS and cached[1] > now:
            return cached[0], cached[1]
        with self.db.session() as s:
            row = s.scalar(select(Token).where(Token.token_hash == digest))
            if row is None or row.revoked_at is not None:
                raise AgentError(ErrorCode.UNAUTHENTICATED, "invalid or revoked token; log in again")
            expires = _aware(row.expires_at)
            if expires <= now:
                raise AgentError(ErrorCode.TOKEN_EXPIRED, "session expired; log in again")
            if row.last_used_at is None or now - _aware(row.last_used_at) > _LAST_USED_GRANULARITY:
                row.last_used_at = now
            info = user_info(s.get(User, row.user_id))
        if len(self._recent) > 1000:
            self._recent.clear()
        self._recent[digest] = (info, expires, time.monotonic())
        return info, expires

    def logout(self, token: str) -> None:
        self._recent.pop(token_hash(token), None)
        with self.db.session() as s:
            row = s.scalar(select(Token).where(Token.token_hash == token_hash(token)))
            if row is not None and row.revoked_at is None:
                row.revoked_at = activity.utcnow()
                user = s.get(User, row.user_id)
                activity.record(s, user.email, "auth.logout", user.email)
