"""The Caddy config the agent generates for each TLS mode is one Caddy accepts
(``caddy validate`` provisions every module without serving), and names land on the
right server: local names on plain HTTP, public ones on HTTPS."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from basepod_agent.config import AgentConfig
from basepod_agent.services.routing import caddy_apps, merged
from harness.system import require_binaries

ROUTES = [(["web.localhost", "shop.example.com"], [20001, 20003], "/tmp/live/web"), (["api.test"], [20002], "/tmp/live/api")]


@pytest.mark.parametrize("mode", ["off", "internal", "auto"])
def test_generated_config_is_valid_for_caddy(mode, tmp_path: Path):
    require_binaries("caddy")
    config = AgentConfig(state_dir=tmp_path, http_port=18080, https_port=18443, tls_mode=mode)
    apps = caddy_apps(config, ROUTES)
    servers = apps["http"]["servers"]
    local_hosts = list(dict.fromkeys(h for r in servers["basepod_local"]["routes"] for m in r.get("match", [])
                                     for h in m["host"]))
    if mode == "off":
        assert "basepod" not in servers and "shop.example.com" in local_hosts
    elif mode == "auto":
        assert local_hosts == ["web.localhost", "api.test"]
        assert servers["basepod"]["routes"][0]["match"][0]["host"] == ["shop.example.com"]
        marker = servers["basepod"]["routes"][1]["match"][0]["file"]
        assert marker == {"root": "/tmp/live/web", "try_files": ["/20003"]}
    else:
        assert local_hosts == [] and apps["tls"]["automation"]["policies"][0]["issuers"] == [{"module": "internal"}]
    path = tmp_path / "caddy.json"
    path.write_text(json.dumps(merged({"admin": {"disabled": True}}, apps)))
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run(["caddy", "validate", "--config", str(path)], capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
