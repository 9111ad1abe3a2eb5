"""Registry-free test images: a busybox rootfs imported with ``podman import``.

The image runs busybox httpd on port 8080 serving /www, with two CGI endpoints tests
lean on: /cgi-bin/health (500 once /tmp/unhealthy exists, so a test can break health
with ``podman exec C touch /tmp/unhealthy``) and /cgi-bin/env (the process environment,
so a test can see which env vars reached the container).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from .podman import PodmanService

DEFAULT_TAG = "localhost/basepod-test/busybox:1"
DEFAULT_INDEX_BODY = "hello from basepod test\n"
RECIPE_LABEL = "org.basepod.test.recipe-sha256"
HOST_BUSYBOX = "/bin/busybox"

HEALTH_CGI = """#!/bin/sh
if [ -e /tmp/unhealthy ]; then
  printf 'Status: 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\nunhealthy\\n'
else
  printf 'Status: 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nok\\n'
fi
"""

ENV_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
env
"""

HTTPD_CMD = ["/bin/httpd", "-f", "-v", "-p", "8080", "-h", "/www"]


def build_busybox_image(podman: PodmanService, tag: str = DEFAULT_TAG) -> str:
    """The standard test app image; built once per store, then reused by tag."""
    return _ensure_image(podman, tag, DEFAULT_INDEX_BODY)


def build_busybox_variant(podman: PodmanService, tag: str, index_body: str) -> str:
    """The same image answering ``index_body`` on /, for "version 1 vs version 2" tests."""
    return _ensure_image(podman, tag, index_body)


def _ensure_image(podman: PodmanService, tag: str, index_body: str) -> str:
    """Reuse ``tag`` if it was built from the same recipe (checked by label), else build it."""
    recipe = json.dumps([index_body, HEALTH_CGI, ENV_CGI, HTTPD_CMD])
    digest = hashlib.sha256(recipe.encode()).hexdigest()
    if _image_label(podman, tag, RECIPE_LABEL) == digest:
        return tag
    with tempfile.TemporaryDirectory(prefix="bp-img-") as work:
        rootfs = Path(work) / "rootfs"
        _write_rootfs(rootfs, index_body)
        archive = Path(work) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(rootfs, arcname=".", filter=_owned_by_root)
        changes = [
            f"CMD {json.dumps(HTTPD_CMD)}",
            "EXPOSE 8080",
            "ENV PATH=/bin",
            f"LABEL {RECIPE_LABEL}={digest}",
        ]
        change_args = [arg for change in changes for arg in ("--change", change)]
        podman.cli("import", *change_args, str(archive), tag)
    return tag


def _image_label(podman: PodmanService, tag: str, label: str) -> str | None:
    result = podman.cli("image", "inspect", "--format", "{{json .Labels}}", tag, check=False)
    if result.returncode != 0:
        return None
    return (json.loads(result.stdout) or {}).get(label)


def _write_rootfs(rootfs: Path, index_body: str) -> None:
    bin_dir = rootfs / "bin"
    bin_dir.mkdir(parents=True)
    shutil.copy2(HOST_BUSYBOX, bin_dir / "busybox")
    applets = subprocess.run([HOST_BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            (bin_dir / applet).symlink_to("busybox")
    (rootfs / "usr").mkdir()
    (rootfs / "usr" / "bin").symlink_to("../bin")  # for `#!/usr/bin/env sh` style scripts
    (rootfs / "sbin").symlink_to("bin")

    www = rootfs / "www"
    (www / "cgi-bin").mkdir(parents=True)
    (www / "index.html").write_text(index_body)
    for name, script in (("health", HEALTH_CGI), ("env", ENV_CGI)):
        path = www / "cgi-bin" / name
        path.write_text(script)
        path.chmod(0o755)

    for name in ("tmp", "var/tmp"):
        (rootfs / name).mkdir(parents=True)
        os.chmod(rootfs / name, 0o1777)
    for name in ("proc", "sys", "dev", "root", "run"):
        (rootfs / name).mkdir(exist_ok=True)
    etc = rootfs / "etc"
    etc.mkdir()
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    (etc / "group").write_text("root:x:0:\nnogroup:x:65534:\n")


def _owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info
