"""The only module that imports the ``podman`` package.

podman-py is synchronous: every public coroutine here runs its call in a small thread
pool so the agent's event loop never waits on Podman. Errors are translated into the
runtime exceptions below so services never see podman or requests exceptions.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeVar

import httpx
import podman
from podman import errors as podman_errors

from basepod_agent.runtime.errors import ContainerMissing, ImageMissing, RuntimeFailure, RuntimeUnavailable
from basepod_agent.runtime.log_frames import LogFrameDecoder
from basepod_agent.runtime.podman_stats import StatsMixin

APP_LABEL = "basepod.app"
CONTAINER_PREFIX = "basepod-"
# "stopped" is Podman's state between the exit (code known) and the cleanup ("exited"):
# a poll that lands in it must not report a crash without its exit code.
EXITED_STATES = ("exited", "stopped")
T = TypeVar("T")


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    app: str
    port: int
    host_port: int
    command: list[str] | None
    env: dict[str, str]
    cpus: float | None = None  # CFS quota over a 100 ms period; None = no cap
    memory_bytes: int | None = None  # also the memory+swap cap: swapping is not a way around it


@dataclass(frozen=True)
class ContainerState:
    id: str
    name: str
    app: str
    state: str  # podman's word: created, running, exited, paused, stopping, ...
    exit_code: int | None
    started_at: datetime | None
    finished_at: datetime | None


def container_name(app: str) -> str:
    return f"{CONTAINER_PREFIX}{app}"


def _epoch(value) -> datetime | None:
    if not value or int(value) <= 0:
        return None
    return datetime.fromtimestamp(int(value), tz=timezone.utc)


def _iso(value) -> datetime | None:
    """Podman's inspect times: RFC 3339 with nanoseconds, or Go's zero time when unset."""
    if not value or str(value).startswith("0001-"):
        return None
    text = str(value)
    head, _, rest = text.partition(".")
    zone = ""
    for sign in ("Z", "+", "-"):
        if sign in rest:
            zone = rest[rest.index(sign):]
            break
    try:
        moment = datetime.fromisoformat(head + (zone.replace("Z", "+00:00") if zone else "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def _clean(exc: Exception) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return str(text).strip().splitlines()[0][:500] if text else exc.__class__.__name__


class PodmanRuntime(StatsMixin):
    def __init__(self, url: str, workers: int = 8) -> None:
        self.url = url
        self._client = podman.PodmanClient(base_url=url, timeout=120)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="podman")
        self._http = _async_http(url)

    async def _call(self, fn: Callable[..., T], *args, **kwargs) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))
        except RuntimeFailure:
            raise
        except podman_errors.ImageNotFound as exc:
            raise ImageMissing(_clean(exc)) from exc
        except podman_errors.NotFound as exc:
            raise ContainerMissing(_clean(exc)) from exc
        except podman_errors.APIError as exc:
            raise RuntimeFailure(_clean(exc)) from exc
        except (OSError, podman_errors.PodmanError) as exc:
            raise RuntimeUnavailable(f"Podman API at {self.url} is not reachable: {_clean(exc)}") from exc
        except Exception as exc:  # requests' ConnectionError and friends
            if "Connection" in type(exc).__name__:
                raise RuntimeUnavailable(
                    f"Podman API at {self.url} is not reachable: {_clean(exc)}"
                ) from exc
            raise

    async def version(self) -> str:
        info = await self._call(self._client.version)
        return str(info.get("Version", "unknown"))

    async def ping(self) -> bool:
        try:
            return bool(await self._call(self._client.ping))
        except RuntimeFailure:
            return False

    async def ensure_image(self, ref: str) -> None:
        """Use a local image when present, otherwise pull it; ImageMissing if neither works."""

        def work() -> None:
            if self._client.images.exists(ref):
                return
            try:
                self._client.images.pull(ref)
            except podman_errors.APIError as exc:
                raise ImageMissing(
                    f"image {ref} is not on the server and could not be pulled: {_clean(exc)}"
                ) from exc
            if not self._client.images.exists(ref):
                raise ImageMissing(f"image {ref} could not be pulled")

        await self._call(work)

    async def create(self, spec: ContainerSpec) -> str:
        def work() -> str:
            kwargs = dict(
                name=spec.name,
                labels={APP_LABEL: spec.app},
                ports={f"{spec.port}/tcp": spec.host_port},
                environment=spec.env,
                detach=True,
            )
            if spec.command:
                kwargs["command"] = spec.command
            kwargs.update(_limit_kwargs(spec.cpus, spec.memory_bytes))
            return self._client.containers.create(spec.image, **kwargs).id

        return await self._call(work)

    async def start(self, name: str) -> None:
        await self._call(lambda: self._client.containers.get(name).start())

    async def stop(self, name: str, timeout: int) -> None:
        await self._call(self._post_with_grace, name, "stop", timeout)

    async def restart(self, name: str, timeout: int) -> None:
        await self._call(self._post_with_grace, name, "restart", timeout)

    def _post_with_grace(self, name: str, action: str, timeout: int) -> None:
        """POST stop/restart with an HTTP timeout that outlasts the stop timeout.

        podman-py waits only ``1.5 * timeout`` for the answer, but a container that
        ignores SIGTERM takes ``timeout`` plus the kill (and, for restart, the start):
        with short stop timeouts the request was cut off ("POST operation failed").
        """
        container = self._client.containers.get(name)
        response = self._client.api.post(f"/containers/{container.id}/{action}",
                                     params={"timeout": timeout}, timeout=timeout + 60)
        if response.status_code == 304:  # already stopped
            return
        response.raise_for_status()

    async def remove(self, name: str) -> None:
        def work() -> None:
            try:
                self._client.containers.get(name).remove(force=True, v=True)
            except podman_errors.NotFound:
                pass

        await self._call(work)

    async def rename(self, name: str, new_name: str) -> None:
        await self._call(lambda: self._client.containers.get(name).rename(new_name))

    async def list_managed(self) -> dict[str, ContainerState]:
        """All Basepod containers in one API call, keyed by app name."""

        def work() -> dict[str, ContainerState]:
            found: dict[str, ContainerState] = {}
            for c in self._client.containers.list(all=True, filters={"label": APP_LABEL}):
                attrs = c.attrs
                app = (attrs.get("Labels") or {}).get(APP_LABEL)
                names = attrs.get("Names") or [""]
                if not app or names[0] != container_name(app):
                    continue
                state = str(attrs.get("State", "unknown"))
                found[app] = ContainerState(
                    id=attrs.get("Id", ""),
                    name=names[0],
                    app=app,
                    state=state,
                    exit_code=attrs.get("ExitCode") if state in EXITED_STATES else None,
                    started_at=_epoch(attrs.get("StartedAt")),
                    finished_at=_epoch(attrs.get("ExitedAt")) if state in EXITED_STATES else None,
                )
            return found

        return await self._call(work)

    async def inspect_managed(self, app: str) -> ContainerState | None:
        """One app's container state (None when it does not exist), in one API call."""

        def work() -> ContainerState | None:
            try:
                attrs = self._client.containers.get(container_name(app)).attrs
            except podman_errors.NotFound:
                return None
            state = attrs.get("State") or {}
            status = str(state.get("Status", "unknown"))
            return ContainerState(
                id=attrs.get("Id", ""), name=container_name(app), app=app, state=status,
                exit_code=state.get("ExitCode") if status in EXITED_STATES else None,
                started_at=_iso(state.get("StartedAt")),
                finished_at=_iso(state.get("FinishedAt")) if status in EXITED_STATES else None,
            )

        return await self._call(work)

    async def logs(self, name: str, tail: int) -> list[str]:
        def work() -> list[str]:
            container = self._client.containers.get(name)
            raw = container.logs(stdout=True, stderr=True, timestamps=True, tail=tail)
            if isinstance(raw, bytes):
                raw = [raw]
            return b"".join(raw).decode(errors="replace").splitlines()

        return await self._call(work)

    async def follow_logs(self, name: str, tail: int, since: int | None = None) -> AsyncIterator[list[str]]:
        """Yield batches of log lines as the container writes them, until it stops.

        Streams Podman's REST endpoint with httpx rather than podman-py, because a
        blocking reader thread could not be interrupted when the client goes away;
        an async stream is simply cancelled.
        """
        params = {"follow": "true", "stdout": "true", "stderr": "true", "timestamps": "true"}
        if since is not None:
            params["since"] = str(since)  # unix seconds, inclusive; every line from then on
        else:
            params["tail"] = str(tail)
        try:
            async with self._http.stream(
                "GET", f"/v4.0.0/libpod/containers/{name}/logs", params=params, timeout=None
            ) as response:
                if response.status_code == 404:
                    raise ContainerMissing(f"container {name} does not exist")
                if response.status_code >= 400:
                    await response.aread()
                    raise RuntimeFailure(response.text.strip()[:500])
                frames = LogFrameDecoder()
                async for chunk in response.aiter_bytes():
                    lines = frames.feed(chunk)
                    if lines:
                        yield lines
                rest = frames.flush()
                if rest:
                    yield rest
        except httpx.TransportError as exc:
            raise RuntimeUnavailable(f"Podman API at {self.url} is not reachable: {exc}") from exc

    # --- images and containers for cutover and releases (issue #6) -------------------

    async def tag_image(self, ref: str, tag: str) -> None:
        """Give image ``ref`` the extra name ``tag`` (``repo:tag``)."""
        repository, _, label = tag.rpartition(":")
        await self._call(lambda: self._client.images.get(ref).tag(repository, label))

    async def image_tags(self, repository: str) -> list[str]:
        """Every ``repository:tag`` name present, e.g. all of ``localhost/basepod/web``."""

        def work() -> list[str]:
            found: list[str] = []
            for image in self._client.images.list(filters={"reference": repository}):
                found.extend(t for t in (image.attrs.get("Names") or image.tags or [])
                             if t.rpartition(":")[0] == repository)
            return sorted(set(found))

        return await self._call(work)

    async def remove_image_tag(self, tag: str) -> bool:
        """Remove the name ``tag`` (the image too when it was its last name). False when a
        container still uses it: Podman refuses, and an image in use is never removed."""

        def work() -> bool:
            try:
                self._client.images.remove(tag)
            except podman_errors.ImageNotFound:
                return True
            except podman_errors.APIError as exc:
                if getattr(exc, "status_code", None) == 409 or "in use" in str(exc):
                    return False
                raise
            return True

        return await self._call(work)

    async def container_status(self, name: str) -> str | None:
        """Podman's state word for container ``name`` (any name), None when it is absent."""

        def work() -> str | None:
            try:
                attrs = self._client.containers.get(name).attrs
            except podman_errors.NotFound:
                return None
            return str((attrs.get("State") or {}).get("Status", "unknown"))

        return await self._call(work)

    async def container_limits(self, name: str) -> tuple[float | None, int | None]:
        """(cpus, memory bytes) of the container's stored config, None for "no cap"."""

        def work() -> tuple[float | None, int | None]:
            host = self._client.containers.get(name).attrs.get("HostConfig") or {}
            return _limits_of(host)

        return await self._call(work)

    async def update_limits(self, name: str, cpus: float | None, memory_bytes: int | None) -> bool:
        """Change a running container's caps through libpod's update; True when Podman
        kept the change in the container's config.

        Podman 4.3 applies the update to the live cgroup only: inspect still shows the
        old caps and the next start brings them back. False tells the caller to
        recreate the container instead. A cap cannot be removed this way (Podman takes
        0 as "unchanged"), so clearing one also returns False.
        """

        def work() -> bool:
            container = self._client.containers.get(name)
            body: dict = {}
            if cpus is not None:
                body["cpu"] = {"quota": int(cpus * CPU_PERIOD_US), "period": CPU_PERIOD_US}
            if memory_bytes is not None:
                body["memory"] = {"limit": memory_bytes, "swap": memory_bytes}
            if body:
                response = self._client.api.post(f"/containers/{container.id}/update", data=json.dumps(body),
                                                 headers={"Content-Type": "application/json"})
                response.raise_for_status()
            container.reload()
            return _limits_of(container.attrs.get("HostConfig") or {}) == (cpus, memory_bytes)

        return await self._call(work)

    async def aclose(self) -> None:
        await self._http.aclose()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()


CPU_PERIOD_US = 100_000


def _limit_kwargs(cpus: float | None, memory_bytes: int | None) -> dict:
    """podman-py create arguments; its ``nano_cpus`` is silently dropped, quota/period is not."""
    kwargs: dict = {}
    if cpus is not None:
        kwargs.update(cpu_quota=int(cpus * CPU_PERIOD_US), cpu_period=CPU_PERIOD_US)
    if memory_bytes is not None:
        kwargs.update(mem_limit=memory_bytes, memswap_limit=memory_bytes)
    return kwargs


def _limits_of(host_config: dict) -> tuple[float | None, int | None]:
    quota, period = host_config.get("CpuQuota") or 0, host_config.get("CpuPeriod") or 0
    cpus = round(quota / period, 4) if quota > 0 and period > 0 else None
    if cpus is None and (nano := host_config.get("NanoCpus") or 0) > 0:
        cpus = round(nano / 1e9, 4)
    return cpus, (host_config.get("Memory") or None)


def _async_http(url: str) -> httpx.AsyncClient:
    if url.startswith("unix://"):
        transport = httpx.AsyncHTTPTransport(uds=url[len("unix://") :])
        return httpx.AsyncClient(transport=transport, base_url="http://podman")
    return httpx.AsyncClient(base_url=url.replace("tcp://", "http://"))
