"""Build an image from a context folder through Podman's REST API, streaming the output.

The build goes over HTTP (``POST /libpod/build`` with a tar of the context) rather than
the ``podman`` CLI or podman-py so the output can be streamed line by line to the deploy
log, and so cancelling the asyncio task closes the connection: Podman then abandons the
build (no image, working container removed). Podman 4.3 does so only at the next step,
so the RUN step in progress is killed separately (runtime/build_steps.py).

The tar honours ``.dockerignore`` (DockerIgnore below). The Dockerfile may live outside
the context (a generated one does): it is then added to the tar under a private name.

This module talks HTTP itself and does not import runtime.podman, which stays the only
user of the ``podman`` package.
"""

from __future__ import annotations

import asyncio
import codecs
import inspect
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx

from basepod_agent.runtime.build_steps import kill_build_steps, marker_host, new_build_marker

LogFn = Callable[[str], object]
API_VERSION = "v4.0.0"
EXTERNAL_DOCKERFILE = ".basepod.generated.Dockerfile"
_CHUNK = 256 * 1024


class DockerIgnore:
    """``.dockerignore`` matching with Docker's semantics.

    Patterns are anchored at the context root (``*.md`` matches ``a.md`` only, use
    ``**/*.md`` for every folder); a pattern that matches a folder matches everything
    in it; ``!pattern`` re-includes; the last matching pattern wins. ``*`` and ``?``
    never cross ``/``, ``**`` crosses any number of folders.
    """

    def __init__(self, lines: list[str]) -> None:
        self.rules: list[tuple[re.Pattern[str], int, bool]] = []  # regex, depth, negated
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            pattern = line[1:].strip() if negated else line
            pattern = os.path.normpath(pattern).lstrip("/") if pattern else ""
            if not pattern or pattern == ".":
                continue
            self.rules.append((_pattern_regex(pattern), pattern.count("/") + 1, negated))
        self.has_negations = any(negated for _, _, negated in self.rules)

    @classmethod
    def from_file(cls, path: Path) -> DockerIgnore:
        try:
            return cls(path.read_text(errors="replace").splitlines())
        except FileNotFoundError:
            return cls([])

    def excludes(self, rel: str) -> bool:
        parts = rel.split("/")
        excluded = False
        for regex, depth, negated in self.rules:
            matched = bool(regex.match(rel))
            if not matched and depth < len(parts):
                matched = bool(regex.match("/".join(parts[:depth])))
            if matched:
                excluded = not negated
        return excluded

    def may_include_below(self, rel: str) -> bool:
        """Whether walking into an excluded folder can still find included files."""
        return self.has_negations


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out, i = ["^"], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern[i + 1:i + 2] == "*":
                i += 1
                if pattern[i + 1:i + 2] == "/":
                    i += 1
                out.append(".*" if i + 1 >= len(pattern) else "(.*/)?")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end]
                body = "^" + body[1:] if body.startswith("!") else body
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return re.compile("".join(out), re.DOTALL)


class BuildError(Exception):
    """The build failed; ``lines`` holds the last error lines Podman reported."""

    def __init__(self, message: str, lines: list[str] | None = None) -> None:
        super().__init__(message)
        self.lines = lines or []


def podman_http_client(url: str) -> httpx.AsyncClient:
    """An httpx client for Podman's API at ``unix:///path`` or ``tcp://host:port``.

    No read timeout: a build step can be silent for minutes (compiling, downloading).
    """
    timeout = httpx.Timeout(30.0, read=None)
    if url.startswith("unix://"):
        transport = httpx.AsyncHTTPTransport(uds=url[len("unix://"):])
        return httpx.AsyncClient(transport=transport, base_url="http://podman", timeout=timeout)
    return httpx.AsyncClient(base_url=url.replace("tcp://", "http://"), timeout=timeout)


def write_context_tar(context_dir: str | os.PathLike[str], dockerfile: str | os.PathLike[str],
                      out: str | os.PathLike[str]) -> str:
    """Write the build context to ``out`` and return the Dockerfile's name inside the tar.

    ``dockerfile`` is relative to the context, or an absolute path anywhere. The
    Dockerfile and ``.dockerignore`` are always sent, as Docker does, even if ignored.
    """
    context = Path(context_dir).resolve()
    if not context.is_dir():
        raise BuildError(f"build context {context_dir} is not a folder")
    path = Path(dockerfile)
    full = (path if path.is_absolute() else context / path).resolve()
    if not full.is_file():
        raise BuildError(f"Dockerfile {dockerfile} does not exist")
    inside = full.is_relative_to(context)
    name = full.relative_to(context).as_posix() if inside else EXTERNAL_DOCKERFILE
    ignore = DockerIgnore.from_file(context / ".dockerignore")
    always = {name, ".dockerignore"}
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for rel, item in _walk(context, ignore, always):
            tar.add(item, arcname=rel, recursive=False, filter=_normalise)
        if not inside:
            tar.add(full, arcname=name, filter=_normalise)
    return name


def _walk(root: Path, ignore: DockerIgnore, always: set[str]):
    """(relative name, path) of every entry to send; excluded folders are pruned unless a
    ``!`` pattern could bring something inside them back."""
    for folder, dirs, files in os.walk(root):
        base = Path(folder).relative_to(root)
        kept_dirs = []
        for name in sorted(dirs):
            rel = (base / name).as_posix()
            if not ignore.excludes(rel):
                yield rel, Path(folder) / name
                kept_dirs.append(name)
            elif ignore.may_include_below(rel):
                kept_dirs.append(name)
        dirs[:] = kept_dirs
        for name in sorted(files):
            rel = (base / name).as_posix()
            if rel in always or not ignore.excludes(rel):
                yield rel, Path(folder) / name


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Same tar for the same files: no host user names, ids or timestamps noise."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


async def _file_chunks(path: str) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(open, path, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, _CHUNK):
            yield chunk
    finally:
        handle.close()


async def _emit(log: LogFn | None, line: str) -> None:
    if log is not None:
        result = log(line)
        if inspect.isawaitable(result):
            await result


async def build_image(
    podman_url: str,
    context_dir: str | os.PathLike[str],
    tag: str,
    dockerfile: str | os.PathLike[str] = "Dockerfile",
    build_args: dict[str, str] | None = None,
    log: LogFn | None = None,
    labels: dict[str, str] | None = None,
    client: httpx.AsyncClient | None = None,
) -> str:
    """Build ``context_dir`` into ``tag``; return the image id.

    Output lines go to ``log`` as they arrive (without trailing newlines). Raises
    BuildError with Podman's error text on failure. Cancel the calling task to abort:
    the HTTP request is closed and the running RUN step is killed, so the build stops
    within about a second.
    """
    own_client = client is None
    client = client or podman_http_client(podman_url)
    workdir = tempfile.mkdtemp(prefix="bp-build-")
    tar_path = os.path.join(workdir, "context.tar")
    try:
        name = await asyncio.to_thread(write_context_tar, context_dir, dockerfile, tar_path)
        marker = new_build_marker()
        params = {"dockerfile": name, "t": tag, "rm": "true", "forcerm": "true",
                  "buildargs": json.dumps(build_args or {}), "layers": "true",
                  "extrahosts": json.dumps([marker_host(marker)])}
        if labels:
            params["labels"] = json.dumps(labels)
        try:
            return await _stream_build(client, params, tar_path, log)
        except asyncio.CancelledError:
            await asyncio.shield(_stop_steps(marker))
            raise
    finally:
        if own_client:
            await client.aclose()
        await asyncio.to_thread(shutil.rmtree, workdir, True)


async def _stop_steps(marker: str) -> None:
    """Kill the step in progress, twice: a step that started while the request was being
    closed is caught by the second look, and after that Podman starts no new one."""
    for delay in (0.0, 0.5):
        await asyncio.sleep(delay)
        await asyncio.to_thread(kill_build_steps, marker)


async def _stream_build(client: httpx.AsyncClient, params: dict[str, str], tar_path: str,
                        log: LogFn | None) -> str:
    errors: list[str] = []
    image_id: str | None = None
    recent: list[str] = []
    try:
        async with client.stream(
            "POST", f"/{API_VERSION}/libpod/build", params=params,
            content=_file_chunks(tar_path), headers={"Content-Type": "application/x-tar"},
        ) as response:
            if response.status_code != 200:
                body = (await response.aread()).decode(errors="replace")
                raise BuildError(f"Podman refused the build ({response.status_code}): {_message(body)}")
            decoder = _JsonStream()
            async for chunk in response.aiter_bytes():
                for item in decoder.feed(chunk):
                    if "stream" in item:
                        for line in str(item["stream"]).splitlines():
                            recent = (recent + [line])[-20:]
                            await _emit(log, line)
                    if item.get("error"):
                        text = str(item["error"]).strip()
                        errors.append(text)
                        await _emit(log, f"ERROR: {text}")
                    aux = item.get("aux")
                    if isinstance(aux, dict) and aux.get("ID"):
                        image_id = str(aux["ID"])
    except httpx.TransportError as exc:
        raise BuildError(f"lost the connection to Podman during the build: {exc}") from exc
    if errors:
        raise BuildError(f"build failed: {errors[-1]}", errors[-5:] + recent[-5:])
    if image_id is None:
        # Podman 4.x reports the id as the final stream line when there is no aux record.
        last = recent[-1].strip() if recent else ""
        if len(last) == 64 and all(ch in "0123456789abcdef" for ch in last):
            image_id = last
    if image_id is None:
        raise BuildError("build ended without producing an image", recent[-5:])
    return image_id


def _message(body: str) -> str:
    try:
        data = json.loads(body)
        return str(data.get("message") or data.get("cause") or body)[:500]
    except (ValueError, AttributeError):
        return body.strip()[:500]


class _JsonStream:
    """Concatenated JSON objects (newline-separated or not) split across chunks."""

    def __init__(self) -> None:
        self._buffer = ""
        self._decoder = json.JSONDecoder()
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> list[dict]:
        self._buffer += self._utf8.decode(data)
        items = []
        while True:
            stripped = self._buffer.lstrip()
            if not stripped:
                self._buffer = ""
                break
            try:
                item, end = self._decoder.raw_decode(stripped)
            except ValueError:
                self._buffer = stripped
                break
            self._buffer = stripped[end:]
            if isinstance(item, dict):
                items.append(item)
        return items
