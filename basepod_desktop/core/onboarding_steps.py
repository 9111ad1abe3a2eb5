"""Running onboarding steps as a stream of typed events, and comparing agent versions.

A step is an async function given a line sink; it returns a message (OK), `Skipped` or
`Warned`, or raises an error whose message says what to fix.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from basepod_desktop.client import ClientError
from basepod_desktop.transport import TransportError
from basepod_desktop.transport.remote import LineSink

from .agent_wheel import WheelBuildFailed
from .onboarding_model import StepEvent, StepFailed, StepOutput, StepStatus, StepUpdate


@dataclass(frozen=True)
class Skipped:
    message: str


@dataclass(frozen=True)
class Warned:
    message: str


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    run: Callable[[LineSink], Awaitable[object]]


class StepError(Exception):
    """A precondition a person has to fix; `str(exc)` says how."""


def error_message(exc: BaseException) -> str:
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


async def run_steps(steps: list[Step]) -> AsyncIterator[StepEvent]:
    """Run steps in order, yielding RUNNING, each output line, then OK/SKIPPED/WARNING.

    On the first failure it yields FAILED and raises StepFailed: later steps depend on
    earlier ones, and stopping there is what makes the next attempt resume cleanly.
    """
    for step in steps:
        yield StepUpdate(step.name, step.title, StepStatus.RUNNING)
        started = time.monotonic()
        queue: asyncio.Queue = asyncio.Queue()

        def log(line: str, name: str = step.name) -> None:
            if line.strip():
                queue.put_nowait(StepOutput(name, line))

        task = asyncio.ensure_future(step.run(log))
        task.add_done_callback(lambda _t: queue.put_nowait(None))
        try:
            while (item := await queue.get()) is not None:
                yield item
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        try:
            outcome = task.result()
        except (StepError, TransportError, ClientError, WheelBuildFailed, OSError) as exc:
            message = error_message(exc)
            yield StepUpdate(step.name, step.title, StepStatus.FAILED, message, time.monotonic() - started)
            raise StepFailed(step.name, step.title, message) from exc
        except Exception as exc:  # a bug: still mark the step, then let it surface as itself
            yield StepUpdate(step.name, step.title, StepStatus.FAILED, f"unexpected error: {exc!r}",
                             time.monotonic() - started)
            raise
        if isinstance(outcome, Skipped):
            status, message = StepStatus.SKIPPED, outcome.message
        elif isinstance(outcome, Warned):
            status, message = StepStatus.WARNING, outcome.message
        else:
            status, message = StepStatus.OK, str(outcome or "done")
        yield StepUpdate(step.name, step.title, status, message, time.monotonic() - started)


def compare_versions(a: str, b: str) -> int:
    def key(v: str) -> tuple:
        return tuple(int(p) if p.isdigit() else 0 for p in v.split("+")[0].split("."))
    return (key(a) > key(b)) - (key(a) < key(b))
