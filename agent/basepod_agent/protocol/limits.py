"""Resource limits of an app: what a client sends, what it gets back, and memory sizes.

Memory sizes are parsed and formatted here, not in the agent, so ``bp`` and the desktop
accept and show exactly what the agent does.
"""

from __future__ import annotations

import math
import re
from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field, field_validator

UNLIMITED = "unlimited"
MIN_MEMORY_BYTES = 6 * 1024 * 1024
"""Podman's own floor (``podman run --memory`` refuses less): below it a container
cannot even start its runtime."""
MAX_MEMORY_BYTES = 1 << 50

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)


def parse_memory(value: str | int) -> int:
    """``"256M"``, ``"1.5G"``, ``"512MiB"`` or a byte count -> bytes (binary units, like
    Podman's ``--memory``). Raises ValueError with a message fit for a person."""
    if isinstance(value, bool):
        raise ValueError("must be a size like 256M or 1G")
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.fullmatch(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a size: use a number with K, M or G, e.g. 256M")
        size = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if size < MIN_MEMORY_BYTES:
        raise ValueError(f"must be at least {format_memory(MIN_MEMORY_BYTES)} (got {format_memory(max(size, 0))})")
    if size > MAX_MEMORY_BYTES:
        raise ValueError(f"{value!r} is larger than any server")
    return size


_BINARY = ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"))


def format_memory(size: int) -> str:
    """Bytes -> the largest binary unit that shows it exactly to a tenth (``256 MiB``,
    ``1.5 GiB``, ``6000 KiB``), else the largest unit rounded to two decimals."""
    for unit, name in _BINARY:
        if size >= unit and (size * 10) % unit == 0:
            return f"{size / unit:g} {name}"
    for unit, name in _BINARY:
        if size >= unit:
            return f"{size / unit:.2f} {name}"
    return f"{size} B"


def format_cpus(cpus: float) -> str:
    return f"{cpus:g} CPU" + ("" if cpus == 1 else "s")


def cpus_problem(cpus: float, host_cpus: int) -> str | None:
    if not math.isfinite(cpus) or cpus <= 0:
        return "must be a number greater than 0, e.g. 0.5"
    if cpus < 0.01:
        return "must be at least 0.01"
    if cpus > host_cpus:
        return f"{cpus:g} is more than this server has ({host_cpus} CPUs)"
    return None


class LimitsUpdate(BaseModel):
    """Per field: omitted keeps the app's override, ``null`` clears it (the global
    default applies again), ``"unlimited"`` overrides a default with no cap."""

    cpus: float | Literal["unlimited"] | None = Field(None, description="CPU cores, e.g. 0.5")
    memory: str | int | None = Field(None, description='"256M", "1G", bytes, or "unlimited"')

    @field_validator("cpus", mode="before")
    @classmethod
    def _cpus(cls, value):
        if isinstance(value, bool):
            raise ValueError("must be a number such as 0.5, or \"unlimited\"")
        if isinstance(value, str) and value != UNLIMITED:
            try:
                return float(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a number: use e.g. 0.5, or \"unlimited\"") from None
        return value

    @field_validator("memory", mode="before")
    @classmethod
    def _memory(cls, value):
        if value is None or value == UNLIMITED:
            return value
        return parse_memory(value)


class LimitSource(str, Enum):
    APP = "app"  # the app's own override (a value or "unlimited")
    DEFAULT = "default"  # the agent's global default (which may be no cap)


class LimitsApplied(str, Enum):
    """How a change reached the container."""

    IN_PLACE = "in_place"  # Podman updated the running container and kept the change
    RECREATED = "recreated"  # the container was recreated with the new limits
    UNCHANGED = "unchanged"  # the container already ran with these limits
    NO_CONTAINER = "no_container"  # applies when the container is next created


class LimitsView(BaseModel):
    """The limits in force on an app and where each comes from; None means no cap."""

    app: str
    cpus: float | None
    cpus_source: LimitSource
    memory_bytes: int | None
    memory_source: LimitSource
    default_cpus: float | None
    default_memory_bytes: int | None
    host_cpus: int
    min_memory_bytes: int = MIN_MEMORY_BYTES
    applied: LimitsApplied | None = Field(None, description="set on the answer to a change")
