"""Virtual MAC interfaces on a real kernel: runtime/vmac.py run inside the lab's routers.

Each call runs a Python child in a router's namespace (never in the root namespace).
The point of it all: a client's ARP entry for a VIP keeps the VRRP MAC (RFC 5798 7.3)
when the VIP moves to another router, and only the holder's vmac answers for it.
"""

from __future__ import annotations

import json
import socket
import sys
import textwrap
from ipaddress import IPv6Address
from typing import Any

import pytest

from failover.lab import Lab, wait_until
from failover.runtime.vmac import format_mac, vmac_mac, vmac_name, wanted_sysctls
from tests.support import MakeLab

pytestmark = pytest.mark.root

VRID = 51
VIP = "192.0.2.200"
V4, V6 = socket.AF_INET, socket.AF_INET6
MAC4 = format_mac(vmac_mac(VRID, V4))

CHILD = """
import asyncio, errno, json, socket
from failover.runtime.vmac import Vmacs
async def main():
    async with Vmacs() as v:
{body}
print(json.dumps(asyncio.run(main())))
"""


def call(lab: Lab, host: str, body: str) -> Any:
    """Run `body` (the inside of `async with Vmacs() as v:`) in `host`; its JSON result."""
    code = CHILD.format(body=textwrap.indent(textwrap.dedent(body).strip(), " " * 8))
    out = lab.run(host, [sys.executable, "-c", code]).stdout
    return json.loads(out.splitlines()[-1])


def ensure(lab: Lab, host: str, family: int = V4, up: bool = True) -> dict[str, Any]:
    """ensure() (and up()) the vmac for VRID on eth0; its name, index and sysctl changes."""
    return dict(
        call(
            lab,
            host,
            f"""
            m = await v.ensure("eth0", {VRID}, {int(family)})
            if {up}:
                await v.up(m)
            ll = await v.link_local(m)
            return dict(name=m.name, index=m.index, changed=[str(c.path) for c in m.sysctls],
                        sysctls=[[str(c.path), c.old, c.new] for c in m.sysctls],
                        ll=str(ll) if ll else None)
            """,
        )
    )


def link(lab: Lab, host: str, name: str) -> dict[str, Any] | None:
    """`ip -d link show` of one interface, or None if there is none."""
    done = lab.run(host, ["ip", "-j", "-d", "link", "show", "dev", name], check=False)
    return dict(json.loads(done.stdout)[0]) if done.returncode == 0 else None


def read(lab: Lab, host: str, path: str) -> str:
    return lab.run(host, ["cat", path]).stdout.strip()


def neighbour_mac(lab: Lab, ip: str) -> str | None:
    """The client's neighbour entry for `ip` on eth0, if it has a usable one."""
    out = lab.run("client", ["ip", "-j", "neigh", "show", ip, "dev", "eth0"]).stdout
    for entry in json.loads(out or "[]"):
        if "lladdr" in entry and "FAILED" not in entry.get("state", []):
            return str(entry["lladdr"])
    return None


def pings(lab: Lab, ip: str) -> bool:
    return lab.run("client", ["ping", "-c1", "-W1", ip], check=False).returncode == 0


def mac_of(lab: Lab, host: str, ifname: str) -> str:
    found = link(lab, host, ifname)
    assert found is not None
    return str(found["address"])


def test_create_adopt_list_remove(make_lab: MakeLab) -> None:
    lab = make_lab(routers=1)
    made = ensure(lab, "r1")
    name = made["name"]
    assert name == vmac_name("eth0", VRID, V4)
    info = link(lab, "r1", name)
    assert info is not None
    assert info["linkinfo"]["info_kind"] == "macvlan"
    assert info["linkinfo"]["info_data"]["mode"] == "bridge"
    assert info["address"] == MAC4 == "00:00:5e:00:01:33"
    assert info["link"] == "eth0"
    assert "UP" in info["flags"]
    for path, value in wanted_sysctls(name, "eth0", V4):
        assert read(lab, "r1", str(path)) == value, path
    assert made["changed"]  # a fresh namespace had other values
    assert made["ll"] is None  # IPv6 is off on an IPv4 vmac

    again = ensure(lab, "r1")
    assert again["index"] == made["index"]  # adopted, not recreated
    assert again["changed"] == []
    macs = [i["address"] for i in json.loads(lab.run("r1", ["ip", "-j", "link"]).stdout)]
    assert macs.count(MAC4) == 1

    found = call(lab, "r1", "return [[m.name, m.parent, m.vrid, m.family] for m in await v.find()]")
    assert found == [[name, "eth0", VRID, V4]]
    assert call(lab, "r1", f"return await v.remove({name!r})") is True
    assert link(lab, "r1", name) is None
    assert call(lab, "r1", "return await v.find()") == []
    assert call(lab, "r1", f"return await v.remove({name!r})") is False


def test_a_wrong_macvlan_is_replaced_and_a_foreign_interface_is_left_alone(
    make_lab: MakeLab,
) -> None:
    lab = make_lab(routers=1)
    name = vmac_name("eth0", VRID, V4)
    lab.run("r1", ["ip", "link", "add", name, "link", "eth0", "type", "macvlan", "mode", "private"])
    ensure(lab, "r1")
    info = link(lab, "r1", name)
    assert info is not None
    assert info["linkinfo"]["info_data"]["mode"] == "bridge"
    assert info["address"] == MAC4
    call(lab, "r1", f"return await v.remove({name!r})")

    ip = ["ip", "link", "add", "link", "eth0", "vrrp.51", "address", MAC4, "type", "macvlan"]
    lab.run("r1", ip)  # keepalived's vmac, say
    assert errors(lab, f'v.ensure("eth0", {VRID}, socket.AF_INET)') == ["EADDRINUSE"]
    assert link(lab, "r1", name) is None  # nothing made that could not come up
    lab.run("r1", ["ip", "link", "add", name, "type", "veth", "peer", "name", "other0"])
    refused = errors(
        lab,
        f'v.ensure("eth0", {VRID}, socket.AF_INET)',
        f"v.remove({name!r})",
        'v.ensure("no0", 1, socket.AF_INET6)',  # no such parent
    )
    assert refused == ["EEXIST", "EPERM", "ENODEV"]
    assert call(lab, "r1", "return await v.find()") == []
    assert link(lab, "r1", name) is not None  # someone else's veth is still there
    assert link(lab, "r1", "vrrp.51") is not None  # and the other vmac


def errors(lab: Lab, *steps: str) -> list[str | None]:
    """Await each of `steps` (expressions on `v`) in r1: the errno name each raised."""
    body = "out = []\n"
    for step in steps:
        body += f"try:\n    await {step}\n    out.append(None)\n"
        body += "except OSError as err:\n    out.append(errno.errorcode[err.errno])\n"
    return list(call(lab, "r1", body + "return out"))


def test_teardown_finds_every_vmac_and_nothing_else(make_lab: MakeLab) -> None:
    lab = make_lab(routers=1, lans=2)
    made = call(
        lab,
        "r1",
        """
        wanted = [("eth0", socket.AF_INET), ("eth0", socket.AF_INET6), ("eth1", socket.AF_INET)]
        return [(await v.ensure(parent, 51, family)).name for parent, family in wanted]
        """,
    )  # the child exits without removing them: a crashed daemon's leftovers
    ip = ["ip", "link", "add", "link", "eth1"]
    lab.run("r1", [*ip, "vrrp.52", "address", "00:00:5e:00:01:34", "type", "macvlan"])
    lab.run(
        "r1", [*ip, vmac_name("eth1", 52, V4), "address", "02:00:00:00:00:34", "type", "macvlan"]
    )
    found = call(
        lab, "r1", "return sorted([m.name, m.parent, m.vrid, m.family] for m in await v.find())"
    )
    assert found == sorted(
        [name, parent, VRID, family]
        for name, parent, family in zip(made, ["eth0", "eth0", "eth1"], [V4, V6, V4], strict=True)
    )
    assert sorted(call(lab, "r1", "return await v.remove_all()")) == sorted(made)
    assert all(link(lab, "r1", name) is None for name in made)
    assert call(lab, "r1", "return await v.find()") == []
    assert link(lab, "r1", "vrrp.52") is not None  # keepalived's, say: not ours
    assert link(lab, "r1", vmac_name("eth1", 52, V4)) is not None  # our name, not our MAC


def test_a_strict_all_rp_filter_is_moved_as_keepalived_does(make_lab: MakeLab) -> None:
    lab = make_lab(routers=1)
    conf = "/proc/sys/net/ipv4/conf"
    lab.run("r1", ["sh", "-c", f"echo 1 > {conf}/all/rp_filter"])
    made = ensure(lab, "r1")
    assert f"{conf}/all/rp_filter" in made["changed"]
    values = {i: read(lab, "r1", f"{conf}/{i}/rp_filter") for i in ("all", "default", "eth0")}
    assert values == {"all": "0", "default": "1", "eth0": "1"}
    assert read(lab, "r1", f"{conf}/{made['name']}/rp_filter") == "0"
    lab.run("r1", ["ip", "addr", "add", f"{VIP}/24", "dev", made["name"]])
    wait_until(lambda: pings(lab, VIP), 30, what="the client to reach the VIP")

    restore = f"""
    from pathlib import Path
    from failover.runtime.vmac import SysctlChange, restore_sysctls
    changes = [SysctlChange(Path(p), o, n) for p, o, n in {made["sysctls"]!r}]
    restore_sysctls(changes)
    """
    call(lab, "r1", f"return await v.remove({made['name']!r})")
    lab.run("r1", [sys.executable, "-c", textwrap.dedent(restore)])
    values = {i: read(lab, "r1", f"{conf}/{i}/rp_filter") for i in ("all", "default", "eth0")}
    assert values == {"all": "1", "default": "0", "eth0": "0"}


ARP_PROBE = """
import json, select, socket, struct, sys, time
requests = json.loads(sys.argv[1])      # [[sender ip, target ip, expected replier MAC], ...]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind(("eth0", 0x0806))
mac = s.getsockname()[4]
for sip, tip, _ in requests:
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + socket.inet_aton(sip)
    arp += bytes(6) + socket.inet_aton(tip)
    s.send((b"\\xff" * 6 + mac + struct.pack("!H", 0x0806) + arp).ljust(60, b"\\0"))
replies = {sip: [] for sip, _, _ in requests}
deadline = time.monotonic() + 30    # bounds a failure only; success ends the loop
while not all(want in replies[sip] for sip, _, want in requests):
    if not select.select([s], [], [], max(0.0, deadline - time.monotonic()))[0]:
        break
    frame = s.recv(2048)
    op, sha, spa, tpa = struct.unpack("!6xH6s4s6x4s", frame[14:42])
    target = socket.inet_ntoa(tpa)
    if op == 2 and target in replies:
        replies[target].append(":".join(f"{b:02x}" for b in sha))
print(json.dumps(replies))
"""


def arp_replies(lab: Lab, requests: list[tuple[str, str, str]]) -> dict[str, set[str]]:
    """Broadcast ARP requests from the client, in order, each from its own sender IP.

    Returns the MACs that answered each, read until every request has had its expected
    answer. A host handles one interface's requests in order, so when a later request's
    expected answer from that interface is in, so is any answer to the earlier ones.
    """
    out = lab.run("client", [sys.executable, "-c", ARP_PROBE, json.dumps(requests)]).stdout
    return {sip: set(macs) for sip, macs in json.loads(out).items()}


def test_only_the_vmac_answers_for_the_vip_and_only_for_it(make_lab: MakeLab) -> None:
    lab = make_lab(routers=2)
    r1 = ensure(lab, "r1")["name"]
    r2 = ensure(lab, "r2")["name"]  # a backup: up, no VIP
    lab.run("r1", ["ip", "addr", "add", f"{VIP}/24", "dev", r1])
    eth0 = mac_of(lab, "r1", "eth0")
    # vmac path: .101 (must not answer: r1's own address) before .102 (answers).
    # eth0 path: .102 (must not answer: the VIP) before .103 (answers).
    replies = arp_replies(
        lab,
        [
            ("192.0.2.101", "192.0.2.1", eth0),
            ("192.0.2.102", VIP, MAC4),
            ("192.0.2.103", "192.0.2.1", eth0),
        ],
    )
    assert replies == {
        "192.0.2.101": {eth0},  # arp_ignore=1 on the vmac: not for the parent's address
        "192.0.2.102": {MAC4},  # arp_ignore=1 on the parent: not for the vmac's VIP
        "192.0.2.103": {eth0},
    }
    wait_until(lambda: pings(lab, VIP), 30, what="the client to reach the VIP")
    assert neighbour_mac(lab, VIP) == MAC4
    # r2's vmac, up without the VIP (a backup), answered nothing and sent nothing at all.
    assert read(lab, "r2", f"/sys/class/net/{r2}/statistics/tx_packets") == "0"


GARP = """
import sys
from ipaddress import IPv4Address
from failover.runtime.arp import GarpSender
sender = GarpSender(sys.argv[1])
sender.send([IPv4Address(sys.argv[2])])
sender.close()
"""


def test_the_vip_keeps_its_mac_when_it_moves(make_lab: MakeLab) -> None:
    lab = make_lab(routers=2)
    r1 = ensure(lab, "r1")["name"]
    lab.run("r1", ["ip", "addr", "add", f"{VIP}/24", "dev", r1])
    wait_until(lambda: pings(lab, VIP), 30, what="the client to reach the VIP on r1")
    assert neighbour_mac(lab, VIP) == MAC4
    assert [h.name for h in lab.holders(VIP)] == ["r1"]

    assert call(lab, "r1", f"return await v.remove({r1!r})") is True  # the VIP goes with it
    assert lab.holders(VIP) == []
    r2 = ensure(lab, "r2")["name"]
    lab.run("r2", ["ip", "addr", "add", f"{VIP}/24", "dev", r2])
    # RFC 5798 6.4.1: the new master's gratuitous ARP, from the vmac: the switch learns
    # the VRRP MAC on r2's port; the client's entry already has the right MAC.
    lab.run("r2", [sys.executable, "-c", GARP, r2, VIP])
    wait_until(lambda: pings(lab, VIP), 30, what="the client to reach the VIP on r2")
    assert neighbour_mac(lab, VIP) == MAC4
    assert [h.name for h in lab.holders(VIP)] == ["r2"]
    assert MAC4 not in (mac_of(lab, "r1", "eth0"), mac_of(lab, "r2", "eth0"))


def addresses6(lab: Lab, host: str, ifname: str) -> set[IPv6Address]:
    """Every IPv6 address on an interface, tentative or not."""
    out = lab.run(host, ["ip", "-j", "-6", "addr", "show", "dev", ifname]).stdout
    return {IPv6Address(a["local"]) for a in json.loads(out)[0]["addr_info"] if "local" in a}


def parent_link_local(lab: Lab, host: str) -> IPv6Address:
    def found() -> IPv6Address | None:
        out = lab.run(host, ["ip", "-j", "-6", "addr", "show", "dev", "eth0", "scope", "link"])
        for a in json.loads(out.stdout)[0]["addr_info"]:
            if "local" in a and not a.get("tentative") and not a.get("dadfailed"):
                return IPv6Address(a["local"])
        return None

    address = wait_until(found, 30, what=f"{host}'s eth0 to have a link-local address")
    assert address is not None
    return address


UDP_LISTEN = """
import json, socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 50051))
# every IPv6 interface is in ff02::1 (all nodes): nothing to join
print("ready", flush=True)
data, source = s.recvfrom(100)
print(json.dumps([data.decode(), source[0]]), flush=True)
"""

UDP_SEND = """
import socket, sys
name, source = sys.argv[1], sys.argv[2]
index = socket.if_nametoindex(name)
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind((source, 0, 0, index))   # EADDRNOTAVAIL if the address were tentative or absent
s.sendto(b"from the vmac", ("ff02::1", 50051, 0, index))
"""


def test_an_ipv6_vmac_has_the_parents_link_local_address_usable_at_once(
    make_lab: MakeLab,
) -> None:
    lab = make_lab(routers=2)
    own = {h: parent_link_local(lab, h) for h in ("r1", "r2")}
    made = {h: ensure(lab, h, V6) for h in ("r1", "r2")}
    for host, m in made.items():
        info = link(lab, host, m["name"])
        assert info is not None and info["address"] == format_mac(vmac_mac(VRID, V6))
        assert IPv6Address(m["ll"]) == own[host]  # not fe80::200:5eff:fe00:233 on both
        assert addresses6(lab, host, m["name"]) == {own[host]}  # and nothing else
        assert read(lab, host, f"/proc/sys/net/ipv6/conf/{m['name']}/addr_gen_mode") == "1"
    assert made["r1"]["ll"] != made["r2"]["ll"]

    listener = lab.start("client", [sys.executable, "-c", UDP_LISTEN])
    wait_until(lambda: "ready" in listener.log(), 30, what="the client to listen")
    name = made["r1"]["name"]
    lab.run("r1", [sys.executable, "-c", UDP_SEND, name, made["r1"]["ll"]])
    line = wait_until(
        lambda: [x for x in listener.log().splitlines() if x.startswith("[")],
        30,
        what="the datagram to arrive",
    )[0]
    data, source = json.loads(line)
    assert data == "from the vmac"
    assert IPv6Address(source.split("%")[0]) == own["r1"]

    # down (an IPv6 backup) flushes the address; up adds it back, usable at once.
    lowered = call(
        lab,
        "r1",
        f"""
        (m,) = [m for m in await v.find() if m.name == {name!r}]
        await v.down(m)
        gone = await v.link_local(m)
        await v.up(m)
        return [gone, str(await v.link_local(m))]
        """,
    )
    assert lowered == [None, str(own["r1"])]
