"""Container counters from libpod's stats endpoint, for the metrics collector.

A mixin of PodmanRuntime: it needs the runtime's async HTTP client (``_http``) to the
Podman API, which answers stats for many containers in one call, unlike podman-py.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from basepod_agent.runtime.errors import ContainerMissing, RuntimeFailure, RuntimeUnavailable


@dataclass(frozen=True)
class ContainerStats:
    """Podman's cumulative counters for one running container at ``at_ns`` (host clock).

    Rates and CPU % are left to the caller: Podman's own CPU figure, without a stream,
    is the average since the container started, not the current load.
    """

    id: str
    at_ns: int
    cpu_ns: int
    memory_bytes: int
    memory_limit_bytes: int
    net_rx: int
    net_tx: int
    block_read: int
    block_write: int
    pids: int


def _stats_of(entry: dict) -> ContainerStats:
    return ContainerStats(
        id=str(entry.get("ContainerID", "")), at_ns=int(entry.get("SystemNano") or 0),
        cpu_ns=int(entry.get("CPUNano") or 0), memory_bytes=int(entry.get("MemUsage") or 0),
        memory_limit_bytes=int(entry.get("MemLimit") or 0), net_rx=int(entry.get("NetInput") or 0),
        net_tx=int(entry.get("NetOutput") or 0), block_read=int(entry.get("BlockInput") or 0),
        block_write=int(entry.get("BlockOutput") or 0), pids=int(entry.get("PIDs") or 0))


class StatsMixin:
    async def _libpod_json(self, path: str, params=None):
        try:
            response = await self._http.get(f"/v4.0.0/libpod{path}", params=params, timeout=30)
        except httpx.TransportError as exc:
            raise RuntimeUnavailable(f"Podman API at {self.url} is not reachable: {exc}") from exc
        if response.status_code == 404:
            raise ContainerMissing(response.text.strip()[:500])
        if response.status_code >= 400:
            raise RuntimeFailure(response.text.strip()[:500])
        return response.json()

    async def container_stats(self, ids: list[str]) -> dict[str, ContainerStats]:
        """Counters of the given containers in one libpod call (``stream=false``), keyed by id.

        One unknown id makes Podman 4.3 answer ``{"Error": {}, "Stats": null}`` for the
        whole call (a container removed since the caller last looked); then every
        container of the store is asked for and the wanted ones are kept. Stopped
        containers come back as zeros and are dropped.
        """
        if not ids:
            return {}
        body = await self._libpod_json("/containers/stats", [("stream", "false"), *(("containers", i) for i in ids)])
        if body.get("Stats") is None:
            body = await self._libpod_json("/containers/stats", {"stream": "false"})
        wanted = set(ids)
        found = (_stats_of(entry) for entry in body.get("Stats") or ())
        return {s.id: s for s in found if s.id in wanted and s.at_ns > 0}

    async def container_cpu_limit(self, container_id: str) -> float | None:
        """The CPU cap in force on a container (``--cpus``), None when uncapped."""
        host = (await self._libpod_json(f"/containers/{container_id}/json")).get("HostConfig") or {}
        if host.get("NanoCpus"):
            return int(host["NanoCpus"]) / 1e9
        if host.get("CpuQuota") and host.get("CpuPeriod"):
            return int(host["CpuQuota"]) / int(host["CpuPeriod"])
        return None
