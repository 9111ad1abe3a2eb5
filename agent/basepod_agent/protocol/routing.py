"""Routing, custom domains and releases (issue #6): how an app is reached through the
agent's Caddy and which of its versions can be rolled back to."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_DOMAINS = 50
_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def domain_problem(domain: str) -> str | None:
    """Why ``domain`` is not a host name Caddy can route (None when it is one).

    Lowercase only, so "Example.com" and "example.com" cannot become two routes.
    """
    if not domain or len(domain) > 253:
        return f"domain {domain!r} must be 1 to 253 characters"
    labels = domain.split(".")
    if len(labels) < 2:
        return f"domain {domain!r} needs at least one dot (like app.example.com)"
    for label in labels:
        if not _LABEL_RE.match(label):
            return (f"domain {domain!r} is not a host name: each dot-separated part is 1-63 lowercase "
                    "letters, digits or hyphens, not starting or ending with a hyphen")
    if labels[-1].isdigit():
        return f"domain {domain!r} looks like an IP address; use a host name"
    return None


class DomainsUpdate(BaseModel):
    """``PUT /api/apps/{name}/domains``: the complete list of the app's custom domains."""

    model_config = ConfigDict(extra="forbid")
    domains: list[str] = Field(max_length=MAX_DOMAINS)

    @field_validator("domains")
    @classmethod
    def _domains(cls, domains: list[str]) -> list[str]:
        cleaned: list[str] = []
        for raw in domains:
            domain = raw.strip().rstrip(".").lower()
            if problem := domain_problem(domain):
                raise ValueError(problem)
            if domain not in cleaned:
                cleaned.append(domain)
        return cleaned


class AppDomains(BaseModel):
    app: str
    default_domain: str | None = Field(None, description="<app>.<root domain>; None when routing is off")
    domains: list[str] = Field(default_factory=list, description="custom domains, as set by the user")
    urls: list[str] = Field(default_factory=list, description="where the app is served through Caddy")
    routing: bool = Field(False, description="the agent fronts apps with Caddy")


class ReleaseInfo(BaseModel):
    """One kept version: an image ``basepod/<app>:<version>`` still in Podman."""

    version: str = Field(description="the id of the deploy that produced it")
    image: str
    deployed_at: datetime | None = Field(None, description="when it last went live")
    commit: str | None = None
    commit_message: str | None = None
    source_type: str | None = None
    source_image: str | None = Field(None, description="for an image deploy: the image it came from")
    live: bool = Field(False, description="the version serving now")


class ReleaseList(BaseModel):
    app: str
    keep: int = Field(description="how many versions the agent keeps per app")
    releases: list[ReleaseInfo] = Field(default_factory=list, description="newest first")


class RollbackRequest(BaseModel):
    """``POST /api/apps/{name}/rollback``; without a version, the previous successful one."""

    model_config = ConfigDict(extra="forbid")
    version: str | None = Field(None, max_length=40)
