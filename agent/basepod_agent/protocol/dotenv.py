"""A strict ``.env`` parser shared by ``bp env import`` and the desktop's import dialog.

Accepted, line by line: blank lines, ``# comments``, ``KEY=value`` with an optional
``export`` prefix, values in single quotes (literal), in double quotes (``\\n``, ``\\t``,
``\\"`` and ``\\\\`` escapes; may span lines) or bare (trailing `` # comment`` dropped,
surrounding spaces trimmed). Anything else is an error naming its line, because a file
silently half-imported is worse than one refused. Later duplicates win, as in shells.
"""

from __future__ import annotations

from basepod_agent.protocol import validation as v

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


class DotenvError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse ``text``; raise DotenvError (with the line number) on the first problem."""
    lines = text.splitlines()
    env: dict[str, str] = {}
    index = 0
    while index < len(lines):
        number, raw = index + 1, lines[index]
        index += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export ") or stripped.startswith("export\t"):
            stripped = stripped[len("export"):].lstrip()
        key, sep, rest = stripped.partition("=")
        key = key.strip()
        if not sep:
            raise DotenvError(number, f"expected KEY=VALUE, got {_preview(stripped)}")
        if problem := v.env_key_problem(key):
            raise DotenvError(number, problem)
        rest = rest.lstrip()
        if rest.startswith('"'):
            value, index = _double_quoted(lines, index, number, rest[1:])
        elif rest.startswith("'"):
            end = rest.find("'", 1)
            if end < 0:
                raise DotenvError(number, f"unterminated single quote in the value of {key}")
            _check_tail(rest[end + 1:], number, key)
            value = rest[1:end]
        else:
            value = _bare(rest)
        if problem := v.env_value_problem(key, value):
            raise DotenvError(number, problem)
        env[key] = value
    if problem := v.env_problem(env):
        raise DotenvError(len(lines), problem)
    return env


def _double_quoted(lines: list[str], index: int, number: int, body: str) -> tuple[str, int]:
    """Read a double-quoted value, continuing on following lines until the closing quote."""
    out: list[str] = []
    while True:
        i = 0
        while i < len(body):
            char = body[i]
            if char == "\\" and i + 1 < len(body):
                out.append(_ESCAPES.get(body[i + 1], "\\" + body[i + 1]))
                i += 2
                continue
            if char == '"':
                _check_tail(body[i + 1:], number, "this variable")
                return "".join(out), index
            out.append(char)
            i += 1
        if index >= len(lines):
            raise DotenvError(number, "unterminated double quote (the value never closes)")
        out.append("\n")
        body = lines[index]
        index += 1


def _bare(rest: str) -> str:
    for i, char in enumerate(rest):
        if char == "#" and (i == 0 or rest[i - 1] in " \t"):
            return rest[:i].strip()
    return rest.strip()


def _check_tail(tail: str, number: int, key: str) -> None:
    tail = tail.strip()
    if tail and not tail.startswith("#"):
        raise DotenvError(number, f"unexpected text after the closing quote of {key}: {_preview(tail)}")


def _preview(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")
