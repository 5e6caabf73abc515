"""The daemon's reload (SIGHUP, `failover reload`) with fake sockets and a fake netlink.

What is checked here is the glue: the diff by (interface, VRID), all or nothing, which
actions reach the wire and the address queue. The kernel half runs in
tests/integration/test_reload.py.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

import pytest

from failover import cli
from failover.config import describe_change, diff_routers, load
from failover.control import ControlServer, bind_socket
from failover.daemon import Daemon, ExitCode, Interface
from failover.protocol.packet import AuthType, decode
from failover.protocol.router import State
from failover.runtime.netlink import InterfaceAddress, InterfaceError

from .builders import router_config
from .test_daemon_loop import FakeSock, jobs

A, B = "192.0.2.100/24", "192.0.2.101/24"


def router(vrid: int = 51, priority: int = 100, **kw: Any) -> dict[str, Any]:
    return {
        "name": f"VR_{vrid}",
        "vrid": vrid,
        "interface_name": "eth0",
        "ip_addresses": [A],
        "priority": priority,
    } | kw


class FakeNetlink:
    """Interfaces by name: (index, addresses); every change succeeds."""

    def __init__(self, links: dict[str, tuple[int, list[str]]]) -> None:
        self.links = links
        self.removed: list[tuple[int, IPv4Interface]] = []

    async def index(self, name: str) -> int:
        if name not in self.links:
            raise InterfaceError(f"interface {name!r} does not exist")
        return self.links[name][0]

    async def addresses(self, index: int) -> list[InterfaceAddress]:
        found = [a for i, a in self.links.values() if i == index]
        return [InterfaceAddress(IPv4Interface(a)) for a in found[0]]

    async def running(self, index: int) -> bool:
        return True

    async def remove(self, index: int, address: IPv4Interface) -> bool:
        self.removed.append((index, address))
        return True


class Harness:
    def __init__(self, d: Daemon, path: Path, nl: FakeNetlink) -> None:
        self.d, self.path, self.nl = d, path, nl
        self.socks: dict[str, FakeSock] = {}

    def write(self, *routers: dict[str, Any], **top: Any) -> None:
        data: Any = {"virtual_routers": list(routers), **top} if top else list(routers)
        self.path.write_text(json.dumps(data))

    def master(self, vrid: int) -> None:
        r = next(r for r in self.d.routers if r.core.config.vrid == vrid)
        deadline = r.core.next_deadline()
        assert deadline is not None
        self.d._feed(r, r.core.expire(deadline))
        assert r.core.state is State.MASTER

    def sent(self, iface: str = "eth0") -> list[tuple[int, int]]:
        return [(a.vrid, a.priority) for a in map(decode, self.socks[iface].sent)]


Test = Callable[[Harness], Any]


def run(tmp_path: Path, initial: list[dict[str, Any]], test: Test) -> None:
    """A daemon started from `initial` on a fake eth0 (eth1 exists too, unused)."""
    path = tmp_path / "vrrp-config.json"
    path.write_text(json.dumps(initial))
    nl = FakeNetlink({"eth0": (2, ["192.0.2.1/24"]), "eth1": (3, ["198.51.100.1/24"])})

    async def main() -> None:
        d = Daemon(load(path), "/nonexistent/failover.sock", str(path))
        h = Harness(d, path, nl)
        d._nl = nl  # type: ignore[assignment]

        def open_interface(name: str, index: int, primary: IPv4Address) -> Interface:
            h.socks[name] = FakeSock()
            return Interface(name, index, primary, h.socks[name], FakeGarp())  # type: ignore[arg-type]

        d._open_interface = open_interface  # type: ignore[method-assign]
        d.interfaces = {"eth0": open_interface("eth0", 2, IPv4Address("192.0.2.1"))}
        d._build_routers()
        d._start()
        try:
            result = test(h)
            if asyncio.iscoroutine(result):
                await result
        finally:
            loop = asyncio.get_running_loop()
            for r in d.routers:
                if r.timer:
                    r.timer.cancel()
            for iface in d.interfaces.values():
                loop.remove_reader(iface.sock.fileno())
            for sock in h.socks.values():
                sock.close()

    asyncio.run(main())


class FakeGarp:
    closed = False

    def close(self) -> None:
        self.closed = True


def test_kept_master_gets_a_new_vip_and_priority_without_a_state_change(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        h.master(51)
        r = h.d.routers[0]
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
        assert h.d.routers == [r]
        assert r.core.state is State.MASTER and r.core.state_since == since
        assert h.sent() == [(51, 100), (51, 150)]  # the new priority advertised at once
        assert jobs(h.d)[-2:] == [
            ("add", (IPv4Interface(B),)),
            ("garp", (IPv4Address("192.0.2.101"),)),
        ]
        policy = r.iface.policies[51]
        assert policy.priority == 150 and IPv4Address("192.0.2.101") in policy.addresses

    run(tmp_path, [router()], check)


def test_invalid_file_changes_nothing(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        h.master(51)
        before = (h.d.config, list(h.d.routers), h.sent(), jobs(h.d))
        h.path.write_text('[{"vrid": 0, "interface_name": "eth0", "ip_addresses": ["x"]}]')
        reply = await h.d.reload()
        assert reply["ok"] is False
        assert reply["error"] == f"{h.path}: invalid configuration"
        assert reply["errors"][-1] == "[0].vrid: must be at least 1 (got 0)"
        assert (h.d.config, list(h.d.routers), h.sent(), jobs(h.d)) == before
        assert h.d.routers[0].core.state is State.MASTER

    run(tmp_path, [router()], check)


def test_missing_interface_refuses_the_whole_reload(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        before = (h.d.config, list(h.d.routers))
        h.write(router(priority=200), router(52, interface_name="eth9"))
        reply = await h.d.reload()
        assert reply == {
            "ok": False,
            "error": "interface problem",
            "errors": ["interface 'eth9' does not exist (used by VR_52)"],
        }
        assert (h.d.config, list(h.d.routers)) == before
        assert h.d.routers[0].core.config.priority == 100  # the kept router untouched too

    run(tmp_path, [router()], check)


def test_removed_master_hands_over_and_its_vip_goes(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        h.master(52)
        h.write(router(51))
        reply = await h.d.reload()
        assert (reply["removed"], reply["unchanged"]) == (["VR_52"], ["VR_51"])
        assert [r.core.config.vrid for r in h.d.routers] == [51]
        assert h.sent() == [(52, 100), (52, 0)]  # RFC 3768 6.4.3 Shutdown: priority 0
        assert jobs(h.d)[-1] == ("remove", (IPv4Interface(B),))
        assert set(h.d.interfaces["eth0"].routers) == {51}

    run(tmp_path, [router(51), router(52, ip_addresses=[B])], check)


def test_added_router_starts_as_backup_on_a_new_interface(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        h.write(router(51), router(52, interface_name="eth1", ip_addresses=["198.51.100.50/24"]))
        reply = await h.d.reload()
        assert (reply["added"], reply["unchanged"]) == (["VR_52"], ["VR_51"])
        added = h.d.routers[1]
        assert added.iface is h.d.interfaces["eth1"] and added.iface.primary == IPv4Address(
            "198.51.100.1"
        )
        assert added.core.state is State.BACKUP and added.timer is not None

        h.write(router(51))  # and gone again: eth1 is closed
        reply = await h.d.reload()
        assert reply["removed"] == ["VR_52"]
        assert set(h.d.interfaces) == {"eth0"}

    run(tmp_path, [router(51)], check)


def test_added_router_removes_its_left_over_vip_but_not_a_held_one(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        h.master(51)  # holds A
        h.nl.links["eth0"] = (2, ["192.0.2.1/24", A, B])  # B left by an earlier run
        h.write(router(51), router(52, ip_addresses=[A]), router(53, ip_addresses=[B]))
        await h.d.reload()
        queued = list(h.d._jobs._queue)  # type: ignore[attr-defined]
        for job in queued:
            if job.func.__name__ == "_remove_stale":
                await job()
        assert h.nl.removed == [(2, IPv4Interface(B))]

    run(tmp_path, [router(51)], check)


def test_renamed_master_still_gives_its_vip_back(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        h.master(51)
        h.write(router(51, name="renamed"))
        reply = await h.d.reload()
        assert reply["changed"] == ["renamed"]
        assert h.sent() == [(51, 100)]  # a name is not on the wire
        h.write(router(52, ip_addresses=[B]))
        await h.d.reload()
        assert ("remove", (IPv4Interface(A),)) in jobs(h.d)

    run(tmp_path, [router(51)], check)


def test_control_socket_change_is_ignored_with_a_warning(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        h.write(router(51), control_socket="/run/elsewhere.sock")
        reply = await h.d.reload()
        assert reply["ok"] is True and reply["unchanged"] == ["VR_51"]
        assert reply["warnings"] == [
            "control_socket /run/elsewhere.sock is ignored until a restart; "
            "the control socket stays /nonexistent/failover.sock"
        ]
        assert h.d.config.settings.control_socket != "/run/elsewhere.sock"

    run(tmp_path, [router(51)], check)


def test_sighup_before_startup_reloads_once_started(tmp_path: Path) -> None:
    async def main() -> None:
        path = tmp_path / "c.json"
        path.write_text(json.dumps([router()]))
        d = Daemon(load(path), "/nonexistent/failover.sock", str(path))
        calls: list[str] = []

        async def fake_reload() -> dict[str, Any]:
            calls.append("reload")
            return {"ok": True}

        d.reload = fake_reload  # type: ignore[method-assign]
        d._on_signal(signal.SIGHUP)
        assert calls == [] and d._reload_pending
        d._start()  # no routers: nothing to start, but the pending reload runs
        await asyncio.sleep(0)
        assert calls == ["reload"]

    asyncio.run(main())


# -- `failover reload` -------------------------------------------------------------------


def serve_reload(tmp_path: Path, reply: dict[str, Any], argv: list[str]) -> int:
    path = str(tmp_path / "c.sock")

    async def handler(_req: dict[str, Any]) -> dict[str, Any]:
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
    assert cli.main(["reload", "--control-socket", str(sock)]) == ExitCode.SYSTEM != 1
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
