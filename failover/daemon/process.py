"""Running an external command from asyncio: checks (`probes.py`) and hooks (`hooks.py`).

`run_command` is the one way the daemon runs a program. It never blocks the event loop
and never raises for what the program does; it returns a `Completed` record.

- The command is an argv list, executed directly (never through a shell), with stdin
  from /dev/null, stdout to /dev/null, the working directory `/`, and the daemon's
  environment plus the `env` given.
- It runs in its own session (`setsid`), so its process group id is its pid: the
  timeout reaches every process it started, and a terminal's Ctrl-C never reaches it.
- `user`: run as that user (uid, primary gid, supplementary groups; HOME, USER and
  LOGNAME set to the user's). An unknown user is reported like a missing executable.
- Timeout, as keepalived's `vrrp_script`: SIGTERM to the whole process group, SIGKILL
  `grace` seconds later (keepalived's 2 s). Unlike keepalived, which only checks the
  script itself, the SIGKILL goes to whatever is left of the group, so a child that
  outlives the killed command is killed too. When the command exits before its timeout,
  children it left running are not touched.
- Cancelling the caller (a check stopped, a hook queue closed) SIGKILLs the group at once.
- stderr is read through a pipe as it comes; the first `STDERR_BYTES` are kept and the
  rest thrown away, so a chatty program can neither fill memory nor block on a full
  pipe. Once the command has exited, stderr is read for at most `DRAIN_AFTER_EXIT`
  more (a child it left behind may hold the pipe open), then the pipe is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import signal
import subprocess
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL (keepalived's)
STDERR_BYTES = 4096  # kept of a run's stderr
STDERR_LINES = 5  # of those, the lines reported
DRAIN_AFTER_EXIT = 0.5  # seconds stderr is still read after the command exited
GROUP_POLL = 0.1  # seconds between looks at a terminated process group


@dataclass(frozen=True, slots=True)
class Completed:
    """How one run ended.

    Exactly one of: `error` (it never started), `exit_code` (it exited), `signal` (a
    signal ended it), or none of them (it survived SIGKILL for `grace`: a process stuck
    in the kernel). `timed_out` says the timeout struck, whatever came of it.
    """

    argv: tuple[str, ...]
    duration: float
    exit_code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    stderr: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Exit status 0 within the timeout: a check's success."""
        return self.exit_code == 0 and not self.timed_out

    def describe(self) -> str:
        """One phrase for logs and status: "exit 3", "timed out, killed by SIGKILL"."""
        if self.error is not None:
            return f"cannot start: {self.error}"
        if self.exit_code is not None:
            ended = f"exit {self.exit_code}"
        elif self.signal is not None:
            ended = f"killed by {signal.Signals(self.signal).name}"
        else:
            ended = "still running after SIGKILL"
        return f"timed out, {ended}" if self.timed_out else ended


class Runner(Protocol):
    """`run_command`'s signature, for callers that take a fake in tests."""

    def __call__(
        self,
        argv: Sequence[str],
        timeout: float,
        *,
        user: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Awaitable[Completed]: ...


async def run_command(
    argv: Sequence[str],
    timeout: float,
    *,
    user: str | None = None,
    env: Mapping[str, str] | None = None,
    grace: float = KILL_GRACE,
) -> Completed:
    """Run `argv` to its end or its timeout (see the module docstring)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    args = tuple(argv)
    if not args:
        return Completed(args, 0.0, error="empty command")
    try:
        identity = _identity(user, env)
    except KeyError:
        return Completed(args, 0.0, error=f"no user {user!r}")
    rfd, wfd = os.pipe()
    head = _Head(rfd, loop)
    try:
        try:
            proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=wfd,
                cwd="/",
                start_new_session=True,
                **identity,
            )
        except OSError as e:
            return Completed(args, loop.time() - started, error=e.strerror or str(e))
        finally:
            os.close(wfd)
        timed_out = await _wait(proc, head, timeout, grace)
    finally:
        head.close()
    code = proc.returncode
    return Completed(
        args,
        loop.time() - started,
        exit_code=code if code is not None and code >= 0 else None,
        signal=-code if code is not None and code < 0 else None,
        timed_out=timed_out,
        stderr=head.lines(),
    )


async def _wait(
    proc: asyncio.subprocess.Process, head: _Head, timeout: float, grace: float
) -> bool:
    """Wait for the command's end, terminating it at `timeout`; True if it timed out."""
    timed_out = False
    try:
        try:
            async with asyncio.timeout(timeout):
                await proc.wait()
        except TimeoutError:
            timed_out = True
            await _terminate(proc, grace)
        await asyncio.wait([head.done], timeout=DRAIN_AFTER_EXIT)
    except asyncio.CancelledError:
        _signal_group(proc.pid, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await proc.wait()
        raise
    return timed_out


def _identity(user: str | None, env: Mapping[str, str] | None) -> dict[str, Any]:
    """create_subprocess_exec's user/group/extra_groups/env arguments (KeyError: no user)."""
    environ = dict(os.environ)
    if user is None:
        return {"env": environ | dict(env or {})}
    pw = pwd.getpwnam(user)
    environ.update(HOME=pw.pw_dir, USER=pw.pw_name, LOGNAME=pw.pw_name)
    return {
        "env": environ | dict(env or {}),
        "user": pw.pw_uid,
        "group": pw.pw_gid,
        "extra_groups": os.getgrouplist(pw.pw_name, pw.pw_gid),
    }


async def _terminate(proc: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM the group; SIGKILL what is left of it after `grace` (or once it is empty)."""
    _signal_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(grace):
            await proc.wait()
            while _group_alive(proc.pid):
                await asyncio.sleep(GROUP_POLL)
    _signal_group(proc.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(grace):
            await proc.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """A process of the group is still running (zombies, waiting to be reaped, are not)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed its uid (a setuid program): still there
        pass
    return any(_running_in(entry.path, pgid) for entry in os.scandir("/proc"))


def _running_in(proc_dir: str, pgid: int) -> bool:
    """/proc/<pid>/stat says: in process group `pgid` and not a zombie."""
    try:
        with open(f"{proc_dir}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):  # not a process directory, or the process just went
        return False
    return fields[0] not in (b"Z", b"X") and int(fields[2]) == pgid


class _Head:
    """Reads a non-blocking pipe as data comes, keeping the first STDERR_BYTES."""

    def __init__(self, fd: int, loop: asyncio.AbstractEventLoop) -> None:
        os.set_blocking(fd, False)
        self._fd: int | None = fd
        self._loop = loop
        self._data = bytearray()
        self.done: asyncio.Future[None] = loop.create_future()
        loop.add_reader(fd, self._read)

    def _read(self) -> None:
        assert self._fd is not None
        try:
            chunk = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.close()
        elif len(self._data) < STDERR_BYTES:
            self._data += chunk[: STDERR_BYTES - len(self._data)]

    def close(self) -> None:
        if self._fd is not None:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = None
        if not self.done.done():
            self.done.set_result(None)

    def lines(self) -> tuple[str, ...]:
        text = self._data.decode("utf-8", "replace").splitlines()
        return tuple(line.rstrip() for line in text if line.strip())[:STDERR_LINES]
