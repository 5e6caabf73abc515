"""The control socket: newline-delimited JSON over a unix stream socket.

Request ``{"command": "status"}`` (or ``"reload"``); reply ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``, one JSON object per line, several requests per
connection allowed. The daemon owns the server side (`ControlServer`); `failover
status` uses `request`. The socket file is mode 0600 (root only), or 0660 with group
`control_group`, from the instant it exists; each request is checked against the peer's
credentials (`failover.control_access`): `status` and `events` for root and that group,
every other verb for root only. A live socket at the path means another daemon runs, a
dead one is a crash left-over.

Bounds: a request line is at most MAX_REQUEST bytes and must arrive within
REQUEST_TIMEOUT; at most `max_clients()` connections at once (a new one pushes out the
oldest that has not sent a request yet). A bad request gets an error reply, never an
exception in the daemon's loop.

The replies' shapes (`StatusReply`, `ReloadReply`, `ErrorReply`) are the contract with
every client, the Ansible collection's own copy of the client included
(``plugins/module_utils/failover.py``); ``tests/unit/test_status_contract.py`` runs the
two against each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import inspect
import json
import logging
import os
import resource
import socket
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict, runtime_checkable

from failover.control_access import ROOT, Peer, peer_credentials, refusal
from failover.ratelimit import RateLimiter

if TYPE_CHECKING:  # asyncio only loads with the server: clients (`failover check`) stay light
    import asyncio

Json = dict[str, Any]
log = logging.getLogger("failover")

STATUS = "status"  # the commands the daemon serves
RELOAD = "reload"
EVENTS = "events"  # a stream: {"ok": true} then one EventMessage per line
READ_ONLY = frozenset({STATUS, EVENTS})  # what members of `control_group` may ask
MAX_REQUEST = 64 * 1024  # bytes in one request line
CLIENT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 10.0  # seconds the server waits for a (complete) request line
TOO_LONG = f"a request is one line of at most {MAX_REQUEST} bytes"
MAX_CLIENTS = 256  # connections at once, at most a quarter of the fd limit (max_clients)
RELOAD_TIMEOUT = 30.0  # a reload opens interfaces and reads netlink before it answers
PROBE_TIMEOUT = 1.0

# RFC 3768 6.4: a virtual router's state, as `State.value` spells it (FAULT: not the RFC's).
StateName = Literal["INITIALIZE", "BACKUP", "MASTER", "FAULT"]


class TrackStatus(TypedDict):
    """One tracked item of a router: the check's state and what it adds now."""

    check: str
    kind: str  # exec, tcp, http, file, interface
    weight: int  # 0: failing is FAULT
    status: Literal["healthy", "failing", "unknown"]  # after rise/fall
    value: int | None  # a file check's integer
    adds: int  # its contribution to the effective priority now
    fault: bool  # it holds the router in FAULT
    detail: str | None  # the last result, e.g. "192.0.2.11:8080: HTTP 503"
    age: float | None  # seconds since the last result


class RouterStatus(TypedDict):
    """One virtual router in the `status` reply."""

    name: str
    vrid: int
    interface: str
    state: StateName
    priority: int  # configured
    effective_priority: int  # configured + tracked items' weights, 1..254 (255: owner)
    faults: list[str]  # what holds it in FAULT: failing weight-0 items, "interface X down"
    tracks: list[TrackStatus]
    master_ip: str | None  # the master it sees (its own address when MASTER), None if none
    master_priority: int | None
    since: float | None  # seconds in this state (0.1 s), None before the first state
    primary_ip: str  # the interface's address, the adverts' source
    addresses: list[str]  # the VIPs, "a.b.c.d/len"
    adverts_sent: int
    adverts_received: int
    send_errors: int
    # periods with another master on the LAN (a healed split, a preemption): router.py
    dual_master_periods: int
    drops: dict[str, int]  # dropped adverts by reason, sorted by reason
    transitions: dict[str, int]  # state changes since the daemon started, by the state entered


class InterfaceStatus(TypedDict):
    """One interface in the `status` reply: adverts dropped before any router saw them."""

    name: str
    family: int  # 4 or 6: an interface in use for both families is listed twice
    index: int
    primary_ip: str
    drops: dict[str, int]


class StatusReply(TypedDict):
    """The reply to ``{"command": "status"}``."""

    ok: Literal[True]
    pid: int
    routers: list[RouterStatus]
    interfaces: list[InterfaceStatus]


class ReloadReply(TypedDict):
    """The reply to ``{"command": "reload"}`` when the new config was applied."""

    ok: Literal[True]
    config: str  # the file re-read
    added: list[str]  # router names
    removed: list[str]
    changed: list[str]
    unchanged: list[str]
    warnings: list[str]


class _Refusal(TypedDict):
    ok: Literal[False]
    error: str


class ErrorReply(_Refusal, total=False):
    """A refused request: `error` says why; a refused reload lists each problem in `errors`.

    (`errors` is optional by inheritance: ``NotRequired`` is lost to string annotations
    at run time on Python 3.11, and tests read ``__required_keys__``.)
    """

    errors: list[str]


class _EventBase(TypedDict):
    seq: int  # one counter for every event (and the notify hooks' FAILOVER_SEQ)
    time: float  # wall clock, seconds since the epoch
    kind: Literal["state", "priority", "check", "reload"]


class EventMessage(_EventBase, total=False):
    """One line of the event stream; the keys present depend on `kind`."""

    router: str  # state, priority
    group: str  # state of a sync group (instead of router, vrid, interface)
    vrid: int
    interface: str
    old: str | int  # state: the old state; priority: the old effective priority
    new: str | int
    reason: str  # state
    priority: int  # state: the effective priority
    check: str  # priority: the check that moved it; check: its name
    status: str  # check: healthy, failing, unknown
    detail: str | None  # check: its last result
    config: str  # reload: the file applied
    added: list[str]  # reload
    removed: list[str]
    changed: list[str]


Reply = StatusReply | ReloadReply | ErrorReply


@runtime_checkable
class Stream(Protocol):
    """Messages for a client until either side ends it (`events`)."""

    def __aiter__(self) -> AsyncIterator[EventMessage]: ...
    async def aclose(self) -> None: ...


# A handler answers at once, or (like `reload`, which waits for netlink) asynchronously,
# or (like `events`) with a stream: {"ok": true}, then each message as it comes.
Handler = Callable[[Json], Reply | Awaitable[Reply] | Stream]


def error_reply(error: str, errors: list[str] | None = None) -> ErrorReply:
    """A refusal; `errors` (one line per problem) only when there are some."""
    reply: ErrorReply = {"ok": False, "error": error}
    if errors is not None:
        reply["errors"] = errors
    return reply


class ControlError(Exception):
    """The client could not get an answer; the message says why, for humans."""


class AlreadyRunning(Exception):
    """A live daemon answers on the control socket path."""

    def __init__(self, path: str, pid: int | None) -> None:
        who = f" (pid {pid})" if pid else ""
        super().__init__(f"another failover daemon{who} is already running on {path}")
        self.path = path
        self.pid = pid


def connect(sock: socket.socket, path: str, timeout: float) -> None:
    """connect() with `timeout` for the whole exchange; a full listen backlog (EAGAIN on
    a unix socket, at once: the daemon is accepting a burst) is waited out, not fatal."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock.connect(path)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"connect to {path}: the listen queue stays full") from None
            time.sleep(0.01)


def request(path: str, payload: Json, timeout: float = CLIENT_TIMEOUT) -> Json:
    """Send one request, return the decoded reply; ControlError on any failure."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            connect(sock, path, timeout)
            sock.sendall(json.dumps(payload).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except FileNotFoundError:
        raise ControlError(
            f"no control socket at {path}: is the failover daemon running?"
        ) from None
    except ConnectionRefusedError:
        raise ControlError(
            f"nothing listens on {path} (a stale socket): the failover daemon is not running"
        ) from None
    except PermissionError:
        raise ControlError(
            f"permission denied on {path} (root only, or members of the config's control_group)"
        ) from None
    except TimeoutError:
        raise ControlError(f"no answer on {path} within {timeout:g}s") from None
    except OSError as err:
        raise ControlError(f"{path}: {err.strerror or err}") from None
    try:
        reply = json.loads(data)
    except ValueError:
        raise ControlError(f"{path}: the daemon's reply is not JSON: {data[:80]!r}") from None
    if not isinstance(reply, dict):
        raise ControlError(f"{path}: unexpected reply {reply!r}")
    return reply


def follow(path: str, timeout: float = CLIENT_TIMEOUT) -> Iterator[Json]:
    """The daemon's event stream (`failover events`): every event from the return of
    this call, one at a time, until the daemon closes it; ControlError if it cannot
    start. Iterating blocks between events."""
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connect(sock, path, timeout)
        sock.sendall(json.dumps({"command": EVENTS}).encode() + b"\n")
        lines = sock.makefile("rb")
        first = json.loads(lines.readline() or b"null")
    except (OSError, ValueError) as err:
        raise ControlError(f"{path}: cannot follow events: {err}") from None
    if not isinstance(first, dict) or not first.get("ok"):
        error = first.get("error") if isinstance(first, dict) else first
        raise ControlError(f"{path}: the daemon refused: {error}")
    sock.settimeout(None)
    return _messages(sock, lines)


def _messages(sock: socket.socket, lines: Any) -> Iterator[Json]:
    with sock, lines:
        for line in lines:
            message = json.loads(line)
            if isinstance(message, dict):
                yield message


def probe(path: str) -> tuple[bool, int | None]:
    """Is a daemon listening at `path`? And its pid, if it answers."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            connect(sock, path, PROBE_TIMEOUT)
        except (ConnectionRefusedError, FileNotFoundError):
            return False, None
        except TimeoutError:  # its listen queue stays full: alive, and busy
            return True, None
    try:
        pid = request(path, {"command": STATUS}, timeout=PROBE_TIMEOUT).get("pid")
    except ControlError:
        return True, None
    return True, pid if isinstance(pid, int) else None


class ControlSocket(socket.socket):
    """The listening control socket; it holds its path's lock until it is closed."""

    lock: int | None = None  # the fd of `<path>.lock`, flock()ed (see `bind_socket`)

    def close(self) -> None:
        super().close()
        if self.lock is not None:
            os.close(self.lock)  # the kernel drops it too when the process dies (kill -9)
            self.lock = None


def bind_socket(path: str, group: int | None = None) -> ControlSocket:
    """Create the listening socket, or raise AlreadyRunning / OSError.

    The file is 0600 root (0660 root:`group` with a control group) from its creation:
    bind() runs under umask 0177, the group and mode are set before listen(), so it is
    never reachable by anyone else, even for an instant. A directory created here is
    0750 (group `group`); an existing one is left as it is (systemd's RuntimeDirectory=).

    An exclusive flock on `<path>.lock` (the file stays) comes first and is held while
    the socket is open: finding the path stale, removing it and binding anew is then
    one daemon's step. Without it two daemons started at once both found a crashed
    one's socket stale, and the second removed the socket the first had just bound:
    both ran.
    """
    parent = Path(path).parent
    if not parent.is_dir():
        parent.mkdir(mode=0o750, parents=True)
        _give(parent, group)
    lock = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(path, probe(path)[1]) from None
        sock = _bind(path, group)
    except BaseException:
        os.close(lock)
        raise
    sock.lock = lock
    return sock


def _bind(path: str, group: int | None) -> ControlSocket:
    """`bind_socket`'s work, under the lock: a live socket refuses, a stale one goes."""
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise FileExistsError(f"{path} exists and is not a socket")
        live, pid = probe(path)
        if live:
            raise AlreadyRunning(path, pid)
        os.unlink(path)  # stale: left by a daemon that did not exit cleanly
    sock = ControlSocket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        sock.bind(path)
    except OSError as err:
        sock.close()
        if err.errno == 98:  # EADDRINUSE: another daemon bound it just now
            raise AlreadyRunning(path, None) from None
        raise
    finally:
        os.umask(old_umask)
    try:
        _give(Path(path), group)
        os.chmod(path, 0o600 if group is None else 0o660)
        sock.listen(64)
    except OSError:
        sock.close()
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    sock.setblocking(False)
    return sock


def _give(path: Path, group: int | None) -> None:
    """Make `group` the file's group, if it is not already (the daemon's own gid, e.g.
    systemd's Group=, needs no chown; chown needs CAP_CHOWN or membership)."""
    if group is not None and path.stat().st_gid != group:
        os.chown(path, -1, group)


def max_clients() -> int:
    """Connections served at once: MAX_CLIENTS, or a quarter of the soft fd limit if
    lower, so clients never take the fds that sockets, netlink and checks need."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CLIENTS
    return max(4, min(MAX_CLIENTS, soft // 4))


class ControlServer:
    """Serves requests on a socket from `bind_socket`; `handlers` map command -> reply.

    `group`: the gid whose members may use the READ_ONLY verbs (None: root only).
    """

    def __init__(
        self, sock: socket.socket, handlers: Mapping[str, Handler], group: int | None = None
    ) -> None:
        self.path = str(sock.getsockname())
        self._sock = sock
        self._inode = os.stat(self.path).st_ino
        self._handlers = handlers
        self.group = group
        self.max_clients = max_clients()
        self._server: asyncio.Server | None = None
        self._streams: set[asyncio.StreamWriter] = set()  # closed with the server
        self._clients: set[asyncio.StreamWriter] = set()
        self._waiting: dict[asyncio.StreamWriter, None] = {}  # idle, oldest first
        self._refusals = RateLimiter()

    async def start(self) -> None:
        import asyncio

        # `backlog` is also how many connections one accept round takes, before any of
        # them is served (and the oldest idle one pushed out): a quarter of the places.
        self._server = await asyncio.start_unix_server(
            self._serve, sock=self._sock, limit=MAX_REQUEST, backlog=self.max_clients // 4
        )

    async def close(self) -> None:
        for writer in list(self._streams):  # followers see the stream end (EOF)
            writer.close()
        if self._server is not None:
            self._server.close()
        else:
            self._sock.close()
        # Remove the file only if it is still ours.
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self._inode:
                os.unlink(self.path)

    def answer(self, line: bytes, peer: Peer = ROOT) -> Reply | Awaitable[Reply] | Stream:
        """The reply to one request line from `peer` (awaitable if its handler is
        asynchronous); a handler's exception becomes an error reply."""
        try:
            req = json.loads(line)
        except ValueError as err:
            return error_reply(f"request is not JSON: {err}")
        if not isinstance(req, dict) or not isinstance(req.get("command"), str):
            return error_reply('a request is an object like {"command": "status"}')
        command: str = req["command"]
        handler = self._handlers.get(command)
        if handler is None:
            known = ", ".join(sorted(self._handlers))
            return error_reply(f"unknown command {command[:40]!r} (known: {known})")
        denied = refusal(peer, command, READ_ONLY, self.group)
        if denied:
            held = self._refusals.allow((peer.uid, command), time.monotonic())
            if held is not None:  # one line per uid and verb every 10 s, not a flood
                more = f" ({held} more since the last)" if held else ""
                log.warning("control socket: %s refused to pid %d: %s%s",
                            command, peer.pid, denied, more)  # fmt: skip
            return error_reply(denied)
        try:
            return handler(req)
        except Exception as err:
            log.exception("control socket: %s failed", command)
            return error_reply(f"internal error: {command} failed: {err}")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._admit(writer):
            await _refuse(writer, "too many control connections; try again")
            return
        try:
            peer = peer_credentials(writer.get_extra_info("socket"))
            while line := await self._request(reader, writer):
                reply = self.answer(line, peer)
                if isinstance(reply, Stream):
                    await self._stream(reply, reader, writer)
                    return
                if inspect.isawaitable(reply):
                    reply = await _settled(reply)
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # the client went away
        finally:
            self._clients.discard(writer)
            self._waiting.pop(writer, None)
            writer.close()

    def _admit(self, writer: asyncio.StreamWriter) -> bool:
        """Room for a new connection: the oldest idle one goes if all places are taken."""
        if len(self._clients) >= self.max_clients and self._waiting:
            oldest = next(iter(self._waiting))
            del self._waiting[oldest]
            oldest.close()  # its pending read ends (EOF): _serve forgets it
            self._clients.discard(oldest)
        if len(self._clients) >= self.max_clients:
            return False
        self._clients.add(writer)
        return True

    async def _request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        """The next request line; b"" (after an error reply) when the connection must end."""
        import asyncio

        self._waiting[writer] = None
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                while True:
                    try:
                        return await reader.readuntil(b"\n")
                    except asyncio.IncompleteReadError as err:  # the client closed
                        return err.partial  # a last line without newline counts
                    except asyncio.LimitOverrunError:  # longer than MAX_REQUEST: skip it
                        if not await _skip_line(reader):
                            return b""
                    writer.write(json.dumps(error_reply(TOO_LONG)).encode() + b"\n")
                    await writer.drain()
        except TimeoutError:
            await _refuse(writer, f"no complete request within {REQUEST_TIMEOUT:g}s")
            return b""
        finally:
            self._waiting.pop(writer, None)

    async def _stream(
        self,
        messages: Stream,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """{"ok": true}, then every message, until the client goes away."""
        import asyncio

        async def send() -> None:
            writer.write(json.dumps({"ok": True}).encode() + b"\n")
            await writer.drain()
            async for message in messages:
                writer.write(json.dumps(message).encode() + b"\n")
                await writer.drain()

        sending = asyncio.ensure_future(send())
        gone = asyncio.ensure_future(reader.read())  # EOF: the client left, or close()
        self._streams.add(writer)
        try:
            await asyncio.wait([sending, gone], return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._streams.discard(writer)
            for task in (sending, gone):
                task.cancel()
            await asyncio.gather(sending, gone, return_exceptions=True)  # a client gone
            await messages.aclose()


async def _skip_line(reader: asyncio.StreamReader) -> bool:
    """Discard the rest of an over-long line; False if the client closed first."""
    import asyncio

    while True:
        try:
            await reader.readuntil(b"\n")
            return True
        except asyncio.LimitOverrunError as err:  # still no newline: drop what is there
            await reader.readexactly(err.consumed)
        except asyncio.IncompleteReadError:
            return False


async def _refuse(writer: asyncio.StreamWriter, error: str) -> None:
    """An error reply, then the connection ends."""
    with contextlib.suppress(ConnectionError, OSError):
        writer.write(json.dumps(error_reply(error)).encode() + b"\n")
        await writer.drain()
    writer.close()


async def _settled(reply: Awaitable[Reply]) -> Reply:
    """An asynchronous handler's reply; its exception becomes an error reply."""
    try:
        return await reply
    except Exception as err:
        log.exception("control socket: a request failed")
        return error_reply(f"internal error: {err}")


# -- presentation for `failover status` ---------------------------------------------------

STATUS_COLUMNS = ("NAME", "VRID", "IFACE", "STATE", "PRIO", "MASTER", "SINCE", "SENT", "RECV")


def format_duration(seconds: float | None) -> str:
    """12s, 3m04s, 2h05m, 3d04h."""
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def format_refusal(reply: Json) -> str:
    """A refused reload for humans: the reason, then one line per problem."""
    lines = [f"reload refused, nothing changed: {reply.get('error', 'no reason given')}"]
    lines += [f"  {line}" for line in reply.get("errors") or []]
    return "\n".join(lines)


def format_drops(drops: Mapping[str, int]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(drops.items())) or "-"


def format_status(reply: Mapping[str, Any]) -> str:
    """The `failover status` table: one row per virtual router, then interface drops."""
    rows = [
        (
            str(r["name"]),
            str(r["vrid"]),
            str(r["interface"]),
            str(r["state"]),
            format_priority(r),
            r.get("master_ip") or "-",
            format_duration(r.get("since")),
            str(r["adverts_sent"]),
            str(r["adverts_received"]),
            format_drops(r.get("drops", {})),
        )
        for r in reply.get("routers", [])
    ]
    header = (*STATUS_COLUMNS, "DROPS")
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
    for r in reply.get("routers", []):
        if r.get("faults"):
            lines.append(f"{r['name']}: FAULT: {', '.join(r['faults'])}")
        lines += [f"{r['name']}: {format_track(t)}" for t in r.get("tracks") or []]
    for i in reply.get("interfaces", []):
        if i.get("drops"):
            lines.append(f"{i['name']}: drops for no configured router: {format_drops(i['drops'])}")
    return "\n".join(lines)


def format_event(e: Mapping[str, Any]) -> str:
    """One event for humans: `12:00:01.123 #5 VR_1 vrid=51 eth0 BACKUP -> MASTER (...)`."""
    when = float(e["time"])
    stamp = time.strftime("%H:%M:%S", time.localtime(when)) + f".{int(when % 1 * 1000):03d}"
    who = f"{e.get('router')} vrid={e.get('vrid')} {e.get('interface')}"
    match e.get("kind"):
        case "state":
            what = f"{who} {e['old']} -> {e['new']} ({e['reason']}) priority {e['priority']}"
        case "priority":
            what = f"{who} priority {e['old']} -> {e['new']} (check {e['check']})"
        case "check":
            what = f"check {e['check']}: {e['status']} ({e.get('detail')})"
        case "reload":
            kinds = [k for k in ("added", "removed", "changed") if e.get(k)]
            changes = ", ".join(f"{k} {' '.join(e[k])}" for k in kinds)
            what = f"reload of {e['config']}" + (f": {changes}" if changes else ": no change")
        case _:
            what = json.dumps(e)
    return f"{stamp} #{e['seq']} {what}"


def format_priority(router: Mapping[str, Any]) -> str:
    """`150`, or `50 (150)` when tracked items move the effective priority."""
    configured, effective = router["priority"], router.get("effective_priority")
    if effective is None or effective == configured:
        return str(configured)
    return f"{effective} ({configured})"


def format_track(t: Mapping[str, Any]) -> str:
    """`track web (http): failing, adds -100 (192.0.2.11:8080: HTTP 503, 0.4s ago)`."""
    effect = "FAULT" if t.get("fault") else f"adds {t.get('adds', 0):+d}"
    if t.get("weight") == 0 and not t.get("fault"):
        effect = "no fault"
    last = "no result yet"
    if t.get("detail") is not None:
        last = f"{t['detail']}, {format_duration(t.get('age'))} ago"
    return f"track {t['check']} ({t.get('kind')}): {t.get('status')}, {effect} ({last})"
