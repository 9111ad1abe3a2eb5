"""What the agent reads from a GitHub delivery: the event headers and a push's fields.

Everything here is attacker-shaped input until the signature is checked, and odd input
even after: parsing never raises anything but ``PayloadError``, and every string is cut
to the column it ends up in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qs

ZERO_SHA = "0" * 40
_SHA = re.compile(r"[0-9a-f]{40}")


class PayloadError(ValueError):
    pass


@dataclass
class Push:
    ref: str | None
    branch: str | None  # None for a tag or anything that is not refs/heads/...
    after: str | None
    message: str | None
    repository: str | None
    pusher: str | None

    @property
    def deleted(self) -> bool:
        return self.after == ZERO_SHA

    @property
    def sha_ok(self) -> bool:
        return self.after is not None and bool(_SHA.fullmatch(self.after))


def _text(value: object, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def parse_payload(body: bytes, content_type: str | None) -> dict:
    """GitHub sends JSON, or ``payload=<json>`` when the hook is set to form encoding."""
    try:
        if (content_type or "").split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            fields = parse_qs(body.decode("utf-8"), max_num_fields=10)
            if "payload" not in fields:
                raise PayloadError("form body without a payload field")
            body = fields["payload"][0].encode()
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"the body is not a GitHub JSON payload ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise PayloadError("the payload is not a JSON object")
    return data


def _field(data: dict, *path: str) -> object:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def read_push(data: dict) -> Push:
    ref = _text(data.get("ref"), 255)
    branch = ref.removeprefix("refs/heads/") if ref and ref.startswith("refs/heads/") else None
    after = _text(data.get("after"), 40)
    return Push(
        ref=ref, branch=branch or None, after=after.lower() if after else None,
        message=_text(_field(data, "head_commit", "message"), 2000),
        repository=_text(_field(data, "repository", "full_name"), 255),
        pusher=_text(_field(data, "pusher", "name"), 200),
    )
