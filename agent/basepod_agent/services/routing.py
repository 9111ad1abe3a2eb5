"""Routing: every app is served through Caddy at ``<app>.<root domain>`` plus its custom
domains, on the agent's HTTP(S) ports (issue #6).

Design. Each app owns two host ports: ``App.host_port``, where its live container is
published (so the direct port keeps working), and a spare one (``AppRoute.spare_port``)
where the next version starts during a cutover. Caddy proxies the app's host names to
``127.0.0.1:<live port>``; a cutover points the route at the spare port, and the two
ports swap roles once the old container is gone. The routes are always rebuilt from the
database (plus the upstream of a cutover in flight) and loaded whole through Caddy's
admin API, which keeps its listeners across a load: nothing is refused while it switches.

A watch loop compares Caddy's config with the wanted one every few seconds and loads it
again when they differ: after Caddy restarts (its config is then empty) or the agent
does. When the agent runs its own Caddy and finds it gone, it starts it again first.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from basepod_agent.config import AgentConfig
from basepod_agent.protocol.errors import ErrorCode
from basepod_agent.protocol.routing import AppDomains, DomainsUpdate
from basepod_agent.runtime.caddy import CaddyAdmin, CaddyError, CaddyProcess
from basepod_agent.services import activity
from basepod_agent.services.env import app_row
from basepod_agent.services.errors import AgentError
from basepod_agent.store.database import Database
from basepod_agent.store.models import App, AppDomain

log = logging.getLogger("basepod_agent.routing")
SERVERS = ("basepod", "basepod_local")  # the Caddy servers Basepod owns in a shared Caddy
LOCAL_SUFFIXES = (".localhost", ".local", ".test", ".internal", ".lan", ".home.arpa", ".example", ".invalid")


def is_local(host: str) -> bool:
    """Names no public CA would certify: served over plain HTTP in ``auto`` mode."""
    return host == "localhost" or host.endswith(LOCAL_SUFFIXES)


# Caddy answers an unmatched host with an empty 200; say plainly that nothing is there.
NO_APP = {"handle": [{"handler": "static_response", "status_code": 404,
                      "body": "No Basepod app is served at this address.\n"}]}


def _route(hosts: list[str], port: int) -> dict:
    return {"match": [{"host": hosts}], "terminal": True,
            "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": f"127.0.0.1:{port}"}]}]}


def caddy_apps(config: AgentConfig, routes: list[tuple[list[str], int]]) -> dict:
    """The ``apps`` part of Caddy's config for (hosts, upstream port) pairs."""
    https_port = config.https_port or 443
    plain: list[dict] = []
    secure: list[dict] = []
    secure_hosts: list[str] = []
    for hosts, port in routes:
        if config.tls_mode == "off":
            plain.append(_route(hosts, port))
            continue
        local = [h for h in hosts if is_local(h)] if config.tls_mode == "auto" else []
        public = [h for h in hosts if h not in local]
        if local:
            plain.append(_route(local, port))
        if public:
            secure.append(_route(public, port))
            secure_hosts.extend(public)
    servers: dict = {"basepod_local": {"listen": [f":{config.http_port}"], "routes": [*plain, NO_APP],
                                       "automatic_https": {"disable": True}}}
    http: dict = {"servers": servers, "http_port": config.http_port, "https_port": https_port}
    apps: dict = {"http": http}
    if secure:
        servers["basepod"] = {"listen": [f":{https_port}"], "routes": [*secure, NO_APP]}
        if config.tls_mode == "internal":
            apps["tls"] = {"automation": {"policies": [{"subjects": secure_hosts,
                                                        "issuers": [{"module": "internal"}]}]}}
            apps["pki"] = {"certificate_authorities": {"local": {"install_trust": False}}}
    return apps


def merged(current: dict, ours: dict) -> dict:
    """``current`` with Basepod's servers (and TLS/PKI parts) replaced by ``ours``; the
    admin settings and anyone else's servers stay as they are."""
    config = dict(current or {})
    apps = dict(config.get("apps") or {})
    http = dict(apps.get("http") or {})
    servers = {k: v for k, v in (http.get("servers") or {}).items() if k not in SERVERS}
    servers.update(ours["http"]["servers"])
    http.update({k: v for k, v in ours["http"].items() if k != "servers"}, servers=servers)
    apps["http"] = http
    for key in ("tls", "pki"):
        if key in ours:
            apps[key] = ours[key]
    config["apps"] = apps
    return config


def ours_in(config: dict, wanted: dict) -> dict:
    """The parts of a Caddy config that ``wanted`` sets, for comparing the two."""
    apps = (config or {}).get("apps") or {}
    http = apps.get("http") or {}
    servers = {k: v for k, v in (http.get("servers") or {}).items() if k in SERVERS}
    found: dict = {"http": {**{k: http.get(k) for k in wanted["http"] if k != "servers"}, "servers": servers}}
    for key in wanted.keys() - {"http"}:
        found[key] = apps.get(key)
    return found


class RoutingService:
    def __init__(self, config: AgentConfig, db: Database) -> None:
        self.config, self.db = config, db
        self.enabled = config.routing
        self.process: CaddyProcess | None = None
        if config.caddy_admin:
            self.admin = CaddyAdmin(config.caddy_admin)
        else:
            self.process = CaddyProcess(config.caddy_binary, config.state_dir / "caddy")
            self.admin = CaddyAdmin(self.process.admin_address)
        self._upstreams: dict[str, int] = {}  # app -> port, while its cutover is in flight
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self.applied = 0  # loads done; the watch loop's re-applies count too

    # --- names and URLs --------------------------------------------------------------

    def default_domain(self, app: str) -> str:
        return f"{app}.{self.config.root_domain}"

    def url_for(self, host: str) -> str:
        secure = self.config.tls_mode == "internal" or (self.config.tls_mode == "auto" and not is_local(host))
        port = (self.config.https_port or 443) if secure else self.config.http_port
        default = 443 if secure else 80
        return f"{'https' if secure else 'http'}://{host}" + (f":{port}" if port != default else "")

    def url_of(self, app: str) -> str | None:
        return self.url_for(self.default_domain(app)) if self.enabled else None

    # --- domains ---------------------------------------------------------------------

    def domains(self, name: str) -> AppDomains:
        with self.db.session() as s:
            row = app_row(s, name)
            custom = list(s.scalars(select(AppDomain.domain).where(AppDomain.app_id == row.id)
                                    .order_by(AppDomain.domain)))
        hosts = [self.default_domain(name), *custom]
        return AppDomains(app=name, default_domain=hosts[0] if self.enabled else None, domains=custom,
                          urls=[self.url_for(h) for h in hosts] if self.enabled else [], routing=self.enabled)

    async def set_domains(self, actor: str, name: str, req: DomainsUpdate) -> AppDomains:
        root = "." + self.config.root_domain
        with self.db.session() as s:
            row = app_row(s, name)
            apps = set(s.scalars(select(App.name)))
            for domain in req.domains:
                owner = s.scalar(select(App.name).join(AppDomain, AppDomain.app_id == App.id)
                                 .where(AppDomain.domain == domain))
                if owner is not None and owner != name:
                    raise AgentError(ErrorCode.CONFLICT, f"domain {domain!r} is already used by app {owner!r}",
                                     "domains")
                label = domain.removesuffix(root)
                if domain.endswith(root) and label in apps and label != name:
                    raise AgentError(ErrorCode.CONFLICT, f"domain {domain!r} is app {label!r}'s default address",
                                     "domains")
            for existing in s.scalars(select(AppDomain).where(AppDomain.app_id == row.id)):
                s.delete(existing)
            s.flush()
            s.add_all(AppDomain(domain=d, app_id=row.id) for d in req.domains)
            activity.record(s, actor, "app.domains", name, " ".join(req.domains)[:500] or "(none)")
        await self.apply_quietly()
        return self.domains(name)

    # --- Caddy -----------------------------------------------------------------------

    def wanted(self) -> dict:
        with self.db.session() as s:
            apps = s.execute(select(App.id, App.name, App.host_port).order_by(App.name)).all()
            custom: dict[int, list[str]] = {}
            for domain, app_id in s.execute(select(AppDomain.domain, AppDomain.app_id).order_by(AppDomain.domain)):
                custom.setdefault(app_id, []).append(domain)
        # An app created after another app took its default name as a custom domain
        # still gets its own address: defaults win.
        defaults = {self.default_domain(name) for _, name, _ in apps}
        routes = [([self.default_domain(name), *(d for d in custom.get(app_id, []) if d not in defaults)],
                   self._upstreams.get(name, port)) for app_id, name, port in apps]
        return caddy_apps(self.config, routes)

    async def apply(self) -> None:
        """Load the wanted routes into Caddy now (raises CaddyError when it refuses)."""
        if not self.enabled:
            return
        async with self._lock:
            current = await self.admin.config()
            await self.admin.load(merged(current, self.wanted()))
            self.applied += 1

    async def apply_quietly(self) -> None:
        """For changes whose record is already written: a Caddy hiccup is logged and the
        watch loop applies the routes again."""
        try:
            await self.apply()
        except CaddyError as exc:
            log.warning("could not update Caddy's routes (will retry): %s", exc)

    async def point(self, app: str, port: int | None) -> None:
        """Send ``app``'s traffic to ``port`` (None: back to what the database says)."""
        if port is None:
            self._upstreams.pop(app, None)
        else:
            self._upstreams[app] = port
        await self.apply()

    def on_lifecycle(self, actor: str, action: str, name: str) -> None:
        if self.enabled and action in ("app.create", "app.delete"):
            asyncio.get_running_loop().create_task(self.apply_quietly())

    def settle(self, app: str) -> None:
        """The cutover's result is in the database now; stop overriding its upstream."""
        self._upstreams.pop(app, None)

    async def ensure(self) -> None:
        """Caddy up and serving the wanted routes: start the agent's own Caddy if it is
        gone, and load the routes when Caddy's differ from them."""
        if not await self.admin.alive():
            if self.process is None:
                raise CaddyError(f"Caddy admin API at {self.admin.address} is not answering")
            log.warning("starting Caddy (%s)", self.config.caddy_binary)
            await self.process.start(self.admin)
        async with self._lock:
            current = await self.admin.config()
            wanted = self.wanted()
            if ours_in(current, wanted) != wanted:
                await self.admin.load(merged(current, wanted))
                self.applied += 1
                log.info("applied the routes of %d apps to Caddy", len(wanted["http"]["servers"]))

    async def start(self) -> None:
        if not self.enabled:
            return
        try:
            await self.ensure()
        except CaddyError as exc:
            log.error("routing through Caddy is not working yet: %s", exc)
        self._task = asyncio.create_task(self._watch(), name="routing-watch")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.config.routing_check_interval)
            try:
                await self.ensure()
            except CaddyError as exc:
                log.warning("Caddy: %s", exc)
            except Exception:
                log.exception("routing watch failed")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.process is not None:
            await self.process.stop()
        await self.admin.aclose()
