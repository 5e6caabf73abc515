"""sd_notify against a real AF_UNIX datagram socket, as systemd listens on $NOTIFY_SOCKET."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from failover.daemon.notify import Notifier, notify_address, watchdog_period


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    """A datagram socket in the file system, as systemd's /run/systemd/notify."""
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(5)
        yield path, sock


def received(sock: socket.socket) -> list[str]:
    """Every datagram waiting, without blocking."""
    out = []
    sock.setblocking(False)
    try:
        while True:
            out.append(sock.recv(4096).decode())
    except BlockingIOError:
        return out
    finally:
        sock.settimeout(5)


def test_addresses() -> None:
    assert notify_address({"NOTIFY_SOCKET": "/run/systemd/notify"}) == "/run/systemd/notify"
    assert notify_address({"NOTIFY_SOCKET": "@sd/notify"}) == "\0sd/notify"
    assert notify_address({"NOTIFY_SOCKET": "vsock:2:1234"}) is None
    assert notify_address({}) is None


def test_watchdog_period() -> None:
    assert watchdog_period({"WATCHDOG_USEC": "10000000"}, 7) == 10.0
    assert watchdog_period({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "7"}, 7) == 10.0
    assert watchdog_period({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "8"}, 7) is None
    assert watchdog_period({"WATCHDOG_USEC": "0"}, 7) is None
    assert watchdog_period({"WATCHDOG_USEC": "x"}, 7) is None
    assert watchdog_period({}, 7) is None


def test_messages_reach_the_manager(manager: tuple[str, socket.socket]) -> None:
    path, sock = manager
    notifier = Notifier({"NOTIFY_SOCKET": path})
    notifier.ready("2 virtual router(s) on eth0")
    notifier.reloading()
    notifier.stopping()
    notifier.close()
    ready, reloading, stopping = (sock.recv(4096).decode() for _ in range(3))
    assert ready == "READY=1\nSTATUS=2 virtual router(s) on eth0"
    lines = reloading.split("\n")
    assert lines[0] == "RELOADING=1" and lines[2] == "STATUS=reloading"
    usec = int(lines[1].removeprefix("MONOTONIC_USEC="))
    assert 0 < time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000 - usec < 10_000_000
    assert stopping.startswith("STOPPING=1\n")


def test_abstract_namespace_socket() -> None:
    name = f"failover-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).send("READY=1")
        assert sock.recv(4096) == b"READY=1"


def test_without_a_manager_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert notifier.send("READY=1") is False
    notifier.start_watchdog(asyncio.new_event_loop())  # no period: no timer either
    notifier.close()


def test_children_do_not_inherit_the_manager(
    manager: tuple[str, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, sock = manager
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")
    notifier = Notifier.from_environment()
    assert "NOTIFY_SOCKET" not in os.environ and "WATCHDOG_USEC" not in os.environ
    assert notifier.period == 1.0 and notifier.send("READY=1")
    assert sock.recv(4096) == b"READY=1"
    notifier.close()


def test_a_gone_manager_is_not_fatal(tmp_path: Path) -> None:
    assert Notifier({"NOTIFY_SOCKET": str(tmp_path / "none")}).send("READY=1") is False


def test_the_watchdog_is_fed_by_the_loop_and_starves_when_it_stalls(
    manager: tuple[str, socket.socket],
) -> None:
    """Period 0.2 s: a ping every 0.1 s while the loop runs, none while it is blocked."""
    path, sock = manager
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})

    async def pings(count: int) -> int:
        """Let the loop run until `count` pings arrived (10 s at most); how many came."""
        seen = 0
        for _ in range(100):
            await asyncio.sleep(0.1)
            seen += len(received(sock))
            if seen >= count:
                break
        return seen

    async def main() -> tuple[int, int, int]:
        notifier.start_watchdog(asyncio.get_running_loop())
        running = await pings(3)
        received(sock)
        time.sleep(1.0)  # the loop stalls: a blocking call in a callback, 5 periods
        stalled = len(received(sock))
        return running, stalled, await pings(3)

    running, stalled, resumed = asyncio.run(main())
    notifier.close()
    assert running >= 3 and stalled == 0 and resumed >= 3
