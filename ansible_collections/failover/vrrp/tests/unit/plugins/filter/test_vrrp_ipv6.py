"""vrrp_settled and vrrp_convergence with IPv6 routers: link-local primaries, IPv6 VIPs."""

from __future__ import annotations

from ansible_collections.failover.vrrp.plugins.filter.vrrp_convergence import vrrp_convergence
from ansible_collections.failover.vrrp.plugins.filter.vrrp_settled import vrrp_settled
from ansible_collections.failover.vrrp.plugins.module_utils.failover import address_of
from tests.control_replies import router_status

LL = {"r1": "fe80::11", "r2": "fe80::12"}
VIPS = ["fe80::61/64", "2001:db8:1::61/64"]
NAME = "gw6 (eth0, VRID 61)"


def v6(host, state="MASTER", priority=200, master=None, **values):
    """`host`'s IPv6 router gw6 as the daemon reports it (adverts from link-local)."""
    given = {
        "name": "gw6",
        "vrid": 61,
        "state": state,
        "priority": priority,
        "primary_ip": LL[host],
        "master_ip": LL[master or host],
        "master_priority": 200,
        "addresses": list(VIPS),
    }
    return router_status(**{**given, **values})


def info(router, *addresses):
    return {"running": True, "routers": [router], "local_addresses": list(addresses)}


R1 = info(v6("r1"), "192.0.2.11/24", "2001:db8:1::11/64", "fe80::11/64", *VIPS)
R2 = info(v6("r2", "BACKUP", 190, master="r1"), "2001:db8:1::12/64", "fe80::12/64")


def test_address_of_gives_the_canonical_form():
    assert address_of("2001:db8::100/64") == "2001:db8::100"
    assert address_of("2001:DB8:0:0::100/64") == "2001:db8::100"
    assert address_of("192.0.2.254/24") == "192.0.2.254"
    assert address_of("fe80::1") == "fe80::1"
    assert address_of("not-an-address/24") == "not-an-address"


def test_an_ipv6_fleet_is_settled_and_converged():
    fleet_ips = list(LL.values())
    assert vrrp_settled(R1, fleet_ips, True, [R1, R2]) == []
    assert vrrp_settled(R2, fleet_ips, True, [R1, R2]) == []
    verdict = vrrp_convergence({"r1": R1, "r2": R2}, preferred=True)
    assert verdict["problems"] == []
    assert verdict["masters"] == {"eth0/61": "r1"}
    assert "+vip" in verdict["table"].splitlines()[1].split("MASTER")[1].split("BACKUP")[0]


def test_an_ipv6_vip_missing_on_the_master_or_left_on_a_backup():
    bare = info(v6("r1"), "fe80::11/64", "fe80::61/64")
    assert vrrp_settled(bare, list(LL.values())) == [f"{NAME}: MASTER without VIP 2001:db8:1::61"]
    left = info(v6("r2", "BACKUP", 190, master="r1"), "fe80::12/64", "2001:db8:1::61/64")
    assert vrrp_settled(left, list(LL.values())) == [
        f"{NAME}: BACKUP still holds VIP 2001:db8:1::61"
    ]
    verdict = vrrp_convergence({"r1": bare, "r2": left})
    assert verdict["problems"] == [
        f"{NAME}: VIP 2001:db8:1::61 is not on the master r1",
        f"{NAME}: VIP 2001:db8:1::61 is also on r2",
    ]


def test_addresses_are_compared_as_addresses_not_as_text():
    upper = info(v6("r2", "BACKUP", 190, master="r1", master_ip="FE80:0::11"), "fe80::12/64")
    assert vrrp_settled(upper, ["fe80:0:0::11", "fe80::12"], True, [R1, R2]) == []
    assert vrrp_convergence({"r1": R1, "r2": upper})["problems"] == []


def test_a_backup_under_the_wrong_ipv6_master():
    lost = info(v6("r2", "BACKUP", 190, master="r2"), "fe80::12/64")
    assert vrrp_settled(lost, list(LL.values()), True, [R1, R2]) == [
        f"{NAME}: BACKUP sees master fe80::12, not fe80::11"
    ]


def test_an_ipv4_and_an_ipv6_router_on_one_vrid_do_not_break_the_choice():
    """A misconfigured fleet (one host IPv4, one IPv6 for the same interface and VRID)
    is judged, not a TypeError from comparing an IPv4 with an IPv6 address."""
    v4 = router_status(name="gw6", vrid=61, priority=200, primary_ip="192.0.2.11")
    other = info(v6("r2", priority=200), *VIPS)
    assert vrrp_settled(other, ["192.0.2.11", "fe80::12"], True, [info(v4), other]) == []
    assert vrrp_settled(info(v4), ["192.0.2.11", "fe80::12"], True, [info(v4), other]) == [
        "gw6 (eth0, VRID 61): MASTER without VIP 192.0.2.254",
        "gw6 (eth0, VRID 61): MASTER, but fe80::12 should be",
    ]
