"""Unsolicited Neighbor Advertisements on AF_PACKET (RFC 5798 6.4.2, RFC 4861 4.4, 7.2.6).

The IPv6 counterpart of gratuitous ARP: on becoming master, a router sends, per virtual
IPv6 address, a Neighbor Advertisement with the Router flag set, Solicited unset and
Override set, target = the virtual address, and a Target Link-Layer Address option
carrying the MAC hosts must now use. Hosts holding an entry for the target update it
(Override); hosts without one ignore it (RFC 4861 7.2.5).

The frame, as keepalived builds it (keepalived/vrrp/vrrp_ndisc.c):

- Ethernet: destination 33:33:00:00:00:01 (RFC 2464 7, the mapping of ff02::1),
  source = the advertised MAC, so switches learn where it now lives;
- IPv6: source = the virtual address itself (RFC 4861 7.2.4 wants "an address assigned
  to the interface": the address was just added, and the link-local one may not be
  ready), destination ff02::1 (all nodes), Hop Limit 255 (RFC 4861 7.1.2 drops others);
- ICMPv6 type 136 with its checksum over RFC 8200 8.1's pseudo-header.

keepalived sets R only when the interface forwards; RFC 5798 6.4.2 says set it, so we do.

Why AF_PACKET rather than a raw ICMPv6 socket: the kernel would take the interface's
own MAC as the Ethernet source, which is wrong once the advertised MAC is a virtual one
(RFC 5798 7.3); building the frame ourselves keeps source MAC and option in step.
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

from failover.protocol.packet import checksum
from failover.runtime.arp import Announcer, ethernet_header

ETH_P_IPV6 = 0x86DD
IPPROTO_ICMPV6 = 58
ALL_NODES = IPv6Address("ff02::1")  # RFC 4291 2.7.1
ND_HOP_LIMIT = 255  # RFC 4861 7.1.2
ND_NEIGHBOR_ADVERT = 136  # RFC 4861 4.4
NA_ROUTER, NA_SOLICITED, NA_OVERRIDE = 0x80, 0x40, 0x20  # RFC 4861 4.4 flags (R, S, O)
OPT_TARGET_LINKADDR = 2  # RFC 4861 4.6.1
IPV6_HEADER = struct.Struct("!IHBB16s16s")  # version/class/flow, length, next, hops, addrs


def multicast_mac(group: IPv6Address) -> bytes:
    """The Ethernet address of an IPv6 multicast group (RFC 2464 7): 33:33 + low 32 bits."""
    return b"\x33\x33" + group.packed[-4:]


def icmpv6_checksum(source: IPv6Address, destination: IPv6Address, message: bytes) -> int:
    """The ICMPv6 checksum (RFC 4443 2.3) over the pseudo-header of RFC 8200 8.1."""
    pseudo = source.packed + destination.packed + struct.pack("!I3xB", len(message), IPPROTO_ICMPV6)
    return checksum(pseudo + message)


def neighbor_advert(source: IPv6Address, target: IPv6Address, mac: bytes) -> bytes:
    """An unsolicited NA for `target` at `mac` (RFC 5798 6.4.2: R and O set, S unset),
    from `source` to ff02::1, as an ICMPv6 message with its checksum."""
    flags = NA_ROUTER | NA_OVERRIDE
    option = struct.pack("!BB", OPT_TARGET_LINKADDR, 1) + mac  # length in units of 8 bytes
    body = struct.pack("!I", flags << 24) + target.packed + option
    message = struct.pack("!BBH", ND_NEIGHBOR_ADVERT, 0, 0) + body
    sum_ = icmpv6_checksum(source, ALL_NODES, message)
    return struct.pack("!BBH", ND_NEIGHBOR_ADVERT, 0, sum_) + body


def na_frame(mac: bytes, address: IPv6Address) -> bytes:
    """The Ethernet frame announcing `address` at `mac` (see the module docstring)."""
    icmp = neighbor_advert(address, address, mac)
    ip = IPV6_HEADER.pack(
        6 << 28, len(icmp), IPPROTO_ICMPV6, ND_HOP_LIMIT, address.packed, ALL_NODES.packed
    )
    return ethernet_header(multicast_mac(ALL_NODES), mac, ETH_P_IPV6) + ip + icmp


class NeighborAdvertiser(Announcer[IPv6Address]):
    """Unsolicited Neighbor Advertisements on one interface (RFC 5798 6.4.2).

    `mac`: the MAC to advertise (and send from), the interface's own by default.
    Same `send`, `schedule` and `close` as `GarpSender`.
    """

    ethertype = ETH_P_IPV6

    def frame(self, address: IPv6Address) -> bytes:
        return na_frame(self.mac, address)
