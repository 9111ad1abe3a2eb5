"""The steps of one deploy, from source to image: fetch or unpack, read ``.basepod``,
pick or generate the Dockerfile, build.

Kept apart from the queue and state machine (services/deploys.py) so each stays small:
this module knows nothing of records, events or other deploys. Every step writes to the
deploy's log and raises ``DeployFailure`` (or a building block's own error, which says
what went wrong in words fit for the log) to stop the deploy before the running
container is touched.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from basepod_agent.protocol.deploys import BasepodBuild, BasepodConfig
from basepod_agent.runtime.builder import BuildError, build_image
from basepod_agent.runtime.git import GitError, export_tree, fetch_source
from basepod_agent.services.basepod_file import BasepodFileError, load_basepod
from basepod_agent.services.buildlog import BuildLog
from basepod_agent.services.buildpacks import StackNotDetected, detect_stack, generate_dockerfile

GENERATED_DOCKERFILE = "Dockerfile"  # name under deploys/<id>/ of a generated one
USER_ERRORS = (GitError, BuildError, BasepodFileError, StackNotDetected)


class DeployFailure(Exception):
    """The deploy cannot go on; the message is for the person deploying."""


@dataclass
class BuildJob:
    deploy_id: str
    app: str
    source_type: str  # git, upload, image
    workdir: Path  # private scratch folder, removed afterwards
    record_dir: Path  # deploys/<id>/: log and generated Dockerfile live on
    log: BuildLog
    podman_url: str
    base_images: dict[str, str]
    image: str | None = None  # image deploys: what to run
    git_url: str | None = None
    git_branch: str | None = None
    git_subdir: str | None = None
    git_commit: str | None = None
    git_cache: Path | None = None
    git_timeout: float = 600.0
    deploy_key: str | None = None
    upload: Path | None = None  # tar of a local folder
    # Told the commit as soon as it is checked out, so a deploy that fails to build
    # still records what it tried to build.
    on_commit: Callable[[str, str], None] | None = None


@dataclass
class BuildResult:
    image: str
    port: int | None = None  # None keeps the app's port
    command: list[str] | None = None  # None keeps the app's command
    env: dict[str, str] = dataclasses.field(default_factory=dict)  # .basepod defaults
    commit: str | None = None
    message: str | None = None
    generated: bool = False
    config: BasepodConfig | None = None


def image_tag(app: str, deploy_id: str) -> str:
    """``localhost/basepod/<app>:<deploy id>``; the id starts with the deploy's timestamp."""
    return f"localhost/basepod/{app}:{deploy_id}"


async def run_build(job: BuildJob) -> BuildResult:
    if job.source_type == "image":
        job.log.append(f"Deploying image {job.image}")
        return BuildResult(image=job.image or "")
    source = job.workdir / "src"
    commit = message = None
    if job.source_type == "git":
        info = await fetch_source(job.git_url or "", job.git_branch or "main", job.git_cache,
                                  commit=job.git_commit, deploy_key=job.deploy_key, log=job.log.append,
                                  timeout=job.git_timeout,
                                  known_hosts=job.git_cache.parent.parent / "known_hosts")
        commit, message = info.sha, info.message
        if job.on_commit is not None:
            job.on_commit(commit, message)
        await export_tree(job.git_cache, job.git_subdir, source)
    else:
        job.log.append("Unpacking the uploaded source")
        await asyncio.to_thread(unpack_upload, job.upload, source)
    result = await build_source(job, source)
    result.commit, result.message = commit, message
    return result


def unpack_upload(tar_path: Path | None, dest: Path) -> None:
    """Unpack with tarfile's ``data`` filter: no absolute paths, no ``..``, no devices,
    no links leaving ``dest``; anything else is refused, not fixed up."""
    if tar_path is None or not tar_path.is_file():
        raise DeployFailure("the uploaded source is missing")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(tar_path, "r:*") as tar:
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise DeployFailure(f"the uploaded source is not a usable tar archive: {exc}") from None


def _inside(root: Path, rel: str | None) -> Path:
    path = (root / rel).resolve() if rel else root.resolve()
    if path != root.resolve() and root.resolve() not in path.parents:
        raise DeployFailure(f"{rel!r} points outside the source")
    return path


async def build_source(job: BuildJob, source: Path) -> BuildResult:
    """Build ``source`` following its ``.basepod``; fall back to a generated Dockerfile."""
    config = load_basepod(source)
    if config is not None:
        job.log.append("Read .basepod")
    build = config.build if config else BasepodBuild()
    context = _inside(source, build.context)
    if not context.is_dir():
        raise DeployFailure(f".basepod build.context {build.context!r} is not a folder")
    port = config.port if config else None
    command = config.command if config else None
    generated = False
    if build.dockerfile:
        dockerfile = _inside(source, build.dockerfile)
        if not dockerfile.is_file():
            raise DeployFailure(f".basepod build.dockerfile {build.dockerfile!r} does not exist")
    elif (context / "Dockerfile").is_file():
        dockerfile = context / "Dockerfile"
    else:
        plan = detect_stack(context)
        if command:
            plan = dataclasses.replace(plan, command=command)
        text = generate_dockerfile(plan, job.base_images)
        job.record_dir.mkdir(parents=True, exist_ok=True)
        dockerfile = job.record_dir / GENERATED_DOCKERFILE
        dockerfile.write_text(text)
        job.log.append(f"No Dockerfile: detected {plan.stack} ({plan.reason}); generated:")
        for line in text.splitlines():
            job.log.append(f"  {line}")
        port, command, generated = port or plan.port, None, True
    tag = image_tag(job.app, job.deploy_id)
    job.log.append(f"Building {tag}")
    await build_image(job.podman_url, context, tag, dockerfile=dockerfile, build_args=build.args,
                      log=job.log.append, labels={"basepod.app": job.app, "basepod.deploy": job.deploy_id})
    job.log.append(f"Built {tag}")
    return BuildResult(image=tag, port=port, command=command, env=dict(config.env) if config else {},
                       generated=generated, config=config)


def remove_tree(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path
