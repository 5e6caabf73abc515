"""Hostile wire: an attacker on the LAN sends crafted VRRP packets to a master and a backup.

The attacker is the lab's client: scapy builds each Ethernet frame whole (IP header
included, so a wrong TTL or checksum is ours to choose) and an AF_PACKET socket in the
client's namespace puts it on the LAN. For every receive check the daemon counts
(RFC 3768 7.1, RFC 5798 7.1; failover/protocol/receive.py) a crafted packet must move
exactly that drop counter by exactly the number sent, nothing else, and leave the master
master with its VIPs. A flood of 10^4 adverts a second must not stall the master's own
adverts or make the backup take over, and every flooded packet is accounted for.
The positive control ends those tests: a valid higher-priority advert from the same
attacker does take the mastership, so the crafted packets were heard and judged.

A priority-255 advert with a foreign address list is no drop (RFC 3768 7.1 exempts the
owner from the address-list check): its test pins that the master yields to it.

Not reachable from the wire (the kernel judges these before a raw protocol-112 socket
sees the packet): bad_ip_header, bad_protocol and an IPv4 packet shorter than its header
or its total length; unit tests cover them (tests/unit/test_receive.py).
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from ipaddress import IPv4Interface, IPv6Interface
from typing import Any

import pytest

from bench.scale import process_cpu
from failover.control import request
from failover.lab import DEFAULT_VIP6, Host, Lab, wait_until
from failover.lab.nodes import Node, router
from tests.support import MakeLab, holds_over_adverts, require

pytestmark = pytest.mark.root
TIMEOUT = 30
V2, V3, OWNER, UNICAST, V6, FOREIGN = 51, 52, 53, 54, 55, 99  # r1 runs all but FOREIGN
VIPS: dict[int, IPv4Interface | IPv6Interface] = {
    **{vrid: IPv4Interface(f"192.0.2.{305 - vrid}/24") for vrid in (V2, V3, OWNER, UNICAST)},
    V6: DEFAULT_VIP6,
}
NOT_OURS, NOT_OURS6 = ["192.0.2.99"], ["2001:db8::99"]
PASSWORD = "s3cret"
SENT = 5  # crafted packets per drop reason
GROUP_MAC = "01:00:5e:00:00:12"  # 224.0.0.18 (RFC 1112 6.4)
GROUP6_MAC = "33:33:00:00:00:12"  # ff02::12 (RFC 2464 7)
FLOOD_RATE = 10_000  # adverts a second
FLOOD_SECONDS = 10.0
MAX_LOG_LINES = 10  # per daemon during the flood: drops are logged rate-limited
MAX_CPU_PER_PACKET = 200e-6  # CPU seconds per flooded packet judged; ~20 us measured

Where = int | str  # a VRID, or "eth0 IPv4" / "eth0 IPv6" (drops no router owns)
Counters = Counter[tuple[Where, str]]


# -- the LAN: r1 master, r2 backup, the client the attacker -----------------------------


def hostile_lab(make_lab: MakeLab) -> tuple[Lab, Node, Node]:
    """r1 (priority 200) masters a v2 router with simple-text auth, a v3 one, an owned one
    (priority 255, on r1 alone), a unicast one and an IPv6 one; r2 (100) backs up all but
    the owned one."""
    require(find_spec("scapy") is not None, "needs scapy (the test extra)")
    lab = make_lab(routers=2)
    r1_ip, r2_ip = (str(h.ip) for h in lab.routers)

    def routers(priority: int, peer: str) -> list[dict[str, Any]]:
        vrs = [
            router(V2, priority, vips=[VIPS[V2]], auth_type="simple", auth_password=PASSWORD),
            router(V3, priority, vips=[VIPS[V3]], version=3),
            router(UNICAST, priority, vips=[VIPS[UNICAST]], unicast_peers=[peer]),
            router(V6, priority, vips=[VIPS[V6]], version=3),
        ]
        return [*vrs, router(OWNER, 255, vips=[VIPS[OWNER]])] if priority == 200 else vrs

    r1 = Node(lab, "r1", routers(200, r2_ip)).start()
    r2 = Node(lab, "r2", routers(100, r1_ip)).start()
    wait_until(lambda: steady(lab, r1, r2), TIMEOUT, what="r1 master of all, r2 backup")
    return lab, r1, r2


def steady(lab: Lab, r1: Node, r2: Node) -> bool:
    """r1 is master of every router and holds every VIP; r2 is backup of all of its."""
    return (
        set(r1.states().values()) == {"MASTER"}
        and set(r2.states().values()) == {"BACKUP"}
        and all(lab.holders(vip) == [r1.host] for vip in VIPS.values())
    )


def counters(node: Node) -> Counters:
    """Every receive counter of a daemon: adverts accepted and drops by reason, per router
    (by VRID), and drops no router owns (per interface)."""
    reply = request(node.socket_path, {"command": "status"}, timeout=5.0)
    found: Counters = Counter()
    for r in reply["routers"]:
        found[r["vrid"], "adverts_received"] = r["adverts_received"]
        found.update({(r["vrid"], reason): n for reason, n in r["drops"].items()})
    for i in reply["interfaces"]:
        where = f"{i['name']} IPv{i['family']}"
        found.update({(where, reason): n for reason, n in i["drops"].items()})
    return found


def grown(before: Counters, after: Counters) -> dict[tuple[Where, str], int]:
    """The counters that moved, by how much."""
    return {k: after[k] - before[k] for k in after.keys() | before.keys() if after[k] != before[k]}


# -- the attacker -----------------------------------------------------------------------


class Attacker:
    """Crafted frames out of the client's eth0: every header byte is the test's."""

    def __init__(self, lab: Lab) -> None:
        from pyroute2 import netns

        assert lab.client is not None
        self.lab = lab
        self.ip, self.ip6 = str(lab.client.ip), str(lab.client.link_local["eth0"])
        ipr = lab.ipr(lab.client)
        (link,) = ipr.get_links(ipr.link_lookup(ifname="eth0")[0])
        self.mac = str(link.get_attr("IFLA_ADDRESS"))
        self.sock = netns.create_socket(lab.client.ns, socket.AF_PACKET, socket.SOCK_RAW, 0)
        self.sock.bind(("eth0", 0))

    def frame(self, vrrp: Any, src: str | None = None, ttl: int = 255, v6: bool = False) -> bytes:
        """An Ethernet frame to 224.0.0.18 (`v6`: ff02::12, from the link-local address)
        with `vrrp` (scapy layer or bytes) in it; `ttl` is the TTL or Hop Limit."""
        from scapy.layers.inet import IP
        from scapy.layers.inet6 import IPv6
        from scapy.layers.l2 import Ether
        from scapy.packet import Raw

        payload = Raw(vrrp) if isinstance(vrrp, bytes) else vrrp
        if v6:
            ether = Ether(src=self.mac, dst=GROUP6_MAC)
            ip: Any = IPv6(src=src or self.ip6, dst="ff02::12", hlim=ttl, nh=112)
        else:
            ether = Ether(src=self.mac, dst=GROUP_MAC)
            ip = IP(src=src or self.ip, dst="224.0.0.18", ttl=ttl, proto=112)
        return bytes(ether / ip / payload)

    def send(self, frame: bytes, count: int = 1) -> None:
        for _ in range(count):
            self.sock.send(frame)

    def close(self) -> None:
        self.sock.close()

    def stream(self, frame: bytes, period: float = 1.0) -> Stream:
        """Send `frame` every `period` s in the background until the stream is stopped."""
        return Stream(self, frame, period)


class Stream:
    """A frame sent every `period` seconds by a thread, as a router sends its adverts."""

    def __init__(self, attacker: Attacker, frame: bytes, period: float) -> None:
        self._stop = threading.Event()
        self.sent = 0

        def run() -> None:
            while not self._stop.is_set():
                attacker.send(frame)
                self.sent += 1
                self._stop.wait(period)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def attacker_of() -> Iterator[Callable[[Lab], Attacker]]:
    made: list[Attacker] = []

    def make(lab: Lab) -> Attacker:
        made.append(Attacker(lab))
        return made[-1]

    yield make
    for a in made:
        a.close()


def advert(vrid: int = V2, priority: int = 100, v3: bool | None = None, **fields: Any) -> Any:
    """A scapy VRRP layer (VRRPv3 for the v3 routers, unless `v3` says), by default valid
    for the router `vrid`: its VIP, its password."""
    from scapy.layers.vrrp import VRRP, VRRPv3

    addresses = [str(VIPS[vrid].ip)] if vrid in VIPS else NOT_OURS
    base: dict[str, Any] = {"vrid": vrid, "priority": priority, "addrlist": addresses}
    if vrid in (V3, V6) if v3 is None else v3:
        return VRRPv3(**{**base, "adv": 100, **fields})
    if vrid == V2:
        word = PASSWORD.encode().ljust(8, b"\0")
        base |= {
            "authtype": 1,
            "auth1": int.from_bytes(word[:4]),
            "auth2": int.from_bytes(word[4:]),
        }
    return VRRP(**{**base, **fields})


# -- every drop reason ------------------------------------------------------------------


@dataclass(frozen=True)
class Crafted:
    """One kind of crafted packet and the single counter it must move on r1."""

    name: str
    where: Where
    reason: str
    vrrp: Callable[[], Any]  # the VRRP layer (scapy) or bytes
    ttl: int = 255
    v6: bool = False


CRAFTED = [
    # RFC 3768 7.1 / RFC 5798 7.1: MUST verify the TTL / Hop Limit is 255
    Crafted("ttl 254", V2, "bad_ttl", advert, ttl=254),
    Crafted("hop limit 254", V6, "bad_ttl", lambda: advert(V6), ttl=254, v6=True),
    # MUST verify the checksum (v3: with its pseudo-header)
    Crafted("v2 checksum", V2, "bad_checksum", lambda: advert(chksum=0xDEAD)),
    Crafted("v3 checksum", V3, "bad_checksum", lambda: advert(V3, chksum=0xDEAD)),
    Crafted("v6 checksum", V6, "bad_checksum", lambda: advert(V6, chksum=0xDEAD), v6=True),
    # MUST verify the version field (a v2 router: 2; a v3 router: 3)
    Crafted("version 1", V2, "bad_version", lambda: advert(version=1)),
    Crafted("v2 to v3", V3, "bad_version", lambda: advert(V3, v3=False)),
    # RFC 3768 5.3.2: a type other than 1 (advertisement) MUST be discarded
    Crafted("type 2", V2, "bad_type", lambda: advert(type=2)),
    # MUST verify the VRID is configured on the receiving interface ...
    Crafted("foreign vrid", "eth0 IPv4", "unknown_vrid", lambda: advert(FOREIGN)),
    # ... and that the local router is not the address owner
    Crafted("to the owner", OWNER, "local_owner", lambda: advert(OWNER)),
    # RFC 3768 7.1: MUST verify the auth type, and the simple-text password (5.3.10)
    Crafted("auth type 0", V2, "auth_type_mismatch", lambda: advert(authtype=0, auth1=0, auth2=0)),
    Crafted("password", V2, "auth_mismatch", lambda: advert(auth1=int.from_bytes(b"gues"))),
    # RFC 3768 7.1: MUST verify the Adver Interval (v3 learns it: no such drop there)
    Crafted("interval 2", V2, "interval_mismatch", lambda: advert(adv=2)),
    # MAY verify the address list; from a non-owner a mismatch MUST be dropped
    Crafted("v2 addresses", V2, "address_mismatch", lambda: advert(addrlist=NOT_OURS)),
    Crafted("v3 addresses", V3, "address_mismatch", lambda: advert(V3, addrlist=NOT_OURS)),
    Crafted(
        "v6 addresses", V6, "address_mismatch", lambda: advert(V6, addrlist=NOT_OURS6), v6=True
    ),
    # MUST verify the packet holds the whole message: cut short, or a count too large
    Crafted("truncated", V2, "truncated", lambda: bytes(advert())[:6]),
    Crafted("count 3 of 1", V2, "truncated", lambda: advert(ipcount=3)),
    Crafted(
        "count 1 of 2",
        V2,
        "length_mismatch",
        lambda: advert(ipcount=1, addrlist=[str(VIPS[V2].ip), *NOT_OURS]),
    ),
    # unicast peers (keepalived's unicast_peer): adverts from listed peers only
    Crafted("not a peer", UNICAST, "not_a_peer", lambda: advert(UNICAST)),
]
FENCE: dict[bool, tuple[Where, str]] = {  # what the fence moves (`judged`), by IPv6 or not
    False: ("eth0 IPv4", "unknown_vrid"),
    True: ("eth0 IPv6", "unknown_vrid"),
}


def judged(node: Node, before: Counters, attacker: Attacker, v6: bool = False) -> dict[Any, int]:
    """Send the fence (an advert for a VRID nobody runs, in the family of the packets
    before it: they came in on the same socket), wait until the node counted it: it
    judged everything sent before. Then what moved since `before`."""
    attacker.send(
        attacker.frame(advert(FOREIGN, v3=v6, addrlist=NOT_OURS6 if v6 else NOT_OURS), v6=v6)
    )

    def probe() -> dict[Any, int]:
        diff = grown(before, counters(node))
        if diff.get(FENCE[v6], 0) < 1:
            raise AssertionError(f"moved so far: {diff}")
        return diff

    return wait_until(probe, TIMEOUT, what=f"{node.host_name} to judge the fence")


def test_every_crafted_packet_is_dropped_and_counted(
    make_lab: MakeLab, attacker_of: Callable[[Lab], Attacker]
) -> None:
    lab, r1, r2 = hostile_lab(make_lab)
    attacker = attacker_of(lab)
    for case in CRAFTED:
        before = counters(r1)
        attacker.send(attacker.frame(case.vrrp(), ttl=case.ttl, v6=case.v6), SENT)
        diff = judged(r1, before, attacker, case.v6)
        want = Counter({(case.where, case.reason): SENT}) + Counter({FENCE[case.v6]: 1})
        assert diff == want, f"{case.name}: {SENT} sent, counters moved {diff}"
        assert steady(lab, r1, r2), f"{case.name}: the master changed"
        print(f"{case.name}: {SENT} sent, {case.reason} +{SENT}, nothing else moved")

    # r1's own address as the source: over IPv6 r1 counts it as its own advert looped
    # back (own_advert); over IPv4 the kernel drops a packet from one of its own
    # addresses before any socket sees it (a martian). r2 takes either for r1's advert.
    for v6, vrid in ((True, V6), (False, V2)):
        before, before_r2 = counters(r1), counters(r2)
        own = str(r1.host.link_local["eth0"] if v6 else r1.host.ip)
        attacker.send(attacker.frame(advert(vrid, 200), src=own, v6=v6), SENT)
        own_drops: dict[tuple[Where, str], int] = {("eth0 IPv6", "own_advert"): SENT} if v6 else {}
        assert judged(r1, before, attacker, v6) == {**own_drops, FENCE[v6]: 1}, f"from {own}"
        wait_until(
            lambda: grown(before_r2, counters(r2)).get((vrid, "adverts_received"), 0) >= SENT,  # noqa: B023
            TIMEOUT,
            what="r2 to accept the spoofed adverts as r1's",
        )
        assert steady(lab, r1, r2)

    # RFC 5798 has no interval check (a backup learns the master's, 6.4.2): a lower v3
    # advert with another interval is accepted, and a master discards it (6.4.3).
    before = counters(r1)
    attacker.send(attacker.frame(advert(V3, adv=200)), SENT)
    assert judged(r1, before, attacker) == {(V3, "adverts_received"): SENT, FENCE[False]: 1}
    assert steady(lab, r1, r2)
    positive_control(lab, r1, r2, attacker)


def backup_of(node: Node, vrid: int, master: str) -> bool:
    """The node's router `vrid` is BACKUP and hears `master` as the master."""
    (r,) = [r for r in node.status() if r["vrid"] == vrid]
    return bool(r["state"] == "BACKUP" and r["master_ip"] == master)


def positive_control(lab: Lab, r1: Node, r2: Node, attacker: Attacker) -> None:
    """A valid advert above r1's priority, from the attacker's address: r1 goes backup
    (RFC 3768 6.4.3) and a stream of them at the advert interval keeps it there (6.4.2),
    both routers counting each one as accepted; once it stops r1 takes over again."""
    before = counters(r1)
    stream = attacker.stream(attacker.frame(advert(priority=250)))
    try:
        # Both: r1's last advert as it steps down (router.py, for the winner's GARPs) can
        # name r1 as r2's master until the attacker's next advert.
        wait_until(
            lambda: backup_of(r1, V2, attacker.ip) and backup_of(r2, V2, attacker.ip),
            TIMEOUT,
            what="r1 and r2 backups of the attacker",
        )
        holds_over_adverts(
            lambda: backup_of(r1, V2, attacker.ip) and backup_of(r2, V2, attacker.ip),
            lambda: counters(r1)[V2, "adverts_received"],
            3,
            what="r1 and r2 backups of the attacker",
        )
    finally:
        stream.stop()
    key = (V2, "adverts_received")
    assert judged(r1, before, attacker) == {key: stream.sent, FENCE[False]: 1}
    wait_until(lambda: steady(lab, r1, r2), TIMEOUT, what="r1 master again after the stream")


def test_priority_255_with_a_foreign_address_list_is_taken_for_the_owner(
    make_lab: MakeLab, attacker_of: Callable[[Lab], Attacker]
) -> None:
    """RFC 3768 7.1 (RFC 5798 7.1 alike): an address list that differs from ours is a
    drop "if the packet was not generated by the address owner (Priority does not equal
    255), ... otherwise continue processing". So a priority-255 advert listing addresses
    that are not ours is accepted, and a master below 255 yields to it (6.4.3): VRRP
    without authentication (RFC 3768 10, RFC 5798 9) cannot tell a spoofed owner from a
    real one. keepalived's check has no such exemption (addr_list_err). This pins
    the RFC's behaviour: the event logged (the RFC's SHOULD), and the damage ending with
    the spoof: r1 takes over again once the adverts stop (Master_Down_Interval later)."""
    lab, r1, r2 = hostile_lab(make_lab)
    attacker = attacker_of(lab)
    for vrid in (V2, V3):
        before = counters(r1)
        spoof = attacker.stream(attacker.frame(advert(vrid, 255, addrlist=NOT_OURS)))
        try:
            wait_until(
                lambda: backup_of(r1, vrid, attacker.ip),  # noqa: B023 (waited on at once)
                TIMEOUT,
                what=f"r1 to yield router {vrid} to the spoofed owner",
            )
            assert lab.holders(VIPS[vrid]) == [], "nobody serves the VIP while the spoof lasts"
            said = f"VR_{vrid} vrid={vrid} eth0: accepted an owner's (priority 255) advert from"
            assert f"{said} {attacker.ip} although its addresses" in r1.log()  # SHOULD log
        finally:
            spoof.stop()
        key = (vrid, "adverts_received")
        assert judged(r1, before, attacker) == {key: spoof.sent, FENCE[False]: 1}, "not a drop"
        wait_until(lambda: steady(lab, r1, r2), TIMEOUT, what="r1 master again after the spoof")


# -- a flood ----------------------------------------------------------------------------

# The flood's sender, run in the client's namespace: one prebuilt frame, `rate` a second
# for `seconds`, in bursts of a millisecond's worth; prints what it sent, as JSON.
FLOODER = """
import json, socket, sys, time
frame, rate, seconds = bytes.fromhex(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind(("eth0", 0))
total, burst = int(rate * seconds), max(1, rate // 1000)
sent = errors = 0
start = time.monotonic()
while sent + errors < total:
    delay = start + (sent + errors) / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    for _ in range(min(burst, total - sent - errors)):
        try:
            sock.send(frame)
            sent += 1
        except OSError:
            errors += 1
print(json.dumps({"sent": sent, "errors": errors, "seconds": time.monotonic() - start}))
"""


def socket_drops(pid: int) -> int:
    """Packets the kernel dropped at the process's raw VRRP sockets (receive buffer
    full): /proc/<pid>/net/raw's last column, for protocol 112 (the "port" 0x0070)."""
    with open(f"/proc/{pid}/net/raw") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return sum(int(row[-1]) for row in rows if row[1].endswith(":0070"))


NFT_TABLE = "hostile_wire"


def count_input(lab: Lab, host: Host, source: str) -> None:
    """An nftables counter of the IPv4 VRRP packets from `source` that reach the host's
    input hook: what its raw sockets are handed, whatever the LAN lost on the way."""
    rules = lab.path(f"{host.name}-count.nft")
    rules.write_text(
        f"table ip {NFT_TABLE} {{\n  chain input {{\n"
        "    type filter hook input priority 0; policy accept;\n"
        f"    ip saddr {source} ip protocol 112 counter\n  }}\n}}\n"
    )
    lab.run(host, ["nft", "-f", str(rules)])


def delivered(node: Node) -> int:
    """What `count_input`'s counter has seen on the node's host."""
    out = node.lab.run(node.host, ["nft", "list", "chain", "ip", NFT_TABLE, "input"]).stdout
    (packets,) = re.findall(r"counter packets (\d+)", out)
    return int(packets)


@dataclass
class Sample:
    """One daemon's figures at one moment."""

    counters: Counters
    adverts_sent: int
    socket_drops: int
    delivered: int
    cpu: float
    log_lines: int
    at: float

    @classmethod
    def of(cls, node: Node) -> Sample:
        pid = node.running.pid
        (vr,) = [r for r in node.status() if r["vrid"] == V2]
        return cls(counters(node), vr["adverts_sent"], socket_drops(pid), delivered(node),
                   process_cpu(pid), len(node.log().splitlines()), time.monotonic())  # fmt: skip


def test_a_flood_of_adverts_is_counted_and_the_master_stays(
    make_lab: MakeLab, attacker_of: Callable[[Lab], Attacker]
) -> None:
    """10^4 adverts a second for 10 s, each dropped at the deepest v2 check (its address
    list): r1 stays master with its VIPs, r2 backup, hearing r1's adverts throughout;
    every flooded packet is either counted by each daemon or dropped by its socket's
    full receive buffer (and counted there); the daemons log a few lines, not a line a
    drop; their CPU is measured and printed."""
    lab, r1, r2 = hostile_lab(make_lab)
    attacker = attacker_of(lab)
    assert lab.client is not None
    frame = attacker.frame(advert(addrlist=NOT_OURS))
    key = (V2, "address_mismatch")
    for node in (r1, r2):
        count_input(lab, node.host, attacker.ip)
    before = {n: Sample.of(n) for n in (r1, r2)}
    argv = [sys.executable, "-c", FLOODER, frame.hex(), str(FLOOD_RATE), str(FLOOD_SECONDS)]
    flooder = lab.start(lab.client, argv, name="flooder")
    while flooder.alive():  # the master stays, the backup too, all along
        assert steady(lab, r1, r2), "the flood moved a router"
        time.sleep(0.2)  # polling interval
    assert flooder.wait() == 0, flooder.log()
    report = json.loads(flooder.log().splitlines()[-1])
    sent = report["sent"]
    print(f"flood: {sent} sent in {report['seconds']:.2f} s ({sent / report['seconds']:.0f}/s), "
          f"{report['errors']} send errors")  # fmt: skip

    def accounted(node: Node) -> Sample:
        """The node's sample once every flooded packet is counted or dropped by its socket."""
        b = before[node]

        def probe() -> Sample:
            now = Sample.of(node)
            seen = now.counters[key] - b.counters[key] + now.socket_drops - b.socket_drops
            reached = now.delivered - b.delivered
            if seen > reached:
                raise AssertionError(f"{seen} counted, more than the {reached} delivered")
            if seen < reached:
                raise AssertionError(f"{seen} of {reached} delivered accounted for so far")
            return now

        return wait_until(probe, TIMEOUT, what=f"{node.host_name} to account for the flood")

    after = {n: accounted(n) for n in (r1, r2)}
    assert steady(lab, r1, r2)
    for node in (r1, r2):  # and no router changed state, however briefly
        flood_started = time.monotonic() - before[node].at
        assert all(r["since"] >= flood_started - 0.1 for r in node.status()), node.status()
    for node in (r1, r2):
        b, a = before[node], after[node]
        wall, cpu = a.at - b.at, a.cpu - b.cpu
        counted, overflowed = a.counters[key] - b.counters[key], a.socket_drops - b.socket_drops
        print(f"{node.host_name}: {a.delivered - b.delivered} of {sent} delivered = {counted} "
              f"counted as {key[1]} + {overflowed} dropped by the full socket buffer; CPU "
              f"{cpu:.2f} s in {wall:.1f} s ({100 * cpu / wall:.0f}% of a core, "
              f"{1e6 * cpu / counted:.1f} us a packet); "
              f"{a.log_lines - b.log_lines} log lines")  # fmt: skip
        assert a.delivered - b.delivered >= sent / 2, "the LAN lost most of the flood"
        # r2 also hears r1's adverts (and counts the owned router's as unknown_vrid)
        heard = {(v, "adverts_received") for v in (V2, V3, UNICAST, V6)} | {FENCE[False]}
        assert set(grown(b.counters, a.counters)) <= {key} | (heard if node is r2 else set())
        assert a.log_lines - b.log_lines <= MAX_LOG_LINES, "a log line a drop?"
        assert cpu / counted < MAX_CPU_PER_PACKET
    # r1's adverts went out and reached r2 all along (one a second: half is plenty)
    (r1_before, r1_after), (r2_before, r2_after) = ((before[n], after[n]) for n in (r1, r2))
    floor = (r1_after.at - r1_before.at) / 2
    assert r1_after.adverts_sent - r1_before.adverts_sent >= floor
    r2_heard = (
        r2_after.counters[V2, "adverts_received"] - r2_before.counters[V2, "adverts_received"]
    )
    assert r2_heard >= floor
    positive_control(lab, r1, r2, attacker)
