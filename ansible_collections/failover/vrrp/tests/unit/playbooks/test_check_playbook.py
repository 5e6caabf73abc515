"""failover.vrrp.check run by ansible-playbook against fake daemons on unix sockets.

Each inventory host is this machine (local connection) with a control socket of its own,
served by a thread with a status reply built from the daemon's schema: the playbook's
aggregation, table and verdict run for real, read-only, under --check too.
"""

from __future__ import annotations

import json
import os
import re
import socketserver
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from tests.control_replies import router_status, status_reply

TOP = Path(__file__).resolve().parents[6]  # holds ansible_collections/
PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
IP = {"r1": "192.0.2.11", "r2": "192.0.2.12"}


def router(host, state, master):
    return router_status(
        state=state,
        priority=200 if host == "r1" else 190,
        effective_priority=200 if host == "r1" else 190,
        primary_ip=IP[host],
        master_ip=IP[master] if master else None,
        master_priority=200 if master else None,
    )


class Daemons:
    """One threaded unix-socket server per host, answering `status` with its reply."""

    def __init__(self, folder, replies):
        self.servers = []
        self.paths = {}
        for host, reply in replies.items():
            body = json.dumps(reply).encode() + b"\n"

            class Handler(socketserver.StreamRequestHandler):
                answer = body

                def handle(self):
                    self.rfile.readline()
                    self.wfile.write(self.answer)

            path = os.path.join(folder, f"{host}.sock")
            server = socketserver.ThreadingUnixStreamServer(path, Handler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers.append(server)
            self.paths[host] = path

    def close(self):
        for server in self.servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def folder():
    # unix socket paths are limited to 107 bytes: pytest's tmp_path can be longer
    with tempfile.TemporaryDirectory(prefix="fo-check-") as d:
        yield d


def run_check(folder, replies, *extra):
    """ansible-playbook failover.vrrp.check over `replies` (host -> status reply or None
    for a daemon that is not running): (exit code, output)."""
    daemons = Daemons(folder, {h: r for h, r in replies.items() if r is not None})
    inventory = {
        "routers": {
            "hosts": {
                h: {"failover_daemon_control_socket": daemons.paths.get(h, f"{folder}/{h}.none")}
                for h in replies
            },
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                "failover_daemon_routers": [
                    {
                        "name": "VR_1",
                        "vrid": 51,
                        "interface": "eth0",
                        "addresses": ["192.0.2.254/24"],
                    }
                ],
            },
        }
    }
    inv = Path(folder, "inventory.json")
    inv.write_text(json.dumps(inventory))
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(TOP),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_HOME=str(Path(folder, "home")),
    )
    try:
        done = subprocess.run(
            [str(PLAYBOOK), "-i", str(inv), "failover.vrrp.check", *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
    finally:
        daemons.close()
    return done.returncode, done.stdout + done.stderr


def test_a_healthy_fleet_passes_under_check_mode_and_prints_the_table(folder):
    rc, out = run_check(
        folder,
        {
            "r1": status_reply([router("r1", "MASTER", "r1")]),
            "r2": status_reply([router("r2", "BACKUP", "r1")], pid=4343),
        },
        "--check",
    )
    assert rc == 0, out
    row = next(line for line in out.splitlines() if '"VR_1  ' in line)
    assert re.split(r"\s{2,}", row.strip().strip('",')) == [
        "VR_1", "eth0", "51", "r1", "MASTER p200 m=192.0.2.11", "BACKUP p190 m=192.0.2.11"
    ]  # fmt: skip
    assert "changed=0" in out and "failed=0" in out


def test_two_masters_fail_the_audit(folder):
    rc, out = run_check(
        folder,
        {
            "r1": status_reply([router("r1", "MASTER", "r1")]),
            "r2": status_reply([router("r2", "MASTER", "r2")], pid=4343),
        },
    )
    assert rc == 2, out
    assert "split brain: VR_1 (eth0, VRID 51)" in out
    assert "r1+r2" in out


def test_no_daemon_running_is_no_master(folder):
    rc, out = run_check(folder, {"r1": None, "r2": None})
    assert rc == 2, out
    assert "no master: VR_1 (eth0, VRID 51)" in out
