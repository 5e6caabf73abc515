"""Every advert the daemons send, captured by tshark on the client, is a valid VRRPv2 packet.

tshark's dissector is an independent judge of the bytes: version 2, type 1
(advertisement), a correct checksum, TTL 255, and the configured fields.
"""

from __future__ import annotations

import socket
import struct
from ipaddress import IPv4Address

import pytest

from failover.lab import DEFAULT_VIP, Lab, Proc, wait_until
from failover.lab.nodes import converged, group
from tests.support import MakeLab

pytestmark = pytest.mark.root
TIMEOUT = 30
FIELDS = ["ip.src", "ip.ttl", "vrrp.version", "vrrp.type", "vrrp.virt_rtr_id", "vrrp.prio",
          "vrrp.checksum.status", "vrrp.addr_count", "vrrp.ip_addr", "vrrp.adver_int",
          "vrrp.auth_type"]  # fmt: skip
CHECKSUM_GOOD = "1"  # Wireshark's PROTO_CHECKSUM_E_GOOD; 0 is bad
BAD_VRID = 99


def tshark(lab: Lab) -> Proc:
    """tshark on the client's eth0, one CSV line per VRRP packet, line-buffered."""
    assert lab.client is not None
    argv = ["tshark", "-i", "eth0", "-f", "ip proto 112", "-l", "-n", "-T", "fields",
            "-E", "separator=,", "-E", "aggregator=;"]  # fmt: skip
    for f in FIELDS:
        argv += ["-e", f]
    proc = lab.start(lab.client, argv, name="tshark")
    wait_until(lambda: "Capturing on" in proc.log(), TIMEOUT, what="tshark to capture")
    return proc


def packets(proc: Proc) -> list[dict[str, str]]:
    rows = [line.split(",") for line in proc.log().splitlines()]
    return [dict(zip(FIELDS, row, strict=True)) for row in rows if len(row) == len(FIELDS)]


def send_corrupt_advert(lab: Lab) -> None:
    """From the client: a VRRPv2 advert with a wrong checksum (checks the judge itself)."""
    from pyroute2 import netns

    assert lab.client is not None
    payload = struct.pack("!BBBBBBH", 0x21, BAD_VRID, 100, 1, 0, 1, 0xDEAD)
    payload += DEFAULT_VIP.ip.packed + bytes(8)
    sock = netns.create_socket(lab.client.ns, socket.AF_INET, socket.SOCK_RAW, 112)
    with sock:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, lab.client.ip.packed)
        sock.sendto(payload, ("224.0.0.18", 0))


def test_every_advert_is_valid_vrrp_v2(make_lab: MakeLab) -> None:
    lab = make_lab(routers=2)
    capture = tshark(lab)
    r1, r2 = group(lab, (150, 100), 51)
    wait_until(lambda: converged([r1, r2], 51) is r1, TIMEOUT, what="r1 master")
    wait_until(lambda: r1.status()[0]["adverts_sent"] >= 3, TIMEOUT, what="r1's adverts")
    send_corrupt_advert(lab)
    sent_r1 = r1.status()[0]["adverts_sent"]
    assert r1.stop() == 0  # a priority-0 advert, then r2 takes over
    wait_until(lambda: r2.state(51) == "MASTER", TIMEOUT, what="r2 master")
    wait_until(lambda: r2.status()[0]["adverts_sent"] >= 3, TIMEOUT, what="r2's adverts")
    sent_r2 = r2.status()[0]["adverts_sent"]
    assert r2.stop() == 0

    def final_adverts_seen() -> bool:
        zero = {p["ip.src"] for p in packets(capture) if p["vrrp.prio"] == "0"}
        return zero >= {str(r1.host.ip), str(r2.host.ip)}

    wait_until(final_adverts_seen, TIMEOUT, what="both priority-0 adverts captured")
    capture.stop()
    seen = packets(capture)

    corrupt = [p for p in seen if p["vrrp.virt_rtr_id"] == str(BAD_VRID)]
    assert [p["vrrp.checksum.status"] for p in corrupt] == ["0"], "tshark must flag it"

    for node, prio, sent in ((r1, 150, sent_r1), (r2, 100, sent_r2)):
        mine = [p for p in seen if p["ip.src"] == str(node.host.ip)]
        print(f"{node.host.name}: {len(mine)} adverts captured, all checked")
        assert len(mine) >= sent + 1  # every advert counted by the daemon, + priority 0
        for p in mine:
            assert p["vrrp.version"] == "2", p
            assert p["vrrp.type"] == "1", p
            assert p["vrrp.checksum.status"] == CHECKSUM_GOOD, p
            assert p["ip.ttl"] == "255", p
            assert p["vrrp.virt_rtr_id"] == "51", p
            assert p["vrrp.addr_count"] == "1", p
            assert IPv4Address(p["vrrp.ip_addr"]) == DEFAULT_VIP.ip, p
            assert (p["vrrp.adver_int"], p["vrrp.auth_type"]) == ("1", "0"), p
        prios = [p["vrrp.prio"] for p in mine]
        assert prios[-1] == "0" and set(prios[:-1]) == {str(prio)}, prios
