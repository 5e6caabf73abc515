# -*- coding: utf-8 -*-
# Copyright: failover developers
# MIT License (see https://opensource.org/licenses/MIT)
"""A small supervisor for the failover daemon where systemd is not the service manager.

    python failover_supervise.py start|stop|restart|reload|status --pidfile P --log L \
        --control-socket S [--stop-timeout N] -- /opt/failover/bin/failover run ...

`start` detaches a supervisor (double fork, new session, output to the log file) that runs
the daemon and restarts it with a back-off when it dies unexpectedly; it returns once the
daemon answers on its control socket, or fails with the end of the log. `stop` sends
SIGTERM to the supervisor, which passes it on (the daemon then hands mastership over with
priority-0 adverts and removes its addresses) and waits for both to exit. `reload`
passes SIGHUP on. Every command prints one word (started, running, stopped, ...) so that
Ansible can tell a change from no change.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

# Runs with the daemon's own virtualenv Python: the daemon's control client is at hand.
from failover.control import ControlError, request

BACKOFF_MIN = 1.0
BACKOFF_MAX = 30.0
HEALTHY_AFTER = 10.0  # a daemon that ran this long resets the back-off


def read_pid(pidfile):
    try:
        with open(pidfile) as f:
            pid = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if alive(pid) else None


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != b"Z"


def answers(path, timeout=1.0):
    """True when a daemon answers a status request on the control socket."""
    try:
        return request(path, {"command": "status"}, timeout=timeout).get("ok") is True
    except ControlError:
        return False


def log_tail(path, lines=20):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
    except OSError:
        return "(no log)"


class Supervisor:
    """Runs in the detached process: keeps one daemon alive until told to stop."""

    def __init__(self, argv, stop_timeout):
        self.argv = argv
        self.stop_timeout = stop_timeout
        self.child = None
        self.stopping = False

    def on_term(self, signum, _frame):
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)

    def on_hup(self, signum, _frame):
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGHUP)

    def say(self, message):
        sys.stderr.write("%s failover-supervise[%d]: %s\n" % (
            time.strftime("%Y-%m-%dT%H:%M:%S"), os.getpid(), message))
        sys.stderr.flush()

    def run(self):
        signal.signal(signal.SIGTERM, self.on_term)
        signal.signal(signal.SIGINT, self.on_term)
        signal.signal(signal.SIGHUP, self.on_hup)
        backoff = BACKOFF_MIN
        while not self.stopping:
            started = time.monotonic()
            self.say("starting: %s" % " ".join(self.argv))
            self.child = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL)
            while True:
                try:
                    code = self.child.wait()
                    break
                except InterruptedError:  # pragma: no cover - PEP 475 retries for us
                    continue
            if self.stopping:
                self.say("daemon exited %s after SIGTERM" % code)
                break
            ran = time.monotonic() - started
            if ran > HEALTHY_AFTER:
                backoff = BACKOFF_MIN
            self.say("daemon exited %s after %.1fs; restarting in %gs" % (code, ran, backoff))
            deadline = time.monotonic() + backoff
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(0.1)
            backoff = min(backoff * 2, BACKOFF_MAX)
        return 0


def daemonize(args):
    """Fork the supervisor off: new session, stdio on the log, pid in the pidfile."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        os.read(read_end, 1)  # wait for the grandchild to write its pidfile
        os.close(read_end)
        os.waitpid(pid, 0)
        return
    os.close(read_end)
    os.setsid()
    if os.fork():
        os._exit(0)
    os.chdir("/")
    os.umask(0o022)
    devnull = os.open(os.devnull, os.O_RDONLY)
    log = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(devnull)
    os.close(log)
    tmp = "%s.%d" % (args.pidfile, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(tmp, args.pidfile)
    os.write(write_end, b"x")
    os.close(write_end)
    code = 1
    try:
        code = Supervisor(args.argv, args.stop_timeout).run()
    finally:
        if read_pid(args.pidfile) in (os.getpid(), None):
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass
        os._exit(code)


def wait_gone(pid, timeout):
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def cmd_start(args):
    if read_pid(args.pidfile):
        return "running"
    for path in (args.pidfile, args.log):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    daemonize(args)
    deadline = time.monotonic() + args.start_timeout
    while time.monotonic() < deadline:
        if args.control_socket is None or answers(args.control_socket):
            return "started"
        if read_pid(args.pidfile) is None:
            break
        time.sleep(0.1)
    pid = read_pid(args.pidfile)
    if pid:
        os.kill(pid, signal.SIGTERM)
        wait_gone(pid, args.stop_timeout)
    raise SystemExit(
        "the failover daemon did not come up within %gs; end of %s:\n%s"
        % (args.start_timeout, args.log, log_tail(args.log))
    )


def cmd_stop(args):
    pid = read_pid(args.pidfile)
    if pid is None:
        return "stopped"
    os.kill(pid, signal.SIGTERM)
    if not wait_gone(pid, args.stop_timeout):
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        wait_gone(pid, 2.0)
        return "killed"
    return "stopped"


def cmd_restart(args):
    cmd_stop(args)
    cmd_start(args)
    return "restarted"


def cmd_reload(args):
    pid = read_pid(args.pidfile)
    if pid is None:
        return cmd_start(args)
    os.kill(pid, signal.SIGHUP)
    return "reloaded"


def cmd_status(args):
    pid = read_pid(args.pidfile)
    if pid is None:
        return "stopped"
    if args.control_socket and not answers(args.control_socket):
        return "starting"
    return "running"


COMMANDS = {
    "start": cmd_start,
    "stop": cmd_stop,
    "restart": cmd_restart,
    "reload": cmd_reload,
    "status": cmd_status,
}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="failover-supervise", description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--pidfile", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--control-socket")
    parser.add_argument("--start-timeout", type=float, default=15.0)
    parser.add_argument("--stop-timeout", type=float, default=15.0)
    parser.add_argument("argv", nargs="*", help="the daemon's command line (after --)")
    args = parser.parse_args(argv)
    if args.command in ("start", "restart", "reload") and not args.argv:
        parser.error("%s needs the daemon's command line after --" % args.command)
    print(COMMANDS[args.command](args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
