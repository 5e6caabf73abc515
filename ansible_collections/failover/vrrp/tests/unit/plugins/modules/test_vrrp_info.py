from __future__ import annotations

import json
import os
import socket
import tempfile
import threading

import pytest

from ansible_collections.failover.vrrp.plugins.modules import vrrp_info
from tests.control_replies import refused, router_status, status_reply

# What the daemon answers (built from failover.control's schema, so it cannot drift).
STATUS = status_reply(
    [
        router_status(),
        router_status(
            name="VR_2",
            vrid=52,
            state="BACKUP",
            priority=190,
            master_ip=None,
            master_priority=None,
            addresses=["192.0.2.253/24"],
            adverts_sent=0,
            adverts_received=7,
        ),
    ]
)


def line(reply):
    return json.dumps(reply).encode() + b"\n"


@pytest.fixture
def sock_path():
    # unix socket paths are limited to 107 bytes: pytest's tmp_path can be longer
    d = tempfile.mkdtemp(prefix="vi")
    yield os.path.join(d, "s.sock")
    for name in os.listdir(d):
        os.unlink(os.path.join(d, name))
    os.rmdir(d)


def serve(path, answer):
    """A one-shot control socket: read a request line, write `answer` (bytes)."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    seen = []

    def loop():
        conn, _peer = srv.accept()
        with conn:
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                buf += chunk
            seen.append(json.loads(buf))
            conn.sendall(answer)
        srv.close()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return seen


def test_status(run_module, sock_path):
    seen = serve(sock_path, line(STATUS))
    res = run_module(vrrp_info.main, {"control_socket": sock_path})
    assert seen == [{"command": "status"}]
    assert res["changed"] is False
    assert res["running"] is True
    assert res["pid"] == 4242
    assert res["routers"] == STATUS["routers"]
    assert res["by_name"]["VR_2"]["state"] == "BACKUP"
    assert res["by_name"]["VR_2"]["master_ip"] is None
    assert res["masters"] == ["VR_1"]


def test_an_older_daemon_lacking_fields_gets_them_as_none(run_module, sock_path):
    old = {k: v for k, v in router_status().items() if k not in ("primary_ip", "addresses")}
    serve(sock_path, line({"ok": True, "routers": [old]}))
    res = run_module(vrrp_info.main, {"control_socket": sock_path})
    assert res["routers"][0]["primary_ip"] is None
    assert res["routers"][0]["addresses"] is None


def test_answer_without_newline_then_close(run_module, sock_path):
    serve(sock_path, line(status_reply([])).rstrip(b"\n"))
    assert run_module(vrrp_info.main, {"control_socket": sock_path})["routers"] == []


def test_not_running_fails(run_module, sock_path):
    res = run_module(vrrp_info.main, {"control_socket": sock_path})
    assert res["failed"] is True
    assert "is the daemon running" in res["msg"]


def test_not_running_missing_ok(run_module, sock_path):
    res = run_module(vrrp_info.main, {"control_socket": sock_path, "missing_ok": True})
    assert res.get("failed") is None
    assert res["running"] is False
    assert res["routers"] == []


def test_daemon_error(run_module, sock_path):
    serve(sock_path, line(refused("unknown command 'status' (known: reload)")))
    res = run_module(vrrp_info.main, {"control_socket": sock_path})
    assert res["failed"] is True
    assert "unknown command 'status'" in res["msg"]


def test_garbage_answer(run_module, sock_path):
    serve(sock_path, b"hello\n")
    res = run_module(vrrp_info.main, {"control_socket": sock_path})
    assert res["failed"] is True
    assert "not JSON" in res["msg"]


def test_no_routers_key(run_module, sock_path):
    serve(sock_path, b'{"ok": true}\n')
    res = run_module(vrrp_info.main, {"control_socket": sock_path})
    assert res["failed"] is True


def test_timeout(run_module, sock_path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)  # accepts (backlog) but never answers
    try:
        res = run_module(vrrp_info.main, {"control_socket": sock_path, "timeout": 0.2})
    finally:
        srv.close()
    assert res["failed"] is True
    assert "no answer" in res["msg"]


def test_with_addresses_lists_ipv4_then_ipv6(run_module, sock_path, monkeypatch):
    """The IPv4 addresses as `ip -4` listed them before, then the IPv6 ones."""
    from ansible.module_utils import basic

    out = json.dumps(
        [
            {"ifname": "lo", "addr_info": [
                {"family": "inet", "local": "127.0.0.1", "prefixlen": 8},
                {"family": "inet6", "local": "::1", "prefixlen": 128},
            ]},
            {"ifname": "eth0", "addr_info": [
                {"family": "inet", "local": "192.0.2.11", "prefixlen": 24},
                {"family": "inet6", "local": "fe80::11", "prefixlen": 64},
            ]},
            {"ifname": "eth1", "addr_info": [
                {"family": "inet", "local": "198.51.100.11", "prefixlen": 24},
                {"family": "inet6", "local": "2001:db8:1::61", "prefixlen": 64},
            ]},
        ]
    )  # fmt: skip
    argv = []
    monkeypatch.setattr(
        basic.AnsibleModule, "run_command", lambda self, a, **k: argv.append(a) or (0, out, "")
    )
    serve(sock_path, line(STATUS))
    res = run_module(vrrp_info.main, {"control_socket": sock_path, "with_addresses": True})
    assert argv[0][1:] == ["-json", "addr", "show"]
    assert res["local_addresses"] == [
        "127.0.0.1/8",
        "192.0.2.11/24",
        "198.51.100.11/24",
        "::1/128",
        "fe80::11/64",
        "2001:db8:1::61/64",
    ]
