"""Checks run by the daemon (real pollers on real files) move its routers, on a fake kernel."""

from __future__ import annotations

import asyncio
from pathlib import Path

from failover import control
from failover.control import EventMessage, StatusReply, format_status
from failover.protocol.router import State
from failover.runtime.netlink import LinkEvent
from tests.control_replies import problems

from .harness import Harness, router, until

FAST = {"interval": 0.1, "timeout": 1}


def test_a_weight_zero_file_check_holds_the_router_in_fault(tmp_path: Path) -> None:
    drain = tmp_path / "drain"
    checks = {"drain": {"type": "file", "path": str(drain), **FAST}}

    async def main() -> None:
        async with Harness(
            tmp_path, [router(51, 200, track=[{"check": "drain", "weight": 0}])], checks=checks
        ) as h:
            r = h.router(51)
            await until(lambda: r.core.state is State.FAULT)  # no file: failing
            assert r.core.faults == ("drain",)
            drain.write_text("0\n")
            await until(lambda: r.core.state is State.BACKUP)  # 0: no fault (track_file)
            h.master(51)
            drain.write_text("1\n")  # non-zero with weight 0: FAULT
            await until(lambda: r.core.state is State.FAULT)
            assert h.sent() == [(51, 200), (51, 0)]  # priority 0 on the way out
            assert await h.changes() == [("add", "192.0.2.100/24"), ("remove", "192.0.2.100/24")]
            status = h.d.status({})
            assert problems(StatusReply, status) == []
            (track,) = status["routers"][0]["tracks"]
            assert track["check"] == "drain" and track["fault"] is True
            assert track["value"] == 1 and track["detail"] == f"{drain}: 1"

    asyncio.run(main())


def test_a_weighted_check_changes_what_a_master_advertises_at_once(tmp_path: Path) -> None:
    flag = tmp_path / "web"
    flag.write_text("0")
    checks = {"web": {"type": "file", "path": str(flag), **FAST}}

    async def main() -> None:
        async with Harness(
            tmp_path, [router(51, 150, track=[{"check": "web", "weight": -100}])], checks=checks
        ) as h:
            r = h.router(51)
            await until(lambda: h.d.routers.tracker.checks["web"].last_at is not None)
            h.master(51)
            flag.unlink()  # unreadable: failing, -100
            await until(lambda: r.core.priority == 50)
            assert h.sent() == [(51, 150), (51, 50)]  # advertised at once (RFC 3768 6.4.3)
            row = h.d.status({})["routers"][0]
            assert (row["priority"], row["effective_priority"]) == (150, 50)
            assert row["tracks"][0]["adds"] == -100 and row["tracks"][0]["status"] == "failing"
            table = format_status(h.d.status({}))
            assert "  MASTER  50 (150)  " in table
            assert f"VR_51: track web (file): failing, adds -100 ({flag}: " in table

    asyncio.run(main())


def test_an_interface_check_follows_link_events(tmp_path: Path) -> None:
    checks = {"uplink": {"type": "interface", "interface": "eth1"}}

    async def main() -> None:
        async with Harness(
            tmp_path, [router(51, track=[{"check": "uplink", "weight": 0}])], checks=checks
        ) as h:
            r = h.router(51)
            assert r.core.state is State.BACKUP  # eth1 is up: known at start
            h.kernel.links.queue.put_nowait(LinkEvent(index=3, running=False))
            await until(lambda: r.core.state is State.FAULT)
            assert r.core.faults == ("uplink",)
            h.kernel.links.queue.put_nowait(LinkEvent(index=3, running=True))
            await until(lambda: r.core.state is State.BACKUP)

    asyncio.run(main())


def test_a_reload_that_drops_a_check_stops_it_and_frees_the_router(tmp_path: Path) -> None:
    checks = {"gone": {"type": "file", "path": str(tmp_path / "none"), **FAST}}

    async def main() -> None:
        async with Harness(
            tmp_path, [router(51, track=[{"check": "gone", "weight": 0}])], checks=checks
        ) as h:
            r = h.router(51)
            await until(lambda: r.core.state is State.FAULT)
            h.write(router(51))
            reply = await h.d.reload()
            assert reply["ok"] is True
            assert r.core.state is State.BACKUP and h.d.routers.tracker.checks == {}

    asyncio.run(main())


def test_a_routers_notify_hook_hears_every_change_in_order(tmp_path: Path) -> None:
    # A real hook (a shell script): arguments as keepalived's notify, plus the
    # environment; one line per event, in the order the daemon saw them.
    out = tmp_path / "events"
    hook = tmp_path / "hook"
    hook.write_text(
        '#!/bin/sh\necho "$* old=$FAILOVER_OLD_STATE seq=$FAILOVER_SEQ '
        f'reason=$FAILOVER_REASON" >> {out}\n'
    )
    hook.chmod(0o755)

    async def main() -> None:
        h = await Harness(tmp_path, [router(51, 200, notify=[str(hook)])]).start()
        h.master(51)
        assert await h.stop() == 0  # waits for the hook to finish its queue
        lines = out.read_text().splitlines()
        assert lines == [
            "ROUTER VR_51 BACKUP 200 old=INITIALIZE seq=1 reason=startup",
            "ROUTER VR_51 MASTER 200 old=BACKUP seq=2 reason=master down timer expired",
            "ROUTER VR_51 STOP 200 old=MASTER seq=3 reason=shutdown",
        ]

    asyncio.run(main())


def test_events_are_streamed_in_order_with_the_hooks_sequence_numbers(tmp_path: Path) -> None:
    out = tmp_path / "seqs"
    hook = tmp_path / "hook"
    hook.write_text(f'#!/bin/sh\necho "$FAILOVER_SEQ $FAILOVER_STATE" >> {out}\n')
    hook.chmod(0o755)

    async def main() -> None:
        async with Harness(tmp_path, [router(51, 200, notify=[str(hook)])]) as h:
            stream = await asyncio.to_thread(control.follow, str(h.control))  # subscribed
            h.master(51)
            event = await asyncio.to_thread(next, stream)
            assert event["kind"] == "state" and (event["old"], event["new"]) == ("BACKUP", "MASTER")
            assert problems(EventMessage, event) == []
            h.write(router(51, 210, notify=[str(hook)]))
            await h.d.reload()
            reload = await asyncio.to_thread(next, stream)
            assert reload["kind"] == "reload" and reload["changed"] == ["VR_51"]
            assert reload["seq"] == event["seq"] + 1
            assert "VR_51 vrid=51 eth0 BACKUP -> MASTER" in control.format_event(event)
            await until(lambda: out.exists() and len(out.read_text().splitlines()) >= 2)
            assert f"{event['seq']} MASTER" in out.read_text().splitlines()
            await h.stop()  # the stream ends with the daemon (`failover events` exits 0)
            rest = await asyncio.wait_for(asyncio.to_thread(list, stream), 10)
            assert all(e["kind"] == "state" for e in rest)  # the shutdown's, if any

    asyncio.run(main())


def test_a_sync_group_moves_together_across_interfaces(tmp_path: Path) -> None:
    # docs/sync-groups.md: inside (eth0) and outside (eth1) of a firewall pair.
    out_vip = "198.51.100.50/24"
    routers = [
        router(51, name="inside"),
        router(52, name="outside", interface_name="eth1", ip_addresses=[out_vip]),
    ]
    groups = [{"name": "fw", "routers": ["inside", "outside"]}]

    async def main() -> None:
        async with Harness(tmp_path, routers, sync_groups=groups) as h:
            inside, outside = h.router(51), h.router(52, "eth1")
            for r in (inside, outside):
                deadline = r.core.next_deadline()
                assert deadline is not None
                h.d.routers.feed(r, r.core.expire(deadline))
                if r is inside:  # waits in BACKUP until every member can be master
                    assert inside.core.state is State.BACKUP and inside.core.waiting
            assert {inside.core.state, outside.core.state} == {State.MASTER}
            h.kernel.links.queue.put_nowait(LinkEvent(index=3, running=False))  # eth1
            await until(lambda: inside.core.state is State.FAULT)
            assert {inside.core.state, outside.core.state} == {State.FAULT}
            assert inside.core.faults == ("sync group fw: outside in FAULT",)
            assert h.sent("eth0")[-1] == (51, 0)  # inside handed over at once
            assert ("remove", "192.0.2.100/24") in await h.changes()
            h.kernel.links.queue.put_nowait(LinkEvent(index=3, running=True))
            await until(lambda: inside.core.state is State.BACKUP)
            assert outside.core.state is State.BACKUP

    asyncio.run(main())
