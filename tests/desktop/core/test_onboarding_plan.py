"""Onboarding decisions without SSH: input validation, option resolution, the inspect
script (run here through a real `sh`), the systemd unit, upgrade decisions, the wheel."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from basepod_desktop.core import onboarding_scripts as scripts
from basepod_desktop.core.agent_service import render_unit, serve_argv
from basepod_desktop.core.agent_wheel import agent_source_dir, build_agent_wheel, source_hash
from basepod_desktop.core.onboarding import upgrade_reason
from basepod_desktop.core.onboarding_model import InstallManifest, InstallOptions, resolve_options

GOOD = {"admin_email": "you@example.com", "prefix": "/opt/basepod", "state_dir": "/var/lib/basepod",
        "socket": "/var/lib/basepod/agent.sock"}


def _facts(tmp_path: Path, prefix: str = "", state: str = ""):
    result = subprocess.run(["sh", "-c", scripts.INSPECT, "sh", prefix, state], capture_output=True, text=True,
                            check=True)
    return scripts.parse_inspect(result.stdout)


@pytest.mark.parametrize("field, value", [
    ("prefix", "opt/basepod"),
    ("prefix", "/opt/basepod; rm -rf /"),
    ("state_dir", "/var/lib/$(reboot)"),
    ("socket", "/var/lib/../../etc/agent.sock"),
    ("admin_email", "not-an-address"),
    ("admin_email", "a@b.c' -o 'x"),
    ("podman_url", "tcp://0.0.0.0:2375"),
    ("edge", "0.0.0.0:8443 --reload"),
])
def test_options_refuse_values_that_could_turn_into_shell_syntax(field, value):
    with pytest.raises(ValidationError) as exc:
        InstallOptions(**{**GOOD, field: value})
    assert exc.value.errors()[0]["loc"] == (field,)


def test_the_inspect_script_reports_this_machine_as_a_server(tmp_path):
    facts = _facts(tmp_path, str(tmp_path / "opt"), str(tmp_path / "state"))
    assert facts.uid == 0 and facts.is_root and facts.user == "root"
    assert facts.python == "/usr/bin/python3" and facts.python_ok and facts.python_venv
    assert facts.family == "debian" and facts.package_manager == "apt-get"
    assert facts.podman_version and facts.podman_mode == "rootful"
    assert not facts.systemd and facts.service_mode == "detached"  # this test machine has no systemd
    assert facts.disk_free_bytes > 0 and facts.mem_total_bytes >= facts.mem_available_bytes > 0
    assert facts.installed_version is None and facts.manifest is None and not facts.initialised


def test_root_and_user_defaults_and_an_earlier_install_win_over_defaults(tmp_path):
    facts = _facts(tmp_path)
    assert (facts.prefix, facts.state_dir) == ("/opt/basepod", "/var/lib/basepod")
    options = resolve_options(facts, admin_email="you@example.com")
    assert options.socket == "/var/lib/basepod/agent.sock" and options.agent_bin == "/opt/basepod/venv/bin/basepod-agent"

    prefix = tmp_path / "opt"
    prefix.mkdir()
    manifest = InstallManifest(prefix=str(prefix), state_dir=str(tmp_path / "st"), socket="/run/bp.sock",
                               podman_url="unix:///run/p.sock", service="detached", agent_version="0.1.0",
                               source_hash="a" * 64, wheel_sha256="b" * 64)
    (prefix / "install.json").write_text(json.dumps(manifest.model_dump(), indent=2))
    facts = _facts(tmp_path, str(prefix))
    assert facts.manifest == manifest and facts.state_dir == str(tmp_path / "st")
    resumed = resolve_options(facts, admin_email="you@example.com")
    assert (resumed.socket, resumed.podman_url) == ("/run/bp.sock", "unix:///run/p.sock")
    explicit = resolve_options(facts, admin_email="you@example.com", socket="/run/other.sock")
    assert explicit.socket == "/run/other.sock"


def test_a_damaged_manifest_reads_as_not_installed(tmp_path):
    prefix = tmp_path / "opt"
    prefix.mkdir()
    (prefix / "install.json").write_text("{half a file")
    assert _facts(tmp_path, str(prefix)).manifest is None


def test_the_system_unit_runs_the_venv_agent_and_keeps_hardening_that_fits_the_paths():
    options = InstallOptions(**GOOD, podman_url="unix:///run/podman/podman.sock")
    unit = render_unit(options, "systemd-system")
    assert ("ExecStart=/opt/basepod/venv/bin/basepod-agent serve --state-dir /var/lib/basepod "
            "--socket /var/lib/basepod/agent.sock --podman-url unix:///run/podman/podman.sock") in unit
    assert "PrivateTmp=yes" in unit and "ProtectHome=read-only" in unit and "WantedBy=multi-user.target" in unit

    home = InstallOptions(**{**GOOD, "prefix": "/home/ann/.local/share/basepod-agent",
                             "state_dir": "/tmp/state", "socket": "/tmp/state/agent.sock"})
    user_unit = render_unit(home, "systemd-user")
    assert "PrivateTmp" not in user_unit and "ProtectHome" not in user_unit
    assert "WantedBy=default.target" in user_unit and "podman.socket" not in user_unit
    assert serve_argv(home)[:2] == ["/home/ann/.local/share/basepod-agent/venv/bin/basepod-agent", "serve"]


def test_upgrade_is_offered_for_older_versions_and_other_builds_only(tmp_path):
    wheel = build_agent_wheel(cache_dir=tmp_path / "cache")
    facts = _facts(tmp_path)
    manifest = InstallManifest(prefix="/opt/basepod", state_dir="/var/lib/basepod", socket="/s", service="detached",
                               agent_version=wheel.version, source_hash=wheel.source_hash, wheel_sha256=wheel.sha256)
    same = facts.model_copy(update={"installed_version": wheel.version, "manifest": manifest})
    assert upgrade_reason(same, wheel) is None
    older = same.model_copy(update={"installed_version": "0.0.9"})
    assert "0.0.9" in upgrade_reason(older, wheel)
    rebuilt = same.model_copy(update={"manifest": manifest.model_copy(update={"source_hash": "f" * 64})})
    assert "another build" in upgrade_reason(rebuilt, wheel)
    newer = same.model_copy(update={"installed_version": "9.0.0"})
    assert upgrade_reason(newer, wheel) is None
    assert upgrade_reason(facts, wheel) is None  # nothing installed: that is an install, not an upgrade


def test_the_wheel_is_built_once_per_source_and_rebuilt_after_an_edit(tmp_path):
    source = tmp_path / "agent"
    shutil.copytree(agent_source_dir(), source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    first = build_agent_wheel(source, cache_dir=tmp_path / "cache")
    mtime = first.path.stat().st_mtime_ns
    again = build_agent_wheel(source, cache_dir=tmp_path / "cache")
    assert again == first and again.path.stat().st_mtime_ns == mtime
    assert not (source / "build").exists() and not list(source.glob("*.egg-info"))
    (source / "basepod_agent" / "protocol" / "version.py").write_text(
        (source / "basepod_agent" / "protocol" / "version.py").read_text() + "\n# edited\n")
    edited = build_agent_wheel(source, cache_dir=tmp_path / "cache")
    assert edited.source_hash == source_hash(source) != first.source_hash
    assert edited.path != first.path and edited.sha256 != first.sha256
