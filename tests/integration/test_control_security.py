"""The control socket of a real daemon: file modes, peer credentials, bounds, a flood.

Clients of other users run in a forked child that drops to that uid (and groups) before
it connects: the kernel records those credentials at connect() (SO_PEERCRED), and the
socket file's mode is checked against them too.
"""

from __future__ import annotations

import grp
import json
import os
import queue
import resource
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from failover.control import MAX_CLIENTS, MAX_REQUEST, connect, follow, request
from failover.lab import DEFAULT_VIP, Lab, wait_until
from failover.lab.nodes import Node, converged, failover_argv, router
from tests.support import MakeLab, adverts, require

pytestmark = pytest.mark.root
VRID = 51
TIMEOUT = 30
NOBODY = 65534
FLOOD = 1000


def control_group() -> grp.struct_group:
    """A group every Debian host has, which nobody (65534) is not a member of."""
    for name in ("adm", "staff", "users"):
        try:
            return grp.getgrnam(name)
        except KeyError:
            continue
    require(False, "no adm, staff or users group on this host")
    raise AssertionError


def as_user(uid: int, gid: int, groups: list[int], work: Callable[[], Any]) -> dict[str, Any]:
    """`work()` in a forked child running as uid/gid/groups: {"reply": ...} or {"error": ...}."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, run, report, exit without cleanup
        try:
            os.close(r)
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
            try:
                out = {"reply": work()}
            except Exception as err:
                out = {"error": f"{type(err).__name__}: {err}"}
            os.write(w, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    result: dict[str, Any] = json.loads(data)
    return result


def raw(path: str, data: bytes) -> Any:
    """One request's raw bytes; the decoded reply line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(path)
        sock.sendall(data)
        return json.loads(sock.makefile("rb").readline())


def grouped_node(lab: Lab, host: str, group: str, priority: int = 100) -> Node:
    """A daemon whose control socket is in a directory it creates, with `control_group`."""
    os.chmod(lab.dir, 0o711)  # the lab's own temp dir: others may pass, not list
    node = Node(lab, host, [router(VRID, priority)], control_group=group)
    node.socket_path = str(lab.path(f"{host}-ctl") / "failover.sock")
    return node.start()


def test_modes_and_who_may_do_what(make_lab: MakeLab) -> None:
    group = control_group()
    lab = make_lab(routers=1)
    node = grouped_node(lab, "r1", group.gr_name)
    path = node.socket_path
    wait_until(lambda: node.states() == {VRID: "MASTER"}, TIMEOUT, what="r1 master")

    sock_st, dir_st = os.stat(path), os.stat(Path(path).parent)
    assert stat.S_IMODE(sock_st.st_mode) == 0o660 and sock_st.st_gid == group.gr_gid
    assert stat.S_IMODE(dir_st.st_mode) == 0o750 and dir_st.st_gid == group.gr_gid
    assert sock_st.st_uid == dir_st.st_uid == 0

    def status() -> Any:
        reply = request(path, {"command": "status"})
        return reply["routers"][0]["state"] if reply["ok"] else reply

    def reload() -> Any:
        return request(path, {"command": "reload"})

    def events() -> Any:
        follow(path)
        return "following"

    member = (NOBODY, NOBODY, [group.gr_gid])
    assert as_user(*member, status) == {"reply": "MASTER"}
    assert as_user(*member, events) == {"reply": "following"}
    refused = as_user(*member, reload)["reply"]
    assert refused["ok"] is False and "'reload' is for root only" in refused["error"]

    # not a member: the directory (0750 root:group) already keeps it out
    stranger = as_user(NOBODY, NOBODY, [], status)
    assert stranger["error"].startswith("ControlError") and "permission denied" in stranger["error"]

    # a socket opened to everyone by mistake: the peer's credentials still refuse
    os.chmod(Path(path).parent, 0o755)
    os.chmod(path, 0o666)
    for work in (status, reload):
        denied = as_user(NOBODY, NOBODY, [], work)["reply"]
        assert denied["ok"] is False, denied
        assert denied["error"].startswith("permission denied: only root and members of group")
    assert "refused to pid" in node.log()

    assert request(path, {"command": "reload"})["ok"] is True  # root may
    assert node.states() == {VRID: "MASTER"}


def test_huge_and_malformed_requests_get_errors(make_lab: MakeLab) -> None:
    lab = make_lab(routers=1)
    node = Node(lab, "r1", [router(VRID, 100)]).start()
    wait_until(lambda: node.states() == {VRID: "MASTER"}, TIMEOUT, what="r1 master")
    path = node.socket_path
    cases = {
        b"x" * (4 * MAX_REQUEST) + b"\n": f"at most {MAX_REQUEST} bytes",
        b"{not json\n": "request is not JSON",
        b"[]\n": "a request is an object",
        b"\xff\n": "request is not JSON",
        b'{"command": "shutdown"}\n': "unknown command 'shutdown'",
        b'{"command": null}\n': "a request is an object",
    }
    for data, error in cases.items():
        reply = raw(path, data)
        assert reply["ok"] is False and error in reply["error"], (data[:40], reply)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:  # a burst of garbage
        sock.connect(path)
        sock.sendall(
            os.urandom(MAX_REQUEST // 2).replace(b"\n", b"x") + b'\n{"command": "status"}\n'
        )
        lines = sock.makefile("rb")
        assert json.loads(lines.readline())["ok"] is False
        assert json.loads(lines.readline())["ok"] is True
    assert node.running.alive() and node.states() == {VRID: "MASTER"}


@pytest.fixture
def many_fds() -> Iterator[None]:
    """Room for FLOOD client sockets in this process (and the daemons it starts)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = FLOOD + 512
    require(hard == resource.RLIM_INFINITY or hard >= need, f"RLIMIT_NOFILE hard < {need}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def takeover_delay(
    lab: Lab, master: Node, backup: Node, during: Callable[[], object] | None = None
) -> float:
    """Seconds from cutting `master` off to `backup`'s own MASTER event (its clock);
    `during()` runs in a thread from the cut on."""
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    stream = follow(backup.socket_path)

    def pump() -> None:
        for event in stream:
            events.put(event)

    threading.Thread(target=pump, daemon=True).start()
    # cut just after an advert arrived: the delay is then Master_Down_Interval and what
    # the daemon adds, not the phase of the advert clock (up to 1 s of noise)
    heard = adverts(backup, VRID)
    wait_until(lambda: adverts(backup, VRID) != heard, TIMEOUT, 0.002, what="an advert")
    cut = time.time()
    lab.cut(master.host)
    worker = threading.Thread(target=during or (lambda: None))
    worker.start()
    deadline = time.monotonic() + TIMEOUT
    try:
        while True:
            event = events.get(timeout=max(0.1, deadline - time.monotonic()))
            if event.get("kind") == "state" and event.get("new") == "MASTER":
                return float(event["time"]) - cut
    finally:
        worker.join(TIMEOUT)


def recover(lab: Lab, master: Node, backup: Node) -> None:
    lab.heal(master.host)
    wait_until(lambda: converged([master, backup], VRID) is master, TIMEOUT, what="r1 back")


def test_a_thousand_idle_clients_do_not_stop_a_takeover(make_lab: MakeLab, many_fds: None) -> None:
    lab = make_lab(routers=2)
    r1 = Node(lab, "r1", [router(VRID, 150)]).start()
    wait_until(lambda: r1.state(VRID) == "MASTER", TIMEOUT, what="r1 master")
    r2 = Node(lab, "r2", [router(VRID, 100)]).start()
    wait_until(lambda: converged([r1, r2], VRID) is r1, TIMEOUT, what="r1 master, r2 backup")

    quiet = takeover_delay(lab, r1, r2)
    recover(lab, r1, r2)

    clients: list[socket.socket] = []

    def flood() -> None:
        for _ in range(FLOOD):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            clients.append(sock)
            connect(sock, r2.socket_path, TIMEOUT)

    try:
        flood()  # before the cut: a thousand idle connections open while r2 waits
        held = takeover_delay(lab, r1, r2)
        # still answering, with the idle thousand connected (the oldest idle one yields)
        assert request(r2.socket_path, {"command": "status"})["routers"][0]["state"] == "MASTER"
        pushed_out = sum(1 for s in clients if _closed(s))
        recover(lab, r1, r2)
        churn = takeover_delay(lab, r1, r2, flood)  # a thousand more while r2 waits
        assert request(r2.socket_path, {"command": "status"})["ok"] is True
    finally:
        for sock in clients:
            sock.close()
    print(
        f"takeover delay after the cut (r2's MASTER event): {quiet:.3f}s quiet, "
        f"{held:.3f}s with {FLOOD} idle control connections open "
        f"({pushed_out} of them closed by the daemon's cap), "
        f"{churn:.3f}s with {FLOOD} connecting during the wait"
    )
    assert r2.running.alive() and DEFAULT_VIP.ip in lab.addresses(r2.host)
    assert pushed_out >= FLOOD - MAX_CLIENTS  # the cap held
    assert pushed_out >= FLOOD - 256  # the cap (MAX_CLIENTS) held


def _closed(sock: socket.socket) -> bool:
    """True if the daemon closed this connection (EOF, or an error reply then EOF)."""
    sock.settimeout(0)
    try:
        data = sock.recv(4096)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return data == b"" or data.startswith(b'{"ok": false')


def test_a_low_fd_limit_is_not_exhausted_by_clients(make_lab: MakeLab) -> None:
    """RLIMIT_NOFILE 64: the daemon serves at most 16 clients at once (a quarter), so 200
    connections never bring it to EMFILE; it answers and fails over as usual."""
    lab = make_lab(routers=1)
    node = Node(lab, "r1", [router(VRID, 100)])
    argv = [
        "prlimit", "--nofile=64:64", "--",
        *failover_argv("run", "--config", str(node.config_path),
                       "--control-socket", node.socket_path),
    ]  # fmt: skip
    node.proc = lab.start(node.host, argv, name="r1-fd-limited")
    wait_until(lambda: node.states() == {VRID: "MASTER"}, TIMEOUT, what="r1 master")
    clients = []
    try:
        for _ in range(200):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            clients.append(sock)
            connect(sock, node.socket_path, TIMEOUT)
        assert request(node.socket_path, {"command": "status"})["ok"] is True
        held = sum(1 for s in clients if not _closed(s))
    finally:
        for sock in clients:
            sock.close()
    assert held <= 16
    assert node.running.alive() and node.states() == {VRID: "MASTER"}
    assert "Too many open files" not in node.log() and "out of system resource" not in node.log()
