"""run_command with real processes: exit status, timeouts that kill the whole group,
bounded stderr, start failures, another user."""

from __future__ import annotations

import asyncio
import os
import pwd
import signal
import sys
from pathlib import Path

from failover.daemon.process import STDERR_LINES, Completed, run_command
from tests.support import require
from tests.unit.children import appears, dead, run, script

SH = "/bin/sh"


def sh(code: str, timeout: float = 30.0, **kw: object) -> Completed:
    return run(run_command([SH, "-c", code], timeout, **kw))  # type: ignore[arg-type]


def family(tmp_path: Path) -> Path:
    """A command whose child starts a grandchild; all three wait; pids in files."""
    return script(
        tmp_path / "family",
        '/bin/sh -c \'sleep 300 & echo $! > "$1/grandchild"; wait\' sh "$DIR" &\n'
        'echo $! > "$DIR/child"\n'
        "wait\n",
    )


async def pids_when_started(tmp_path: Path) -> list[int]:
    return [int(await appears(tmp_path / name)) for name in ("child", "grandchild")]


class TestExit:
    def test_success(self) -> None:
        done = run(run_command(["/bin/true"], 30))
        assert (done.ok, done.exit_code, done.signal, done.timed_out) == (True, 0, None, False)
        assert done.argv == ("/bin/true",)
        assert done.describe() == "exit 0"
        assert done.duration >= 0

    def test_failure_status(self) -> None:
        done = sh("exit 3")
        assert (done.ok, done.exit_code, done.describe()) == (False, 3, "exit 3")

    def test_killed_by_a_signal(self) -> None:
        done = sh("kill -SEGV $$")
        assert (done.ok, done.exit_code, done.signal) == (False, None, signal.SIGSEGV)
        assert done.describe() == "killed by SIGSEGV"

    def test_stdin_is_empty_and_the_directory_is_root(self) -> None:
        done = sh("cat; pwd >&2")
        assert done.ok and done.stderr == ("/",)

    def test_environment_is_the_daemons_plus_the_extra(self) -> None:
        done = sh('echo "$GREETING" >&2; echo "$PATH" >&2', env={"GREETING": "hello"})
        assert done.stderr == ("hello", os.environ["PATH"])


class TestStderr:
    def test_first_lines_are_kept(self) -> None:
        done = sh('for i in 1 2 3 4 5 6 7 8; do echo "line $i " >&2; done; exit 1')
        assert done.stderr == tuple(f"line {i}" for i in range(1, STDERR_LINES + 1))

    def test_a_chatty_command_neither_blocks_nor_fills_memory(self) -> None:
        chatter = "import sys\nfor i in range(400_000): sys.stderr.write(f'chatter {i}\\n')"
        done = run(run_command([sys.executable, "-c", chatter], 60))
        assert done.ok, done.describe()
        assert done.stderr[:2] == ("chatter 0", "chatter 1")
        assert len(done.stderr) == STDERR_LINES


class TestTimeout:
    def test_the_whole_group_is_killed(self, tmp_path: Path) -> None:
        family(tmp_path)

        async def main() -> tuple[Completed, list[int]]:
            running = asyncio.create_task(
                run_command([str(tmp_path / "family")], 2.0, env={"DIR": str(tmp_path)})
            )
            pids = await pids_when_started(tmp_path)
            assert not any(dead(p) for p in pids)
            return await running, pids

        done, pids = run(main())
        assert done.timed_out and not done.ok
        assert done.signal == signal.SIGTERM
        assert done.describe() == "timed out, killed by SIGTERM"
        assert all(dead(p) for p in pids), [Path(f"/proc/{p}/stat").read_text() for p in pids]

    def test_sigterm_ignored_gets_sigkill_after_the_grace(self) -> None:
        done = sh("trap '' TERM; echo ready >&2; sleep 300; true", timeout=0.3, grace=0.5)
        assert done.timed_out and done.signal == signal.SIGKILL
        assert done.stderr == ("ready",)
        assert done.duration >= 0.3 + 0.5 - 0.01  # SIGKILL only after the grace

    def test_a_child_outliving_the_command_gets_sigkill(self, tmp_path: Path) -> None:
        stubborn = '/bin/sh -c "trap \'\' TERM; sleep 300" & echo $! > "$DIR/child"; wait'

        async def main() -> tuple[Completed, int]:
            env = {"DIR": str(tmp_path)}
            running = asyncio.create_task(
                run_command([SH, "-c", stubborn], 1.0, env=env, grace=0.5)
            )
            return await running, int(await appears(tmp_path / "child"))

        done, child = run(main())
        assert done.timed_out and done.signal == signal.SIGTERM  # the command itself obeyed
        assert dead(child)
        assert done.duration >= 1.0 + 0.5 - 0.01  # its child had the grace first

    def test_cancelling_kills_the_group(self, tmp_path: Path) -> None:
        family(tmp_path)

        async def main() -> list[int]:
            running = asyncio.create_task(
                run_command([str(tmp_path / "family")], 300, env={"DIR": str(tmp_path)})
            )
            pids = await pids_when_started(tmp_path)
            running.cancel()
            try:
                await running
            except asyncio.CancelledError:
                return pids
            raise AssertionError("not cancelled")

        pids = run(main())
        assert all(dead(p) for p in pids)

    def test_the_loops_shutdown_kills_a_run_left_going(self, tmp_path: Path) -> None:
        family(tmp_path)

        async def main() -> list[int]:
            env = {"DIR": str(tmp_path)}
            left = asyncio.create_task(run_command([str(tmp_path / "family")], 300, env=env))
            pids = await pids_when_started(tmp_path)
            assert not left.done()
            return pids  # asyncio.run cancels the run

        assert all(dead(p) for p in run(main()))


class TestCannotStart:
    def test_missing_executable(self) -> None:
        done = run(run_command(["/nonexistent/check", "-x"], 30))
        assert not done.ok and done.exit_code is None and done.signal is None
        assert done.error == "No such file or directory"
        assert done.describe() == "cannot start: No such file or directory"

    def test_not_executable(self, tmp_path: Path) -> None:
        (tmp_path / "plain").write_text("#!/bin/sh\n")
        done = run(run_command([str(tmp_path / "plain")], 30))
        assert not done.ok and done.error == "Permission denied"

    def test_empty_command(self) -> None:
        assert run(run_command([], 30)).error == "empty command"

    def test_unknown_user(self) -> None:
        done = run(run_command(["/bin/true"], 30, user="no-such-user-failover"))
        assert not done.ok and done.error == "no user 'no-such-user-failover'"


def test_runs_as_another_user() -> None:
    require(os.geteuid() == 0, "switching users needs root")
    nobody = pwd.getpwnam("nobody")
    done = sh("id -u >&2; id -g >&2; echo $HOME $USER >&2", user="nobody")
    assert done.ok, done.describe()
    assert done.stderr == (str(nobody.pw_uid), str(nobody.pw_gid), f"{nobody.pw_dir} nobody")
