"""Deploys: records, the per-app queue and the state machine (issue #5).

One deploy runs per app at a time, in a worker task that lives while the app has work.
At most one deploy waits behind it: a newer request supersedes (cancels) the waiting
one, because deploying an older version right before a newer one only costs time.

    queued -> building -> deploying -> success | failed
    queued | building -> cancelled      (deploying is not cancellable: it swaps containers)
    anything unfinished -> interrupted  (the agent stopped; marked at the next start)

The running container is touched only in ``deploying`` (AppsService.switch_image), so a
failed, cancelled or interrupted build leaves the previous version serving.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select, update

from basepod_agent.config import AgentConfig
from basepod_agent.protocol.deploys import DeployCreated, DeployInfo, DeployStatus, GitSource, ImageSource, SourceInfo
from basepod_agent.protocol.errors import ErrorCode
from basepod_agent.protocol.events import DeployChanged
from basepod_agent.services import activity
from basepod_agent.services.apps import AppsService
from basepod_agent.services.buildlog import BuildLog, BuildLogStore
from basepod_agent.services.crypto import SecretBox, deploy_key_aad
from basepod_agent.services.deploy_history import prune_deploys
from basepod_agent.services.deploy_pipeline import (
    GENERATED_DOCKERFILE, USER_ERRORS, BuildJob, BuildResult, DeployFailure, image_tag, private_dir, remove_tree,
    run_build,
)
from basepod_agent.services.releases import ReleasesService
from basepod_agent.services.env import app_row
from basepod_agent.services.errors import AgentError, check_limit, not_found
from basepod_agent.services.events import EventBus
from basepod_agent.services.health import HealthService
from basepod_agent.store.database import Database
from basepod_agent.store.models import App, AppSource, Deploy

log = logging.getLogger("basepod_agent.deploys")
UNFINISHED = (DeployStatus.QUEUED.value, DeployStatus.BUILDING.value, DeployStatus.DEPLOYING.value)
MAX_LIST = 200


def new_deploy_id() -> str:
    """Sortable and readable: UTC timestamp, then randomness against same-second clashes."""
    return activity.utcnow().strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)


def to_info(row: Deploy, app: str) -> DeployInfo:
    return DeployInfo(
        id=row.id, app=app, source_type=row.source_type, commit=row.commit, commit_message=row.commit_message,
        triggered_by=row.triggered_by, status=DeployStatus(row.status), created_at=row.created_at,
        started_at=row.started_at, finished_at=row.finished_at, image_tag=row.image_tag, error=row.error,
        dockerfile_generated=row.dockerfile_generated,
        rollback_to=row.requested if row.source_type == "rollback" else None,
        source_image=row.requested if row.source_type == "image" else None,
    )


class DeployService:
    def __init__(self, config: AgentConfig, db: Database, box: SecretBox, apps: AppsService,
                 health: HealthService, bus: EventBus, podman_url: str) -> None:
        self.config, self.db, self.box, self.apps, self.health, self.bus = config, db, box, apps, health, bus
        self.podman_url = podman_url
        self.logs = BuildLogStore(config.state_dir, limit=config.build_log_bytes)
        self.work_root = config.state_dir / "work"
        self._pending: dict[str, str] = {}  # app -> the one queued deploy id
        self._running: dict[str, tuple[str, asyncio.Task]] = {}
        self._workers: dict[str, asyncio.Task] = {}
        self._cancelled_by: dict[str, str] = {}
        self._closing = False
        self._pruning: set[asyncio.Task] = set()
        self.releases = ReleasesService(config, db, apps.runtime)
        apps.on_lifecycle(self._on_lifecycle)

    def _on_lifecycle(self, actor: str, action: str, name: str) -> None:
        if action == "app.delete":
            asyncio.get_running_loop().create_task(asyncio.to_thread(self._forget_files, name))

    def _forget_files(self, name: str) -> None:
        """A deleted app's git cache and build logs go too (its deploy rows went with the
        app by cascade, so any log folder without a row is an orphan)."""
        remove_tree(self.config.state_dir / "git" / name)
        with self.db.session() as s:
            known = set(s.scalars(select(Deploy.id)))
        settled = time.time() - 60  # a deploy being recorded right now is not an orphan
        if self.logs.root.is_dir():
            for folder in self.logs.root.iterdir():
                if folder.is_dir() and folder.name not in known and folder.stat().st_mtime < settled:
                    remove_tree(folder)

    # --- sources ---------------------------------------------------------------------

    def get_source(self, name: str) -> SourceInfo:
        with self.db.session() as s:
            row = app_row(s, name)
            src = s.get(AppSource, row.id)
            return self._source_info(name, src)

    @staticmethod
    def _source_info(name: str, src: AppSource | None) -> SourceInfo:
        if src is None:
            return SourceInfo(app=name)
        if src.type == "image":
            return SourceInfo(app=name, source=ImageSource(image=src.image or ""))
        return SourceInfo(app=name, source=GitSource(url=src.url or "", branch=src.branch or "main",
                                                     subdir=src.subdir),
                          has_deploy_key=src.deploy_key_enc is not None)

    def set_source(self, actor: str, name: str, source: GitSource | ImageSource) -> SourceInfo:
        with self.db.session() as s:
            row = app_row(s, name)
            src = s.get(AppSource, row.id) or AppSource(app_id=row.id)
            key_enc = src.deploy_key_enc
            src.type, src.updated_at = source.type, activity.utcnow()
            if isinstance(source, GitSource):
                if source.url != src.url and source.deploy_key is None:
                    key_enc = None  # a key is for one repository; never send it to another
                if source.deploy_key is not None:
                    key_enc = self.box.encrypt(source.deploy_key, deploy_key_aad(row.id)) if source.deploy_key else None
                src.url, src.branch, src.subdir, src.image = source.url, source.branch, source.subdir, None
                detail = f"git {source.url} {source.branch}" + (f" {source.subdir}" if source.subdir else "")
            else:
                src.url = src.branch = src.subdir = None
                src.image, key_enc = source.image, None
                detail = f"image {source.image}"
            src.deploy_key_enc = key_enc
            s.add(src)
            activity.record(s, actor, "app.source", name, detail[:500])
            return self._source_info(name, src)

    # --- requests --------------------------------------------------------------------

    async def deploy(self, actor: str, name: str, commit: str | None = None) -> DeployCreated:
        """Deploy from the app's source: the branch head (or ``commit``), or its image."""
        with self.db.session() as s:
            src = s.get(AppSource, app_row(s, name).id)
        if src is None:
            raise AgentError(ErrorCode.CONFLICT, f"app {name!r} has no source: set one with PUT "
                             f"/api/apps/{name}/source (bp source), or deploy --path or --image", "source")
        if src.type == "image":
            if commit:
                raise AgentError(ErrorCode.INVALID_INPUT, "commit applies to git sources only", "commit")
            return self._enqueue(actor, name, "image", src.image)
        return self._enqueue(actor, name, "git", commit)

    async def deploy_image(self, actor: str, name: str, image: str) -> DeployCreated:
        return self._enqueue(actor, name, "image", image)

    async def rollback(self, actor: str, name: str, version: str | None) -> DeployCreated:
        """A deploy record that returns to a kept version through the same cutover."""
        target = await self.releases.resolve(name, version)
        return self._enqueue(actor, name, "rollback", target)

    async def deploy_upload(self, actor: str, name: str, tar_path: Path, commit: str | None,
                            message: str | None) -> DeployCreated:
        created = self._enqueue(actor, name, "upload", None, commit, message, upload=tar_path)
        return created

    def upload_path(self) -> Path:
        """Where an incoming upload is written before its deploy exists."""
        return private_dir(self.work_root / "uploads") / f"{secrets.token_hex(8)}.tar"

    def _enqueue(self, actor: str, name: str, source_type: str, requested: str | None,
                 commit: str | None = None, message: str | None = None, upload: Path | None = None) -> DeployCreated:
        deploy_id = new_deploy_id()
        with self.db.session() as s:
            row = app_row(s, name)
            s.add(Deploy(id=deploy_id, app_id=row.id, source_type=source_type, requested=requested,
                         commit=commit, commit_message=message, triggered_by=actor,
                         status=DeployStatus.QUEUED.value, created_at=activity.utcnow()))
            activity.record(s, actor, "deploy.request", name, f"{deploy_id} {source_type} {requested or ''}".strip())
        if upload is not None:
            target = private_dir(self.work_root / deploy_id) / "upload.tar"
            upload.replace(target)
        log_file = self.logs.create(deploy_id)
        log_file.append(f"Deploy {deploy_id} of {name} ({source_type}) requested by {actor}")
        superseded = self._pending.pop(name, None)
        if superseded is not None:
            self._finish(superseded, name, DeployStatus.CANCELLED, f"superseded by {deploy_id}", actor)
        self._pending[name] = deploy_id
        self._publish(name, deploy_id, DeployStatus.QUEUED)
        if name not in self._workers:
            self._workers[name] = asyncio.create_task(self._worker(name), name=f"deploys-{name}")
        return DeployCreated(id=deploy_id, status=DeployStatus.QUEUED)

    async def _worker(self, name: str) -> None:
        try:
            while not self._closing and name in self._pending:
                deploy_id = self._pending.pop(name)
                task = asyncio.create_task(self._run(name, deploy_id), name=f"deploy-{deploy_id}")
                self._running[name] = (deploy_id, task)
                try:
                    await asyncio.wait({task})
                finally:
                    self._running.pop(name, None)
        finally:
            self._workers.pop(name, None)

    # --- reads -----------------------------------------------------------------------

    def list(self, name: str, limit: int = 50) -> list[DeployInfo]:
        check_limit(limit, MAX_LIST)
        with self.db.session() as s:
            row = app_row(s, name)
            rows = s.scalars(select(Deploy).where(Deploy.app_id == row.id)
                             .order_by(Deploy.created_at.desc(), Deploy.id.desc()).limit(limit)).all()
            return [to_info(d, name) for d in rows]

    def _row(self, s, name: str, deploy_id: str) -> Deploy:
        app = app_row(s, name)
        row = s.get(Deploy, deploy_id)
        if row is None or row.app_id != app.id:
            raise not_found(f"deploy {deploy_id!r} of app {name!r}")
        return row

    def get(self, name: str, deploy_id: str) -> DeployInfo:
        with self.db.session() as s:
            return to_info(self._row(s, name, deploy_id), name)

    def log_of(self, name: str, deploy_id: str) -> BuildLog:
        info = self.get(name, deploy_id)
        return self.logs.get(deploy_id, info.status if info.status.finished else None)

    def dockerfile(self, name: str, deploy_id: str) -> str:
        info = self.get(name, deploy_id)
        path = self.logs.path_for(deploy_id).parent / GENERATED_DOCKERFILE
        if not info.dockerfile_generated or not path.is_file():
            raise not_found(f"generated Dockerfile of deploy {deploy_id} (the repository brought its own)")
        return path.read_text()

    # --- cancel ----------------------------------------------------------------------

    def cancel(self, actor: str, name: str, deploy_id: str) -> DeployInfo:
        info = self.get(name, deploy_id)
        if self._pending.get(name) == deploy_id:
            del self._pending[name]
            self._finish(deploy_id, name, DeployStatus.CANCELLED, f"cancelled by {actor}", actor)
        elif self._running.get(name, ("",))[0] == deploy_id:
            if info.status == DeployStatus.DEPLOYING:
                raise AgentError(ErrorCode.CONFLICT, "the deploy is switching containers and can no "
                                 "longer be cancelled; it finishes in a moment")
            self._cancelled_by[deploy_id] = actor
            self._running[name][1].cancel()
        else:
            raise AgentError(ErrorCode.CONFLICT, f"deploy {deploy_id} already ended ({info.status.value})")
        return self.get(name, deploy_id)

    # --- the run ---------------------------------------------------------------------

    async def _run(self, name: str, deploy_id: str) -> None:
        build_log = self.logs.get(deploy_id)
        workdir = private_dir(self.work_root / deploy_id)
        actor = "agent"
        try:
            job, actor = self._job(name, deploy_id, workdir, build_log)
            self._set(deploy_id, name, DeployStatus.BUILDING, started=True)
            if job.source_type == "rollback":
                build_log.append(f"Rolling back to version {job.image}")
                result = BuildResult(image=image_tag(name, job.image or ""))
            else:
                result = await self.releases.as_release(name, deploy_id, await run_build(job))
            self._set(deploy_id, name, DeployStatus.DEPLOYING, result=result)
            build_log.append(f"Starting {result.image}")
            await asyncio.shield(self._switch(actor, name, result, build_log.append))
            build_log.append("Deployed: the new version is running")
            self._finish(deploy_id, name, DeployStatus.SUCCESS, None, actor)
            await self.releases.prune_quietly(name, build_log.append)
        except asyncio.CancelledError:
            if self._closing:
                self._finish(deploy_id, name, DeployStatus.INTERRUPTED, "the agent stopped during this deploy", actor)
            else:
                who = self._cancelled_by.pop(deploy_id, "someone")
                self._finish(deploy_id, name, DeployStatus.CANCELLED, f"cancelled by {who}", who)
        except (*USER_ERRORS, DeployFailure, AgentError) as exc:
            message = exc.message if isinstance(exc, AgentError) else str(exc)
            self._finish(deploy_id, name, DeployStatus.FAILED, message, actor)
        except Exception as exc:  # a bug: keep the record honest, the traceback in the agent log
            log.exception("deploy %s of %s failed unexpectedly", deploy_id, name)
            self._finish(deploy_id, name, DeployStatus.FAILED, f"internal agent error: {exc}", actor)
        finally:
            await asyncio.to_thread(remove_tree, workdir)

    def _job(self, name: str, deploy_id: str, workdir: Path, build_log: BuildLog) -> tuple[BuildJob, str]:
        with self.db.session() as s:
            app = app_row(s, name)
            row = s.get(Deploy, deploy_id)
            job = BuildJob(deploy_id=deploy_id, app=name, source_type=row.source_type, workdir=workdir,
                           record_dir=self.logs.path_for(deploy_id).parent, log=build_log,
                           podman_url=self.podman_url, base_images=dict(self.config.base_images),
                           git_timeout=self.config.git_timeout)
            if row.source_type in ("image", "rollback"):
                job.image = row.requested
            elif row.source_type == "upload":
                job.upload = workdir / "upload.tar"
            else:
                src = s.get(AppSource, app.id)
                if src is None or src.type != "git":
                    raise DeployFailure("the app's git source was removed before the deploy started")
                job.git_url, job.git_branch, job.git_subdir = src.url, src.branch, src.subdir
                job.git_commit = row.requested
                job.on_commit = lambda sha, message: self._record_commit(deploy_id, sha, message)
                job.git_cache = self.config.state_dir / "git" / name / "repo"
                if src.deploy_key_enc is not None:
                    job.deploy_key = self.box.decrypt(src.deploy_key_enc, deploy_key_aad(app.id))
            return job, row.triggered_by

    async def _switch(self, actor: str, name: str, result: BuildResult, say=None) -> None:
        # Check .basepod's health settings against the app's current ones *before* the
        # new version goes live, so a bad combination fails the deploy, not the app.
        health = result.config.health if result.config else None
        changes = health.model_dump(exclude_none=True) if health else {}
        merged = None
        if changes:
            current = self.health.report(name).config
            try:
                merged = current.model_validate({**current.model_dump(), **changes, "enabled": True})
            except ValidationError as exc:
                problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
                raise DeployFailure(f"`.basepod` [health] with the app's other health settings: {problems}") from None
        await self.apps.switch_image(actor, name, result.image, result.port, result.command, result.env, say=say,
                                     check=merged)
        if merged is not None:
            self.health.configure(actor, name, merged)

    # --- state -----------------------------------------------------------------------

    def _set(self, deploy_id: str, name: str, status: DeployStatus, started: bool = False,
             result: BuildResult | None = None) -> None:
        with self.db.session() as s:
            row = s.get(Deploy, deploy_id)
            row.status = status.value
            if started:
                row.started_at = activity.utcnow()
            if result is not None:
                row.image_tag = result.image
                row.dockerfile_generated = result.generated
                if result.commit:
                    row.commit, row.commit_message = result.commit, result.message
        self._publish(name, deploy_id, status)

    def _record_commit(self, deploy_id: str, sha: str, message: str) -> None:
        with self.db.session() as s:
            row = s.get(Deploy, deploy_id)
            if row is not None:
                row.commit, row.commit_message = sha, message

    def _finish(self, deploy_id: str, name: str, status: DeployStatus, error: str | None, actor: str) -> None:
        build_log = self.logs.get(deploy_id)
        if error:
            build_log.append(f"{'ERROR' if status == DeployStatus.FAILED else status.value.upper()}: {error}")
        build_log.append(f"Deploy {deploy_id} {status.value}")
        with self.db.session() as s:
            row = s.get(Deploy, deploy_id)
            if row is not None:
                row.status, row.error, row.finished_at = status.value, error, activity.utcnow()
                activity.record(s, actor, f"deploy.{status.value}", name, f"{deploy_id} {error or ''}".strip()[:500])
                self._prune(row.app_id)
        self.logs.finish(deploy_id, status)
        self._publish(name, deploy_id, status)

    def _prune(self, app_id: int) -> None:
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(
            prune_deploys, self.db, self.logs, app_id, self.config.deploy_history, self.config.keep_releases))
        self._pruning.add(task)
        task.add_done_callback(self._pruning.discard)

    def _publish(self, name: str, deploy_id: str, status: DeployStatus) -> None:
        self.bus.publish(DeployChanged(app=name, id=deploy_id, status=status, at=activity.utcnow()))

    # --- agent lifecycle -------------------------------------------------------------

    async def recover(self) -> list[str]:
        """At start: deploys the last agent left unfinished are ``interrupted``; a container
        swap it left half done is rolled back to a running app. Returns their ids."""
        now = activity.utcnow()
        with self.db.session() as s:
            rows = s.execute(select(Deploy.id, App.name, Deploy.status).join(App, App.id == Deploy.app_id)
                             .where(Deploy.status.in_(UNFINISHED))).all()
            s.execute(update(Deploy).where(Deploy.status.in_(UNFINISHED)).values(
                status=DeployStatus.INTERRUPTED.value, finished_at=now,
                error="the agent stopped during this deploy; the previous version kept running"))
            for deploy_id, name, _ in rows:
                activity.record(s, "agent", "deploy.interrupted", name, deploy_id)
        for deploy_id, name, status in rows:
            path = self.logs.path_for(deploy_id)
            if path.parent.is_dir():
                with open(path, "a") as handle:
                    handle.write("INTERRUPTED: the agent stopped during this deploy\n")
            if status == DeployStatus.DEPLOYING.value and await self.apps.recover_switch(name):
                self._completed_after_restart(deploy_id, name)
            await asyncio.to_thread(remove_tree, self.work_root / deploy_id)
        return [deploy_id for deploy_id, _, _ in rows]

    def _completed_after_restart(self, deploy_id: str, name: str) -> None:
        """Traffic had moved to the new version when the agent died; recovery finished the
        cutover, so the record says success rather than interrupted."""
        with self.db.session() as s:
            row = s.get(Deploy, deploy_id)
            row.status, row.error = DeployStatus.SUCCESS.value, None
            activity.record(s, "agent", "deploy.success", name, f"{deploy_id} completed after an agent restart")
        path = self.logs.path_for(deploy_id)
        if path.parent.is_dir():
            with open(path, "a") as handle:
                handle.write("The new version was already serving: the cutover was completed after the restart\n")

    async def aclose(self) -> None:
        self._closing = True
        for name, deploy_id in list(self._pending.items()):
            self._finish(deploy_id, name, DeployStatus.INTERRUPTED, "the agent stopped before this deploy ran", "agent")
        self._pending.clear()
        tasks = [task for _, task in self._running.values()] + list(self._workers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
