"""The daemon's reload (SIGHUP, `failover reload`) and start-up, on a fake kernel.

What is checked here is the glue: the diff by (interface, VRID), all or nothing, which
actions reach the wire and the kernel, start-up as a reload from an empty config and its
clean-up when it fails half-way. The kernel half runs in tests/integration/test_reload.py.
"""

from __future__ import annotations

import asyncio
import grp
import logging
import os
import signal
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

import pytest

from failover import cli
from failover.control import ControlServer, ErrorReply, bind_socket, request
from failover.daemon.errors import ExitCode, StartupError
from failover.daemon.reload import describe_change, diff_routers
from failover.protocol.packet import AuthType
from failover.protocol.router import State
from tests.control_replies import problems

from .builders import router_config
from .harness import A, B, Harness, applied, router, until


def test_kept_master_gets_a_new_vip_and_priority_without_a_state_change(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router()]) as h:
            r = h.master(51)
            since = r.core.state_since
            h.write(router(priority=150, ip_addresses=[A, B]))
            reply = await h.d.reload()
            assert reply == {
                "ok": True,
                "config": str(h.path),
                "added": [],
                "removed": [],
                "changed": ["VR_51"],
                "unchanged": [],
                "warnings": [],
            }
            assert h.d.model.routers == [r]
            assert r.core.state is State.MASTER and r.core.state_since == since
            assert h.sent() == [(51, 100), (51, 150)]  # the new priority advertised at once
            assert await h.changes() == [("add", A), ("add", B)]
            assert h.kernel.arps["eth0"].bursts[-1] == (IPv4Address("192.0.2.101"),)
            policy = r.iface.policies[51]
            assert policy.priority == 150 and IPv4Address("192.0.2.101") in policy.addresses

    asyncio.run(main())


def test_invalid_file_changes_nothing(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router()]) as h:
            h.master(51)
            before = (h.d.model.config, list(h.d.model.routers), h.sent(), await h.changes())
            h.path.write_text('[{"vrid": 0, "interface_name": "eth0", "ip_addresses": ["x"]}]')
            reply = await h.d.reload()
            assert reply["ok"] is False
            assert reply["error"] == f"{h.path}: invalid configuration"
            assert reply["errors"][-1] == "[0].vrid: must be at least 1 (got 0)"
            after = (h.d.model.config, list(h.d.model.routers), h.sent(), await h.changes())
            assert after == before
            assert h.router(51).core.state is State.MASTER

    asyncio.run(main())


def test_missing_interface_refuses_the_whole_reload(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router()]) as h:
            before = (h.d.model.config, list(h.d.model.routers))
            h.write(router(priority=200), router(52, interface_name="eth9"))
            reply = await h.d.reload()
            assert problems(ErrorReply, reply) == []
            assert reply == {
                "ok": False,
                "error": "interface problem",
                "errors": ["interface 'eth9' does not exist (used by VR_52)"],
            }
            assert (h.d.model.config, list(h.d.model.routers)) == before
            assert h.router(51).core.config.priority == 100  # the kept router untouched too

    asyncio.run(main())


def test_removed_master_hands_over_and_its_vip_goes(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router(51), router(52, ip_addresses=[B])]) as h:
            h.master(52)
            h.write(router(51))
            reply = await applied(h)
            assert (reply["removed"], reply["unchanged"]) == (["VR_52"], ["VR_51"])
            assert [r.core.config.vrid for r in h.d.model.routers] == [51]
            assert h.sent() == [(52, 100), (52, 0)]  # RFC 3768 6.4.3 Shutdown: priority 0
            assert await h.changes() == [("add", B), ("remove", B)]
            assert set(h.d.model.interfaces[("eth0", 4)].routers) == {51}

    asyncio.run(main())


def test_added_router_starts_as_backup_on_a_new_interface(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router(51)]) as h:
            h.write(
                router(51), router(52, interface_name="eth1", ip_addresses=["198.51.100.50/24"])
            )
            reply = await applied(h)
            assert (reply["added"], reply["unchanged"]) == (["VR_52"], ["VR_51"])
            added = h.router(52, "eth1")
            assert added.iface.primary == IPv4Address("198.51.100.1")
            assert added.core.state is State.BACKUP
            assert h.d.routers.deadlines.get(added) == added.core.next_deadline() is not None

            h.write(router(51))  # and gone again: eth1 is closed
            reply = await applied(h)
            assert reply["removed"] == ["VR_52"]
            assert set(h.d.model.interfaces) == {("eth0", 4)}
            assert h.kernel.socks["eth1"].closed and h.kernel.arps["eth1"].closed

    asyncio.run(main())


def test_added_router_removes_its_left_over_vip_but_not_a_held_one(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router(51)]) as h:
            h.master(51)  # holds A
            h.kernel.netlink.links["eth0"][1].append(B)  # B left by an earlier run
            h.write(router(51), router(52, ip_addresses=[A]), router(53, ip_addresses=[B]))
            await h.d.reload()
            assert await h.changes() == [("add", A), ("remove", B)]

    asyncio.run(main())


def test_renamed_master_still_gives_its_vip_back(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router(51)]) as h:
            h.master(51)
            h.write(router(51, name="renamed"))
            reply = await applied(h)
            assert reply["changed"] == ["renamed"]
            assert h.sent() == [(51, 100)]  # a name is not on the wire
            h.write(router(52, ip_addresses=[B]))
            await h.d.reload()
            assert ("remove", A) in await h.changes()

    asyncio.run(main())


def test_control_socket_change_is_ignored_with_a_warning(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router(51)]) as h:
            h.write(router(51), control_socket="/run/elsewhere.sock")
            reply = await h.d.reload()
            assert reply["ok"] is True and reply["unchanged"] == ["VR_51"]
            assert reply["warnings"] == [
                "control_socket /run/elsewhere.sock is ignored until a restart; "
                f"the control socket stays {h.control}"
            ]
            assert h.d.model.config.settings.control_socket != "/run/elsewhere.sock"

    asyncio.run(main())


def test_control_group_change_is_ignored_with_a_warning(tmp_path: Path) -> None:
    group = grp.getgrgid(os.getgid()).gr_name

    async def main() -> None:
        async with Harness(tmp_path, [router(51)]) as h:
            h.write(router(51), control_group=group)
            reply = await h.d.reload()
            assert reply["ok"] is True and reply["warnings"] == [
                f"control_group {group} is ignored until a restart; "
                "the control socket's group stays None"
            ]
            assert h.d.model.config.settings.control_group is None

    asyncio.run(main())


def test_reload_over_the_control_socket(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router(51)]) as h:
            h.write(router(51, priority=120))
            reply = await asyncio.to_thread(request, str(h.control), {"command": "reload"})
            assert reply["ok"] is True and reply["changed"] == ["VR_51"]
            assert h.router(51).core.config.priority == 120

    asyncio.run(main())


# -- start-up: a reload from the empty config ------------------------------------------------


def test_startup_removes_left_overs_and_protects_an_owners_real_address(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path, [router(51, 255, ip_addresses=[A]), router(52, ip_addresses=[B])])
        h.kernel.netlink.links["eth0"][1].extend([A, B])  # A: the owner's; B: a crash's
        async with h:
            owner = h.router(51)
            assert owner.core.state is State.MASTER  # RFC 3768 6.4.1: at once
            assert h.router(52).core.state is State.BACKUP
            assert await h.changes() == [("remove", B), ("add", A)]
        # On shutdown the owner keeps its real address (RFC 3768 5.3.4).
        assert [k for k, _, a in h.kernel.netlink.changes if str(a) == A] == ["add"]
        assert h.exit_code == 0

    asyncio.run(main())


def test_startup_with_a_missing_interface_leaves_nothing_behind(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path, [router(51, 255), router(52, interface_name="eth9")])
        with pytest.raises(StartupError) as err:
            await h.start()
        assert err.value.code == ExitCode.INTERFACE
        assert err.value.messages == ("interface 'eth9' does not exist (used by VR_52)",)
        assert not h.control.exists() and h.kernel.closed
        assert h.kernel.socks == {} and h.kernel.netlink.changes == []

    asyncio.run(main())


def test_startup_failing_half_way_closes_what_it_opened(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path, [router(51, 255), router(52, interface_name="eth1")])
        h.kernel.refuse_arp.add("eth1")  # eth0's sockets are open by then
        with pytest.raises(StartupError) as err:
            await h.start()
        assert err.value.code == ExitCode.SYSTEM
        assert "cannot open an ARP socket on eth1" in err.value.messages[0]
        assert h.kernel.socks["eth0"].closed and h.kernel.arps["eth0"].closed
        assert h.kernel.socks["eth1"].closed
        assert not h.control.exists() and h.kernel.netlink.changes == []

    asyncio.run(main())


def test_a_fatal_error_after_startup_gives_the_vips_up(tmp_path: Path) -> None:
    async def main() -> None:
        h = await Harness(tmp_path, [router(51, 200)]).start()
        h.master(51)
        h.kernel.links.queue.put_nowait(OSError("netlink socket closed"))
        assert h.task is not None
        assert await asyncio.wait_for(h.task, 10) == ExitCode.INTERNAL
        assert h.sent() == [(51, 200), (51, 0)]  # RFC 3768 6.4.3: priority 0 on the way out
        assert [k for k, _, _ in h.kernel.netlink.changes] == ["add", "remove"]
        assert h.kernel.socks["eth0"].closed and not h.control.exists()

    asyncio.run(main())


def test_a_second_daemon_on_the_same_socket_touches_nothing(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router(51, 255)]) as h:
            second = Harness(tmp_path, [router(51, 255)])
            with pytest.raises(StartupError) as err:
                await second.start()
            assert err.value.code == ExitCode.ALREADY_RUNNING
            assert second.kernel.socks == {} and second.kernel.netlink.changes == []
            assert h.control.exists()  # still the first daemon's

    asyncio.run(main())


def test_sighup_during_startup_reloads_once_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        caplog.set_level(logging.INFO, logger="failover")
        h = Harness(tmp_path, [router(51)])
        h.kernel.netlink.gate = gate = asyncio.Event()  # start-up waits in netlink
        starting = asyncio.create_task(h.start())
        await until(lambda: hasattr(h, "d") and h.kernel.links.bound)
        h.write(router(51, priority=150))
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: "SIGHUP received" in caplog.text)  # handled on the loop
        gate.set()
        await starting
        await until(lambda: h.router(51).core.config.priority == 150)
        await h.stop()

    asyncio.run(main())


# -- `failover reload` -------------------------------------------------------------------


def serve_reload(tmp_path: Path, reply: dict[str, Any], argv: list[str]) -> int:
    path = str(tmp_path / "c.sock")

    async def handler(_req: dict[str, Any]) -> Any:
        await asyncio.sleep(0)
        return reply

    async def main() -> int:
        server = ControlServer(bind_socket(path), {"reload": handler})
        await server.start()
        try:
            return await asyncio.to_thread(cli.main, ["reload", "--control-socket", path, *argv])
        finally:
            await server.close()

    return asyncio.run(main())


def test_cli_reload_prints_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reply = {
        "ok": True,
        "config": "/etc/failover/vrrp-config.json",
        "added": ["VR_2"],
        "removed": [],
        "changed": ["VR_1", "VR_3"],
        "unchanged": [],
        "warnings": ["config: something odd"],
    }
    assert serve_reload(tmp_path, reply, []) == 0
    out, err = capsys.readouterr()
    assert out == (
        "reloaded /etc/failover/vrrp-config.json\n"
        "added: VR_2\nremoved: -\nchanged: VR_1, VR_3\nunchanged: -\n"
    )
    assert err == "warning: config: something odd\n"


def test_cli_reload_refused_exits_1_with_every_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reply = {"ok": False, "error": "c.json: invalid configuration", "errors": ["a", "b"]}
    assert serve_reload(tmp_path, reply, []) == 1
    assert capsys.readouterr().err == (
        "failover: reload refused, nothing changed: c.json: invalid configuration\n  a\n  b\n"
    )


def test_cli_reload_without_a_daemon_has_its_own_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sock = tmp_path / "none.sock"
    code = cli.main(["reload", "--control-socket", str(sock)])
    assert code == ExitCode.SYSTEM and code != 1  # 1 is a refused reload
    assert "is the failover daemon running?" in capsys.readouterr().err


def test_cli_reload_help_works_for_the_ansible_role(capsys: pytest.CaptureFixture[str]) -> None:
    # failover.vrrp.daemon sends SIGHUP on a config change when `failover reload --help`
    # exits 0, and restarts the daemon otherwise.
    with pytest.raises(SystemExit) as exit_:
        cli.main(["reload", "--help"])
    assert exit_.value.code == 0
    assert "SIGHUP" in capsys.readouterr().out


# -- the diff -----------------------------------------------------------------------------


def test_diff_matches_routers_by_interface_and_vrid() -> None:
    old = [router_config(51, name="a"), router_config(52, name="b"), router_config(53, name="c")]
    new = [
        router_config(54, name="d"),
        router_config(53, name="c"),
        router_config(51, priority=150, name="a"),
        router_config(52, name="b", interface="eth1"),  # another interface: another router
    ]
    d = diff_routers(old, new)
    assert [rc.name for rc in d.added] == ["d", "b"]
    assert [rc.name for rc in d.removed] == ["b"]
    assert [(o.priority, n.priority) for o, n in d.changed] == [(100, 150)]
    assert [rc.name for rc in d.unchanged] == ["c"]


def test_describe_change_names_every_field_but_never_the_password() -> None:
    old = router_config(51, addresses=(A, "192.0.2.102/24"), name="a")
    new = replace(
        old,
        name="b",
        priority=200,
        advert_interval=2,
        preempt_mode=False,
        addresses=(IPv4Interface(A), IPv4Interface(B)),
        auth_type=AuthType.SIMPLE,
        auth_password=b"s3cret",
    )
    text = describe_change(old, new)
    assert text == (
        "name a -> b, priority 100 -> 200, advert_interval 1 -> 2, preempt_mode True -> False, "
        "addresses +192.0.2.101/24 -192.0.2.102/24, authentication"
    )
    assert "s3cret" not in text
    assert describe_change(old, old) == "nothing"


def test_a_unicast_peer_list_naming_this_host_is_refused(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router(51)]) as h:
            h.write(router(51, unicast_peers=["192.0.2.9", "192.0.2.1"]))  # .1 is eth0's
            reply = await h.d.reload()
            assert reply["ok"] is False
            assert reply["errors"] == [
                "VR_51 vrid=51 eth0: unicast_peers names 192.0.2.1, an address of this host"
            ]
            assert h.router(51).core.config.unicast_peers == ()  # nothing applied

    asyncio.run(main())


def test_a_unicast_source_not_on_the_interface_is_refused(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router(51)]) as h:
            h.write(router(51, unicast_peers=["192.0.2.9"], unicast_source="192.0.2.77"))
            reply = await h.d.reload()
            assert reply["ok"] is False
            assert reply["errors"] == [
                "VR_51 vrid=51 eth0: unicast_source 192.0.2.77 is not an address of eth0"
            ]
            h.write(router(51, unicast_peers=["192.0.2.9"], unicast_source="192.0.2.1"))
            await applied(h)
            r = h.master(51)
            assert h.kernel.socks["eth0"].sent_to[-1] == IPv4Address("192.0.2.9")
            assert r.core.config.unicast_source == IPv4Address("192.0.2.1")

    asyncio.run(main())
