"""Health-check decisions without Podman or HTTP: the schedule, the crash-loop guard,
and the verdict for each observation."""

from __future__ import annotations

from basepod_agent.protocol.health import HealthConfig
from basepod_agent.protocol.health_status import HealthStatus
from basepod_agent.services.health_policy import AppHealthState, Observation, RestartGuard, Schedule

OK = Observation(running=True, ok=True, detail="HTTP 200")
FAIL = Observation(running=True, ok=False, detail="HTTP 500")
DOWN = Observation(running=False, ok=False, detail="container exited (code 1)")


def test_probe_times_stay_on_the_grid_however_late_a_tick_runs():
    schedule = Schedule(origin=100.0, interval=5.0)
    assert schedule.next_after(100.0) == 105.0
    assert schedule.next_after(105.3) == 110.0  # a tick 300 ms late does not shift the next one
    assert schedule.next_after(117.0) == 120.0  # a stalled loop skips missed ticks, no burst
    due, times = 100.0, []
    for lateness in [0.2, 0.4, 0.1, 0.9, 0.0] * 20:
        due = schedule.next_after(due + lateness)
        times.append(due)
    assert times == [100.0 + 5.0 * k for k in range(1, 101)]


def test_staggered_schedules_spread_apps_over_the_interval_stably():
    offsets = [Schedule.staggered(f"app{i}", 0.0, 5.0).origin for i in range(200)]
    assert all(0 <= o < 5.0 for o in offsets)
    assert max(offsets) - min(offsets) > 4.0  # spread, not bunched
    assert Schedule.staggered("web", 0.0, 5.0).origin == Schedule.staggered("web", 0.0, 5.0).origin


def test_restart_guard_backs_off_exponentially_then_gives_up():
    guard = RestartGuard(max_restarts=3, window=600, backoff_base=10)
    assert guard.decide(0) == ("restart", 0.0)
    guard.record(0)
    assert guard.decide(5) == ("wait", 5.0)
    assert guard.decide(10)[0] == "restart"
    guard.record(10)
    assert guard.decide(25) == ("wait", 5.0)  # 2nd gap is 20 s
    guard.record(30)
    assert guard.decide(1000 - 1)[0] == "restart"  # the first two left the window
    assert guard.decide(100) == ("give_up", 0.0)


def test_failures_below_the_threshold_are_yellow_and_at_it_red_with_a_restart():
    state = AppHealthState.fresh(HealthConfig(failure_threshold=3, grace_seconds=0))
    assert state.observe(OK, 1).status is HealthStatus.GREEN
    first, second, third = (state.observe(FAIL, t) for t in (2, 3, 4))
    assert (first.status, second.status) == (HealthStatus.YELLOW, HealthStatus.YELLOW)
    assert "2/3" in second.reason and not second.restart
    assert third.status is HealthStatus.RED and third.restart and "3 consecutive" in third.reason


def test_failures_during_the_start_up_grace_period_do_not_count():
    state = AppHealthState.fresh(HealthConfig(failure_threshold=1, grace_seconds=30))
    starting = Observation(running=True, ok=False, detail="connection refused", started_at=100.0)
    outcome = state.observe(starting, 110.0)
    assert outcome.status is HealthStatus.YELLOW and not outcome.restart and state.failures == 0
    assert state.observe(starting, 131.0).restart


def test_a_down_container_is_red_at_once_and_restarted_at_the_threshold():
    state = AppHealthState.fresh(HealthConfig(failure_threshold=2, grace_seconds=0))
    first = state.observe(DOWN, 1)
    assert first.status is HealthStatus.RED and not first.restart and "exited" in first.reason
    assert state.observe(DOWN, 2).restart


def test_a_crash_looping_app_is_given_up_on_and_stays_red_without_restarts():
    config = HealthConfig(failure_threshold=1, grace_seconds=0, interval_seconds=1, timeout_seconds=1,
                          max_restarts=2)
    state = AppHealthState.fresh(config)
    restarts = 0
    for now in range(1, 200):
        outcome = state.observe(FAIL, float(now))
        if outcome.restart:
            restarts += 1
            state.restarted(float(now))
    assert restarts == 2 and state.gave_up
    assert outcome.status is HealthStatus.RED and "crash loop" in outcome.reason
    assert state.observe(OK, 300.0).status is HealthStatus.GREEN and not state.gave_up


def test_auto_restart_off_reports_red_but_never_restarts():
    state = AppHealthState.fresh(HealthConfig(failure_threshold=1, grace_seconds=0, auto_restart=False))
    outcomes = [state.observe(FAIL, float(t)) for t in range(1, 10)]
    assert all(o.status is HealthStatus.RED and not o.restart for o in outcomes)
