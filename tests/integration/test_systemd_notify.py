"""systemd's notify protocol with a real daemon: a real AF_UNIX datagram socket as
$NOTIFY_SOCKET, as systemd gives a Type=notify service, and $WATCHDOG_USEC."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from failover.control import request
from failover.lab import DEFAULT_VIP, Lab, wait_until
from failover.lab.lab import LANS
from failover.lab.nodes import Node, converged, router
from tests.support import MakeLab

pytestmark = pytest.mark.root
VRID = 51
TIMEOUT = 30
WATCHDOG_USEC = 1_000_000  # a ping every 0.5 s


class Manager:
    """The service manager's end: every datagram the daemon sent, with its arrival."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages: list[tuple[float, str]] = []

    def poll(self) -> list[str]:
        """Read what arrived; all messages so far."""
        self.sock.setblocking(False)
        try:
            while True:
                self.messages.append((time.monotonic(), self.sock.recv(4096).decode()))
        except BlockingIOError:
            pass
        return [m for _, m in self.messages]

    def when(self, field: str) -> Callable[[], bool]:
        return lambda: any(field in m.split("\n") for m in self.poll())

    def count(self, field: str, since: float = 0.0) -> int:
        self.poll()
        return sum(1 for t, m in self.messages if t >= since and field in m.split("\n"))


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[Manager]:
    m = Manager(tmp_path / "notify")
    yield m
    m.sock.close()


def start_notified(lab: Lab, manager: Manager) -> tuple[Node, Node]:
    """r2 master (150); r1 (100) started with NOTIFY_SOCKET and a stale VIP placed first."""
    r2 = Node(lab, "r2", [router(VRID, 150)]).start()
    wait_until(lambda: r2.state(VRID) == "MASTER", TIMEOUT, what="r2 master")
    lab.run("r1", ["ip", "addr", "add", str(DEFAULT_VIP), "dev", LANS[0].ifname])
    assert DEFAULT_VIP.ip in lab.addresses("r1")  # a crashed run's left-over
    env = {"NOTIFY_SOCKET": manager.path, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    r1 = Node(lab, "r1", [router(VRID, 100)], env=env).start()
    return r1, r2


def test_ready_after_clean_up_watchdog_reload_stopping(make_lab: MakeLab, manager: Manager) -> None:
    lab = make_lab(routers=2)
    r1, r2 = start_notified(lab, manager)

    wait_until(manager.when("READY=1"), TIMEOUT, what="READY=1")
    # r1 stays BACKUP of r2: only the start-up clean-up can have removed the stale VIP,
    # and READY=1 came after it.
    assert DEFAULT_VIP.ip not in lab.addresses("r1")
    ready = next(m for m in manager.poll() if "READY=1" in m.split("\n"))
    assert "STATUS=1 virtual router(s) on eth0" in ready
    assert request(r1.socket_path, {"command": "status"})["ok"]  # it answers, as promised
    assert converged([r2, r1], VRID) is r2

    # the watchdog: fed every half period by the event loop
    start = time.monotonic()
    wait_until(lambda: manager.count("WATCHDOG=1", start) >= 4, TIMEOUT, what="4 pings")

    # a reload: RELOADING=1 (with MONOTONIC_USEC) then READY=1 again
    before = len(manager.poll())
    assert request(r1.socket_path, {"command": "reload"})["ok"] is True
    wait_until(lambda: len(manager.poll()) > before, TIMEOUT, what="reload messages")
    wait_until(lambda: len([m for m in manager.poll()[before:] if "READY=1" in m]) == 1,
               TIMEOUT, what="READY=1 after the reload")  # fmt: skip
    after = [m.split("\n")[0] for m in manager.poll()[before:] if "WATCHDOG=1" not in m]
    assert after == ["RELOADING=1", "READY=1"]
    reloading = next(m for m in manager.poll()[before:] if m.startswith("RELOADING=1"))
    assert "\nMONOTONIC_USEC=" in reloading

    # SIGTERM: STOPPING=1, and the daemon exits cleanly
    r1.running.signal(signal.SIGTERM)
    assert r1.running.wait(TIMEOUT) == 0
    assert manager.count("STOPPING=1") == 1


def test_a_stopped_loop_starves_the_watchdog(make_lab: MakeLab, manager: Manager) -> None:
    """SIGSTOP: no WATCHDOG=1 at all while stopped (systemd would restart it); SIGCONT:
    the pings come back."""
    lab = make_lab(routers=2)
    r1, _r2 = start_notified(lab, manager)
    wait_until(manager.when("READY=1"), TIMEOUT, what="READY=1")
    start = time.monotonic()
    wait_until(lambda: manager.count("WATCHDOG=1", start) >= 2, TIMEOUT, what="pings")

    r1.running.signal(signal.SIGSTOP)
    try:
        time.sleep(0.2)  # a ping sent just before the stop may still be queued
        manager.poll()  # drained: what comes now was sent while stopped
        stopped = time.monotonic()
        time.sleep(3 * WATCHDOG_USEC / 1e6)  # three periods: six pings if it were alive
        starved = manager.count("WATCHDOG=1", stopped)
    finally:
        r1.running.signal(signal.SIGCONT)
    resumed = time.monotonic()
    wait_until(lambda: manager.count("WATCHDOG=1", resumed) >= 2, TIMEOUT, what="pings again")
    assert starved == 0
