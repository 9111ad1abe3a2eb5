"""How long the Debian base images of the buildpack tests take to prepare.

Three cases, each in a fresh isolated Podman store: uncached (debootstrap and apt from
the Debian mirror into an empty cache dir), cached (the machine cache filled, so the
store only imports/loads tars), and reused (the image already in the store). Prints
seconds per step and the cache file sizes.

    .venv/bin/python bench/bench_base_images.py [--skip-uncached]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _setup import PodmanService, short_tmpdir

from harness import debian_images  # noqa: E402 (path set up by _setup)

STACKS = ("python", "node")


def timed(label: str, action) -> float:
    started = time.monotonic()
    action()
    elapsed = time.monotonic() - started
    print(f"  {label:<34} {elapsed:6.1f} s", flush=True)
    return elapsed


def prepare_all(title: str) -> None:
    print(title)
    podman = PodmanService(short_tmpdir("bp-bench-img-")).start()
    try:
        timed("debian base (debootstrap/import)", lambda: debian_images.debian_base_image(podman))
        for stack in STACKS:
            timed(f"{stack} image (apt/load)", lambda stack=stack: debian_images.stack_base_image(podman, stack))
        for stack in STACKS:
            timed(f"{stack} image again, same store", lambda stack=stack: debian_images.stack_base_image(podman, stack))
    finally:
        podman.destroy()


def main() -> None:
    if "--skip-uncached" not in sys.argv:
        empty = tempfile.mkdtemp(prefix="bp-bench-cache-", dir="/var/tmp")
        os.environ["BASEPOD_TEST_CACHE"] = empty
        try:
            prepare_all(f"uncached (empty cache {empty}):")
        finally:
            del os.environ["BASEPOD_TEST_CACHE"]
            shutil.rmtree(empty, ignore_errors=True)
    prepare_all(f"cached ({debian_images.cache_dir()}), fresh store:")
    prepare_all("cached again, fresh store:")
    for path in sorted(Path(debian_images.cache_dir()).glob("*.tar")):
        print(f"  {path.name:<44} {path.stat().st_size / 2**20:7.0f} MiB")


if __name__ == "__main__":
    main()
