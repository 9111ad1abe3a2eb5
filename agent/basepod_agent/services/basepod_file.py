"""Read a repository's ``.basepod`` file (TOML) into ``BasepodConfig``.

The deploy fails before building when this file is wrong, so every problem is reported
in one go, each naming the field as a dotted path (``build.args.VERSION: must be a
string``) and, for a misspelt key, the closest known one. See
resources/basepod.example.toml for every field.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import tomllib
from pydantic import BaseModel, ValidationError

from basepod_agent.protocol.deploys import BasepodConfig

FILE_NAME = ".basepod"
MAX_BYTES = 64 * 1024

_TYPE_WORDS = {
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
}


class BasepodFileError(ValueError):
    """``.basepod`` could not be used; ``problems`` lists each one on its own."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def parse_basepod(text: str, source: str = FILE_NAME) -> BasepodConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BasepodFileError([f"`{source}` is not valid TOML: {exc}"]) from None
    try:
        return BasepodConfig.model_validate(data)
    except ValidationError as exc:
        raise BasepodFileError([f"`{source}`: {_describe(err)}" for err in exc.errors()]) from None


def load_basepod(source_dir: str | os.PathLike[str]) -> BasepodConfig | None:
    """The config in ``source_dir/.basepod``, or None when the repository has none."""
    path = Path(source_dir) / FILE_NAME
    if not path.exists():
        return None
    if not path.is_file():
        raise BasepodFileError([f"`{FILE_NAME}` must be a file"])
    if path.stat().st_size > MAX_BYTES:
        raise BasepodFileError([f"`{FILE_NAME}` is larger than {MAX_BYTES // 1024} KiB"])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BasepodFileError([f"`{FILE_NAME}` is not UTF-8 text"]) from None
    return parse_basepod(text)


def _describe(err: dict) -> str:
    loc = [str(part) for part in err["loc"]]
    kind = err["type"]
    if kind == "extra_forbidden":
        key = loc[-1]
        where = ".".join(loc[:-1])
        known = _known_keys(loc[:-1])
        hint = difflib.get_close_matches(key, known, n=1)
        place = f" in [{where}]" if where else ""
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else f" (known keys: {', '.join(known)})"
        return f"unknown key {key!r}{place}{suggestion}"
    field = _field_path(loc)
    if field == "command" and kind in ("list_type", "string_type"):
        return "command: must be a string or a list of strings"
    if kind in _TYPE_WORDS:
        return f"{field}: {_TYPE_WORDS[kind]}"
    message = str(err.get("msg", "is invalid"))
    message = message.removeprefix("Value error, ")
    return f"{field}: {message[:1].lower() + message[1:]}"


def _field_path(loc: list[str]) -> str:
    """Dotted path without pydantic's union branch names (``command.list[str]``)."""
    parts = [part for part in loc if not part.startswith(("list[", "str", "function-"))]
    return ".".join(parts) or "(top level)"


def _known_keys(parents: list[str]) -> list[str]:
    model: type[BaseModel] = BasepodConfig
    for name in parents:
        annotation = model.model_fields[name].annotation if name in model.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
