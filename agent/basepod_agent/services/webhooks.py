"""GitHub webhooks (issue #6): per-app secret, delivery handling, delivery history.

A delivery reaches ``receive`` from the public edge. To an unauthenticated caller an
unknown app, a disabled webhook and a wrong signature all look the same (401, one
message), so the edge tells nobody which app names exist. Only a correctly signed
delivery is acted on, and only its id is remembered (``webhook_seen``): a replayed id is
answered ``duplicate`` and deploys nothing, across restarts too, while an unsigned
request cannot burn a real id in advance.

Rejected (unsigned) deliveries go to the app's bounded history but not to the activity
log, which strangers on the internet must not be able to grow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from basepod_agent.config import AgentConfig
from basepod_agent.protocol.deploys import GitSource
from basepod_agent.protocol.errors import ErrorCode
from basepod_agent.protocol.events import WebhookDelivered
from basepod_agent.protocol.webhooks import (
    DeliveryResult, WebhookAnswer, WebhookDelivery, WebhookSecret, WebhookSetup, WebhookSetupResult, WebhookStatus,
)
from basepod_agent.services import activity
from basepod_agent.services.crypto import SecretBox, webhook_secret_aad
from basepod_agent.services.deploys import DeployService
from basepod_agent.services.env import app_row
from basepod_agent.services.errors import AgentError, check_limit
from basepod_agent.services.events import EventBus
from basepod_agent.services.ratelimit import TokenBuckets
from basepod_agent.services.webhook_github import PayloadError, parse_payload, read_push
from basepod_agent.services.webhook_signature import burn_time, new_secret, signature_ok
from basepod_agent.store.database import Database
from basepod_agent.store.models import App, AppSource, Webhook, WebhookDeliveryRow, WebhookSeen

log = logging.getLogger("basepod_agent.webhooks")
HISTORY = 200  # deliveries kept per app
SEEN = 5000  # signed delivery ids remembered per app (replay refusal)
MAX_LIST = HISTORY
UNAUTHORIZED = "signature missing or invalid, or no webhook is enabled at this address"


@dataclass
class Incoming:
    """The parts of an HTTP request a delivery is judged on."""

    event: str | None
    delivery_id: str | None
    signature: str | None
    content_type: str | None
    body: bytes


def _to_model(row: WebhookDeliveryRow, app: str) -> WebhookDelivery:
    return WebhookDelivery(
        id=row.id, app=app, delivery_id=row.delivery_id, at=row.at, event=row.event, branch=row.branch,
        commit=row.commit, commit_message=row.commit_message, repository=row.repository, pusher=row.pusher,
        signature_ok=row.signature_ok, result=DeliveryResult(row.result), detail=row.detail, deploy_id=row.deploy_id,
    )


class WebhookService:
    def __init__(self, config: AgentConfig, db: Database, box: SecretBox, deploys: DeployService,
                 bus: EventBus) -> None:
        self.config, self.db, self.box, self.deploys, self.bus = config, db, box, deploys, bus
        rate = config.webhook_rate_per_minute / 60.0
        self.per_app = TokenBuckets(rate, config.webhook_burst)
        self.per_client = TokenBuckets(rate, config.webhook_burst)

    # --- control API -----------------------------------------------------------------

    def url_for(self, name: str) -> tuple[str | None, str | None]:
        """The payload URL GitHub is given, or why there is none."""
        base = self.config.public_url
        if not base:
            return None, ("The agent has no public URL: set public_url in agent.toml (or serve --public-url) "
                          "to the address where GitHub reaches the edge API.")
        return f"{base.rstrip('/')}/api/apps/{name}/webhook", None

    def status(self, name: str) -> WebhookStatus:
        with self.db.session() as s:
            app = app_row(s, name)
            hook = s.get(Webhook, app.id)
            last = s.scalar(select(func.max(WebhookDeliveryRow.at)).where(WebhookDeliveryRow.app_id == app.id))
        url, note = self.url_for(name)
        if hook is None or not hook.enabled:
            return WebhookStatus(app=name, enabled=False, url=url, url_note=note, last_delivery_at=last)
        return WebhookStatus(app=name, enabled=True, branch=hook.branch, url=url, url_note=note,
                             created_at=hook.created_at, secret_rotated_at=hook.secret_rotated_at,
                             last_delivery_at=last)

    def setup(self, actor: str, name: str, body: WebhookSetup) -> WebhookSetupResult:
        """Enable the webhook with a fresh secret; called again, it regenerates the secret."""
        secret, now = new_secret(), activity.utcnow()
        with self.db.session() as s:
            app = app_row(s, name)
            hook = s.get(Webhook, app.id)
            if hook is None:
                src = s.get(AppSource, app.id)
                default = src.branch if src is not None and src.type == "git" and src.branch else "main"
                hook = Webhook(app_id=app.id, branch=body.branch or default, created_at=now)
                s.add(hook)
            elif body.branch:
                hook.branch = body.branch
            hook.enabled, hook.secret_rotated_at = True, now
            hook.secret_enc = self.box.encrypt(secret, webhook_secret_aad(app.id))
            activity.record(s, actor, "webhook.setup", name, f"branch {hook.branch}; new secret")
            branch = hook.branch
        url, note = self.url_for(name)
        return WebhookSetupResult(url=url, secret=secret, branch=branch, url_note=note)

    def reveal(self, actor: str, name: str) -> WebhookSecret:
        with self.db.session() as s:
            app = app_row(s, name)
            hook = s.get(Webhook, app.id)
            if hook is None or not hook.enabled:
                raise AgentError(ErrorCode.CONFLICT, f"app {name!r} has no webhook: enable it with "
                                 f"POST /api/apps/{name}/webhook/setup (bp webhook setup)")
            secret = self.box.decrypt(hook.secret_enc, webhook_secret_aad(app.id))
            activity.record(s, actor, "webhook.secret.reveal", name)
        return WebhookSecret(app=name, secret=secret)

    def disable(self, actor: str, name: str) -> WebhookStatus:
        """Forget the secret (a later setup makes a new one); the history stays."""
        with self.db.session() as s:
            app = app_row(s, name)
            hook = s.get(Webhook, app.id)
            if hook is not None:
                s.delete(hook)
                activity.record(s, actor, "webhook.disable", name)
        return self.status(name)

    def deliveries(self, name: str, limit: int = 50) -> list[WebhookDelivery]:
        check_limit(limit, MAX_LIST)
        with self.db.session() as s:
            app = app_row(s, name)
            rows = s.scalars(select(WebhookDeliveryRow).where(WebhookDeliveryRow.app_id == app.id)
                             .order_by(WebhookDeliveryRow.id.desc()).limit(limit)).all()
            return [_to_model(row, name) for row in rows]

    # --- edge API --------------------------------------------------------------------

    def throttle(self, name: str, client: str) -> float:
        """Seconds to wait before this client (or anyone, for this app) may deliver again."""
        wait = self.per_client.take(f"ip:{client}")
        return wait or self.per_app.take(f"app:{name}")

    async def receive(self, name: str, req: Incoming) -> WebhookAnswer:
        """Judge one delivery; raises AgentError (401, 409, 422) for what GitHub must see failing."""
        with self.db.session() as s:
            app = s.scalar(select(App).where(App.name == name))
            hook = s.get(Webhook, app.id) if app is not None else None
            secret = self.box.decrypt(hook.secret_enc, webhook_secret_aad(app.id)) if hook and hook.enabled else None
            app_id, branch = (app.id, hook.branch) if secret else (0, "")
        if secret is None:
            burn_time(req.body)
            raise AgentError(ErrorCode.UNAUTHENTICATED, UNAUTHORIZED)
        event = (req.event or "")[:64] or None
        delivery_id = (req.delivery_id or "").strip()[:100] or None
        row = WebhookDeliveryRow(app_id=app_id, delivery_id=delivery_id, event=event, signature_ok=False,
                                 result=DeliveryResult.REJECTED.value)
        if not signature_ok(secret, req.body, req.signature):
            row.detail = "no X-Hub-Signature-256 header" if not req.signature else "wrong signature"
            self._record(name, row, actor=None)
            raise AgentError(ErrorCode.UNAUTHENTICATED, UNAUTHORIZED)
        row.signature_ok = True
        if delivery_id is None:
            return self._fail(name, row, ErrorCode.INVALID_INPUT, "no X-GitHub-Delivery header", "X-GitHub-Delivery")
        try:
            data = parse_payload(req.body, req.content_type)
        except PayloadError as exc:
            return self._fail(name, row, ErrorCode.INVALID_INPUT, str(exc), "body")
        push = read_push(data)
        row.branch, row.repository, row.pusher = push.branch, push.repository, push.pusher
        if event == "push":
            row.commit, row.commit_message = (push.after if push.sha_ok else None), push.message
        if not self._first_time(app_id, delivery_id):
            return self._answer(name, row, DeliveryResult.DUPLICATE,
                                f"delivery {delivery_id} was handled before; not deploying it again")
        if event == "ping":
            return self._answer(name, row, DeliveryResult.PONG, "pong: the webhook is set up")
        if event != "push":
            return self._answer(name, row, DeliveryResult.IGNORED,
                                f"event {event or '(none)'} is ignored; only push deploys")
        if push.branch is None:
            return self._answer(name, row, DeliveryResult.IGNORED, f"{push.ref or 'the ref'} is not a branch")
        if push.branch != branch:
            return self._answer(name, row, DeliveryResult.IGNORED,
                                f"push to {push.branch}; this app deploys {branch}")
        if push.deleted:
            return self._answer(name, row, DeliveryResult.IGNORED, f"branch {branch} was deleted")
        if not push.sha_ok:
            return self._fail(name, row, ErrorCode.INVALID_INPUT, "the push has no commit sha in 'after'", "after")
        return await self._deploy(name, row, push.after)

    async def _deploy(self, name: str, row: WebhookDeliveryRow, sha: str) -> WebhookAnswer:
        if not isinstance(self.deploys.get_source(name).source, GitSource):
            return self._fail(name, row, ErrorCode.CONFLICT, f"app {name!r} has no git source to deploy a push "
                              f"from: set one (bp source {name} --git URL)", "source")
        try:
            created = await self.deploys.deploy(self._actor(row), name, sha)
        except AgentError as exc:
            return self._fail(name, row, exc.code, exc.message, exc.field)
        row.deploy_id = created.id
        return self._answer(name, row, DeliveryResult.DEPLOYED, f"deploying {sha[:12]} as {created.id}")

    # --- records ---------------------------------------------------------------------

    @staticmethod
    def _actor(row: WebhookDeliveryRow) -> str:
        return f"github:{row.pusher or 'unknown'}"

    def _first_time(self, app_id: int, delivery_id: str) -> bool:
        try:
            with self.db.session() as s:
                s.add(WebhookSeen(app_id=app_id, delivery_id=delivery_id, at=activity.utcnow()))
        except IntegrityError:
            return False
        return True

    def _answer(self, name: str, row: WebhookDeliveryRow, result: DeliveryResult, message: str) -> WebhookAnswer:
        row.result, row.detail = result.value, message
        self._record(name, row, actor=self._actor(row))
        return WebhookAnswer(result=result, message=message, deploy_id=row.deploy_id)

    def _fail(self, name: str, row: WebhookDeliveryRow, code: ErrorCode, message: str, field: str | None) -> NoReturn:
        """Record an error and let GitHub show it failing. The id is forgotten, so a
        redelivery after the cause is fixed is not refused as a duplicate."""
        row.result, row.detail = DeliveryResult.ERROR.value, message
        if row.delivery_id:
            with self.db.session() as s:
                s.execute(delete(WebhookSeen).where(WebhookSeen.app_id == row.app_id,
                                                    WebhookSeen.delivery_id == row.delivery_id))
        self._record(name, row, actor=self._actor(row))
        raise AgentError(code, message, field)

    def _record(self, name: str, row: WebhookDeliveryRow, actor: str | None) -> None:
        row.at = activity.utcnow()
        with self.db.session() as s:
            s.add(row)
            if actor is not None:
                detail = f"{row.delivery_id} {row.event} {row.result}: {row.detail}"
                activity.record(s, actor, "webhook.delivery", name, detail[:500])
            s.flush()
            delivery = _to_model(row, name)
            self._prune(s, row.app_id)
        self.bus.publish(WebhookDelivered(app=name, delivery=delivery, at=row.at))

    @staticmethod
    def _prune(s, app_id: int) -> None:
        for table, order, keep in ((WebhookDeliveryRow, WebhookDeliveryRow.id, HISTORY),
                                   (WebhookSeen, WebhookSeen.at, SEEN)):
            cutoff = s.scalar(select(order).where(table.app_id == app_id).order_by(order.desc())
                              .offset(keep).limit(1))
            if cutoff is not None:
                s.execute(delete(table).where(table.app_id == app_id, order <= cutoff))
