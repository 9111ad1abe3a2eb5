"""The health verdict alone, so ``apps`` can carry it without importing all of ``health``."""

from __future__ import annotations

from enum import Enum


class HealthStatus(str, Enum):
    """``green`` healthy; ``yellow`` failing below the threshold, starting or restarting;
    ``red`` unhealthy, crash-looping (auto-restart gave up), or down while meant to run."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
