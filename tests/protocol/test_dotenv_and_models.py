"""The shared .env parser and the env/health wire models refuse bad input precisely."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from basepod_agent.protocol import EVENT_ADAPTER, DotenvError, EnvPatch, HealthChanged, HealthConfig, parse_dotenv


def test_dotenv_accepts_comments_export_quotes_and_inline_comments():
    text = (
        "# database\n\nexport DB_HOST=db.internal\nDB_PORT = 5432 # default\n"
        "GREETING=\"hello\\nworld\"\nLITERAL='$HOME stays'\nHASH=a#b\nEMPTY=\n"
        "MULTI=\"line one\nline two\"\n"
    )
    assert parse_dotenv(text) == {
        "DB_HOST": "db.internal", "DB_PORT": "5432", "GREETING": "hello\nworld",
        "LITERAL": "$HOME stays", "HASH": "a#b", "EMPTY": "", "MULTI": "line one\nline two",
    }


@pytest.mark.parametrize("text, line, fragment", [
    ("A=1\nthis is not an assignment\n", 2, "expected KEY=VALUE"),
    ("A=1\nB=2\n1BAD=x\n", 3, "environment variable name"),
    ("A='unterminated\n", 1, "unterminated single quote"),
    ("A=1\nB=\"never closes\nC=3\n", 2, "unterminated double quote"),
    ("A=\"x\" trailing\n", 1, "after the closing quote"),
    ("BIG=" + "x" * 40000 + "\n", 1, "KiB"),
])
def test_dotenv_errors_name_the_line(text, line, fragment):
    with pytest.raises(DotenvError) as info:
        parse_dotenv(text)
    assert info.value.line == line and fragment in info.value.message


def test_env_patch_needs_a_change_and_disjoint_keys():
    with pytest.raises(ValidationError, match="nothing to change"):
        EnvPatch()
    with pytest.raises(ValidationError, match="both set and unset"):
        EnvPatch(set={"A": "1"}, unset=["A"])
    with pytest.raises(ValidationError, match="environment variable name"):
        EnvPatch(unset=["no-dash"])


def test_health_config_defaults_and_bounds():
    config = HealthConfig()
    assert (config.path, config.expected_status_min, config.expected_status_max) == ("/health", 200, 399)
    with pytest.raises(ValidationError, match="timeout_seconds must not exceed"):
        HealthConfig(interval_seconds=2, timeout_seconds=3)
    with pytest.raises(ValidationError):
        HealthConfig(interval_seconds=3601)


def test_health_events_parse_from_the_event_stream():
    event = EVENT_ADAPTER.validate_json(
        '{"type":"health","app":"web","status":"red","previous":"yellow",'
        '"reason":"unhealthy","at":"2026-01-01T00:00:00Z"}')
    assert isinstance(event, HealthChanged) and event.status.value == "red"
