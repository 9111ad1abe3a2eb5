"""The HMAC check, the token buckets and the push parser, on their own."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from basepod_agent.protocol.webhooks import WebhookSetup
from basepod_agent.services.ratelimit import TokenBuckets, retry_after
from basepod_agent.services.webhook_github import PayloadError, parse_payload, read_push
from basepod_agent.services.webhook_signature import new_secret, signature_for, signature_ok

GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_githubs_documented_test_vector_verifies():
    assert signature_for(GITHUB_SECRET, GITHUB_BODY) == GITHUB_SIGNATURE
    assert signature_ok(GITHUB_SECRET, GITHUB_BODY, GITHUB_SIGNATURE)


@pytest.mark.parametrize("header", [
    None, "", "sha256=", GITHUB_SIGNATURE.upper(), GITHUB_SIGNATURE[:-1] + "0",
    GITHUB_SIGNATURE.replace("sha256=", "sha1="), GITHUB_SIGNATURE.removeprefix("sha256="), "sha256=\u00e9\u00e9",
])
def test_missing_malformed_or_wrong_signatures_fail_without_raising(header):
    assert not signature_ok(GITHUB_SECRET, GITHUB_BODY, header)


def test_a_signature_is_bound_to_the_body_and_the_secret():
    assert not signature_ok(GITHUB_SECRET, GITHUB_BODY + b" ", GITHUB_SIGNATURE)
    assert not signature_ok(GITHUB_SECRET + "!", GITHUB_BODY, GITHUB_SIGNATURE)


def test_new_secrets_are_long_and_distinct():
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50 and all(len(s) >= 40 for s in secrets)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_says_how_long_to_wait_and_refills():
    clock = Clock()
    buckets = TokenBuckets(rate=0.5, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(2.0)
    assert retry_after(buckets.take("a")) == "2"
    assert buckets.take("b") == 0.0  # keys are independent
    clock.now += 2.0
    assert buckets.take("a") == 0.0 and buckets.take("a") > 0


def test_buckets_forget_the_least_recent_keys_beyond_their_bound():
    buckets = TokenBuckets(rate=1, burst=1, max_keys=100, clock=Clock())
    for i in range(1000):
        buckets.take(f"ip{i}")
    assert len(buckets._buckets) == 100


def push_body(**overrides) -> dict:
    body = {"ref": "refs/heads/main", "after": "a" * 40, "head_commit": {"message": "ship it"},
            "repository": {"full_name": "octo/app"}, "pusher": {"name": "octocat"}}
    return {**body, **overrides}


def test_push_fields_are_read_and_a_tag_or_deleted_branch_is_recognised():
    push = read_push(push_body())
    assert (push.branch, push.after, push.message, push.repository, push.pusher) == (
        "main", "a" * 40, "ship it", "octo/app", "octocat")
    assert push.sha_ok and not push.deleted
    assert read_push(push_body(ref="refs/tags/v1")).branch is None
    assert read_push(push_body(after="0" * 40)).deleted


def test_odd_payload_shapes_never_raise_from_read_push():
    push = read_push({"ref": 5, "after": ["x"], "head_commit": None, "repository": "octo", "pusher": {"name": 3}})
    assert (push.branch, push.after, push.message, push.repository, push.pusher) == (None,) * 5
    assert not push.sha_ok


def test_form_encoded_payloads_are_read_like_json_and_garbage_is_a_payload_error():
    raw = json.dumps(push_body())
    form = urlencode({"payload": raw}).encode()
    assert parse_payload(form, "application/x-www-form-urlencoded") == parse_payload(raw.encode(), "application/json")
    for body in (b"not json", b"[1, 2]", b"\xff\xfe", b"payload="):
        with pytest.raises(PayloadError):
            parse_payload(body, "application/json")


@pytest.mark.parametrize("branch", ["", "a b", "-x", "a..b", "x:y", "a" * 256])
def test_setup_refuses_branch_names_git_would_refuse(branch):
    with pytest.raises(ValueError):
        WebhookSetup(branch=branch)


def test_setup_accepts_a_full_ref_as_a_branch():
    assert WebhookSetup(branch="refs/heads/release/1.x").branch == "release/1.x"


def test_a_delivery_event_round_trips_through_the_event_stream_union():
    from datetime import datetime, timezone

    from basepod_agent.protocol import EVENT_ADAPTER, DeliveryResult, WebhookDelivered, WebhookDelivery

    now = datetime.now(timezone.utc)
    event = WebhookDelivered(app="web", at=now, delivery=WebhookDelivery(
        id=1, app="web", at=now, signature_ok=True, result=DeliveryResult.DEPLOYED, deploy_id="d1"))
    assert EVENT_ADAPTER.validate_json(event.model_dump_json()) == event
