"""Releases: the versions of an app that can be rolled back to, and image retention (§2.2).

A release is an image named ``localhost/basepod/<app>:<version>``, the version being the
id of the deploy that produced it (it starts with the deploy's UTC timestamp). Builds are
tagged so by the pipeline; image deploys are tagged so before they go live; a rollback
re-uses the tag of the version it returns to, so it adds no image.

Retention keeps the ``keep_releases`` versions most recently live, counted over the
successful deploy records (a rollback makes its version recent again). Other tags of the
app are removed from Podman, except the image the app runs, any image a queued or
running deploy is about to use, and any image a container still uses (Podman refuses).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select

from basepod_agent.config import AgentConfig
from basepod_agent.protocol.deploys import DeployStatus
from basepod_agent.protocol.errors import ErrorCode
from basepod_agent.protocol.routing import ReleaseInfo, ReleaseList
from basepod_agent.runtime.podman import PodmanRuntime, RuntimeFailure
from basepod_agent.services.deploy_pipeline import BuildResult, DeployFailure, image_tag
from basepod_agent.services.env import app_row
from basepod_agent.services.errors import AgentError
from basepod_agent.store.database import Database
from basepod_agent.store.models import Deploy

log = logging.getLogger("basepod_agent.releases")
UNFINISHED = (DeployStatus.QUEUED.value, DeployStatus.BUILDING.value, DeployStatus.DEPLOYING.value)


def repository(app: str) -> str:
    return image_tag(app, "x").rpartition(":")[0]


def version_of(tag: str | None, app: str) -> str | None:
    """The version in an app's release tag; None for any other image name."""
    if not tag:
        return None
    repo, _, version = tag.rpartition(":")
    return version if repo == repository(app) and version else None


class ReleasesService:
    def __init__(self, config: AgentConfig, db: Database, runtime: PodmanRuntime) -> None:
        self.config, self.db, self.runtime = config, db, runtime

    def _history(self, name: str) -> tuple[str, list[ReleaseInfo]]:
        """(the image the app runs, the versions ever live, most recently live first)."""
        with self.db.session() as s:
            app = app_row(s, name)
            rows = s.scalars(select(Deploy).where(Deploy.app_id == app.id, Deploy.status == DeployStatus.SUCCESS.value)
                             .order_by(Deploy.finished_at.desc(), Deploy.id.desc())).all()
            running = app.image
            origin = {r.id: r for r in rows}
            seen: dict[str, ReleaseInfo] = {}
            for row in rows:
                version = version_of(row.image_tag, name)
                if version is None or version in seen:
                    continue
                built = origin.get(version, row)
                seen[version] = ReleaseInfo(version=version, image=row.image_tag, deployed_at=row.finished_at,
                                            commit=built.commit, commit_message=built.commit_message,
                                            source_type=built.source_type, live=row.image_tag == running,
                                            source_image=built.requested if built.source_type == "image" else None)
        return running, list(seen.values())

    async def list(self, name: str) -> ReleaseList:
        _, history = self._history(name)
        try:
            present = set(await self.runtime.image_tags(repository(name)))
        except RuntimeFailure:
            present = {r.image for r in history}
        kept = [r for r in history if r.image in present][: self.config.keep_releases]
        return ReleaseList(app=name, keep=self.config.keep_releases, releases=kept)

    async def resolve(self, name: str, version: str | None) -> str:
        """The version a rollback goes to: ``version``, or the newest one not live."""
        releases = (await self.list(name)).releases
        if version is None:
            for release in releases:
                if not release.live:
                    return release.version
            raise AgentError(ErrorCode.CONFLICT, f"app {name!r} has no earlier version to roll back to",
                             "version")
        if not any(r.version == version for r in releases):
            kept = ", ".join(r.version for r in releases) or "none"
            raise AgentError(ErrorCode.NOT_FOUND, f"version {version!r} of app {name!r} is not kept "
                             f"(kept: {kept})", "version")
        return version

    async def prune(self, name: str) -> list[str]:
        """Remove the app's release images beyond the kept ones; returns the removed tags."""
        running, history = self._history(name)
        with self.db.session() as s:
            app = app_row(s, name)
            busy = s.execute(select(Deploy.id, Deploy.source_type, Deploy.requested, Deploy.image_tag)
                             .where(Deploy.app_id == app.id, Deploy.status.in_(UNFINISHED))).all()
        keep = {r.image for r in history[: self.config.keep_releases]} | {running}
        for deploy_id, source_type, requested, tag in busy:
            keep |= {image_tag(name, deploy_id), tag or ""}
            if source_type == "rollback" and requested:
                keep.add(image_tag(name, requested))
        removed: list[str] = []
        for tag in await self.runtime.image_tags(repository(name)):
            if tag in keep:
                continue
            try:
                if await self.runtime.remove_image_tag(tag):
                    removed.append(tag)
            except RuntimeFailure as exc:
                log.warning("could not remove old release %s: %s", tag, exc)
        return removed

    async def as_release(self, name: str, deploy_id: str, result: BuildResult) -> BuildResult:
        """Name the image ``basepod/<app>:<deploy id>`` (image deploys come with another
        name) so every successful deploy is a release that can be rolled back to."""
        if version_of(result.image, name) is None:
            tag = image_tag(name, deploy_id)
            try:
                await self.runtime.ensure_image(result.image)
                await self.runtime.tag_image(result.image, tag)
            except RuntimeFailure as exc:
                raise DeployFailure(f"image {result.image}: {exc}") from None
            result.image = tag
        return result

    async def prune_quietly(self, name: str, say: Callable[[str], None]) -> None:
        """Prune after a successful deploy; a failure to prune is logged, never fatal."""
        try:
            removed = await self.prune(name)
        except (RuntimeFailure, AgentError) as exc:
            log.warning("could not prune the releases of %s: %s", name, exc)
            return
        if removed:
            say(f"Removed {len(removed)} old release(s): {', '.join(removed)}")
