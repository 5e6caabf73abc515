"""The control socket's fences, on a real unix socket: modes, bounds, errors as replies."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from failover import control
from failover.control import MAX_REQUEST, ControlServer, Handler, bind_socket, error_reply
from failover.control_access import Peer
from tests.control_replies import status_reply
from tests.support import require

Client = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def status(_req: dict[str, Any]) -> Any:
    return status_reply([])


def broken(_req: dict[str, Any]) -> Any:
    raise RuntimeError("boom")


async def broken_later(_req: dict[str, Any]) -> Any:
    await asyncio.sleep(0)
    raise RuntimeError("later boom")


def run(
    tmp_path: Path,
    body: Callable[[str, ControlServer], Awaitable[Any]],
    handlers: dict[str, Handler] | None = None,
) -> Any:
    """`body(path, server)` with a started ControlServer at tmp_path/c.sock."""
    path = str(tmp_path / "c.sock")

    async def main() -> Any:
        server = ControlServer(bind_socket(path), handlers or {"status": status})
        await server.start()
        try:
            return await body(path, server)
        finally:
            await server.close()

    return asyncio.run(main())


async def ask(path: str, data: bytes) -> list[Any]:
    """Send `data`, read until the server closes or 1 reply line; the decoded lines."""
    reader, writer = await asyncio.open_unix_connection(path)
    writer.write(data)
    await writer.drain()
    line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    return [json.loads(line)] if line else []


def test_bind_with_a_group_is_never_open_to_others(tmp_path: Path, monkeypatch: Any) -> None:
    """The socket is 0600 when it appears (umask at bind), 0660 root:group before listen."""
    require(os.geteuid() == 0, "giving a file to another group needs root")
    group = 4242 if os.getgid() != 4242 else 4243  # not ours: a chown is needed
    path = tmp_path / "run" / "failover.sock"
    seen: list[int] = []
    chown = os.chown

    def spy(p: Any, uid: int, gid: int) -> None:
        if Path(p) == path:
            seen.append(stat.S_IMODE(os.stat(p).st_mode))
        chown(p, uid, gid)

    monkeypatch.setattr(os, "chown", spy)
    sock = bind_socket(str(path), group)
    try:
        assert seen == [0o600]  # as bound, before the group is given
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == group
        parent = os.stat(path.parent)
        assert stat.S_IMODE(parent.st_mode) == 0o750 and parent.st_gid == group
    finally:
        sock.close()


def test_the_own_group_needs_no_chown(tmp_path: Path, monkeypatch: Any) -> None:
    """Under systemd's Group= the daemon's gid is the control group: no chown call
    (the unit allows none)."""

    def refuse(*_args: Any) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chown", refuse)
    path = tmp_path / "c.sock"
    bind_socket(str(path), os.getgid()).close()
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == os.getgid()


def test_an_existing_directory_is_left_as_it_is(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    bind_socket(str(tmp_path / "c.sock")).close()
    assert stat.S_IMODE(os.stat(tmp_path).st_mode) == 0o755


def test_a_huge_line_gets_an_error_and_the_connection_goes_on(tmp_path: Path) -> None:
    """The rest of the over-long line is skipped: the next line is served as usual."""

    async def body(path: str, _server: ControlServer) -> Any:
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b'{"command": "' + b"x" * (3 * MAX_REQUEST) + b'"}\n')
        writer.write(b'{"command": "status"}\n')
        await writer.drain()
        lines = [json.loads(await asyncio.wait_for(reader.readline(), 10)) for _ in range(2)]
        writer.close()
        return lines

    huge, after = run(tmp_path, body)
    assert huge == error_reply(f"a request is one line of at most {MAX_REQUEST} bytes")
    assert after["ok"] is True


def test_a_half_line_that_stalls_is_dropped(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(control, "REQUEST_TIMEOUT", 0.2)

    async def body(path: str, _server: ControlServer) -> Any:
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b'{"command": "sta')
        reply = await asyncio.wait_for(reader.readline(), 10)
        eof = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return json.loads(reply), eof

    reply, eof = run(tmp_path, body)
    assert reply == error_reply("no complete request within 0.2s") and eof == b""


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b'"status"\n', "a request is an object"),
        (b"\xff\xfe\n", "request is not JSON"),
        (b'{"command": 5}\n', "a request is an object"),
        (b'{"command": "' + b"y" * 1000 + b'"}\n', "unknown command 'yyyyyyyyyy"),
        (b'{"command": "broken"}\n', "internal error: broken failed: boom"),
        (b'{"command": "later"}\n', "internal error: later boom"),
    ],
)
def test_bad_requests_are_answered_not_raised(tmp_path: Path, data: bytes, error: str) -> None:
    handlers: dict[str, Handler] = {"status": status, "broken": broken, "later": broken_later}

    async def body(path: str, _server: ControlServer) -> Any:
        return await ask(path, data), await ask(path, b'{"command": "status"}\n')

    (reply,), (after,) = run(tmp_path, body, handlers)
    assert reply["ok"] is False and error in reply["error"]
    assert len(reply["error"]) < 200  # an echoed name is cut short
    assert after["ok"] is True


def test_a_full_server_pushes_out_the_oldest_idle_client(tmp_path: Path) -> None:
    async def body(path: str, server: ControlServer) -> Any:
        server.max_clients = 3
        idle = [await asyncio.open_unix_connection(path) for _ in range(3)]
        await asyncio.sleep(0.1)  # all three accepted
        answered = await ask(path, b'{"command": "status"}\n')
        first = await asyncio.wait_for(idle[0][0].read(), 10)  # EOF: pushed out
        for _r, w in idle:
            w.close()
        return answered, first

    answered, first = run(tmp_path, body)
    assert answered[0]["ok"] is True and first == b""


def test_a_full_server_of_busy_clients_refuses_a_new_one(tmp_path: Path) -> None:
    async def body(path: str, server: ControlServer) -> Any:
        server.max_clients = 1
        busy = await asyncio.open_unix_connection(path)
        busy[1].write(b'{"command": "slow"}\n')  # in progress, not idle: not pushed out
        await asyncio.sleep(0.1)
        refused = await ask(path, b'{"command": "status"}\n')
        busy[1].close()
        return refused

    async def slow(_req: dict[str, Any]) -> Any:
        await asyncio.sleep(1)
        return status_reply([])

    refused = run(tmp_path, body, {"status": status, "slow": slow})
    assert refused == [error_reply("too many control connections; try again")]


def test_a_refused_peer_gets_an_error_not_the_handler(tmp_path: Path) -> None:
    calls: list[str] = []

    def reload(_req: dict[str, Any]) -> Any:
        calls.append("reload")
        return status_reply([])

    server = ControlServer(bind_socket(str(tmp_path / "c.sock")), {"reload": reload}, group=4242)
    member = Peer(pid=1, uid=1000, gid=4242)
    reply = server.answer(b'{"command": "reload"}\n', member)
    asyncio.run(server.close())
    assert isinstance(reply, dict) and reply["ok"] is False and calls == []
    assert "'reload' is for root only" in str(reply.get("error"))


def test_max_clients_is_a_quarter_of_the_fd_limit(monkeypatch: Any) -> None:
    monkeypatch.setattr(resource, "getrlimit", lambda _r: (64, 1024))
    assert control.max_clients() == 16
    monkeypatch.setattr(resource, "getrlimit", lambda _r: (65536, 65536))
    assert control.max_clients() == control.MAX_CLIENTS


def test_refusals_are_logged_without_a_flood(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = ControlServer(bind_socket(str(tmp_path / "c.sock")), {"status": status})
    stranger = Peer(pid=7, uid=1000, gid=1000)
    with caplog.at_level("WARNING", logger="failover"):
        replies = [server.answer(b'{"command": "status"}\n', stranger) for _ in range(50)]
    asyncio.run(server.close())
    assert all(isinstance(r, dict) and r["ok"] is False for r in replies)
    assert [r.getMessage() for r in caplog.records] == [
        "control socket: status refused to pid 7: permission denied: only root may use "
        "the control socket (uid 1000)"
    ]
