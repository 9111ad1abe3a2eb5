"""GitHub webhooks (issue #6): setup, status, the secret on demand, delivery history.

The secret crosses the wire only in ``WebhookSetupResult`` and ``WebhookSecret``, both
answers to an explicit control call; ``WebhookStatus`` never carries it.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, Field, field_validator

WEBHOOK_CONTENT_TYPE = "application/json"
WEBHOOK_EVENTS = ("push",)  # what to tick in GitHub ("Just the push event"); ping always comes


class DeliveryResult(str, Enum):
    DEPLOYED = "deployed"        # a deploy was queued (see ``deploy_id``)
    PONG = "pong"                # GitHub's ping on creating the hook
    IGNORED = "ignored"          # another branch, a tag, a deleted branch, another event
    DUPLICATE = "duplicate"      # this X-GitHub-Delivery id was seen before: not deployed again
    REJECTED = "rejected"        # missing or wrong signature: nothing happened
    ERROR = "error"              # signed and wanted, but could not deploy (e.g. no git source)


def _branch(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().removeprefix("refs/heads/")
    if not value or len(value) > 255 or value.startswith("-") or any(c in value for c in " ~^:?*[\\\x7f") \
            or ".." in value or any(ord(c) < 32 for c in value):
        raise ValueError("not a valid git branch name")
    return value


class WebhookSetup(BaseModel):
    """``branch`` defaults to the branch of the app's git source (or ``main``)."""

    branch: str | None = Field(default=None, max_length=255)

    _check_branch = field_validator("branch")(_branch)


class WebhookStatus(BaseModel):
    app: str
    enabled: bool
    branch: str | None = None
    url: str | None = None  # None while the agent has no public_url setting
    url_note: str | None = None  # why ``url`` is missing, for the UI and bp to show
    content_type: str = WEBHOOK_CONTENT_TYPE
    events: list[str] = Field(default_factory=lambda: list(WEBHOOK_EVENTS))
    created_at: datetime | None = None
    secret_rotated_at: datetime | None = None
    last_delivery_at: datetime | None = None


class WebhookSetupResult(BaseModel):
    """Shown once by ``bp webhook setup``; ``bp webhook secret`` shows the secret again."""

    url: str | None
    secret: str
    branch: str
    url_note: str | None = None


class WebhookSecret(BaseModel):
    app: str
    secret: str


class WebhookDelivery(BaseModel):
    id: int
    app: str
    delivery_id: str | None = None
    at: datetime
    event: str | None = None
    branch: str | None = None
    commit: str | None = None
    commit_message: str | None = None
    repository: str | None = None
    pusher: str | None = None
    signature_ok: bool
    result: DeliveryResult
    detail: str | None = None
    deploy_id: str | None = None


class WebhookDeliveryList(BaseModel):
    deliveries: list[WebhookDelivery]


class WebhookAnswer(BaseModel):
    """What the edge answers GitHub (shown in GitHub's "Recent Deliveries")."""

    result: DeliveryResult
    message: str
    deploy_id: str | None = None
