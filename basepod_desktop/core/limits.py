"""Resource limits as people read and type them, shared by ``bp limits`` and the desktop.

Typed text maps onto ``LimitsUpdate``: a value sets the app's own cap, ``unlimited``
sets "no cap" even when the server has a default, and ``default`` (or an empty field in
the desktop) drops the override so the server's default applies.
"""

from __future__ import annotations

from basepod_agent.protocol import AppInfo, LimitSource, LimitsUpdate, LimitsView, format_memory, parse_memory
from basepod_agent.protocol.limits import UNLIMITED, format_cpus

DEFAULT_WORD = "default"


def cpus_text(cpus: float | None) -> str:
    return format_cpus(cpus) if cpus is not None else "no cap"


def memory_text(memory_bytes: int | None) -> str:
    return format_memory(memory_bytes) if memory_bytes is not None else "no cap"


def with_source(text: str, source: LimitSource) -> str:
    return f"{text} (server default)" if source == LimitSource.DEFAULT else text


def cpus_line(view: LimitsView) -> str:
    return with_source(cpus_text(view.cpus), view.cpus_source)


def memory_line(view: LimitsView) -> str:
    return with_source(memory_text(view.memory_bytes), view.memory_source)


def field_value(text: str | None):
    """One typed field -> what LimitsUpdate takes: None to clear, the text otherwise."""
    if text is None:
        return None
    text = text.strip()
    if text.lower() in ("", DEFAULT_WORD):
        return None
    return UNLIMITED if text.lower() in (UNLIMITED, "none", "no cap") else text


def update_from(cpus: str | None, memory: str | None, keep_unset: bool = True) -> LimitsUpdate:
    """``keep_unset``: a field given as Python None is left out (the override is kept);
    otherwise None clears it. Raises pydantic's ValidationError on bad input."""
    fields = {}
    for name, text in (("cpus", cpus), ("memory", memory)):
        if text is None and keep_unset:
            continue
        fields[name] = field_value(text)
    return LimitsUpdate.model_validate(fields)


def override_text(view: LimitsView, field: str) -> str:
    """What an edit field shows for the app's own override: empty when the default applies."""
    source = view.cpus_source if field == "cpus" else view.memory_source
    if source == LimitSource.DEFAULT:
        return ""
    value = view.cpus if field == "cpus" else view.memory_bytes
    if value is None:
        return UNLIMITED
    if field == "cpus":
        return f"{value:g}"
    short = format_memory(value).replace(" ", "").replace("iB", "")
    return short if parse_memory(short) == value else str(value)


def oom_text(app: AppInfo) -> str:
    """Why an app died when it ran out of memory, with the cap that stopped it."""
    cap = f" (limit {format_memory(app.limits.memory_bytes)})" if app.limits.memory_bytes else ""
    return f"killed: out of memory{cap}"


def oom_killed_text(app: AppInfo | None, exit_code: int | None) -> str:
    """For a notification, where the app may already be gone from the snapshot."""
    if app is not None:
        return oom_text(app)
    return "killed: out of memory" + (f" (exit code {exit_code})" if exit_code is not None else "")
