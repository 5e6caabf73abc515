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
- Cancelling the caller (a check stopped, a hook queue closed) SIGKILLs the group at once
  and waits (up to `grace`) until it is gone.
- stderr is read through a pipe as it comes; the first `STDERR_BYTES` are kept and the
  rest thrown away, so a chatty program can neither fill memory nor block on a full
  pipe. Once the command has exited, stderr is read for at most `DRAIN_AFTER_EXIT`
  more (a child it left behind may hold the pipe open), then the pipe is closed.

It starts the command with `subprocess.Popen` (fork and exec, as asyncio's own
subprocess support does, synchronously) and learns of its end through a pidfd on the
loop: no thread and no asyncio child watcher. asyncio's subprocess transport can wait
forever when `asyncio.run`'s shutdown cancels its internal tasks mid-start (Python
3.11); a run cancelled at any moment here kills its processes and returns.
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
EXIT_POLL = 0.05  # seconds between looks at a command's end, without pidfds (Linux < 5.3)


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
            proc = subprocess.Popen(
                args,
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


async def _wait(proc: subprocess.Popen[bytes], head: _Head, timeout: float, grace: float) -> bool:
    """Wait for the command's end, terminating it at `timeout`; True if it timed out."""
    timed_out = False
    try:
        try:
            async with asyncio.timeout(timeout):
                await _exit(proc)
        except TimeoutError:
            timed_out = True
            await _terminate(proc, grace)
        await asyncio.wait([head.done], timeout=DRAIN_AFTER_EXIT)
    except asyncio.CancelledError:
        _signal_group(proc.pid, signal.SIGKILL)
        await _ended(proc, grace)
        raise
    return timed_out


def _identity(user: str | None, env: Mapping[str, str] | None) -> dict[str, Any]:
    """Popen's user/group/extra_groups/env arguments (KeyError: no such user)."""
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


async def _terminate(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the group; SIGKILL what is left of it after `grace` (or once it is empty)."""
    _signal_group(proc.pid, signal.SIGTERM)
    await _ended(proc, grace)
    _signal_group(proc.pid, signal.SIGKILL)
    await _ended(proc, grace)


async def _ended(proc: subprocess.Popen[bytes], grace: float) -> None:
    """Wait up to `grace` seconds for the command, then the rest of its group, to end."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(grace):
            await _exit(proc)
            while _group_alive(proc.pid):
                await asyncio.sleep(GROUP_POLL)


async def _exit(proc: subprocess.Popen[bytes]) -> int:
    """The command's exit status once it has ended, reaped: woken by its pidfd (polled
    where there are none). No thread, no asyncio child watcher."""
    loop = asyncio.get_running_loop()
    try:
        fd: int | None = os.pidfd_open(proc.pid)
    except OSError:
        fd = None
    try:
        while (code := proc.poll()) is None:
            if fd is None:
                await asyncio.sleep(EXIT_POLL)
                continue
            woken: asyncio.Future[None] = loop.create_future()
            loop.add_reader(fd, _wake, woken)
            try:
                await woken
            finally:
                loop.remove_reader(fd)
        return code
    finally:
        if fd is not None:
            os.close(fd)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


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
