"""Who may use the control socket: the verbs per peer, and the kernel's credentials."""

from __future__ import annotations

import grp
import os
import socket

import pytest

from failover.config import ConfigError, Settings, parse
from failover.control import READ_ONLY
from failover.control_access import Peer, group_id, peer_credentials, refusal

GROUP = 4242
MEMBER = Peer(pid=10, uid=1000, gid=100, groups=frozenset({GROUP}))
PRIMARY = Peer(pid=11, uid=1001, gid=GROUP)
STRANGER = Peer(pid=12, uid=1002, gid=100, groups=frozenset({27}))
ROOT = Peer(pid=13, uid=0, gid=0)


@pytest.mark.parametrize("command", ["status", "events", "reload", "anything"])
def test_root_may_do_everything(command: str) -> None:
    assert refusal(ROOT, command, READ_ONLY, None) is None
    assert refusal(ROOT, command, READ_ONLY, GROUP) is None


@pytest.mark.parametrize("peer", [MEMBER, PRIMARY])
def test_a_group_member_may_read_but_not_reload(peer: Peer) -> None:
    assert refusal(peer, "status", READ_ONLY, GROUP) is None
    assert refusal(peer, "events", READ_ONLY, GROUP) is None
    assert "'reload' is for root only" in str(refusal(peer, "reload", READ_ONLY, GROUP))


def test_anyone_else_may_do_nothing() -> None:
    for command in ("status", "events", "reload"):
        denied = str(refusal(STRANGER, command, READ_ONLY, GROUP))
        assert denied.startswith("permission denied: only root and members of group")
        assert "(uid 1002)" in denied
    # without a control group, membership of any group gives nothing
    assert refusal(MEMBER, "status", READ_ONLY, None) == (
        "permission denied: only root may use the control socket (uid 1000)"
    )


def test_peer_credentials_are_the_kernels() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        peer = peer_credentials(a)
    assert (peer.pid, peer.uid, peer.gid) == (os.getpid(), os.getuid(), os.getgid())
    assert peer.groups == frozenset(os.getgroups())  # SO_PEERGROUPS


def test_group_id_names_a_missing_group() -> None:
    assert group_id(grp.getgrgid(os.getgid()).gr_name) == os.getgid()
    with pytest.raises(KeyError, match="group 'no-such-group-x' does not exist on this host"):
        group_id("no-such-group-x")


def test_control_group_in_the_config() -> None:
    router = {"vrid": 1, "interface_name": "eth0", "ip_addresses": ["192.0.2.10/24"]}
    name = grp.getgrgid(os.getgid()).gr_name
    config = parse({"control_group": name, "virtual_routers": [router]})
    assert config.settings.control_group == name
    assert Settings().control_group is None
    with pytest.raises(ConfigError) as err:
        parse({"control_group": "no-such-group-x", "virtual_routers": [router]})
    assert err.value.errors == [
        "control_group: group 'no-such-group-x' does not exist on this host "
        "(create it, or leave control_group out)"
    ]
