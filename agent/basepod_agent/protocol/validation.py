"""Shared input rules, so the agent, the CLI and the desktop reject the same things.

An app name becomes a DNS label (``<app>.<root domain>``) and part of a container name,
hence the strict pattern. Env keys follow POSIX shell rules so every runtime accepts them.
"""

from __future__ import annotations

import re

APP_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
IMAGE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$")

MAX_ENV_VARS = 200
MAX_ENV_VALUE_BYTES = 32 * 1024
MAX_COMMAND_ARGS = 64
MAX_COMMAND_ARG_LEN = 4096


def app_name_problem(name: str) -> str | None:
    """Return why ``name`` is not a valid app name, or None when it is."""
    if not name:
        return "app name must not be empty"
    if len(name) > 63:
        return "app name must be at most 63 characters (it becomes a DNS label)"
    if not APP_NAME_RE.match(name):
        return (
            f"app name {name!r} is not a DNS label: use lowercase letters, digits and "
            "hyphens, starting and ending with a letter or digit"
        )
    return None


def env_key_problem(key: str) -> str | None:
    if not ENV_KEY_RE.match(key):
        return (
            f"environment variable name {key!r} is invalid: use letters, digits and "
            "underscores, not starting with a digit"
        )
    return None


def env_value_problem(key: str, value: str) -> str | None:
    if "\x00" in value:
        return f"value of {key} contains a NUL byte"
    if len(value.encode()) > MAX_ENV_VALUE_BYTES:
        return f"value of {key} is larger than {MAX_ENV_VALUE_BYTES // 1024} KiB"
    return None


def env_problem(env: dict[str, str]) -> str | None:
    """Why a whole env set is refused (count, then the first bad key or value), or None."""
    if len(env) > MAX_ENV_VARS:
        return f"at most {MAX_ENV_VARS} environment variables are allowed (got {len(env)})"
    for key, value in env.items():
        problem = env_key_problem(key) or env_value_problem(key, value)
        if problem:
            return problem
    return None


def image_problem(image: str) -> str | None:
    if not image or not IMAGE_RE.match(image):
        return f"image reference {image!r} is not valid (example: docker.io/library/nginx:1.27)"
    return None
