"""Hook queues with real scripts: strict order, never two at once, timeouts, independence."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from failover.daemon.hooks import HookEvent, HookQueue
from failover.daemon.process import Completed
from tests.unit.children import appears, dead, run, script

# `<hook> HANG_SEQ ROUTER name state priority`: logs its start and end in its directory;
# a run that starts while another's marker directory exists logs an overlap; the event
# numbered HANG_SEQ (or one with a "go" file missing) waits instead of ending.
HOOK = """\
d=$(dirname "$0")
hang=$1; shift
mkdir "$d/busy" 2>/dev/null || echo "overlap $FAILOVER_SEQ" >> "$d/log"
echo "start $FAILOVER_SEQ $*" >> "$d/log"
if [ "$FAILOVER_SEQ" = "$hang" ]; then rmdir "$d/busy"; echo $$ > "$d/pid"; exec sleep 300; fi
while [ -e "$d/hold" ]; do sleep 0.01; done
sleep 0.1
echo "end $FAILOVER_SEQ" >> "$d/log"
rmdir "$d/busy"
"""


def event(seq: int, state: str = "MASTER", kind: str = "ROUTER") -> HookEvent:
    return HookEvent(kind, "inside", state, "BACKUP", 150, "higher priority", seq)  # type: ignore[arg-type]


def hook_in(directory: Path, timeout: float = 30, hang: int = 0, **kw: object) -> HookQueue:
    directory.mkdir(exist_ok=True)
    return HookQueue([str(script(directory / "hook", HOOK)), str(hang)], timeout, "inside", **kw)  # type: ignore[arg-type]


def log_of(directory: Path) -> list[str]:
    return (directory / "log").read_text().splitlines()


def test_events_run_one_at_a_time_in_order(tmp_path: Path) -> None:
    queue = hook_in(tmp_path)

    async def main() -> None:
        for seq in range(1, 6):
            queue.submit(event(seq))
        assert queue.pending == 5
        await queue.close(60)
        assert queue.pending == 0

    run(main())
    expected = [f"{edge} {seq}" for seq in range(1, 6) for edge in ("start", "end")]
    assert [" ".join(line.split()[:2]) for line in log_of(tmp_path)] == expected


def test_arguments_and_environment(tmp_path: Path) -> None:
    dump = 'printf "%s\\n" "$@" > "$0.args"; env | grep ^FAILOVER_ | sort > "$0.env"\n'
    hook = script(tmp_path / "hook", dump)
    queue = HookQueue([str(hook), "--site", "a"], 30, "fw")
    ev = HookEvent("GROUP", "fw", "FAULT", "MASTER", 50, "check web failed", 7)

    async def main() -> None:
        queue.submit(ev)
        await queue.close(60)

    run(main())
    assert (tmp_path / "hook.args").read_text().splitlines() == [
        "--site", "a", "GROUP", "fw", "FAULT", "50",
    ]  # fmt: skip
    assert (tmp_path / "hook.env").read_text().splitlines() == [
        "FAILOVER_KIND=GROUP",
        "FAILOVER_NAME=fw",
        "FAILOVER_OLD_STATE=MASTER",
        "FAILOVER_PRIORITY=50",
        "FAILOVER_REASON=check web failed",
        "FAILOVER_SEQ=7",
        "FAILOVER_STATE=FAULT",
    ]


def test_a_hanging_hook_is_killed_and_the_next_event_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="failover")
    queue = hook_in(tmp_path, timeout=0.5, hang=1)

    async def main() -> int:
        queue.submit(event(1))
        queue.submit(event(2, "BACKUP"))
        await queue.close(60)
        return int((tmp_path / "pid").read_text())

    assert dead(run(main()))
    assert log_of(tmp_path) == [
        "start 1 ROUTER inside MASTER 150",
        "start 2 ROUTER inside BACKUP 150",
        "end 2",
    ]
    assert "hook inside: event 1 (BACKUP -> MASTER): timed out, killed by SIGTERM in" in caplog.text
    assert "hook inside: event 2 (BACKUP -> BACKUP): exit 0 in" in caplog.text


def test_two_queues_run_independently(tmp_path: Path) -> None:
    stuck = hook_in(tmp_path / "stuck", hang=1)
    free = hook_in(tmp_path / "free")

    async def main() -> int:
        stuck.submit(event(1))
        stuck.submit(event(2))
        free.submit(event(1))
        free.submit(event(2))
        await free.close(60)
        pid = int(await appears(tmp_path / "stuck" / "pid"))
        assert stuck.pending == 2  # the first still runs, the second waits
        await stuck.close(0)  # cancelled: the hook killed, the second dropped
        return pid

    assert dead(run(main()))
    assert log_of(tmp_path / "free") == [
        "start 1 ROUTER inside MASTER 150", "end 1", "start 2 ROUTER inside MASTER 150", "end 2",
    ]  # fmt: skip
    assert log_of(tmp_path / "stuck") == ["start 1 ROUTER inside MASTER 150"]


def test_failure_is_logged_with_its_stderr(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hook = script(tmp_path / "hook", "echo 'cannot reach the API' >&2; echo retry >&2; exit 3\n")
    queue = HookQueue([str(hook)], 30, "inside")

    async def main() -> None:
        queue.submit(event(4))
        await queue.close(60)

    run(main())
    (record,) = [r for r in caplog.records if r.name == "failover"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert message.startswith("hook inside: event 4 (BACKUP -> MASTER): exit 3 in ")
    assert message.endswith("s; stderr: cannot reach the API | retry")


def test_a_full_queue_drops_the_oldest_waiting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    queue = hook_in(tmp_path, limit=2)
    (tmp_path / "hold").touch()  # the first run waits for it to go

    async def main() -> None:
        queue.submit(event(1))
        await appears(tmp_path / "log")  # it runs, held
        for seq in range(2, 6):
            queue.submit(event(seq))
        (tmp_path / "hold").unlink()
        await queue.close(60)

    run(main())
    assert [line.split()[1] for line in log_of(tmp_path) if line.startswith("start")] == [
        "1", "4", "5",
    ]  # fmt: skip
    assert "hook inside: 2 events waiting, event 2 (MASTER) dropped" in caplog.text
    assert "event 3 (MASTER) dropped" in caplog.text


def test_no_event_after_close(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    queue = hook_in(tmp_path)

    async def main() -> None:
        await queue.close(1)
        queue.submit(event(9))
        assert queue.pending == 0

    run(main())
    assert not (tmp_path / "log").exists()
    assert "hook inside: closed, event 9 (MASTER) not run" in caplog.text


def test_a_runner_that_raises_does_not_stop_the_queue(caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []

    async def flaky(
        argv: Sequence[str],
        timeout: float,
        *,
        user: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Completed:
        ran.append((env or {})["FAILOVER_SEQ"])
        if len(ran) == 1:
            raise RuntimeError("bug")
        return Completed(tuple(argv), 0.0, exit_code=0)

    queue = HookQueue(["/bin/true"], 30, "inside", runner=flaky)

    async def main() -> None:
        queue.submit(event(1))
        queue.submit(event(2))
        await queue.close(60)

    run(main())
    assert ran == ["1", "2"]
    assert "hook inside: event 1 raised" in caplog.text
