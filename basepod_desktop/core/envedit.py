"""``EnvDraft``: unsaved edits to one app's environment, kept Qt-free.

The Env tab, the bulk editor and the import all change one draft, so undo, the diff
preview and validation behave the same whichever way a value was typed. Rows are an
ordered list of (key, value) rather than a dict because, while a person edits, a key can
be empty, invalid or typed twice; ``problems()`` says so (with the row, or the ``.env``
line for bulk text) before anything is sent. The rules are the agent's own
(``protocol.validation`` and ``protocol.dotenv``), so the desktop never accepts what the
agent would refuse, nor refuses what it would accept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from basepod_agent.protocol import validation as v
from basepod_agent.protocol.dotenv import DotenvError, parse_dotenv

__all__ = ["DotenvError", "EnvDiff", "EnvDraft", "EnvProblem", "format_dotenv", "parse_dotenv"]

Row = tuple[str, str]
_BARE_VALUE = re.compile(r"^[A-Za-z0-9_./:@,+=%^~-]*$")
_QUOTE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "$": "\\$"}


@dataclass(frozen=True)
class EnvDiff:
    added: dict[str, str] = field(default_factory=dict)
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (old, new)
    removed: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    @property
    def count(self) -> int:
        return len(self.added) + len(self.changed) + len(self.removed)

    def summary(self) -> str:
        parts = [f"{len(d)} {label}" for d, label in ((self.added, "added"), (self.changed, "changed"),
                                                      (self.removed, "removed")) if d]
        return ", ".join(parts) if parts else "no changes"


@dataclass(frozen=True)
class EnvProblem:
    message: str
    row: Optional[int] = None  # index into ``EnvDraft.rows``
    key: Optional[str] = None


class EnvDraft:
    def __init__(self, env: Optional[dict[str, str]] = None, revision: Optional[int] = None) -> None:
        self.original: dict[str, str] = {}
        self.revision: Optional[int] = None
        self.rows: list[Row] = []
        self._undo: list[list[Row]] = []
        self.load(env or {}, revision)

    # --- state -------------------------------------------------------------------------

    def load(self, env: dict[str, str], revision: Optional[int]) -> None:
        """Start over from what the agent holds (first load, reload after a conflict)."""
        self.original = dict(env)
        self.revision = revision
        self.rows = sorted(env.items())
        self._undo.clear()

    def mark_saved(self, revision: int) -> None:
        self.load(self.current, revision)

    @property
    def current(self) -> dict[str, str]:
        """The rows as the agent would store them (a repeated key: the last one wins)."""
        return {key: value for key, value in self.rows}

    @property
    def dirty(self) -> bool:
        return bool(self.diff()) or bool(self.problems())

    def diff(self) -> EnvDiff:
        current, original = self.current, self.original
        return EnvDiff(
            added={k: val for k, val in current.items() if k not in original},
            changed={k: (original[k], val) for k, val in current.items() if k in original and original[k] != val},
            removed={k: val for k, val in original.items() if k not in current},
        )

    def row_state(self, row: int) -> str:
        """'added', 'changed' or '' for a row, so a table can mark edited rows."""
        key, value = self.rows[row]
        if key not in self.original:
            return "added"
        return "changed" if self.original[key] != value else ""

    def problems(self) -> list[EnvProblem]:
        found: list[EnvProblem] = []
        seen: dict[str, int] = {}
        for index, (key, value) in enumerate(self.rows):
            if not key:
                found.append(EnvProblem(f"row {index + 1}: the variable needs a name", index, key))
                continue
            problem = v.env_key_problem(key) or v.env_value_problem(key, value)
            if problem:
                found.append(EnvProblem(problem, index, key))
            if key in seen:
                found.append(EnvProblem(f"{key} appears twice (rows {seen[key] + 1} and {index + 1})", index, key))
            seen.setdefault(key, index)
        if len(self.current) > v.MAX_ENV_VARS:
            found.append(EnvProblem(f"at most {v.MAX_ENV_VARS} environment variables are allowed"))
        return found

    # --- edits (each one can be undone) ------------------------------------------------

    def add(self, key: str = "", value: str = "") -> int:
        self._push()
        self.rows.append((key, value))
        return len(self.rows) - 1

    def set_key(self, row: int, key: str) -> None:
        if self.rows[row][0] != key:
            self._push()
            self.rows[row] = (key, self.rows[row][1])

    def set_value(self, row: int, value: str) -> None:
        if self.rows[row][1] != value:
            self._push()
            self.rows[row] = (self.rows[row][0], value)

    def remove(self, row: int) -> None:
        self._push()
        del self.rows[row]

    def replace_all(self, env: dict[str, str]) -> None:
        """Bulk edit: the text is the whole new set; keeps the order of known keys."""
        if env == self.current and not self.problems():
            return
        self._push()
        kept = [(k, env[k]) for k, _ in self.rows if k in env]
        known = {k for k, _ in kept}
        self.rows = list(dict(kept).items()) + [(k, val) for k, val in env.items() if k not in known]

    def merge(self, env: dict[str, str]) -> None:
        """Import: the file's keys are added or overwrite; other keys stay."""
        if all(self.current.get(k) == val for k, val in env.items()):
            return
        self._push()
        rows = [(k, env.get(k, val)) for k, val in self.rows]
        present = {k for k, _ in rows}
        self.rows = rows + [(k, val) for k, val in env.items() if k not in present]

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def undo(self) -> bool:
        if not self._undo:
            return False
        self.rows = self._undo.pop()
        return True

    def _push(self) -> None:
        self._undo.append(list(self.rows))

    # --- text --------------------------------------------------------------------------

    def to_dotenv(self) -> str:
        return format_dotenv(self.rows)


def format_dotenv(rows) -> str:
    """``KEY=value`` lines that ``parse_dotenv`` reads back to the same values."""
    items = rows.items() if isinstance(rows, dict) else rows
    return "".join(f"{key}={_quote(value)}\n" for key, value in items)


def _quote(value: str) -> str:
    if _BARE_VALUE.match(value):
        return value
    return '"' + "".join(_QUOTE_ESCAPES.get(char, char) for char in value) + '"'
