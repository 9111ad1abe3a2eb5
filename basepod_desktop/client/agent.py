"""``AgentClient``: every agent call as a typed coroutine returning protocol models."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TypeVar
from urllib.parse import quote

import httpx
import websockets
from pydantic import BaseModel, TypeAdapter, ValidationError
from websockets.asyncio.client import unix_connect

from basepod_agent.protocol import LimitsUpdate, LimitsView
from basepod_agent.protocol import (
    BUILD_STREAM_ADAPTER,
    EVENT_ADAPTER,
    LOG_STREAM_ADAPTER,
    PROTOCOL_VERSION,
    AppCreate,
    AppInfo,
    AppList,
    BuildStreamMessage,
    DeployCreated,
    DeployImageRequest,
    DeployInfo,
    DeployList,
    DeployLog,
    DeployRequest,
    EnvPatch,
    EnvReplace,
    EnvState,
    EnvView,
    ErrorBody,
    ErrorCode,
    Event,
    GeneratedDockerfile,
    GitSource,
    HealthConfig,
    HealthHistory,
    HealthReport,
    ImageSource,
    LogChunk,
    LoginRequest,
    LoginResponse,
    LogStreamMessage,
    RuntimeInfo,
    SourceInfo,
    StreamError,
    VersionInfo,
    WhoAmI,
)
from basepod_agent.protocol.webhooks import (
    WebhookDelivery, WebhookDeliveryList, WebhookSecret, WebhookSetup, WebhookSetupResult, WebhookStatus,
)
from basepod_agent.protocol.routing import AppDomains, DomainsUpdate, ReleaseList, RollbackRequest
from basepod_agent.protocol import AlertReport, AlertSettings, AppMetrics, MetricsRange, MetricsSummary
from basepod_desktop.client.errors import (
    AgentUnreachable,
    ApiError,
    ClientError,
    ProtocolMismatch,
    api_error,
)

M = TypeVar("M", bound=BaseModel)
_BASE = "http://basepod-agent"


class AgentClient:
    def __init__(self, socket_path: str, token: str | None = None, timeout: float = 60.0) -> None:
        self.socket_path = socket_path
        self.token = token
        self._http = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=socket_path), base_url=_BASE, timeout=timeout
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AgentClient:
        return self

    async def __aexit__(self, *_exc) -> None:
        await self.aclose()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def _request(self, method: str, path: str, model: type[M] | None = None,
                       body: BaseModel | None = None, params: dict | None = None,
                       content=None, content_type: str | None = None, timeout: float | None = None) -> M | None:
        headers = self._headers()
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = body.model_dump_json(exclude_none=True)
        elif content_type:
            headers["Content-Type"] = content_type
        extra = {"timeout": timeout} if timeout is not None else {}
        try:
            response = await self._http.request(method, path, headers=headers, params=params,
                                                content=content, **extra)
        except httpx.TransportError as exc:
            raise AgentUnreachable(f"cannot reach the agent at {self.socket_path}: {exc}") from exc
        if response.status_code >= 400:
            raise _error_from(response)
        if model is None:
            return None
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise ClientError(f"the agent sent an unexpected answer to {method} {path}: {exc}") from exc

    # --- meta and auth ---------------------------------------------------------------

    async def version(self) -> VersionInfo:
        return await self._request("GET", "/api/version", VersionInfo)

    async def check_version(self) -> VersionInfo:
        """Refuse to talk further to an agent with another protocol version."""
        info = await self.version()
        if info.protocol_version != PROTOCOL_VERSION:
            raise ProtocolMismatch(info.agent_version, info.protocol_version, PROTOCOL_VERSION)
        return info

    async def login(self, email: str, password: str) -> LoginResponse:
        result = await self._request("POST", "/api/auth/login", LoginResponse,
                                     LoginRequest(email=email, password=password))
        self.token = result.token
        return result

    async def logout(self) -> None:
        await self._request("POST", "/api/auth/logout")
        self.token = None

    async def me(self) -> WhoAmI:
        return await self._request("GET", "/api/auth/me", WhoAmI)

    async def status(self) -> RuntimeInfo:
        return await self._request("GET", "/api/status", RuntimeInfo)

    # --- apps ------------------------------------------------------------------------

    async def list_apps(self) -> list[AppInfo]:
        return (await self._request("GET", "/api/apps", AppList)).apps

    async def get_app(self, name: str) -> AppInfo:
        return await self._request("GET", f"{_app(name)}", AppInfo)

    async def create_app(self, spec: AppCreate) -> AppInfo:
        return await self._request("POST", "/api/apps", AppInfo, spec)

    async def start_app(self, name: str) -> AppInfo:
        return await self._request("POST", f"{_app(name)}/start", AppInfo)

    async def stop_app(self, name: str) -> AppInfo:
        return await self._request("POST", f"{_app(name)}/stop", AppInfo)

    async def restart_app(self, name: str) -> AppInfo:
        return await self._request("POST", f"{_app(name)}/restart", AppInfo)

    async def delete_app(self, name: str) -> None:
        await self._request("DELETE", f"{_app(name)}")

    async def logs(self, name: str, tail: int = 200) -> LogChunk:
        return await self._request("GET", f"{_app(name)}/logs", LogChunk, params={"tail": tail})

    async def apply_app(self, name: str) -> AppInfo:
        """Recreate the app's container with its current env (clears "restart needed")."""
        return await self._request("POST", f"{_app(name)}/apply", AppInfo)

    # --- env -------------------------------------------------------------------------

    async def get_env(self, name: str) -> EnvView:
        """Values in clear: admins only (others get Forbidden)."""
        return await self._request("GET", f"{_app(name)}/env", EnvView)

    async def put_env(self, name: str, env: dict[str, str], revision: int | None = None) -> EnvState:
        """Replace the whole set; with ``revision``, Conflict if someone changed it meanwhile."""
        return await self._request("PUT", f"{_app(name)}/env", EnvState, EnvReplace(env=env, revision=revision))

    async def patch_env(self, name: str, set: dict[str, str] | None = None, unset: list[str] | None = None,
                        revision: int | None = None) -> EnvState:
        body = EnvPatch(set=set or {}, unset=unset or [], revision=revision)
        return await self._request("PATCH", f"{_app(name)}/env", EnvState, body)

    # --- health ----------------------------------------------------------------------

    async def get_health(self, name: str) -> HealthReport:
        return await self._request("GET", f"{_app(name)}/health", HealthReport)

    async def put_health(self, name: str, config: HealthConfig) -> HealthReport:
        return await self._request("PUT", f"{_app(name)}/health", HealthReport, config)

    async def health_history(self, name: str, limit: int = 50) -> HealthHistory:
        return await self._request("GET", f"{_app(name)}/health/history", HealthHistory,
                                   params={"limit": limit})

    # --- sources and deploys -------------------------------------------------------------

    async def get_source(self, name: str) -> SourceInfo:
        return await self._request("GET", f"{_app(name)}/source", SourceInfo)

    async def set_source(self, name: str, source: GitSource | ImageSource) -> SourceInfo:
        """The deploy key (GitSource.deploy_key) is sent once and never comes back."""
        payload = source.model_dump(exclude_none=True)
        if isinstance(source, GitSource) and source.deploy_key is not None:
            payload["deploy_key"] = source.deploy_key
        return await self._request("PUT", f"{_app(name)}/source", SourceInfo,
                                   content=json.dumps(payload), content_type="application/json")

    async def deploy(self, name: str, commit: str | None = None) -> DeployCreated:
        return await self._request("POST", f"{_app(name)}/deploy", DeployCreated, DeployRequest(commit=commit))

    async def deploy_image(self, name: str, image: str) -> DeployCreated:
        return await self._request("POST", f"{_app(name)}/deploy/image", DeployCreated,
                                   DeployImageRequest(image=image))

    async def deploy_upload(self, name: str, tar_path: str, commit: str | None = None,
                            message: str | None = None) -> DeployCreated:
        """Upload a tar of a local folder (streamed from disk, never held in memory)."""
        params = {key: value for key, value in (("commit", commit), ("message", message)) if value}

        async def chunks():
            with open(tar_path, "rb") as handle:
                while chunk := handle.read(256 * 1024):
                    yield chunk

        return await self._request("POST", f"{_app(name)}/deploy/upload", DeployCreated, params=params,
                                   content=chunks(), content_type="application/x-tar", timeout=600.0)

    async def list_deploys(self, name: str, limit: int = 50) -> list[DeployInfo]:
        return (await self._request("GET", f"{_app(name)}/deploys", DeployList, params={"limit": limit})).deploys

    async def get_deploy(self, name: str, deploy_id: str) -> DeployInfo:
        return await self._request("GET", _deploy(name, deploy_id), DeployInfo)

    async def deploy_log(self, name: str, deploy_id: str) -> tuple[DeployInfo, str]:
        """The whole stored log (read in slices) and the deploy it belongs to."""
        parts, offset = [], 0
        while True:
            page = await self._request("GET", f"{_deploy(name, deploy_id)}/log", DeployLog, params={"offset": offset})
            parts.append(page.text)
            if page.next_offset >= page.size or page.next_offset == offset:
                break
            offset = page.next_offset
        return await self.get_deploy(name, deploy_id), "".join(parts)

    async def deploy_dockerfile(self, name: str, deploy_id: str) -> str:
        return (await self._request("GET", f"{_deploy(name, deploy_id)}/dockerfile", GeneratedDockerfile)).text

    async def cancel_deploy(self, name: str, deploy_id: str) -> DeployInfo:
        return await self._request("POST", f"{_deploy(name, deploy_id)}/cancel", DeployInfo)

    def follow_deploy_log(self, name: str, deploy_id: str, offset: int = 0) -> AsyncIterator[BuildStreamMessage]:
        """The log so far, then live lines, then BuildEnd; reconnect with the last offset."""
        return self._stream(f"{_deploy(name, deploy_id)}/log/stream?offset={int(offset)}", BUILD_STREAM_ADAPTER)

    # --- resource limits -------------------------------------------------------------

    async def get_limits(self, name: str) -> LimitsView:
        return await self._request("GET", f"{_app(name)}/limits", LimitsView)

    async def put_limits(self, name: str, update: LimitsUpdate) -> LimitsView:
        """Only the fields set on ``update`` are sent: a field set to None clears the override."""
        return await self._request("PUT", f"{_app(name)}/limits", LimitsView,
                                   content=update.model_dump_json(exclude_unset=True),
                                   content_type="application/json", timeout=180)

    # --- streams ---------------------------------------------------------------------

    async def _stream(self, path: str, adapter: TypeAdapter) -> AsyncIterator:
        """Yield typed messages from a WebSocket; a typed error message becomes an ApiError.

        When the consumer closes the stream, a failure while closing the socket is not an
        error to report (raising it would mask the consumer's GeneratorExit).
        """
        closing = False
        try:
            async with unix_connect(
                self.socket_path, f"ws://basepod-agent{path}", additional_headers=self._headers(),
                max_size=16 * 1024 * 1024, open_timeout=20,
            ) as ws:
                async for raw in ws:
                    message = adapter.validate_json(raw)
                    if isinstance(message, StreamError):
                        raise api_error(_status_for(message.error.code), message.error)
                    try:
                        yield message
                    except GeneratorExit:
                        closing = True
                        raise
        except (OSError, websockets.ConnectionClosedError, websockets.InvalidHandshake) as exc:
            if closing:
                return
            raise AgentUnreachable(f"the stream {path} was cut: {exc}") from exc

    def follow_logs(self, name: str, tail: int = 100, since: str | None = None) -> AsyncIterator[LogStreamMessage]:
        """Live log lines; ``since`` (a line's ``ts``) resumes from that second, see the agent."""
        query = f"tail={tail}" + (f"&since={quote(since, safe='')}" if since else "")
        return self._stream(f"{_app(name)}/logs/stream?{query}", LOG_STREAM_ADAPTER)

    def events(self) -> AsyncIterator[Event]:
        return self._stream("/api/events", EVENT_ADAPTER)

    # --- webhooks --------------------------------------------------------------------

    async def webhook_status(self, name: str) -> WebhookStatus:
        return await self._request("GET", f"{_app(name)}/webhook", WebhookStatus)

    async def webhook_setup(self, name: str, branch: str | None = None) -> WebhookSetupResult:
        """Enable the webhook, or regenerate its secret; the answer holds the new secret."""
        return await self._request("POST", f"{_app(name)}/webhook/setup", WebhookSetupResult,
                                   WebhookSetup(branch=branch))

    async def webhook_secret(self, name: str) -> WebhookSecret:
        """The secret in full; the agent writes the activity log for every call."""
        return await self._request("GET", f"{_app(name)}/webhook/secret", WebhookSecret)

    async def webhook_disable(self, name: str) -> WebhookStatus:
        return await self._request("DELETE", f"{_app(name)}/webhook", WebhookStatus)

    async def webhook_deliveries(self, name: str, limit: int = 50) -> list[WebhookDelivery]:
        return (await self._request("GET", f"{_app(name)}/webhook/deliveries", WebhookDeliveryList,
                                    params={"limit": limit})).deliveries

    # --- routing, releases, rollback (issue #6) -------------------------------------

    async def get_domains(self, name: str) -> AppDomains:
        return await self._request("GET", f"{_app(name)}/domains", AppDomains)

    async def set_domains(self, name: str, domains: list[str]) -> AppDomains:
        return await self._request("PUT", f"{_app(name)}/domains", AppDomains, DomainsUpdate(domains=domains))

    async def releases(self, name: str) -> ReleaseList:
        return await self._request("GET", f"{_app(name)}/releases", ReleaseList)

    async def rollback(self, name: str, version: str | None = None) -> DeployCreated:
        return await self._request("POST", f"{_app(name)}/rollback", DeployCreated, RollbackRequest(version=version))
    # --- metrics and alerts ----------------------------------------------------------

    async def metrics(self, name: str, range_: MetricsRange = MetricsRange.HOUR) -> AppMetrics:
        return await self._request("GET", f"{_app(name)}/metrics", AppMetrics, params={"range": range_.value})

    async def metrics_summary(self, range_: MetricsRange = MetricsRange.HOUR, points: int = 60) -> MetricsSummary:
        return await self._request("GET", "/api/metrics/summary", MetricsSummary,
                                   params={"range": range_.value, "points": points})

    async def get_alerts(self, name: str) -> AlertReport:
        return await self._request("GET", f"{_app(name)}/alerts", AlertReport)

    async def put_alerts(self, name: str, settings: AlertSettings) -> AlertReport:
        return await self._request("PUT", f"{_app(name)}/alerts", AlertReport, settings)


def _app(name: str) -> str:
    """App names go into paths quoted, so no input can reach another route."""
    return f"/api/apps/{quote(name, safe='')}"


def _deploy(name: str, deploy_id: str) -> str:
    return f"{_app(name)}/deploys/{quote(deploy_id, safe='')}"


def _status_for(code: ErrorCode) -> int:
    return {ErrorCode.NOT_FOUND: 404, ErrorCode.FORBIDDEN: 403}.get(
        code, 401 if code in (ErrorCode.UNAUTHENTICATED, ErrorCode.TOKEN_EXPIRED) else 400
    )


def _error_from(response: httpx.Response) -> ApiError:
    try:
        body = ErrorBody.model_validate_json(response.content)
    except ValidationError:
        body = ErrorBody(code=ErrorCode.INTERNAL,
                         message=f"agent answered HTTP {response.status_code}: {response.text[:200]}")
    return api_error(response.status_code, body)
