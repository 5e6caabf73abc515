from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from ansible.errors import AnsibleConnectionFailure
from ansible.playbook.play_context import PlayContext
from ansible.plugins.connection.local import Connection as LocalConnection

from ansible_collections.failover.vrrp.plugins.connection import netns
from tests.support import require

COLLECTIONS_ROOT = Path(__file__).resolve().parents[7]


def make(options):
    conn = netns.Connection(PlayContext(), None)
    conn.get_option = lambda key: options[key]
    return conn


OPTS = {"namespace": "lab-r1", "ip_command": "ip", "shell": "/bin/sh"}


def test_wrap_quotes_the_command():
    conn = make(OPTS)
    got = conn.wrap("echo 'a b' && true")
    assert got == "ip netns exec lab-r1 /bin/sh -c 'echo '\"'\"'a b'\"'\"' && true'"


def test_wrap_list_command():
    got = make(OPTS).wrap(["echo", "a b"])
    assert got == "ip netns exec lab-r1 /bin/sh -c 'echo '\"'\"'a b'\"'\"''"


def test_custom_ip_and_shell():
    conn = make(dict(OPTS, ip_command="/sbin/ip", shell="/bin/bash"))
    assert conn.wrap("true").startswith("/sbin/ip netns exec lab-r1 /bin/bash -c ")


@pytest.mark.parametrize("bad", ["a/b", "..", "", None])
def test_bad_namespace_names(bad):
    conn = make(dict(OPTS, namespace=bad))
    conn._play_context.remote_addr = None
    with pytest.raises(AnsibleConnectionFailure):
        conn.wrap("true")


def test_missing_namespace_is_a_connection_failure():
    conn = make(dict(OPTS, namespace="no-such-ns-" + secrets.token_hex(4)))
    with pytest.raises(AnsibleConnectionFailure, match="does not exist"):
        conn._connect()


def test_exec_command_delegates_wrapped(monkeypatch):
    seen = {}

    def fake_exec(self, cmd, in_data=None, sudoable=True):
        seen.update(cmd=cmd, in_data=in_data)
        return 0, b"", b""

    monkeypatch.setattr(LocalConnection, "exec_command", fake_exec)
    conn = make(OPTS)
    conn._connected = True
    assert conn.exec_command("id -u", in_data=b"x") == (0, b"", b"")
    assert seen == {"cmd": "ip netns exec lab-r1 /bin/sh -c 'id -u'", "in_data": b"x"}


def test_transport_and_pipelining():
    assert netns.Connection.transport == "failover.vrrp.netns"
    assert netns.Connection.has_pipelining is True


# -- for real: a namespace, ansible-playbook, copy/fetch/command --------------------


@pytest.fixture
def namespace():
    require(os.geteuid() == 0 and shutil.which("ip") is not None, "needs root and iproute2")
    # fo-<pid>-<token>-: the failover lab's naming, so `failover.lab.sweep` can clean up
    name = f"fo-{os.getpid()}-{secrets.token_hex(2)}-ansible"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", name, "addr", "add", "203.0.113.7/32", "dev", "lo"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def test_playbook_runs_inside_the_namespace(namespace, tmp_path):
    ansible_playbook = Path(sys.executable).with_name("ansible-playbook")
    require(ansible_playbook.exists(), "ansible-playbook is not installed next to this Python")
    src = tmp_path / "src.txt"
    src.write_text("hello\n")
    (tmp_path / "inventory.yml").write_text(
        json.dumps(
            {
                "all": {
                    "hosts": {
                        "box": {
                            "ansible_connection": "failover.vrrp.netns",
                            "ansible_netns_name": namespace,
                            "ansible_python_interpreter": sys.executable,
                        }
                    }
                }
            }
        )
    )
    (tmp_path / "play.yml").write_text(
        textwrap.dedent(
            f"""
            - hosts: box
              gather_facts: false
              tasks:
                - ansible.builtin.command: ip -4 -o addr show dev lo
                  register: addr
                  changed_when: false
                - ansible.builtin.copy:
                    src: {src}
                    dest: {tmp_path}/copied.txt
                    mode: "0644"
                - ansible.builtin.fetch:
                    src: {tmp_path}/copied.txt
                    dest: {tmp_path}/fetched/
                    flat: true
                - ansible.builtin.copy:
                    content: "{{{{ addr.stdout }}}}"
                    dest: {tmp_path}/addr.txt
                    mode: "0644"
            """
        )
    )
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_ROOT), ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_CONFIG", None)
    done = subprocess.run(
        [str(ansible_playbook), "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "203.0.113.7" in (tmp_path / "addr.txt").read_text()
    assert (tmp_path / "fetched" / "copied.txt").read_text() == "hello\n"
