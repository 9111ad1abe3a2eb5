"""The agent distribution a server installs: a wheel built from this checkout's `agent/`.

Built once per (version, source hash) into the cache dir, from a copy of the source so
the checkout never gets `build/` or `*.egg-info` litter. The source hash tells two dev
builds of the same version apart, which is what lets `bp server upgrade` notice that a
server runs yesterday's 0.1.0. `BASEPOD_AGENT_WHEEL` points at a prebuilt wheel instead
(packaged desktops without the agent source).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import basepod_agent
from basepod_agent.protocol import AGENT_VERSION

from . import paths


class WheelBuildFailed(Exception):
    pass


@dataclass(frozen=True)
class AgentWheel:
    path: Path
    version: str
    source_hash: str
    sha256: str


def agent_source_dir() -> Optional[Path]:
    """`agent/` of this checkout (the folder holding pyproject.toml), if there is one."""
    root = Path(basepod_agent.__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def _source_files(root: Path) -> list[Path]:
    files = [root / "pyproject.toml"]
    files += sorted(p for p in (root / "basepod_agent").rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    return files


def source_hash(root: Path) -> str:
    """sha256 over relative paths and contents: changes with any edit to the agent."""
    digest = hashlib.sha256()
    for path in _source_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def wheel_cache_dir() -> Path:
    base = os.environ.get("BASEPOD_CACHE_DIR")
    root = Path(base) if base else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "basepod"
    return paths.ensure_private_dir(root / "agent-wheels")


def build_agent_wheel(source: Optional[Path] = None, cache_dir: Optional[Path] = None) -> AgentWheel:
    """The cached wheel for this source, building it (a few seconds) when missing."""
    prebuilt = os.environ.get("BASEPOD_AGENT_WHEEL")
    if prebuilt and source is None:
        path = Path(prebuilt)
        if not path.is_file():
            raise WheelBuildFailed(f"BASEPOD_AGENT_WHEEL={prebuilt} does not exist")
        version = path.name.split("-")[1] if path.name.count("-") >= 2 else AGENT_VERSION
        sha = file_sha256(path)
        return AgentWheel(path, version, sha, sha)
    source = source or agent_source_dir()
    if source is None:
        raise WheelBuildFailed("this Basepod has no agent source to build from; set BASEPOD_AGENT_WHEEL "
                               "to a basepod_agent wheel file")
    src_hash = source_hash(source)
    version = _version_of(source)
    target = (cache_dir or wheel_cache_dir()) / f"{version}-{src_hash[:16]}"
    found = sorted(target.glob("basepod_agent-*.whl")) if target.is_dir() else []
    if not found:
        found = [_build(source, target)]
    return AgentWheel(found[0], version, src_hash, file_sha256(found[0]))


def _version_of(source: Path) -> str:
    for line in (source / "pyproject.toml").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "version":
            return value.strip().strip("\"'")
    return AGENT_VERSION


def _build(source: Path, target: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="basepod-wheel-") as tmp:
        copy = Path(tmp) / "agent"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "build", "*.egg-info"))
        out = Path(tmp) / "out"
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
             str(copy), "-w", str(out)],
            capture_output=True, text=True, timeout=300,
        )
        wheels = sorted(out.glob("basepod_agent-*.whl"))
        if result.returncode != 0 or not wheels:
            raise WheelBuildFailed(f"building the agent wheel failed: {(result.stderr or result.stdout)[-2000:]}")
        target.mkdir(parents=True, exist_ok=True)
        final = target / wheels[0].name
        shutil.copy2(wheels[0], final.with_suffix(".part"))
        os.replace(final.with_suffix(".part"), final)
        return final
