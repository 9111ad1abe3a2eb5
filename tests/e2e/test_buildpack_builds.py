"""The buildpack fallback building real apps: repos without a Dockerfile, built by Podman
on Debian base images (tests/harness/debian_images.py) and served by the agent.

The base images are made without a registry: a cached debootstrap root file system,
with the stack's Debian packages installed on top once per machine. The agent's
[base_images] points the fallback at them, as an operator's agent.toml would.
"""

from __future__ import annotations

import json
import shutil

import pytest

from deploy_helpers import create_app, deploy_log, make_repo, set_git_source, start_deploy, wait_body, wait_deploy
from harness import AgentProcess
from harness.debian_images import STACK_PACKAGES, stack_base_image, stack_tag
from harness.system import require_binaries, short_tmpdir

PY_APP = '''\
import os
from http.server import BaseHTTPRequestHandler, HTTPServer


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"python says hi on {os.environ['PORT']}\\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Hello).serve_forever()
'''

NODE_APP = '''\
const http = require("http");
const greeting = require("./package.json").description;
http.createServer((req, res) => res.end(`${greeting} on ${process.env.PORT} (${process.env.NODE_ENV})\\n`))
  .listen(Number(process.env.PORT), "0.0.0.0");
'''

RUBY_APP = """\
require "socket"
server = TCPServer.new("0.0.0.0", Integer(ENV.fetch("PORT")))
loop do
  client = server.accept
  client.gets
  body = "ruby says hi on #{ENV['PORT']}\\n"
  client.print "HTTP/1.0 200 OK\\r\\nContent-Length: #{body.bytesize}\\r\\n\\r\\n#{body}"
  client.close
end
"""


@pytest.fixture(scope="module")
def pack_agent(podman_service):
    """An agent whose [base_images] name the Debian stack images; each test makes sure the
    one it needs is in the store, so a worker only loads the images its tests use."""
    require_binaries("debootstrap")
    agent = AgentProcess(short_tmpdir("bp-pack-"), podman_service, extra_args=["--stop-timeout", "1"])
    agent.state_dir.mkdir(parents=True, exist_ok=True)
    lines = [f'{stack} = "{stack_tag(stack)}"' for stack in STACK_PACKAGES]
    (agent.state_dir / "agent.toml").write_text("[base_images]\n" + "\n".join(lines) + "\n")
    agent.start()
    token = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                      "password": agent.admin_password})[1]["token"]
    yield agent, token
    agent.stop()
    shutil.rmtree(agent.base_dir, ignore_errors=True)


def _deploy_repo(agent, token, busybox_image, app: str, files: dict[str, str], tmp_path) -> tuple[dict, dict]:
    created = create_app(agent, token, app, busybox_image)
    set_git_source(agent, token, app, make_repo(tmp_path / "repo", files))
    done = wait_deploy(agent, token, app, start_deploy(agent, token, app), timeout=300)
    assert done["status"] == "success", (done["error"], deploy_log(agent, token, app, done["id"])[-3000:])
    return created, done


def test_python_repo_without_dockerfile_is_built_on_a_debian_base_and_served(
        pack_agent, podman_service, busybox_image, tmp_path):
    agent, token = pack_agent
    base = stack_base_image(podman_service, "python")
    files = {"requirements.txt": "# the standard library is enough\n", "app.py": PY_APP}
    created, done = _deploy_repo(agent, token, busybox_image, "pyapp", files, tmp_path)
    assert done["dockerfile_generated"] is True
    generated = agent.request("GET", f"/api/apps/pyapp/deploys/{done['id']}/dockerfile", token=token)[1]
    assert f"FROM {base}" in generated["text"] and "python3 -m venv" in generated["text"]
    info = agent.request("GET", "/api/apps/pyapp", token=token)[1]
    assert info["port"] == 8000 and info["image"] == done["image_tag"]
    wait_body(created["host_port"], "python says hi on 8000\n", timeout=30)


def test_node_repo_without_dockerfile_is_built_on_a_debian_base_and_served(
        pack_agent, podman_service, busybox_image, tmp_path):
    agent, token = pack_agent
    base = stack_base_image(podman_service, "node")
    package = {"name": "hello", "version": "1.0.0", "description": "node says hi",
               "scripts": {"start": "node server.js"}}
    files = {"package.json": json.dumps(package), "server.js": NODE_APP}
    created, done = _deploy_repo(agent, token, busybox_image, "nodeapp", files, tmp_path)
    log_text = deploy_log(agent, token, "nodeapp", done["id"])
    assert "detected node" in log_text and f"FROM {base}" in log_text
    assert agent.request("GET", "/api/apps/nodeapp", token=token)[1]["port"] == 3000
    wait_body(created["host_port"], "node says hi on 3000 (production)\n", timeout=30)


@pytest.mark.parametrize("stack, files, body", [
    ("php", {"index.php": "<?php echo 'php says hi on ' . getenv('PORT') . \"\\n\";\n"}, "php says hi on 8080\n"),
    ("ruby", {"Gemfile": "source 'https://rubygems.org'\n", "app.rb": RUBY_APP}, "ruby says hi on 4567\n"),
])
def test_php_and_ruby_repos_without_dockerfile_are_built_on_debian_bases_and_served(
        pack_agent, podman_service, busybox_image, tmp_path, stack, files, body):
    agent, token = pack_agent
    base = stack_base_image(podman_service, stack)
    created, done = _deploy_repo(agent, token, busybox_image, f"{stack}app", files, tmp_path)
    assert f"FROM {base}" in deploy_log(agent, token, f"{stack}app", done["id"])
    wait_body(created["host_port"], body, timeout=30)
