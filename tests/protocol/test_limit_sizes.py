"""Memory sizes and limit requests: what bp, the desktop and the agent all accept."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from basepod_agent.protocol import LimitsUpdate, format_memory, parse_memory

MiB = 1024 * 1024


@pytest.mark.parametrize("text, size", [
    ("256M", 256 * MiB), ("256m", 256 * MiB), ("1G", 1024 * MiB), ("1.5G", 1536 * MiB), ("512MiB", 512 * MiB),
    ("6144K", 6 * MiB), ("64 mb", 64 * MiB), (8 * MiB, 8 * MiB), ("10000000", 10_000_000),
])
def test_sizes_with_binary_units_parse_to_bytes(text, size):
    assert parse_memory(text) == size


@pytest.mark.parametrize("text, words", [
    ("256X", "not a size"), ("", "not a size"), ("-1M", "not a size"), ("M", "not a size"),
    ("5M", "at least 6 MiB"), (0, "at least 6 MiB"), ("2P", "not a size"), ("99999T", "larger than any server"),
])
def test_bad_sizes_are_refused_with_a_reason(text, words):
    with pytest.raises(ValueError, match=words):
        parse_memory(text)


@pytest.mark.parametrize("size, text", [
    (256 * MiB, "256 MiB"), (1536 * MiB, "1.5 GiB"), (6000 * 1024, "6000 KiB"), (10_000_000, "9.54 MiB"), (512, "512 B"),
])
def test_sizes_format_exactly_where_they_can(size, text):
    assert format_memory(size) == text


def test_a_request_keeps_omitted_fields_apart_from_cleared_ones():
    update = LimitsUpdate.model_validate({"cpus": None, "memory": "unlimited"})
    assert update.model_fields_set == {"cpus", "memory"} and update.memory == "unlimited"
    assert LimitsUpdate.model_validate({"memory": "1G"}).model_dump(exclude_unset=True) == {"memory": 1024 * MiB}
    with pytest.raises(ValidationError, match="not a number"):
        LimitsUpdate.model_validate({"cpus": "fast"})
