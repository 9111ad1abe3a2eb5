"""Build logs: persisted, bounded, and followable live without gaps or repeats."""

from __future__ import annotations

import asyncio

import pytest
from basepod_agent.protocol.deploys import DeployStatus
from basepod_agent.services.buildlog import BuildLog, BuildLogStore


async def collect(log: BuildLog, offset: int = 0) -> str:
    parts = []
    expected = offset
    async for chunk in log.follow(offset):
        assert chunk.offset == expected, "chunks must be contiguous"
        parts.append(chunk.text)
        expected += len(chunk.text.encode())
    return "".join(parts)


async def test_lines_are_persisted_and_readable_after_close(tmp_path):
    log = BuildLog.create(tmp_path / "d1" / "build.log")
    log.append("Step 1/2: FROM busybox")
    log.append("Step 2/2: RUN true\n")
    log.close(DeployStatus.SUCCESS)
    expected = "Step 1/2: FROM busybox\nStep 2/2: RUN true\n"
    assert (tmp_path / "d1" / "build.log").read_text() == expected
    reread = BuildLog.load(tmp_path / "d1" / "build.log", DeployStatus.SUCCESS)
    assert reread.read() == (expected, len(expected))
    assert reread.read(offset=5)[0] == expected[5:]
    assert await collect(reread) == expected


async def test_a_follower_attaching_late_gets_everything_so_far_then_the_live_tail(tmp_path):
    log = BuildLog.create(tmp_path / "build.log")
    for i in range(100):
        log.append(f"early {i}")
    follower = asyncio.create_task(collect(log))
    await asyncio.sleep(0)
    for i in range(100):
        log.append(f"late {i}")
        if i % 10 == 0:
            await asyncio.sleep(0)
    log.close(DeployStatus.FAILED)
    text = await asyncio.wait_for(follower, 5)
    assert text == "".join(f"early {i}\n" for i in range(100)) + "".join(f"late {i}\n" for i in range(100))
    assert log.status is DeployStatus.FAILED


async def test_followers_attaching_at_every_moment_of_a_build_see_identical_complete_logs(tmp_path):
    """Attach a follower before, during and after writes (including right between two
    writes and in the middle of draining a backlog): each sees every byte exactly once."""
    log = BuildLog.create(tmp_path / "build.log")
    followers = [asyncio.create_task(collect(log))]
    expected = []
    for i in range(300):
        line = f"line {i} " + "é" * (i % 7) + "x" * (i * 37 % 500)
        expected.append(line + "\n")
        log.append(line)
        if i % 25 == 0:
            followers.append(asyncio.create_task(collect(log)))
        if i % 3 == 0:
            await asyncio.sleep(0)
    log.close(DeployStatus.SUCCESS)
    followers.append(asyncio.create_task(collect(log)))
    results = await asyncio.wait_for(asyncio.gather(*followers), 10)
    assert len(results) == 14
    assert all(result == "".join(expected) for result in results)


async def test_a_reconnecting_client_resumes_from_its_offset_without_repeats(tmp_path):
    log = BuildLog.create(tmp_path / "build.log")
    log.append("first")
    seen = []
    async for chunk in log.follow():
        seen.append(chunk)
        break
    resume_at = seen[-1].offset + len(seen[-1].text.encode())
    log.append("second")
    log.close(DeployStatus.SUCCESS)
    assert await collect(log, resume_at) == "second\n"


async def test_an_over_limit_log_stops_with_a_visible_marker_and_keeps_the_final_tail(tmp_path):
    log = BuildLog.create(tmp_path / "build.log", limit=1024 * 1024, tail_bytes=200)
    line = "y" * 99
    for i in range(20_000):  # about 2 MB, twice the limit
        log.append(f"{line}")
    log.append("ERROR: the real reason the build failed")
    log.close(DeployStatus.FAILED)
    data = (tmp_path / "build.log").read_bytes()
    text = data.decode()
    assert log.truncated
    assert "[log truncated at 1 MiB" in text
    head = text.split("\n[log truncated")[0]
    assert len(head.encode()) <= 1024 * 1024
    assert all(part == line for part in head.splitlines()), "the kept head ends on a whole line"
    assert text.rstrip().endswith("ERROR: the real reason the build failed")
    assert "bytes omitted" in text
    assert len(data) < 1024 * 1024 + 1000


async def test_live_followers_see_the_truncation_marker_and_the_tail(tmp_path):
    log = BuildLog.create(tmp_path / "build.log", limit=2000, tail_bytes=100)
    follower = asyncio.create_task(collect(log))
    for i in range(400):
        log.append(f"line {i:04}")
        await asyncio.sleep(0)
    log.close(DeployStatus.FAILED)
    text = await asyncio.wait_for(follower, 5)
    assert text == (tmp_path / "build.log").read_text()
    assert "[log truncated at 2000 bytes" in text and text.endswith("line 0399\n")


def test_truncation_never_splits_a_multibyte_character(tmp_path):
    log = BuildLog.create(tmp_path / "build.log", limit=1000, tail_bytes=51)
    for _ in range(100):
        log.append("日本語" * 10)
    log.close(DeployStatus.SUCCESS)
    (tmp_path / "build.log").read_bytes().decode("utf-8")  # strict: raises if split


def test_appends_after_close_are_ignored(tmp_path):
    log = BuildLog.create(tmp_path / "build.log")
    log.append("a")
    log.close(DeployStatus.CANCELLED)
    log.append("b")
    assert log.read()[0] == "a\n"


async def test_the_store_serves_the_live_log_while_running_and_the_file_afterwards(tmp_path):
    store = BuildLogStore(tmp_path)
    live = store.create("dep1")
    live.append("building")
    assert store.get("dep1") is live
    follower = asyncio.create_task(collect(store.get("dep1")))
    await asyncio.sleep(0)
    store.finish("dep1", DeployStatus.SUCCESS)
    assert await asyncio.wait_for(follower, 5) == "building\n"
    after = store.get("dep1", DeployStatus.SUCCESS)
    assert after is not live and after.closed and after.read()[0] == "building\n"
    assert store.path_for("dep1") == tmp_path / "deploys" / "dep1" / "build.log"
    with pytest.raises(ValueError):
        store.path_for("../etc")


async def test_a_log_that_never_existed_reads_as_empty(tmp_path):
    store = BuildLogStore(tmp_path)
    assert await collect(store.get("missing")) == ""
