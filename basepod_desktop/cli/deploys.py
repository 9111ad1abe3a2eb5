"""``bp source``, ``bp deploy``, ``bp deploys``, ``bp deploy-log``, ``bp deploy-cancel``.

``bp deploy`` follows the build log to the terminal and exits non-zero unless the deploy
succeeds, so a script or CI job can rely on it. Leaving (Ctrl-C) does not stop the
deploy: it runs on the server, and ``bp deploy-log`` shows it later.

A local folder (``--path``) is packed here: in a git checkout, the files git would
commit (tracked plus untracked-but-not-ignored, so ``.gitignore`` applies); otherwise
every file but ``.git``. ``.dockerignore`` then removes what the build never sees.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from basepod_agent.protocol import BuildEnd, BuildLogChunk, DeployStatus, GitSource, ImageSource
from basepod_agent.runtime.builder import DockerIgnore
from basepod_desktop.cli import exitcodes
from basepod_desktop.cli.context import Context
from basepod_desktop.cli.output import emit_json, since, table


class SourceFolder:
    """The files of a local folder to upload, and its git commit when it is a checkout."""

    def __init__(self, root: Path, files: list[str], commit: str | None, message: str | None,
                 dirty: list[str]) -> None:
        self.root, self.files, self.commit, self.message, self.dirty = root, files, commit, message, dirty


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=60)


def scan_folder(root: Path) -> SourceFolder:
    root = root.resolve()
    if not root.is_dir():
        raise ValueError(f"--path {root} is not a folder")
    inside = _git(root, "rev-parse", "--is-inside-work-tree")
    commit = message = None
    dirty: list[str] = []
    if inside.returncode == 0 and inside.stdout.strip() == b"true":
        listed = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
        files = [name for name in listed.stdout.decode().split("\0") if name and (root / name).exists()]
        head = _git(root, "log", "-1", "--format=%H%x00%s")
        if head.returncode == 0 and head.stdout.strip():
            commit, message = head.stdout.decode().strip().split("\0", 1)
        status = _git(root, "status", "--porcelain", "--", ".")
        dirty = [line[3:] for line in status.stdout.decode().splitlines() if line.strip()]
    else:
        files = []
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != ".git")
            base = Path(folder).relative_to(root)
            files += [(base / name).as_posix() for name in sorted(names)]
    ignore = DockerIgnore.from_file(root / ".dockerignore")
    keep = {"Dockerfile", ".dockerignore", ".basepod"}
    files = sorted(name for name in files if name in keep or not ignore.excludes(name))
    return SourceFolder(root, files, commit, message, dirty)


def pack(folder: SourceFolder, out: Path) -> int:
    """Write a gzip tar of the folder's files; return its size in bytes."""
    with tarfile.open(out, "w:gz") as tar:
        for name in folder.files:
            tar.add(folder.root / name, arcname=name, recursive=False)
    return out.stat().st_size


async def follow(ctx: Context, client, name: str, deploy_id: str) -> int:
    """Print the deploy's log as it is written; the exit code says how it ended."""
    status = None
    try:
        async for message in client.follow_deploy_log(name, deploy_id):
            if isinstance(message, BuildLogChunk):
                sys.stdout.write(message.text)
                sys.stdout.flush()
            elif isinstance(message, BuildEnd):
                status = message.status
    except KeyboardInterrupt:
        print(f"\nbp: still deploying on the server; see: bp deploy-log {name} {deploy_id}", file=sys.stderr)
        raise
    if status is None:
        status = (await client.get_deploy(name, deploy_id)).status
    if status == DeployStatus.SUCCESS:
        print(f"deploy {deploy_id} of {name}: success", file=sys.stderr)
        return exitcodes.OK
    info = await client.get_deploy(name, deploy_id)
    print(f"bp: deploy {deploy_id} of {name} {status.value}" + (f": {info.error}" if info.error else ""),
          file=sys.stderr)
    return exitcodes.FAILED


async def deploy(ctx: Context, args: argparse.Namespace) -> int:
    if sum(bool(x) for x in (args.path, args.image, args.commit)) > 1:
        raise ValueError("use only one of --path, --image and --commit")
    tar_path = None
    folder = None
    if args.path:
        folder = scan_folder(Path(args.path))
        if folder.dirty and not args.force:
            shown = ", ".join(folder.dirty[:5]) + (" ..." if len(folder.dirty) > 5 else "")
            raise ValueError(f"{folder.root} has uncommitted changes ({shown}): commit them, or deploy "
                             "them anyway with --force")
        handle, tar_name = tempfile.mkstemp(prefix="bp-upload-", suffix=".tar.gz")
        os.close(handle)
        tar_path = Path(tar_name)
    session = await ctx.session()
    try:
        client = session.client
        if folder is not None:
            size = pack(folder, tar_path)
            label = f" at {folder.commit[:12]}" if folder.commit else ""
            print(f"uploading {len(folder.files)} files ({size / 1024:.0f} KiB) from {folder.root}{label}",
                  file=sys.stderr)
            created = await client.deploy_upload(args.name, str(tar_path), folder.commit,
                                                 (folder.message or None) if not folder.dirty else
                                                 (folder.message or "") + " (with uncommitted changes)")
        elif args.image:
            created = await client.deploy_image(args.name, args.image)
        else:
            created = await client.deploy(args.name, args.commit)
        if ctx.json or args.detach:
            if ctx.json:
                emit_json(created)
            else:
                print(created.id)
            return exitcodes.OK
        print(f"deploy {created.id} of {args.name} {created.status.value}", file=sys.stderr)
        return await follow(ctx, client, args.name, created.id)
    finally:
        await session.aclose()
        if tar_path is not None:
            tar_path.unlink(missing_ok=True)


async def list_deploys(ctx: Context, args: argparse.Namespace) -> int:
    session = await ctx.session()
    try:
        deploys = await session.client.list_deploys(args.name, args.limit)
    finally:
        await session.aclose()
    if ctx.json:
        emit_json(deploys)
        return 0
    if not deploys:
        print(f"no deploys of {args.name} yet: bp deploy {args.name}")
        return 0
    rows = []
    for d in deploys:
        took = f"{(d.finished_at - d.started_at).total_seconds():.0f}s" if d.finished_at and d.started_at else "-"
        rows.append((d.id, d.status.value, d.source_type, (d.commit or "")[:10], (d.commit_message or "")[:40],
                     d.triggered_by, since(d.created_at) + " ago", took))
    print(table(("ID", "STATUS", "SOURCE", "COMMIT", "MESSAGE", "BY", "CREATED", "TOOK"), rows))
    return 0


async def deploy_log(ctx: Context, args: argparse.Namespace) -> int:
    session = await ctx.session()
    try:
        if args.follow:
            return await follow(ctx, session.client, args.name, args.id)
        info, text = await session.client.deploy_log(args.name, args.id)
        if args.dockerfile:
            text = await session.client.deploy_dockerfile(args.name, args.id)
    finally:
        await session.aclose()
    sys.stdout.write(text)
    if not args.dockerfile:
        print(f"-- deploy {info.id}: {info.status.value}" + (f" ({info.error})" if info.error else "") + " --",
              file=sys.stderr)
    return 0


async def cancel(ctx: Context, args: argparse.Namespace) -> int:
    session = await ctx.session()
    try:
        info = await session.client.cancel_deploy(args.name, args.id)
    finally:
        await session.aclose()
    if ctx.json:
        emit_json(info)
    else:
        print(f"deploy {info.id} of {args.name}: {info.status.value}")
    return 0


async def source(ctx: Context, args: argparse.Namespace) -> int:
    session = await ctx.session()
    try:
        if args.git and args.image:
            raise ValueError("use either --git or --image")
        if args.git:
            key = Path(args.deploy_key).read_text() if args.deploy_key else None
            info = await session.client.set_source(args.name, GitSource(
                url=args.git, branch=args.branch, subdir=args.subdir, deploy_key=key))
        elif args.image:
            info = await session.client.set_source(args.name, ImageSource(image=args.image))
        else:
            info = await session.client.get_source(args.name)
    finally:
        await session.aclose()
    if ctx.json:
        emit_json(info)
    elif info.source is None:
        print(f"{args.name} has no source: bp source {args.name} --git URL [--branch B]")
    elif isinstance(info.source, GitSource):
        s = info.source
        print(f"{args.name}: git {s.url} branch {s.branch}" + (f" subdir {s.subdir}" if s.subdir else "")
              + (" (deploy key set)" if info.has_deploy_key else ""))
    else:
        print(f"{args.name}: image {info.source.image}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("source", help="show or set where an app's code comes from")
    p.add_argument("name")
    p.add_argument("--git", metavar="URL", help="git repository (https, ssh, git@host:path, file://)")
    p.add_argument("--branch", default="main")
    p.add_argument("--subdir", help="build from this folder of the repository")
    p.add_argument("--deploy-key", metavar="FILE", help="private SSH key for a private repository")
    p.add_argument("--image", help="deploy this image instead of building")
    p.set_defaults(func=source)

    p = sub.add_parser("deploy", help="build and run an app from its source, a local folder or an image")
    p.add_argument("name")
    p.add_argument("--commit", help="deploy this commit of the git source instead of the branch head")
    p.add_argument("--path", nargs="?", const=".", help="upload and build this local folder (default .)")
    p.add_argument("--force", action="store_true", help="with --path: deploy uncommitted changes too")
    p.add_argument("--image", help="re-deploy from this image")
    p.add_argument("--detach", "-d", action="store_true", help="print the deploy id and do not follow the log")
    p.set_defaults(func=deploy)

    p = sub.add_parser("deploys", help="an app's deploy history")
    p.add_argument("name")
    p.add_argument("--limit", "-n", type=int, default=20)
    p.set_defaults(func=list_deploys)

    p = sub.add_parser("deploy-log", help="print a deploy's build log")
    p.add_argument("name")
    p.add_argument("id")
    p.add_argument("--follow", "-f", action="store_true", help="follow a running deploy to its end")
    p.add_argument("--dockerfile", action="store_true", help="print the generated Dockerfile instead")
    p.set_defaults(func=deploy_log)

    p = sub.add_parser("deploy-cancel", help="cancel a queued or building deploy")
    p.add_argument("name")
    p.add_argument("id")
    p.set_defaults(func=cancel)
