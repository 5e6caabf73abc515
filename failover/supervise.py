"""`failover supervise`: keep the daemon running where systemd is not PID 1.

    failover supervise start|stop|restart|reload|status --pidfile P --log L
        [--control-socket S] [--start-timeout N] [--stop-timeout N] -- ARGV...

`start` detaches a supervisor (double fork, new session, output appended to the log,
pidfile written atomically) that runs ARGV and restarts it with a doubling back-off when
it dies unexpectedly; it returns once the daemon answers on its control socket, or fails
with what the log got meanwhile. `stop` sends SIGTERM to the supervisor, which passes it
on (a master hands over with a priority-0 advert and removes its VIPs) and exits after
the daemon; after --stop-timeout the process group is killed. `reload` asks the daemon
on its control socket and gives its verdict (refused: exit 1, the daemon's errors on
stderr); without a control socket it passes SIGHUP on. `restart` is stop, then start.

Each command prints one word, so that Ansible can tell a change from none: started,
running, restarted, reloaded, stopped, killed (stop needed SIGKILL), or for `status`
running, starting (not answering yet), stopped. Exit codes: 0 done, 1 failed (why on
stderr), 2 usage. `daemonize` is the detaching part alone (Molecule's lab keeper uses it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
HEALTHY_AFTER = 10.0  # a daemon that ran this long starts the back-off over
ANSWER_TIMEOUT = 1.0
POLL = 0.05
PID_REUSE_SLACK = 5.0  # s: /proc's start times are to about a second
LOG_TAIL = 20  # lines shown when start fails
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
SIGNALS = {*STOP_SIGNALS, signal.SIGHUP, signal.SIGCHLD}


class Failed(Exception):
    """A command failed: the message goes to stderr and the exit code is 1."""


# -- processes and the pidfile ------------------------------------------------------------


def _stat(pid: int) -> list[bytes] | None:
    """/proc/PID/stat from field 3 (state) on, or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid: int) -> bool:
    """Does `pid` run (a zombie does not)?"""
    fields = _stat(pid)
    return fields is not None and fields[0] != b"Z"


def _boot_time() -> float:
    with open("/proc/stat") as f:
        return next(float(line.split()[1]) for line in f if line.startswith("btime "))


def started_at(pid: int) -> float | None:
    """When `pid` started, in seconds since the epoch (to about a second)."""
    fields = _stat(pid)
    if fields is None:
        return None
    return _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def descends_from(pid: int, ancestor: int) -> bool:
    """Is `ancestor` the process `pid` or one of its parents?"""
    while pid > 1 and pid != ancestor:
        fields = _stat(pid)
        if fields is None:
            return False
        pid = int(fields[1])
    return pid == ancestor


def write_pidfile(path: Path) -> None:
    """Write this process's pid to `path`, atomically (a reader sees all of it or none)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(f"{os.getpid()}\n")
    tmp.replace(path)


def _pidfile_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def read_pidfile(path: Path) -> int | None:
    """The live process `path` names, or None: no file, a dead pid, or a pid reused since.

    A process that started after the pidfile was written (after a reboot, say) is not
    the one that wrote it.
    """
    pid = _pidfile_pid(path)
    if pid is None or not alive(pid):
        return None
    started = started_at(pid)
    with contextlib.suppress(OSError):
        if started is not None and started > path.stat().st_mtime + PID_REUSE_SLACK:
            return None
    return pid


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)
    return True


# -- detaching ----------------------------------------------------------------------------


def _redirect(log: Path) -> None:
    """stdin from /dev/null, stdout and stderr appended to `log`."""
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    for fd, target in ((0, null), (1, out), (2, out)):
        os.dup2(target, fd)
    os.close(null)
    os.close(out)


def daemonize(log: Path, pidfile: Path | None = None) -> bool:
    """Detach a process: double fork, new session, cwd /, stdio on `log` (appended).

    True in the detached process, which must end with os._exit. False in the caller,
    once the detached process has written `pidfile` (atomically), or has just been
    detached when there is none. Give absolute paths: the detached process runs in /.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    ready, tell = os.pipe()
    first = os.fork()
    if first:
        os.close(tell)
        os.read(ready, 1)  # end of file: the detached process is ready, or died
        os.close(ready)
        os.waitpid(first, 0)
        return False
    try:
        os.close(ready)
        os.setsid()
        if os.fork():
            os._exit(0)
        os.chdir("/")
        os.umask(0o022)
        _redirect(log)
        if pidfile is not None:
            write_pidfile(pidfile)
        os.close(tell)
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    return True


# -- the supervisor (the detached process) ------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """Restart delays: `first`, doubling up to `most`; a run of `healthy` s resets them."""

    first: float = BACKOFF_FIRST
    most: float = BACKOFF_MAX
    healthy: float = HEALTHY_AFTER


def say(message: str) -> None:
    """One line in the log, in the format Molecule's checks search."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    print(f"{stamp} failover-supervise[{os.getpid()}]: {message}", file=sys.stderr, flush=True)


def _unblock_signals() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


def _exit_text(code: int) -> str:
    if code >= 0:
        return f"exited {code}"
    with contextlib.suppress(ValueError):
        return f"killed by {signal.Signals(-code).name}"
    return f"killed by signal {-code}"


def watch(child: subprocess.Popen[bytes]) -> tuple[int, bool]:
    """Pass SIGTERM/SIGINT (as SIGTERM) and SIGHUP on until `child` exits.

    Returns its exit code and whether it was told to stop.
    """
    stopping = False
    while (code := child.poll()) is None:
        signo = signal.sigwaitinfo(SIGNALS).si_signo
        if signo in STOP_SIGNALS:
            stopping = True
            child.send_signal(signal.SIGTERM)
        elif signo == signal.SIGHUP:
            child.send_signal(signal.SIGHUP)
    return code, stopping


def pause(seconds: float) -> bool:
    """Sleep `seconds`; True as soon as SIGTERM or SIGINT arrives."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        info = signal.sigtimedwait(SIGNALS, left)
        if info is not None and info.si_signo in STOP_SIGNALS:
            return True
    return False


def supervise(argv: Sequence[str], backoff: Backoff) -> int:
    """Run `argv` and restart it after each unexpected exit, until SIGTERM or SIGINT.

    The signals are blocked and taken with sigwaitinfo, so none is lost between checks;
    the daemon starts with them unblocked.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    delay = backoff.first
    while True:
        say(f"starting: {shlex.join(argv)}")
        began = time.monotonic()
        try:
            child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, preexec_fn=_unblock_signals)
        except OSError as err:
            say(f"cannot start the daemon: {err}")
            return 1
        code, stopping = watch(child)
        if stopping:
            say(f"SIGTERM passed on, daemon {_exit_text(code)}; stopped")
            return 0
        ran = time.monotonic() - began
        if ran >= backoff.healthy:
            delay = backoff.first
        say(f"daemon {_exit_text(code)} after {ran:.1f}s; restarting in {delay:g}s")
        if pause(delay):
            say("stopped during the back-off")
            return 0
        delay = min(delay * 2, backoff.most)


def run_supervisor(args: argparse.Namespace) -> NoReturn:
    """The detached process: supervise, remove the pidfile if still ours, exit."""
    code = 1
    try:
        code = supervise(args.argv, Backoff(args.backoff, args.backoff_max))
    except BaseException:
        traceback.print_exc()
    finally:
        if _pidfile_pid(args.pidfile) == os.getpid():
            args.pidfile.unlink(missing_ok=True)
        os._exit(code)


# -- the commands -------------------------------------------------------------------------


def answering(args: argparse.Namespace, supervisor: int) -> bool:
    """Does the supervisor's daemon answer on the control socket (True if none is known)?"""
    if args.control_socket is None:
        return True
    from failover import control

    try:
        reply = control.request(args.control_socket, {"command": control.STATUS}, ANSWER_TIMEOUT)
    except control.ControlError:
        return False
    pid = reply.get("pid")
    return reply.get("ok") is True and (not isinstance(pid, int) or descends_from(pid, supervisor))


def wait_answering(args: argparse.Namespace, supervisor: int) -> bool:
    """Wait up to --start-timeout for the daemon to answer; False if not (or no supervisor)."""
    up = wait_until(
        lambda: not alive(supervisor) or answering(args, supervisor), args.start_timeout
    )
    return up and alive(supervisor)


def log_since(log: Path, offset: int) -> str:
    """The last lines `log` got after `offset` (all of it if it was truncated since)."""
    try:
        with log.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(offset if offset <= size else 0, size - 8192))
            lines = f.read().splitlines()[-LOG_TAIL:]
    except OSError:
        return "(no log)"
    return b"\n".join(lines).decode(errors="replace") or "(nothing logged)"


def _log_size(log: Path) -> int:
    try:
        return log.stat().st_size
    except OSError:
        return 0


def stop_supervisor(pid: int, timeout: float) -> str:
    """SIGTERM the supervisor and wait for it; after `timeout` s SIGKILL its process group."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if wait_until(lambda: not alive(pid), timeout):
        return "stopped"
    with contextlib.suppress(ProcessLookupError):
        group = os.getpgid(pid)
        if group == os.getpgrp():  # never this command's own group
            os.kill(pid, signal.SIGKILL)
        else:
            os.killpg(group, signal.SIGKILL)
    wait_until(lambda: not alive(pid), 2.0)
    return "killed"


def cmd_start(args: argparse.Namespace) -> str:
    """Detach a supervisor and wait until its daemon answers."""
    if read_pidfile(args.pidfile) is not None:
        return "running"
    for path in (args.pidfile, args.log):
        path.parent.mkdir(parents=True, exist_ok=True)
    mark = _log_size(args.log)
    if daemonize(args.log, args.pidfile):
        run_supervisor(args)
    supervisor = read_pidfile(args.pidfile)
    if supervisor is not None and wait_answering(args, supervisor):
        return "started"
    if supervisor is None or not alive(supervisor):
        what = "the supervisor exited"
    else:
        stop_supervisor(supervisor, args.stop_timeout)
        what = f"no answer on {args.control_socket} within {args.start_timeout:g}s"
    raise Failed(f"the daemon did not start: {what}; {args.log} got:\n{log_since(args.log, mark)}")


def cmd_stop(args: argparse.Namespace) -> str:
    """Stop the supervisor and its daemon (no-op when not running)."""
    pid = read_pidfile(args.pidfile)
    if pid is None:
        return "stopped"
    result = stop_supervisor(pid, args.stop_timeout)
    if _pidfile_pid(args.pidfile) == pid:  # left behind by a killed supervisor
        args.pidfile.unlink(missing_ok=True)
    return result


def cmd_restart(args: argparse.Namespace) -> str:
    cmd_stop(args)
    cmd_start(args)
    return "restarted"


def ask_reload(path: str) -> str:
    """Reload through the control socket, as `failover reload` does: the daemon's verdict."""
    from failover import control

    try:
        reply = control.request(path, {"command": control.RELOAD}, control.RELOAD_TIMEOUT)
    except control.ControlError as err:
        raise Failed(str(err)) from None
    if not reply.get("ok"):
        raise Failed(control.format_refusal(reply))
    for warning in reply.get("warnings") or []:
        print(f"warning: {warning}", file=sys.stderr)
    return "reloaded"


def cmd_reload(args: argparse.Namespace) -> str:
    """Apply the config again: ask the daemon (or SIGHUP it); start it if not running."""
    supervisor = read_pidfile(args.pidfile)
    if supervisor is None:
        return cmd_start(args)
    if args.control_socket is None:
        os.kill(supervisor, signal.SIGHUP)
        return "reloaded"
    mark = _log_size(args.log)
    if not wait_answering(args, supervisor):
        raise Failed(
            f"the daemon does not answer on {args.control_socket} (waited "
            f"{args.start_timeout:g}s); {args.log} meanwhile:\n{log_since(args.log, mark)}"
        )
    return ask_reload(args.control_socket)


def cmd_status(args: argparse.Namespace) -> str:
    supervisor = read_pidfile(args.pidfile)
    if supervisor is None:
        return "stopped"
    return "running" if answering(args, supervisor) else "starting"


COMMANDS: dict[str, Callable[[argparse.Namespace], str]] = {
    "start": cmd_start,
    "stop": cmd_stop,
    "restart": cmd_restart,
    "reload": cmd_reload,
    "status": cmd_status,
}
NEEDS_ARGV = {"start", "restart", "reload"}


def run(args: argparse.Namespace) -> int:
    """Run one command: print its word (exit 0), or why it failed (exit 1; usage: 2)."""
    if args.action in NEEDS_ARGV and not args.argv:
        print(
            f"failover supervise: error: {args.action} needs the daemon's command after --",
            file=sys.stderr,
        )
        return 2
    try:
        print(COMMANDS[args.action](args), flush=True)
    except Failed as err:
        print(f"failover supervise: {err}", file=sys.stderr)
        return 1
    return 0


# -- the command line ---------------------------------------------------------------------


def _path(value: str) -> Path:
    return Path(value).absolute()


def configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give `parser` the supervise arguments and `func` (args -> exit code)."""
    parser.add_argument("action", metavar="command", choices=COMMANDS, help=", ".join(COMMANDS))
    parser.add_argument("--pidfile", type=_path, required=True, help="the supervisor's pid")
    parser.add_argument(
        "--log", type=_path, required=True, help="the supervisor's and daemon's output (appended)"
    )
    parser.add_argument(
        "--control-socket",
        metavar="PATH",
        help="the daemon's: start waits until it answers, reload asks it (else SIGHUP)",
    )
    parser.add_argument("--start-timeout", type=float, default=15.0, metavar="S")
    parser.add_argument(
        "--stop-timeout", type=float, default=15.0, metavar="S", help="then SIGKILL"
    )
    parser.add_argument(
        "--backoff",
        type=float,
        default=BACKOFF_FIRST,
        metavar="S",
        help=f"first restart delay, doubling (default {BACKOFF_FIRST:g})",
    )
    parser.add_argument(
        "--backoff-max", type=float, default=BACKOFF_MAX, metavar="S", help=f"{BACKOFF_MAX:g}"
    )
    # nargs="+" made optional: a "*" positional is matched, empty, right after the
    # command when options follow it, and the words after -- are then left over.
    argv = parser.add_argument(
        "argv", nargs="+", default=[], metavar="ARGV", help="after --: the daemon's command"
    )
    argv.required = False
    parser.set_defaults(func=run)
    return parser


# The parser's usage and description: this module's docstring after the synopsis.
TEXT: dict[str, Any] = {
    "usage": "%(prog)s start|stop|restart|reload|status --pidfile P --log L [options] [-- ARGV...]",
    "description": (__doc__ or "").split("\n\n", 2)[-1],
    "formatter_class": argparse.RawDescriptionHelpFormatter,
}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `supervise` command to the `failover` parser's subcommands."""
    help_ = "run the daemon under a supervisor where systemd is not PID 1"
    return configure(subparsers.add_parser("supervise", help=help_, **TEXT))


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m failover.supervise`: the same as `failover supervise`."""
    args = configure(argparse.ArgumentParser(prog="failover supervise", **TEXT)).parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
