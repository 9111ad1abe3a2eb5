"""Image builds through Podman's REST API (real Podman, busybox base, no registry)."""

from __future__ import annotations

import asyncio
import tarfile
import time
import uuid
from pathlib import Path

import pytest
from basepod_agent.runtime.builder import (
    EXTERNAL_DOCKERFILE,
    BuildError,
    DockerIgnore,
    build_image,
    write_context_tar,
)
from basepod_agent.services.buildpacks import detect_stack, generate_dockerfile


def unique_tag() -> str:
    return f"localhost/basepod-test/build-{uuid.uuid4().hex[:10]}:1"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return root


# --- .dockerignore (pure) ----------------------------------------------------------------

IGNORE_CASES = [
    # patterns, path, excluded?
    (["secret.txt"], "secret.txt", True),
    (["secret.txt"], "sub/secret.txt", False),  # anchored at the root, like Docker
    (["*.md"], "README.md", True),
    (["*.md"], "docs/a.md", False),
    (["**/*.md"], "docs/deep/a.md", True),
    (["**/*.md"], "a.md", True),
    (["node_modules"], "node_modules/x/index.js", True),  # a folder excludes its content
    (["docs/*"], "docs/a/b.txt", True),
    (["docs/**"], "docs/a/b.txt", True),
    (["*.md", "!KEEP.md"], "KEEP.md", False),
    (["*.md", "!KEEP.md"], "other.md", True),
    (["!KEEP.md", "*.md"], "KEEP.md", True),  # the last match wins
    (["/build"], "build/out.js", True),  # a leading slash means the root
    (["build/"], "build/out.js", True),
    (["?.txt"], "a.txt", True),
    (["?.txt"], "ab.txt", False),
    (["[ab].txt"], "b.txt", True),
    (["[!ab].txt"], "c.txt", True),
    (["[!ab].txt"], "a.txt", False),
    (["# comment", "", "  tmp  "], "tmp", True),
    (["a/**/z"], "a/z", True),
    (["a/**/z"], "a/b/c/z", True),
    (["*"], "anything/at/all", True),
    (["*", "!src"], "src/main.py", False),
    ([".git"], ".git/config", True),
]


@pytest.mark.parametrize("patterns, path, excluded", IGNORE_CASES)
def test_dockerignore_follows_docker_semantics(patterns, path, excluded):
    assert DockerIgnore(patterns).excludes(path) is excluded


def test_the_context_tar_honours_dockerignore_but_always_keeps_the_dockerfile(tmp_path):
    ctx = write(tmp_path / "ctx", {
        "Dockerfile": "FROM x\n", ".dockerignore": "*\n!app\n!app/**\n", "app/main.py": "",
        "secret.env": "K=V", "node_modules/pkg/index.js": "",
    })
    out = tmp_path / "ctx.tar"
    assert write_context_tar(ctx, "Dockerfile", out) == "Dockerfile"
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
    assert {"Dockerfile", ".dockerignore", "app/main.py"} <= names
    assert not names & {"secret.env", "node_modules/pkg/index.js"}


def test_a_dockerfile_outside_the_context_is_sent_under_a_private_name(tmp_path):
    ctx = write(tmp_path / "ctx", {"index.html": "x"})
    generated = write(tmp_path, {"generated/Dockerfile": "FROM x\n"}) / "generated" / "Dockerfile"
    out = tmp_path / "ctx.tar"
    assert write_context_tar(ctx, generated, out) == EXTERNAL_DOCKERFILE
    with tarfile.open(out) as tar:
        assert tar.extractfile(EXTERNAL_DOCKERFILE).read() == b"FROM x\n"


def test_a_missing_dockerfile_or_context_is_a_build_error(tmp_path):
    with pytest.raises(BuildError, match="does not exist"):
        write_context_tar(tmp_path, "Dockerfile", tmp_path / "out.tar")
    with pytest.raises(BuildError, match="not a folder"):
        write_context_tar(tmp_path / "nope", "Dockerfile", tmp_path / "out.tar")


# --- real builds -------------------------------------------------------------------------


async def test_a_build_passes_build_args_and_streams_its_output(podman_service, busybox_image, tmp_path):
    ctx = write(tmp_path / "ctx", {"Dockerfile": (
        f"FROM {busybox_image}\n"
        "ARG VERSION\n"
        "RUN echo built-$VERSION > /www/index.html\n")})
    tag = unique_tag()
    lines: list[str] = []
    image_id = await build_image(podman_service.url, ctx, tag, build_args={"VERSION": "1.2.3"},
                                 log=lines.append)
    assert image_id
    assert any("ARG VERSION" in line for line in lines), lines
    result = podman_service.cli("run", "--rm", tag, "cat", "/www/index.html")
    assert result.stdout == "built-1.2.3\n"
    podman_service.cli("rmi", "-f", tag, check=False)


async def test_a_failing_build_raises_with_the_error_in_the_streamed_log(podman_service, busybox_image, tmp_path):
    ctx = write(tmp_path / "ctx", {"Dockerfile": (
        f"FROM {busybox_image}\n"
        "RUN echo about to fail && exit 3\n")})
    lines: list[str] = []
    with pytest.raises(BuildError) as caught:
        await build_image(podman_service.url, ctx, unique_tag(), log=lines.append)
    assert "exit status 3" in str(caught.value)
    assert any("about to fail" in line for line in lines)
    assert any(line.startswith("ERROR:") and "exit status 3" in line for line in lines)
    assert caught.value.lines


async def test_a_malformed_dockerfile_is_a_build_error(podman_service, busybox_image, tmp_path):
    ctx = write(tmp_path / "ctx", {"Dockerfile": f"FROM {busybox_image}\nFROBNICATE now\n"})
    with pytest.raises(BuildError, match="(?i)frobnicate|unknown instruction"):
        await build_image(podman_service.url, ctx, unique_tag())


async def test_dockerignored_files_never_reach_the_image(podman_service, busybox_image, tmp_path):
    ctx = write(tmp_path / "ctx", {
        "Dockerfile": f"FROM {busybox_image}\nCOPY . /ctx/\n",
        ".dockerignore": "secret.env\n**/*.log\n",
        "secret.env": "TOKEN=hunter2\n", "app.txt": "app\n", "logs/debug.log": "noise\n",
    })
    tag = unique_tag()
    await build_image(podman_service.url, ctx, tag)
    listing = podman_service.cli("run", "--rm", tag, "find", "/ctx").stdout.split()
    assert "/ctx/app.txt" in listing
    assert "/ctx/secret.env" not in listing and "/ctx/logs/debug.log" not in listing
    podman_service.cli("rmi", "-f", tag, check=False)


async def test_a_generated_static_site_dockerfile_builds_and_serves_the_site(podman_service, busybox_image, tmp_path):
    repo = write(tmp_path / "repo", {"public/index.html": "<h1>static</h1>\n"})
    plan = detect_stack(repo)
    dockerfile = tmp_path / "deploy" / "Dockerfile"
    dockerfile.parent.mkdir()
    dockerfile.write_text(generate_dockerfile(plan, {"static": busybox_image}))
    tag = unique_tag()
    await build_image(podman_service.url, repo, tag, dockerfile=dockerfile)
    assert podman_service.cli("run", "--rm", tag, "cat", "/www/index.html").stdout == "<h1>static</h1>\n"
    inspect = podman_service.cli("image", "inspect", "--format", "{{json .Config.Cmd}}", tag).stdout
    assert "httpd" in inspect
    podman_service.cli("rmi", "-f", tag, check=False)


def _sleepers(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "cmdline").read_bytes().replace(b"\0", b" ").strip() == f"sleep {marker}".encode():
                    found.append(int(proc.name))
            except OSError:
                pass
    return found


async def test_cancelling_a_build_kills_the_running_step_and_nothing_is_tagged(
        podman_service, busybox_image, tmp_path):
    """The RUN step in progress (a ten-minute sleep) is cut short, not left to finish;
    Podman then drops the build: no image, no leftover working container."""
    marker = f"6{uuid.uuid4().int % 100:02d}.{uuid.uuid4().int % 1000:03d}"  # a sleep nobody else runs
    ctx = write(tmp_path / "ctx", {"Dockerfile": (
        f"FROM {busybox_image}\nRUN sleep {marker}\nRUN touch /second-step-ran\n")})
    tag = unique_tag()
    task = asyncio.create_task(build_image(podman_service.url, ctx, tag))
    deadline = time.monotonic() + 30
    while not _sleepers(marker):
        assert time.monotonic() < deadline, "the RUN step never started"
        assert not task.done(), task
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _sleepers(marker), "the step was killed before the cancel returned"
    deadline = time.monotonic() + 30
    while "working-container" in podman_service.cli("ps", "-a", "--external").stdout:
        assert time.monotonic() < deadline, "Podman kept the working container"
        await asyncio.sleep(0.2)
    assert podman_service.cli("image", "exists", tag, check=False).returncode != 0


async def test_cancelling_one_build_leaves_another_builds_step_running(podman_service, busybox_image, tmp_path):
    marker = f"6{uuid.uuid4().int % 100:02d}.{uuid.uuid4().int % 1000:03d}"
    other = f"{marker}1"
    tasks = {}
    for name, duration in (("cancelled", marker), ("kept", other)):
        ctx = write(tmp_path / name, {"Dockerfile": f"FROM {busybox_image}\nRUN sleep {duration}\n"})
        tasks[name] = asyncio.create_task(build_image(podman_service.url, ctx, unique_tag()))
    deadline = time.monotonic() + 30
    while not (_sleepers(marker) and _sleepers(other)):
        assert time.monotonic() < deadline, "the RUN steps never started"
        await asyncio.sleep(0.05)
    tasks["cancelled"].cancel()
    with pytest.raises(asyncio.CancelledError):
        await tasks["cancelled"]
    assert not _sleepers(marker) and _sleepers(other)
    tasks["kept"].cancel()
    with pytest.raises(asyncio.CancelledError):
        await tasks["kept"]
    assert not _sleepers(other)


async def test_an_unreachable_podman_is_a_build_error(tmp_path):
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM x\n"})
    with pytest.raises(BuildError, match="connection to Podman"):
        await build_image(f"unix://{tmp_path}/no.sock", ctx, unique_tag())
