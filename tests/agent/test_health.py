"""The health loop on a real agent and real Podman: restarts after the threshold, brings
back a container killed from outside, gives up on a crash loop, pushes events, and keeps
its configuration and history across agent restarts."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from harness.system import wait_until

FAST_STOP = ["--stop-timeout", "1"]
CHECK = {"path": "/cgi-bin/health", "interval_seconds": 0.3, "timeout_seconds": 0.3,
         "failure_threshold": 2, "grace_seconds": 1, "max_restarts": 5}


@pytest.fixture
def fast_agent(agent_factory):
    """An agent allowing sub-second probe intervals (agent.toml), to keep the suite fast."""
    agent = agent_factory(start=False, extra_args=FAST_STOP)
    agent.state_dir.mkdir(parents=True, exist_ok=True)
    (agent.state_dir / "agent.toml").write_text("health_min_interval = 0.2\n")
    return agent.start()


@pytest.fixture
def fast_token(fast_agent):
    status, body = fast_agent.request("POST", "/api/auth/login",
                                      {"email": fast_agent.admin_email, "password": fast_agent.admin_password})
    assert status == 200, body
    return body["token"]


@pytest.fixture
def web(fast_agent, fast_token, busybox_image):
    status, app = fast_agent.request("POST", "/api/apps", {"name": "web", "image": busybox_image, "port": 8080},
                                     token=fast_token)
    assert status == 201, app
    return app


def configure(agent, token, **overrides):
    status, report = agent.request("PUT", "/api/apps/web/health", {**CHECK, **overrides}, token=token)
    assert status == 200, report
    return report


def health(agent, token):
    return agent.request("GET", "/api/apps/web/health", token=token)[1]


def wait_status(agent, token, status, timeout=15):
    return wait_until(lambda: (h := health(agent, token))["status"] == status and h, timeout, f"health {status}")


def health_restarts(agent) -> int:
    with sqlite3.connect(agent.state_dir / "agent.db") as db:
        return db.execute("SELECT count(*) FROM activity WHERE actor = 'health-check' "
                          "AND action = 'app.restart'").fetchone()[0]


def exec_in(podman, *command):
    wait_until(lambda: podman.cli("exec", "basepod-web", *command, check=False).returncode == 0, 10,
               f"podman exec {' '.join(command)}")


class EventRecorder:
    """Collects events from /api/events in a background thread (the desktop's view)."""

    def __init__(self, agent, token) -> None:
        from basepod_desktop.client import AgentClient

        self.events: list = []
        self._client = AgentClient(str(agent.socket_path), token)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._listen(),), daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    async def _listen(self) -> None:
        self._task = asyncio.current_task()
        try:
            async for event in self._client.events():
                if event.type == "hello":
                    self._ready.set()
                self.events.append(event)
        except asyncio.CancelledError:
            pass
        finally:
            await self._client.aclose()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)


def test_an_app_failing_its_check_is_restarted_after_the_threshold(fast_agent, fast_token, web, podman_service):
    report = configure(fast_agent, fast_token)
    assert report["monitored"] and report["config"]["path"] == "/cgi-bin/health"
    wait_status(fast_agent, fast_token, "green")
    assert fast_agent.request("GET", "/api/apps/web", token=fast_token)[1]["health"] == "green"
    events = EventRecorder(fast_agent, fast_token)
    try:
        exec_in(podman_service, "touch", "/tmp/unhealthy")
        wait_until(lambda: health_restarts(fast_agent) >= 1, 15, "a restart by the health check")
        exec_in(podman_service, "rm", "-f", "/tmp/unhealthy")  # the file survives a restart
        final = wait_status(fast_agent, fast_token, "green")
    finally:
        events.close()
    changes = [(e.previous, e.status) for e in events.events if e.type == "health"]
    assert ("green", "yellow") in changes and ("yellow", "red") in changes and changes[-1][1] == "green"
    red = next(e for e in events.events if e.type == "health" and e.status == "red")
    assert "consecutive failures" in red.reason and "HTTP 500" in red.reason
    assert {t["status"] for t in final["transitions"]} >= {"green", "yellow", "red"}
    history = fast_agent.request("GET", "/api/apps/web/health/history?limit=200", token=fast_token)[1]
    failed = [p for p in history["probes"] if not p["ok"]]
    assert failed and failed[0]["status_code"] == 500 and history["probes"][0]["latency_ms"] is not None


def test_a_container_killed_from_outside_comes_back(fast_agent, fast_token, web, podman_service):
    configure(fast_agent, fast_token)
    wait_status(fast_agent, fast_token, "green")
    podman_service.cli("kill", "basepod-web")
    wait_until(lambda: health_restarts(fast_agent) >= 1, 15, "a restart by the health check")
    wait_status(fast_agent, fast_token, "green")
    assert fast_agent.request("GET", "/api/apps/web", token=fast_token)[1]["status"] == "running"


def test_a_crash_looping_app_ends_red_without_endless_restarts(fast_agent, fast_token, web, podman_service):
    configure(fast_agent, fast_token, failure_threshold=1, grace_seconds=0.5, max_restarts=2)
    wait_status(fast_agent, fast_token, "green")
    exec_in(podman_service, "touch", "/tmp/unhealthy")
    report = wait_until(lambda: (h := health(fast_agent, fast_token))["gave_up"] and h, 20, "giving up")
    assert report["status"] == "red" and "crash loop" in report["reason"]
    assert health_restarts(fast_agent) == 2
    wait_until(lambda: len(health(fast_agent, fast_token)["recent"]) >= 5, 5, "probing goes on")
    import time
    time.sleep(2)  # more than a backoff step: still no restart
    assert health_restarts(fast_agent) == 2
    assert fast_agent.request("GET", "/api/apps/web", token=fast_token)[1]["health"] == "red"
    exec_in(podman_service, "rm", "-f", "/tmp/unhealthy")
    fast_agent.request("POST", "/api/apps/web/restart", token=fast_token)  # a person retries
    assert not wait_status(fast_agent, fast_token, "green")["gave_up"]


def test_config_and_history_survive_an_agent_restart(fast_agent, fast_token, web):
    configure(fast_agent, fast_token, failure_threshold=4)
    wait_status(fast_agent, fast_token, "green")
    wait_until(lambda: len(fast_agent.request("GET", "/api/apps/web/health/history?limit=50",
                                              token=fast_token)[1]["probes"]) >= 3, 5, "stored probes")
    fast_agent.restart()
    report = health(fast_agent, fast_token)
    assert report["config"]["failure_threshold"] == 4 and report["status"] == "green"
    assert ("yellow", "green") in [(t["previous"], t["status"]) for t in report["transitions"]]
    before = len(fast_agent.request("GET", "/api/apps/web/health/history?limit=200", token=fast_token)[1]["probes"])
    wait_until(lambda: len(fast_agent.request("GET", "/api/apps/web/health/history?limit=200",
                                              token=fast_token)[1]["probes"]) > before + 2, 5, "probing resumed")


def test_a_stopped_app_is_not_probed_and_has_no_health_dot(fast_agent, fast_token, web):
    configure(fast_agent, fast_token)
    wait_status(fast_agent, fast_token, "green")
    fast_agent.request("POST", "/api/apps/web/stop", token=fast_token)
    assert fast_agent.request("GET", "/api/apps/web", token=fast_token)[1]["health"] is None
    import time
    time.sleep(1.5)
    assert health_restarts(fast_agent) == 0


def test_unmonitored_apps_report_the_default_config_switched_off(agent, token, busybox_image):
    agent.request("POST", "/api/apps", {"name": "web", "image": busybox_image, "port": 8080}, token=token)
    report = agent.request("GET", "/api/apps/web/health", token=token)[1]
    assert report["monitored"] is False and report["config"]["enabled"] is False
    assert report["config"]["path"] == "/health"
    assert agent.request("GET", "/api/apps/web", token=token)[1]["health"] is None


BAD_CONFIGS = [
    ({"interval_seconds": 0.5, "timeout_seconds": 0.5}, "interval_seconds"),  # below the agent's 1 s floor
    ({"interval_seconds": 0}, "interval_seconds"),
    ({"interval_seconds": 4000}, "interval_seconds"),
    ({"path": "health"}, "path"),
    ({"path": "/a b"}, "path"),
    ({"interval_seconds": 5, "timeout_seconds": 10}, None),
    ({"expected_status_min": 400, "expected_status_max": 200}, None),
    ({"failure_threshold": 0}, "failure_threshold"),
]


def test_bad_health_config_is_refused_with_the_field(agent, token, busybox_image):
    agent.request("POST", "/api/apps", {"name": "web", "image": busybox_image, "port": 8080}, token=token)
    for body, field in BAD_CONFIGS:
        status, error = agent.request("PUT", "/api/apps/web/health", body, token=token)
        assert status == 422 and error["code"] == "invalid_input", (body, error)
        assert error["field"] == field, (body, error)
    assert agent.request("GET", "/api/apps/web/health", token=token)[1]["monitored"] is False
