"""The wire contract rejects bad input with messages a person can act on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from basepod_agent.protocol import (
    EVENT_ADAPTER,
    LOG_STREAM_ADAPTER,
    AppCreate,
    AppStateChanged,
    AppStatus,
    LogBatch,
)
from basepod_agent.protocol.validation import MAX_ENV_VARS, app_name_problem


@pytest.mark.parametrize("name", ["web", "a", "my-app-2", "x" * 63, "0day"])
def test_dns_label_app_names_are_accepted(name):
    assert app_name_problem(name) is None


@pytest.mark.parametrize(
    "name, fragment",
    [("", "empty"), ("Web", "DNS label"), ("my_app", "DNS label"), ("-web", "DNS label"),
     ("web-", "DNS label"), ("x" * 64, "63"), ("a.b", "DNS label"), ("ünï", "DNS label")],
)
def test_app_names_that_are_not_dns_labels_are_refused_with_reason(name, fragment):
    assert fragment in app_name_problem(name)


@pytest.mark.parametrize("port", [0, -1, 65536, 100000])
def test_ports_outside_the_tcp_range_are_refused(port):
    with pytest.raises(ValidationError, match="outside 1-65535"):
        AppCreate(name="web", image="img:1", port=port)


@pytest.mark.parametrize("key", ["1ABC", "A-B", "A B", "", "É"])
def test_invalid_env_keys_are_refused(key):
    with pytest.raises(ValidationError, match="environment variable name"):
        AppCreate(name="web", image="img:1", port=80, env={key: "v"})


def test_env_values_with_nul_or_over_size_are_refused():
    with pytest.raises(ValidationError, match="NUL"):
        AppCreate(name="web", image="img:1", port=80, env={"A": "x\x00y"})
    with pytest.raises(ValidationError, match="KiB"):
        AppCreate(name="web", image="img:1", port=80, env={"A": "x" * 40000})


def test_too_many_env_vars_are_refused():
    env = {f"K{i}": "v" for i in range(MAX_ENV_VARS + 1)}
    with pytest.raises(ValidationError, match="at most"):
        AppCreate(name="web", image="img:1", port=80, env=env)


@pytest.mark.parametrize("image", ["", " nginx", "nginx latest", "-rm"])
def test_malformed_image_references_are_refused(image):
    with pytest.raises(ValidationError, match="image reference"):
        AppCreate(name="web", image=image, port=80)


def test_empty_command_is_refused_but_absent_command_is_fine():
    assert AppCreate(name="web", image="img:1", port=80).command is None
    with pytest.raises(ValidationError, match="command"):
        AppCreate(name="web", image="img:1", port=80, command=[])


def test_stream_messages_parse_by_their_type_tag():
    batch = LOG_STREAM_ADAPTER.validate_json('{"type":"log_batch","lines":[{"text":"hi"}]}')
    assert isinstance(batch, LogBatch) and batch.lines[0].text == "hi"
    event = EVENT_ADAPTER.validate_json(
        '{"type":"app_state","app":"web","status":"exited","exit_code":3,"unexpected":true,'
        '"at":"2026-01-01T00:00:00Z"}'
    )
    assert isinstance(event, AppStateChanged) and event.status is AppStatus.EXITED and event.unexpected
