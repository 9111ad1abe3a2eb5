"""``bp deploy`` through a real OpenSSH tunnel: local folders, images, the log, exit codes."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from deploy_helpers import git, make_repo, wait_body
from test_cli_over_ssh import Bp, add_server


@pytest.fixture
def cli(tmp_path, sshd_server, agent):
    bp = Bp(tmp_path / "home", sshd_server.known_hosts_path)
    (tmp_path / "home").mkdir()
    add_server(bp, sshd_server, agent)
    bp("login", "--email", agent.admin_email, "--password-stdin", input=agent.admin_password + "\n")
    return bp


def run_in(bp: Bp, folder, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(bp.args(*args), env=bp.env, cwd=folder, capture_output=True, text=True, timeout=120)


def test_deploy_path_uploads_the_folder_streams_the_log_and_records_the_commit(cli, busybox_image, tmp_path):
    app = json.loads(cli("--json", "create", "site", "--image", busybox_image, "--port", "8080").stdout)
    repo = make_repo(tmp_path / "site", {
        "Dockerfile": f"FROM {busybox_image}\nCOPY page.html /www/index.html\nRUN echo built-marker\n",
        "page.html": "from my laptop\n",
        ".gitignore": "secret.txt\n",
    }, "laptop version")
    (repo / "secret.txt").write_text("do not upload")
    result = run_in(cli, repo, "deploy", "site", "--path")
    assert result.returncode == 0, result.stderr
    assert "built-marker" in result.stdout and "success" in result.stderr
    wait_body(app["host_port"], "from my laptop\n")
    history = json.loads(cli("--json", "deploys", "site").stdout)
    assert history[0]["source_type"] == "upload" and history[0]["commit_message"] == "laptop version"
    assert history[0]["commit"] == git(repo, "rev-parse", "HEAD")
    table = cli("deploys", "site").stdout
    assert "success" in table and "laptop version" in table
    log = cli("deploy-log", "site", history[0]["id"]).stdout
    assert "built-marker" in log and "secret.txt" not in log

    (repo / "page.html").write_text("uncommitted\n")
    dirty = run_in(cli, repo, "deploy", "site", "--path", ".")
    assert dirty.returncode == 2 and "uncommitted changes" in dirty.stderr and "--force" in dirty.stderr
    forced = run_in(cli, repo, "deploy", "site", "--path", ".", "--force")
    assert forced.returncode == 0, forced.stderr
    wait_body(app["host_port"], "uncommitted\n")


def test_deploy_of_a_failing_build_exits_non_zero_and_keeps_the_old_version(cli, busybox_image, tmp_path):
    app = json.loads(cli("--json", "create", "fails", "--image", busybox_image, "--port", "8080").stdout)
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "Dockerfile").write_text(f"FROM {busybox_image}\nRUN echo going-down && false\n")
    result = cli("deploy", "fails", "--path", str(folder), check=False)
    assert result.returncode == 1
    assert "going-down" in result.stdout and "failed" in result.stderr
    wait_body(app["host_port"], "hello from basepod test\n")


def test_deploy_image_redeploys_from_an_image(cli, busybox_image, podman_service, tmp_path):
    app = json.loads(cli("--json", "create", "imgapp", "--image", busybox_image, "--port", "8080").stdout)
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {busybox_image}\nRUN echo image-two > /www/index.html\n")
    podman_service.cli("build", "-t", "localhost/basepod-test/img-two:1", str(context))
    result = cli("deploy", "imgapp", "--image", "localhost/basepod-test/img-two:1", check=False)
    assert result.returncode == 0, result.stderr
    assert "Deploying image localhost/basepod-test/img-two:1" in result.stdout
    wait_body(app["host_port"], "image-two\n")
    missing = cli("deploy", "imgapp", "--image", "localhost/nope/missing:1", check=False)
    assert missing.returncode == 1 and "failed" in missing.stderr
    wait_body(app["host_port"], "image-two\n")


def test_upload_larger_than_the_control_body_limit_is_accepted(cli, busybox_image, tmp_path):
    cli("create", "big", "--image", busybox_image, "--port", "8080")
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "blob.bin").write_bytes(os.urandom(3 * 1024 * 1024))  # incompressible, above 1 MiB
    (folder / "Dockerfile").write_text(f"FROM {busybox_image}\nCOPY blob.bin /www/blob.bin\n")
    result = cli("deploy", "big", "--path", str(folder), check=False)
    assert result.returncode == 0, result.stderr
