"""`failover supervise` with real processes: a stand-in daemon, no root needed."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from failover import control
from failover.supervise import add_parser, alive, read_pidfile, wait_until

TIMEOUT = 20.0  # generous: the machine is shared

# The stand-in daemon: records each start's pid in `starts`, then
#   serve SOCKET            answers status (its pid) and reload (verdict.json) on SOCKET,
#                           writes `hup` on SIGHUP, `terminated` on SIGTERM and exits 0
#   stubborn SOCKET         the same, but ignores SIGTERM
#   crash K SOCKET          exits 3 the first K starts, then serves
#   fail                    says why on stderr and exits 4
FAKE_DAEMON = """
import asyncio, json, os, signal, sys
from pathlib import Path
from failover.control import RELOAD, STATUS, ControlServer, bind_socket

here = Path(sys.argv[0]).parent
mode = sys.argv[1]
with open(here / "starts", "a") as f:
    f.write(f"{os.getpid()}\\n")
starts = len((here / "starts").read_text().split())
if mode == "fail":
    print("boom: interface eth9 is missing", file=sys.stderr)
    sys.exit(4)
if mode == "crash" and starts <= int(sys.argv[2]):
    sys.exit(3)

async def serve(path):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, (lambda: None) if mode == "stubborn" else stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: (here / "hup").write_text("1"))
    server = ControlServer(bind_socket(path), {
        STATUS: lambda req: {"ok": True, "pid": os.getpid(), "routers": [], "interfaces": []},
        RELOAD: lambda req: json.loads((here / "verdict.json").read_text()),
    })
    await server.start()
    await stop.wait()
    await server.close()
    (here / "terminated").write_text(str(os.getpid()))

asyncio.run(serve(sys.argv[-1]))
"""


class Supervised:
    """A scratch directory with the stand-in daemon, its pidfile, log and socket."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fake = root / "fake.py"
        self.fake.write_text(FAKE_DAEMON)
        self.pidfile = root / "run" / "sup.pid"  # `start` makes the folder
        self.log = root / "log" / "sup.log"
        self.socket = str(root / "ctl.sock")
        self.supervisors: set[int] = set()

    def daemon(self, *args: str) -> list[str]:
        """The stand-in daemon's command line."""
        return ["--", sys.executable, str(self.fake), *args]

    def cli(
        self, command: str, *args: str, socket: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run `python -m failover.supervise COMMAND`, with a short back-off."""
        argv = [sys.executable, "-m", "failover.supervise", command]
        argv += ["--pidfile", str(self.pidfile), "--log", str(self.log)]
        argv += ["--backoff", "0.05", "--backoff-max", "0.2", "--start-timeout", "10"]
        argv += ["--control-socket", self.socket] if socket else []
        done = subprocess.run([*argv, *args], capture_output=True, text=True, timeout=60)
        pid = read_pidfile(self.pidfile)
        if pid is not None:
            self.supervisors.add(pid)
        return done

    def starts(self) -> list[int]:
        """The stand-in daemon's pids, one per start."""
        path = self.root / "starts"
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def answering_pid(self) -> int | None:
        try:
            pid = control.request(self.socket, {"command": control.STATUS}, 1.0).get("pid")
        except control.ControlError:
            return None
        return pid if isinstance(pid, int) else None

    def kill_all(self) -> None:
        for pid in self.supervisors | set(self.starts()):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def sup() -> Iterator[Supervised]:
    root = Path(tempfile.mkdtemp(prefix="fo-sup-"))  # short: a socket path has 107 bytes
    supervised = Supervised(root)
    try:
        yield supervised
    finally:
        supervised.kill_all()
        shutil.rmtree(root)


def said(done: subprocess.CompletedProcess[str], word: str, code: int = 0) -> bool:
    return (done.returncode, done.stdout.strip()) == (code, word)


def test_start_then_status_running_and_start_twice_says_running(sup: Supervised) -> None:
    done = sup.cli("start", *sup.daemon("serve", sup.socket))
    assert said(done, "started"), done
    assert said(sup.cli("status"), "running")
    assert said(sup.cli("start", *sup.daemon("serve", sup.socket)), "running")
    [daemon] = sup.starts()
    assert sup.answering_pid() == daemon
    assert "failover-supervise[" in sup.log.read_text()


def test_a_crashing_daemon_is_restarted_with_a_doubling_backoff(sup: Supervised) -> None:
    done = sup.cli("start", *sup.daemon("crash", "3", sup.socket))
    assert said(done, "started"), done  # start waits through three crashes
    log = sup.log.read_text()
    delays = [line.rsplit(" ", 1)[-1] for line in log.splitlines() if "restarting in" in line]
    assert delays == ["0.05s", "0.1s", "0.2s"], log
    assert "daemon exited 3" in log
    first = sup.answering_pid()
    assert first is not None
    os.kill(first, signal.SIGKILL)
    assert wait_until(lambda: sup.answering_pid() not in (None, first), TIMEOUT), sup.log
    assert "killed by SIGKILL" in sup.log.read_text()
    assert len(sup.starts()) == 5


def test_stop_passes_sigterm_on_and_both_exit(sup: Supervised) -> None:
    assert said(sup.cli("start", *sup.daemon("serve", sup.socket)), "started")
    supervisor = read_pidfile(sup.pidfile)
    [daemon] = sup.starts()
    assert supervisor is not None
    assert said(sup.cli("stop"), "stopped")
    assert (sup.root / "terminated").read_text() == str(daemon)  # it saw SIGTERM
    assert not alive(supervisor)
    assert not alive(daemon)
    assert not sup.pidfile.exists()
    assert not Path(sup.socket).exists()
    assert said(sup.cli("stop"), "stopped")
    assert said(sup.cli("status"), "stopped")


def test_stop_kills_a_daemon_that_ignores_sigterm(sup: Supervised) -> None:
    assert said(sup.cli("start", *sup.daemon("stubborn", sup.socket)), "started")
    supervisor = read_pidfile(sup.pidfile)
    [daemon] = sup.starts()
    assert supervisor is not None
    assert said(sup.cli("stop", "--stop-timeout", "0.5"), "killed")
    assert not alive(supervisor)
    assert not alive(daemon)
    assert not sup.pidfile.exists()


def test_restart_runs_a_new_daemon(sup: Supervised) -> None:
    assert said(sup.cli("start", *sup.daemon("serve", sup.socket)), "started")
    assert said(sup.cli("restart", *sup.daemon("serve", sup.socket)), "restarted")
    old, new = sup.starts()
    assert not alive(old)
    assert sup.answering_pid() == new


def test_a_pidfile_naming_a_dead_process_is_stale(sup: Supervised) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    sup.pidfile.parent.mkdir()
    sup.pidfile.write_text(f"{gone.pid}\n")
    assert said(sup.cli("status"), "stopped")
    assert said(sup.cli("stop"), "stopped")
    assert said(sup.cli("start", *sup.daemon("serve", sup.socket)), "started")
    assert read_pidfile(sup.pidfile) not in (None, gone.pid)


def test_a_pidfile_older_than_its_process_is_stale(sup: Supervised) -> None:
    """After a reboot the pid may name another process, started after the file."""
    other = subprocess.Popen(["sleep", "60"])
    try:
        sup.pidfile.parent.mkdir()
        sup.pidfile.write_text(f"{other.pid}\n")
        hour_ago = time.time() - 3600
        os.utime(sup.pidfile, (hour_ago, hour_ago))
        assert said(sup.cli("status"), "stopped")
        assert said(sup.cli("stop"), "stopped")
        assert other.poll() is None  # not ours: left alone
    finally:
        other.kill()
        other.wait()


def test_reload_gives_the_daemons_verdict(sup: Supervised) -> None:
    verdict = sup.root / "verdict.json"
    assert said(sup.cli("reload", *sup.daemon("serve", sup.socket)), "started")  # was stopped
    applied: control.ReloadReply = {
        "ok": True,
        "config": "/etc/failover/vrrp-config.json",
        "added": [],
        "removed": [],
        "changed": ["gw"],
        "unchanged": [],
        "warnings": ["VIP shared with gw2"],
    }
    verdict.write_text(json.dumps(applied))
    done = sup.cli("reload", *sup.daemon("serve", sup.socket))
    assert said(done, "reloaded"), done
    assert "warning: VIP shared with gw2" in done.stderr
    verdict.write_text(json.dumps(control.error_reply("1 problem", ["gw: no interface eth9"])))
    done = sup.cli("reload", *sup.daemon("serve", sup.socket))
    assert said(done, "", code=1), done
    assert "reload refused, nothing changed: 1 problem\n  gw: no interface eth9" in done.stderr
    [daemon] = sup.starts()  # still the same daemon
    assert sup.answering_pid() == daemon


def test_reload_without_a_control_socket_passes_sighup_on(sup: Supervised) -> None:
    assert said(sup.cli("start", *sup.daemon("serve", sup.socket), socket=False), "started")
    assert wait_until(lambda: sup.answering_pid() is not None, TIMEOUT)
    assert said(sup.cli("reload", *sup.daemon("serve", sup.socket), socket=False), "reloaded")
    assert wait_until((sup.root / "hup").exists, TIMEOUT)
    assert len(sup.starts()) == 1


def test_a_failed_start_shows_the_log_and_leaves_nothing_running(sup: Supervised) -> None:
    # 4 s: past the first restart (BACKOFF_FIRST 1 s after the daemon failed) even when a
    # loaded machine takes a second or two to start the daemon
    done = sup.cli("start", "--start-timeout", "4", *sup.daemon("fail"))
    assert said(done, "", code=1), done
    assert "boom: interface eth9 is missing" in done.stderr
    assert f"no answer on {sup.socket} within 4s" in done.stderr
    assert len(sup.starts()) > 1  # restarted meanwhile
    assert not any(alive(pid) for pid in sup.supervisors | set(sup.starts()))
    assert said(sup.cli("status"), "stopped")


def test_a_daemon_that_cannot_be_executed_fails_start_at_once(sup: Supervised) -> None:
    done = sup.cli("start", "--", str(sup.root / "missing"))
    assert said(done, "", code=1), done
    assert "the supervisor exited" in done.stderr
    assert "cannot start the daemon" in done.stderr
    assert said(sup.cli("status"), "stopped")


def test_the_failover_subcommand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="failover")
    add_parser(parser.add_subparsers(dest="command", required=True))
    files = ["--pidfile", str(tmp_path / "p"), "--log", str(tmp_path / "l")]
    args = parser.parse_args(["supervise", "status", *files])
    assert args.func(args) == 0
    assert capsys.readouterr().out == "stopped\n"
    daemon = ["/opt/failover/bin/failover", "run", "--config", "c.json"]
    # the options after the command (as documented) or before it (as the role passes them)
    for argv in (["start", *files, "--", *daemon], [*files, "start", "--", *daemon]):
        args = parser.parse_args(["supervise", *argv])
        assert (args.action, args.argv) == ("start", daemon)
    args = parser.parse_args(["supervise", "start", *files])
    assert args.func(args) == 2
    assert "start needs the daemon's command after --" in capsys.readouterr().err


def test_the_command_line_stays_light() -> None:
    code = (
        "import sys, failover.supervise; print(sorted({'asyncio', 'pyroute2'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
