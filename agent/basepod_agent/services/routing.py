"""Routing: every app is served through Caddy at ``<app>.<root domain>`` plus its custom
domains, on the agent's HTTP(S) ports (issue #6).

Design. Each app owns two host ports: ``App.host_port``, where its live container is
published (so the direct port keeps working), and a spare one (``AppRoute.spare_port``)
where the next version starts during a cutover; the two swap roles after each cutover.
Caddy's config has a route for each of the two ports, guarded by a ``file`` matcher on a
marker ``<state>/caddy/live/<app>/<port>``: exactly one marker exists per app, and a
cutover switches traffic by renaming it (atomic; Caddy stats it per request). So a
cutover never reloads Caddy's config: Caddy 2.6 resets the odd connection that arrives
in the instant of a reload (measured: 4-7 resets per 40 reloads under a 4-client
load), which a zero-downtime switch cannot afford.
The config depends only on the apps, their domains and their port pairs, so it changes
when those do (create, delete, domains), not when versions change. A last route per app
tries both ports, for the moment before a marker exists.

The routes are rebuilt from the database and loaded whole through the admin API.

A watch loop compares Caddy's config with the wanted one every few seconds and loads it
again when they differ: after Caddy restarts (its config is then empty) or the agent
does. When the agent runs its own Caddy and finds it gone, it starts it again first.
"""

from __future__ import annotations

import asyncio
import logging
import shutil

from sqlalchemy import select

from basepod_agent.config import AgentConfig
from basepod_agent.protocol.errors import ErrorCode
from basepod_agent.protocol.routing import AppDomains, DomainsUpdate
from basepod_agent.runtime.caddy import CaddyAdmin, CaddyError, CaddyProcess
from basepod_agent.services import activity
from basepod_agent.services.env import app_row
from basepod_agent.services.errors import AgentError
from basepod_agent.services.ports import pick_host_port
from basepod_agent.store.database import Database
from basepod_agent.store.models import App, AppDomain, AppRoute

log = logging.getLogger("basepod_agent.routing")
SERVERS = ("basepod", "basepod_local")  # the Caddy servers Basepod owns in a shared Caddy
LOCAL_SUFFIXES = (".localhost", ".local", ".test", ".internal", ".lan", ".home.arpa", ".example", ".invalid")


def is_local(host: str) -> bool:
    """Names no public CA would certify: served over plain HTTP in ``auto`` mode."""
    return host == "localhost" or host.endswith(LOCAL_SUFFIXES)


# Caddy answers an unmatched host with an empty 200; say plainly that nothing is there.
NO_APP = {"handle": [{"handler": "static_response", "status_code": 404,
                      "body": "No Basepod app is served at this address.\n"}]}


def _proxy(ports: list[int]) -> dict:
    handler: dict = {"handler": "reverse_proxy", "upstreams": [{"dial": f"127.0.0.1:{p}"} for p in ports]}
    if len(ports) > 1:  # no marker: whichever port accepts, the first one preferred
        handler["load_balancing"] = {"selection_policy": {"policy": "first"}, "try_duration": "2s"}
        handler["health_checks"] = {"passive": {"fail_duration": "2s"}}
    return handler


def _routes(hosts: list[str], ports: list[int], markers: str) -> list[dict]:
    """One route per port, taken while that port's marker exists, then the fallback."""
    found = [{"match": [{"host": hosts, "file": {"root": markers, "try_files": [f"/{port}"]}}],
              "terminal": True, "handle": [_proxy([port])]} for port in ports]
    return [*found, {"match": [{"host": hosts}], "terminal": True, "handle": [_proxy(ports)]}]


def caddy_apps(config: AgentConfig, routes: list[tuple[list[str], list[int], str]]) -> dict:
    """The ``apps`` part of Caddy's config for (hosts, the app's ports, marker dir)."""
    https_port = config.https_port or 443
    plain: list[dict] = []
    secure: list[dict] = []
    secure_hosts: list[str] = []
    for hosts, ports, markers in routes:
        if config.tls_mode == "off":
            plain.extend(_routes(hosts, ports, markers))
            continue
        local = [h for h in hosts if is_local(h)] if config.tls_mode == "auto" else []
        public = [h for h in hosts if h not in local]
        if local:
            plain.extend(_routes(local, ports, markers))
        if public:
            secure.extend(_routes(public, ports, markers))
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
        self.live_dir = (config.state_dir / "caddy" / "live").resolve()
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

    def _apps(self) -> list[tuple[int, str, int, int | None]]:
        with self.db.session() as s:
            return [tuple(r) for r in s.execute(
                select(App.id, App.name, App.host_port, AppRoute.spare_port)
                .join(AppRoute, AppRoute.app_id == App.id, isouter=True).order_by(App.name))]

    def wanted(self) -> dict:
        apps = self._apps()
        with self.db.session() as s:
            custom: dict[int, list[str]] = {}
            for domain, app_id in s.execute(select(AppDomain.domain, AppDomain.app_id).order_by(AppDomain.domain)):
                custom.setdefault(app_id, []).append(domain)
        # An app created after another app took its default name as a custom domain
        # still gets its own address: defaults win.
        defaults = {self.default_domain(name) for _, name, _, _ in apps}
        routes = [([self.default_domain(name), *(d for d in custom.get(app_id, []) if d not in defaults)],
                   sorted({port, spare} - {None}), str(self.live_dir / name))
                  for app_id, name, port, spare in apps]
        return caddy_apps(self.config, routes)

    def _ensure_spares(self) -> None:
        """Every app's port pair is in the config before its first cutover, so the
        cutover itself never has to change the config."""
        with self.db.session() as s:
            missing = list(s.scalars(select(App.id).join(AppRoute, AppRoute.app_id == App.id, isouter=True)
                                     .where(AppRoute.app_id.is_(None))))
            if not missing:
                return
            taken = list(s.scalars(select(App.host_port))) + list(s.scalars(select(AppRoute.spare_port)))
            for app_id in missing:
                port = pick_host_port(self.config.port_range, taken)
                taken.append(port)
                s.add(AppRoute(app_id=app_id, spare_port=port))

    async def apply(self) -> None:
        """Load the wanted routes into Caddy now (raises CaddyError when it refuses)."""
        if not self.enabled:
            return
        async with self._lock:
            self._ensure_spares()
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

    # --- live markers ----------------------------------------------------------------

    def set_live(self, app: str, port: int) -> None:
        """Send ``app``'s new requests to ``port`` from this instant on."""
        folder = self.live_dir / app
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / str(port)
        others = [p for p in folder.iterdir() if p.name != target.name]
        if not target.exists():
            if others:
                others.pop().rename(target)  # one atomic step: never zero or two markers
            else:
                target.touch()
        for stale in others:
            stale.unlink(missing_ok=True)

    def sync_markers(self) -> None:
        """Markers from the database's live ports. Only at start: during a cutover the
        marker is ahead of the database on purpose."""
        apps = self._apps()
        for _, name, port, _ in apps:
            self.set_live(name, port)
        known = {name for _, name, _, _ in apps}
        if self.live_dir.is_dir():
            for folder in self.live_dir.iterdir():
                if folder.name not in known:
                    shutil.rmtree(folder, ignore_errors=True)

    async def point(self, app: str, port: int | None) -> None:
        """Send ``app``'s traffic to ``port`` (None: back to what the database says)."""
        if not self.enabled:
            return
        if port is None:
            self.point_now(app)
        else:
            self.set_live(app, port)

    def on_lifecycle(self, actor: str, action: str, name: str) -> None:
        if not self.enabled or action not in ("app.create", "app.delete"):
            return
        if action == "app.create":
            self.point_now(name)
        else:
            shutil.rmtree(self.live_dir / name, ignore_errors=True)
        asyncio.get_running_loop().create_task(self.apply_quietly())

    def point_now(self, app: str) -> None:
        with self.db.session() as s:
            self.set_live(app, app_row(s, app).host_port)

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
        """At agent start, after crash recovery settled which port is live and before
        any cutover can run: the markers follow the database."""
        if not self.enabled:
            return
        self._ensure_spares()
        self.sync_markers()
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
