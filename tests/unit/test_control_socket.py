"""The control socket without root: a real unix socket in a temporary directory."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from failover.control import (
    AlreadyRunning,
    ControlError,
    ControlServer,
    StatusReply,
    bind_socket,
    format_duration,
    format_status,
    probe,
    request,
)
from tests.control_replies import interface_status, router_status, status_reply

STATUS = status_reply([])  # pid 4242


def status(_req: dict[str, Any]) -> StatusReply:
    return STATUS


def serve(path: str, client: Callable[[], Any]) -> Any:
    """Run a ControlServer at `path` while `client` runs in a thread; its result."""

    async def main() -> Any:
        server = ControlServer(bind_socket(path), {"status": status})
        await server.start()
        try:
            return await asyncio.to_thread(client)
        finally:
            await server.close()

    return asyncio.run(main())


def test_bind_creates_directory_and_socket_0600(tmp_path: Path) -> None:
    path = str(tmp_path / "run" / "failover" / "failover.sock")
    sock = bind_socket(path)
    try:
        mode = os.stat(path).st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    finally:
        sock.close()


def test_status_round_trip_and_socket_removed_on_close(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sock")
    reply = serve(path, lambda: request(path, {"command": "status"}))
    assert reply == STATUS
    assert not os.path.exists(path)


def test_second_instance_is_detected_with_its_pid(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sock")

    def second() -> str:
        assert probe(path) == (True, 4242)
        with pytest.raises(AlreadyRunning) as err:
            bind_socket(path)
        return str(err.value)

    assert serve(path, second) == f"another failover daemon (pid 4242) is already running on {path}"


def test_stale_socket_is_replaced(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sock")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)
    dead.close()  # the file stays; nobody listens: a crashed daemon's left-over
    assert probe(path) == (False, None)
    with pytest.raises(ControlError, match="stale socket"):
        request(path, {"command": "status"})
    bind_socket(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_stale_socket_another_daemon_is_replacing_is_left_to_it(tmp_path: Path) -> None:
    """Two daemons start at once after a crash: the one holding the lock replaces the
    stale socket; the other is refused and touches nothing (before the lock, it removed
    the socket the first had just bound, and both ran)."""
    path = str(tmp_path / "c.sock")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)
    dead.close()
    inode = os.stat(path).st_ino
    first = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT)  # the first daemon's lock
    try:
        fcntl.flock(first, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(AlreadyRunning, match="another failover daemon is already running"):
            bind_socket(path)
        assert os.stat(path).st_ino == inode
    finally:
        os.close(first)
    bind_socket(path).close()  # the lock is free again: the stale socket goes


def test_the_lock_is_held_while_the_socket_is_open(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sock")
    sock = bind_socket(path)
    other = os.open(f"{path}.lock", os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        sock.close()
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released with the socket
    finally:
        os.close(other)


def test_a_regular_file_is_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "c.sock"
    path.write_text("not mine")
    with pytest.raises(FileExistsError, match="not a socket"):
        bind_socket(str(path))
    assert path.read_text() == "not mine"


def test_no_socket(tmp_path: Path) -> None:
    with pytest.raises(
        ControlError, match=r"no control socket at .*is the failover daemon running"
    ):
        request(str(tmp_path / "none.sock"), {"command": "status"})


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (b"{nope\n", "request is not JSON"),
        (b"[1]\n", "a request is an object"),
        (b'{"command": "fly"}\n', "unknown command 'fly' (known: status)"),
    ],
)
def test_bad_requests_get_an_error_reply(tmp_path: Path, line: bytes, error: str) -> None:
    server = ControlServer(bind_socket(str(tmp_path / "c.sock")), {"status": status})
    reply = server.answer(line)
    asyncio.run(server.close())
    assert isinstance(reply, dict) and reply["ok"] is False
    assert error in reply["error"]


def test_several_requests_on_one_connection(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sock")

    def client() -> list[Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)
            s.sendall(b'{"command": "status"}\n{"command": "x"}\n')
            data = b""
            while data.count(b"\n") < 2:
                data += s.recv(4096)
        return [json.loads(x) for x in data.splitlines()]

    first, second = serve(path, client)
    assert first["pid"] == 4242 and second["ok"] is False


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0.4, "0s"), (59.9, "59s"), (64, "1m04s"), (7500, "2h05m"), (90000, "1d01h")],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_status_table() -> None:
    reply = status_reply(
        [
            router_status(
                state="BACKUP",
                priority=100,
                master_ip="192.0.2.1",
                since=75.2,
                adverts_sent=0,
                adverts_received=75,
                drops={"auth_mismatch": 1, "interval_mismatch": 2},
            ),
            router_status(
                name="VR_2", vrid=52, priority=110, since=3, adverts_sent=3, master_ip=None
            ),
        ],
        [interface_status(drops={"unknown_vrid": 4})],
    )
    assert format_status(reply).splitlines() == [
        "NAME  VRID  IFACE  STATE   PRIO  MASTER     SINCE  SENT  RECV  DROPS",
        "VR_1  51    eth0   BACKUP  100   192.0.2.1  1m15s  0     75    "
        "auth_mismatch=1,interval_mismatch=2",
        "VR_2  52    eth0   MASTER  110   -          3s     3     0     -",
        "eth0: drops for no configured router: unknown_vrid=4",
    ]
