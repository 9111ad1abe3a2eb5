"""Debian base images for the buildpack fallback tests, built without a registry.

Two levels of cache keep this cheap (debootstrap takes ~30 s, apt installs of npm about
a minute):

- on the machine, in ``BASEPOD_TEST_CACHE`` (default /var/cache/basepod-tests): the
  debootstrapped root file system as a tar, and each derived stack image (python, node, php, ruby)
  as a ``podman save`` archive. Both are named by a hash of their recipe, so changing a
  recipe builds a new file instead of reusing a stale one. A file lock per entry lets
  parallel pytest workers share one build.
- in each session's Podman store: images by tag, checked by a recipe label, so a second
  request in the same session costs one ``podman image inspect``.

So debootstrap and apt run at most once per machine (and again only when a recipe
changes); a fresh store imports or loads the cached files in seconds.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .images import RECIPE_LABEL, _image_label
from .podman import PodmanService

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
DEBIAN_TAG = f"localhost/basepod-test/debian:{SUITE}"
# What the generated Dockerfiles need from each base image (see README, "Base images").
STACK_PACKAGES = {
    "python": ["python3", "python3-venv"],
    "node": ["nodejs", "npm"],
    "php": ["php-cli"],
    "ruby": ["ruby", "ruby-bundler"],
}
# A trimmed root file system: no downloaded .debs, no package lists, no docs.
_TRIM = ["var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale"]


def cache_dir() -> Path:
    path = Path(os.environ.get("BASEPOD_TEST_CACHE", "/var/cache/basepod-tests"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


BASE_RECIPE = _digest("debootstrap", "--variant=minbase", SUITE, MIRROR, _TRIM)


def stack_tag(stack: str) -> str:
    return f"localhost/basepod-test/{stack}:{SUITE}"


def _stack_recipe(stack: str) -> tuple[str, str]:
    """(recipe hash, Dockerfile) of a stack image; the hash covers the base's recipe."""
    packages = " ".join(STACK_PACKAGES[stack])
    dockerfile = (f"FROM {DEBIAN_TAG}\n"
                  "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
                  f"--no-install-recommends {packages} && rm -rf /var/lib/apt/lists/*\n")
    digest = _digest(BASE_RECIPE, dockerfile)
    return digest, dockerfile + f"LABEL {RECIPE_LABEL}={digest}\n"


@contextmanager
def _locked(name: str) -> Iterator[None]:
    with open(cache_dir() / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def debian_rootfs_tar() -> Path:
    """The cached minbase root file system as a tar; debootstrapped when missing."""
    target = cache_dir() / f"debian-{SUITE}-{BASE_RECIPE[:16]}.tar"
    with _locked(target.name):
        if target.is_file():
            return target
        work = Path(tempfile.mkdtemp(prefix="debootstrap-", dir=cache_dir()))
        try:
            rootfs = work / "root"
            result = subprocess.run(["debootstrap", "--variant=minbase", SUITE, str(rootfs), MIRROR],
                                    capture_output=True, text=True, timeout=900)
            if result.returncode != 0:
                raise RuntimeError(f"debootstrap failed ({result.returncode}):\n{result.stdout[-3000:]}"
                                   f"\n{result.stderr[-3000:]}")
            for rel in _TRIM:
                shutil.rmtree(rootfs / rel, ignore_errors=True)
                (rootfs / rel).mkdir(parents=True, exist_ok=True)
            (rootfs / "var/lib/apt/lists/partial").mkdir()
            partial = work / "rootfs.tar"
            subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(partial), "."],
                           check=True, capture_output=True)
            os.replace(partial, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def debian_base_image(podman: PodmanService) -> str:
    """``DEBIAN_TAG`` in ``podman``'s store, imported from the cached tar."""
    if _image_label(podman, DEBIAN_TAG, RECIPE_LABEL) == BASE_RECIPE:
        return DEBIAN_TAG
    tar = debian_rootfs_tar()
    changes = ['CMD ["/bin/bash"]', "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               f"LABEL {RECIPE_LABEL}={BASE_RECIPE}"]
    podman.cli("import", *[arg for change in changes for arg in ("--change", change)], str(tar), DEBIAN_TAG,
               timeout=600)
    return DEBIAN_TAG


def stack_base_image(podman: PodmanService, stack: str) -> str:
    """A Debian image with what the ``stack`` fallback needs (STACK_PACKAGES).

    Loaded from the machine cache if an earlier session built it, else built on top of
    the Debian base (apt-get from the Debian mirror) and saved to the cache.
    """
    tag = stack_tag(stack)
    digest, dockerfile = _stack_recipe(stack)
    if _image_label(podman, tag, RECIPE_LABEL) == digest:
        return tag
    archive = cache_dir() / f"{stack}-{SUITE}-{digest[:16]}.tar"
    with _locked(archive.name):
        if archive.is_file():
            podman.cli("load", "-q", "-i", str(archive), timeout=600)
            if _image_label(podman, tag, RECIPE_LABEL) == digest:
                return tag
        debian_base_image(podman)
        with tempfile.TemporaryDirectory(prefix="bp-stack-") as context:
            Path(context, "Dockerfile").write_text(dockerfile)
            podman.cli("build", "--layers=false", "-t", tag, context, timeout=1800)
        partial = archive.with_suffix(".partial")
        podman.cli("save", "-q", "--format", "docker-archive", "-o", str(partial), tag, timeout=600)
        os.replace(partial, archive)
    return tag
