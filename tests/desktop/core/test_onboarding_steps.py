"""The step runner both `bp` and the desktop consume: ordering, failure, cancellation."""

from __future__ import annotations

import asyncio

import pytest

from basepod_desktop.core.onboarding_model import StepFailed, StepOutput, StepStatus, StepUpdate
from basepod_desktop.core.onboarding_steps import Skipped, Step, StepError, Warned, compare_versions, run_steps


async def _collect(steps):
    seen = []
    try:
        async for event in run_steps(steps):
            seen.append(event)
    except StepFailed as exc:
        return seen, exc
    return seen, None


async def test_events_come_in_order_with_output_between_start_and_end():
    async def talk(log):
        log("one")
        log("   ")  # blank lines are dropped
        await asyncio.sleep(0)
        log("two")
        return "said two things"

    async def nothing(log):
        return Skipped("already done")

    async def careful(log):
        return Warned("done, but mind this")

    seen, failure = await _collect([Step("a", "A", talk), Step("b", "B", nothing), Step("c", "C", careful)])
    assert failure is None
    summary = [(e.step, e.status.value if isinstance(e, StepUpdate) else e.line) for e in seen]
    assert summary == [("a", "running"), ("a", "one"), ("a", "two"), ("a", "ok"), ("b", "running"), ("b", "skipped"),
                       ("c", "running"), ("c", "warning")]
    assert seen[3].message == "said two things" and seen[3].seconds >= 0


async def test_a_failing_step_is_named_and_later_steps_never_run():
    ran = []

    async def broken(log):
        log("trying")
        raise StepError("the disk is full: free 1 GiB")

    async def later(log):
        ran.append("later")
        return "ok"

    seen, failure = await _collect([Step("disk", "Check the disk", broken), Step("next", "Next", later)])
    assert isinstance(seen[-1], StepUpdate) and seen[-1].status is StepStatus.FAILED
    assert failure.step == "disk" and failure.title == "Check the disk" and "free 1 GiB" in failure.message
    assert ran == [] and isinstance(seen[1], StepOutput)


async def test_an_unexpected_error_marks_the_step_and_surfaces_as_itself():
    async def bug(log):
        raise KeyError("oops")

    seen = []
    with pytest.raises(KeyError):
        async for event in run_steps([Step("x", "X", bug)]):
            seen.append(event)
    assert seen[-1].status is StepStatus.FAILED and "KeyError" in seen[-1].message


async def test_closing_the_stream_cancels_the_running_step():
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def slow(log):
        started.set()
        log("working")
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    stream = run_steps([Step("slow", "Slow", slow)])
    assert (await anext(stream)).status is StepStatus.RUNNING
    assert (await anext(stream)).line == "working"
    await stream.aclose()
    assert started.is_set() and cancelled.is_set()


@pytest.mark.parametrize("a, b, order", [("0.1.0", "0.1.0", 0), ("0.1.0", "0.2.0", -1), ("0.10.0", "0.9.1", 1),
                                         ("3.9.18", "3.10", -1), ("1.0.0+dev", "1.0.0", 0)])
def test_versions_compare_numerically(a, b, order):
    assert compare_versions(a, b) == order
