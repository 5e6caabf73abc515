"""use_vmac in the daemon, on the fake kernel: the vmac made before the router starts,
VIPs and gratuitous ARPs on it, adverts from it (IPv4), an IPv6 one up only as master,
removed with its router (sysctls restored with the last), nothing left on a refusal."""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest

from failover.daemon.errors import ExitCode, StartupError
from failover.protocol.packet import decode
from failover.protocol.router import State

from .harness import A, Harness, applied, router

VMAC4, VMAC6 = "fo433.eth0", "fo63d.eth0"  # VRID 51 (0x33), VRID 61 (0x3d)


def master(h: Harness, vrid: int, family: int = 4) -> None:
    r = h.router(vrid, family=family)
    deadline = r.core.next_deadline()
    assert deadline is not None
    h.d.routers.feed(r, r.core.expire(deadline))
    assert r.core.state == State.MASTER


def test_an_ipv4_vmac_carries_the_vips_the_garps_and_the_adverts(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router(51, use_vmac=True), router(52)]) as h:
            assert h.kernel.vmacs.log == [("ensure", VMAC4), ("up", VMAC4)]
            vmac_index = h.kernel.netlink.links[VMAC4][0]
            master(h, 51)
            (message,) = h.kernel.socks[VMAC4].sent  # from the vmac: the VRRP MAC
            assert decode(message).vrid == 51
            assert h.kernel.socks["eth0"].sent == []
            assert await h.changes() == [("add", A)]
            assert h.kernel.netlink.changes[0][1] == vmac_index
            assert h.kernel.arps[VMAC4].bursts == [(IPv4Address(A.split("/")[0]),)]
            assert h.kernel.arps["eth0"].bursts == []

            h.write(router(52))  # the vmac router goes: VIP first, then its vmac
            await applied(h)
            assert await h.changes() == [("add", A), ("remove", A)]
            assert h.kernel.vmacs.log[-1] == ("remove", VMAC4)
            assert VMAC4 not in h.kernel.netlink.links
            assert [c.new for c in h.kernel.vmacs.restored] == ["1"]  # the last one: undone

    asyncio.run(main())


def test_an_ipv6_vmac_is_up_only_while_master(tmp_path: Path) -> None:
    async def main() -> None:
        v6: dict[str, Any] = router(61, version=3, ip_addresses=["2001:db8::100/64"])
        h = Harness(tmp_path, [v6 | {"use_vmac": True}])
        h.kernel.netlink.links["eth0"][1].append("fe80::1/64")
        async with h:
            assert h.kernel.vmacs.log == [("ensure", VMAC6)]  # down as backup
            master(h, 61, family=6)
            assert await h.changes() == [("add", "2001:db8::100/64")]
            assert h.kernel.vmacs.log[-1] == ("up", VMAC6)  # before its VIP was added
            assert h.kernel.ndiscs[VMAC6].bursts == [(IPv6Address("2001:db8::100"),)]
            assert len(h.kernel.socks["eth0/6"].sent) == 1  # IPv6 adverts: from the parent
        assert h.kernel.vmacs.log[-2:] == [("down", VMAC6), ("remove", VMAC6)]

    asyncio.run(main())


def test_turning_use_vmac_on_restarts_the_router(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router(51)]) as h:
            h.write(router(51, use_vmac=True))
            reply = await applied(h)
            assert (reply["removed"], reply["added"]) == (["VR_51"], ["VR_51"])
            assert h.router(51).vmac is not None

    asyncio.run(main())


def test_a_refused_vmac_refuses_start_up_and_leaves_nothing(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path, [router(51, use_vmac=True)])
        h.kernel.vmacs.refuse = True
        with pytest.raises(StartupError) as info:
            await h.start()
        assert info.value.code == ExitCode.SYSTEM
        assert "use_vmac on eth0: Operation not permitted" in str(info.value)
        assert not [n for n in h.kernel.netlink.links if n.startswith("fo")]

    asyncio.run(main())
