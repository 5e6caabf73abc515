"""The raw VRRP sockets (IP protocol 112) of one interface: IPv4 and IPv6.

One non-blocking socket per interface and address family both sends and receives; the
kernel builds the IP header. A raw IPv4 socket hands received packets over with their
header, which the receive validation needs (TTL, source). A raw IPv6 socket does not,
so `VrrpSocket6` reads the hop limit and destination from ancillary data and returns
`Datagram`s.

`VrrpSocket6` is not bound to its source address: a bound raw IPv6 socket receives only
unicast sent to that address (and its multicast groups), which would refuse unicast
adverts to the interface's global address. Instead every send names the source and the
interface in an IPV6_PKTINFO control message (RFC 3542 6.1), which the kernel checks
like a bind: a source that is not on the interface (or is tentative) fails the send
with EINVAL.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import TypeVar

from failover.protocol.packet import VRRP_GROUP, VRRP_GROUP6, VRRP_PROTOCOL, VRRP_TTL, IPAddress
from failover.protocol.receive import Datagram

IP_MULTICAST_ALL = 49  # linux/in.h; not exported by Python's socket module
IPV6_MULTICAST_ALL = 29  # linux/in6.h; likewise
IP_PKTINFO = 8  # linux/in.h; Python exports it from 3.12 only
RECV_BUFFER = 65535
READ_BATCH = 64  # packets read per readable event, so one busy LAN cannot starve the loop
# 255 routers' adverts can arrive in one burst; each small packet costs ~1 KiB of buffer.
RECV_BUFFER_BYTES = 1 << 20
SO_RCVBUFFORCE = 33  # asm-generic/socket.h; not exported by Python's socket module
IN6_PKTINFO = struct.Struct("@16sI")  # struct in6_pktinfo: address, interface index
HOP_LIMIT = struct.Struct("@i")
ANCILLARY_SPACE = socket.CMSG_SPACE(IN6_PKTINFO.size) + socket.CMSG_SPACE(HOP_LIMIT.size)

T = TypeVar("T")


def ip_mreqn(group: IPv4Address, address: IPv4Address, ifindex: int) -> bytes:
    """struct ip_mreqn (linux/in.h): multicast group, local address, interface index."""
    return group.packed + address.packed + struct.pack("@i", ifindex)


def ipv6_mreq(group: IPv6Address, ifindex: int) -> bytes:
    """struct ipv6_mreq (linux/in6.h): multicast group, interface index."""
    return group.packed + struct.pack("@I", ifindex)


def in_pktinfo(source: IPv4Address, ifindex: int) -> bytes:
    """struct in_pktinfo (linux/in.h) to send with: interface, source (ipi_spec_dst)."""
    return struct.pack("@i", ifindex) + source.packed + bytes(4)


def in6_pktinfo(address: IPv6Address, ifindex: int) -> bytes:
    """struct in6_pktinfo (linux/ipv6.h): an address and an interface index."""
    return IN6_PKTINFO.pack(address.packed, ifindex)


SocketOption = tuple[int, int, int | bytes]  # level, option name, value
Ancillary = tuple[int, int, bytes]  # sendmsg control data: level, type, data


@dataclass(frozen=True, slots=True)
class Family:
    """The socket options a VRRP socket sets, by their names in one address family."""

    family: int
    level: int
    multicast_hops: int
    unicast_hops: int
    multicast_if: int
    multicast_loop: int
    multicast_all: int
    join: int


IPV4 = Family(socket.AF_INET, socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, socket.IP_TTL,
              socket.IP_MULTICAST_IF, socket.IP_MULTICAST_LOOP, IP_MULTICAST_ALL,
              socket.IP_ADD_MEMBERSHIP)  # fmt: skip
IPV6 = Family(socket.AF_INET6, socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS,
              socket.IPV6_UNICAST_HOPS, socket.IPV6_MULTICAST_IF, socket.IPV6_MULTICAST_LOOP,
              IPV6_MULTICAST_ALL, socket.IPV6_JOIN_GROUP)  # fmt: skip


def open_raw(
    f: Family,
    ifname: str,
    interface: int | bytes,
    membership: bytes | None,
    extra: Iterable[SocketOption] = (),
) -> socket.socket:
    """A non-blocking raw protocol-112 socket that hears only `ifname`, sends multicast
    out of `interface` (IP_MULTICAST_IF's value) with TTL/Hop Limit 255 and is joined
    by `membership` (None: send only); then `extra` and a receive buffer for a burst of
    adverts."""
    options: list[SocketOption] = [
        (socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode()),
        # RFC 3768 5.2.3, RFC 5798 5.1.1.3 / 5.1.2.3: TTL / Hop Limit MUST be 255, for
        # multicast and (unicast adverts) unicast.
        (f.level, f.multicast_hops, VRRP_TTL),
        (f.level, f.unicast_hops, VRRP_TTL),
        (f.level, f.multicast_if, interface),
        (f.level, f.multicast_loop, 0),
        # Only the groups this socket joined, not every group joined on the host.
        (f.level, f.multicast_all, 0),
        *extra,
    ]
    if membership is not None:
        # RFC 3768 5.2.2, RFC 5798 5.1.1.2 / 5.1.2.2: receive the group on this interface.
        options.append((f.level, f.join, membership))
    sock = socket.socket(f.family, socket.SOCK_RAW, VRRP_PROTOCOL)
    try:
        for level, name, value in options:
            sock.setsockopt(level, name, value)
        try:  # root may exceed net.core.rmem_max
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECV_BUFFER_BYTES)
        except PermissionError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER_BYTES)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def read_batch(read: Callable[[], T | None]) -> list[T]:
    """Up to READ_BATCH results of `read()` until the socket has nothing waiting;
    `read` returns None for a message to skip."""
    out: list[T] = []
    for _ in range(READ_BATCH):
        try:
            item = read()
        except (BlockingIOError, InterruptedError):
            break
        if item is not None:
            out.append(item)
    return out


_GROUP = (str(VRRP_GROUP), 0)  # sendto's target for 224.0.0.18


class VrrpSocket:
    """Raw protocol-112 IPv4 socket bound to one interface, joined to 224.0.0.18 (or,
    `join=False`, a sender only: a vmac's, which must not join the group)."""

    def __init__(self, ifname: str, ifindex: int, source: IPv4Address, join: bool = True) -> None:
        self.ifname = ifname
        self.ifindex = ifindex
        self.source = source
        # RFC 3768 5.2.1: the source is the interface's primary address; the ip_mreqn
        # form of IP_MULTICAST_IF sets both the interface and the source.
        mreq = ip_mreqn(VRRP_GROUP, source, ifindex)
        self._sock = open_raw(IPV4, ifname, mreq, mreq if join else None)
        self._from: dict[IPAddress | None, list[Ancillary]] = {}  # IP_PKTINFO by source
        self._to: dict[IPAddress, tuple[str, int]] = {}  # unicast targets

    def fileno(self) -> int:
        return self._sock.fileno()

    def send(
        self,
        vrrp_message: bytes,
        destination: IPAddress | None = None,
        source: IPAddress | None = None,
    ) -> None:
        """Send one VRRP message to 224.0.0.18, or unicast to `destination`.

        The kernel adds the IP header. Unicast leaves this interface from `source` (a
        router's `unicast_source`; default the socket's) by IP_PKTINFO, as multicast
        does (IP_MULTICAST_IF), whatever the routing says.
        """
        if destination is None:
            self._sock.sendto(vrrp_message, _GROUP)
            return
        address = self._to.get(destination)
        if address is None:  # built once per peer and source: adverts repeat them
            address = self._to[destination] = (str(destination), 0)
        ancillary = self._from.get(source)
        if ancillary is None:
            mine = source if isinstance(source, IPv4Address) else self.source
            pktinfo = in_pktinfo(mine, self.ifindex)
            ancillary = self._from[source] = [(socket.IPPROTO_IP, IP_PKTINFO, pktinfo)]
        self._sock.sendmsg([vrrp_message], ancillary, 0, address)

    def receive(self) -> list[bytes]:
        """Every packet (IP header included) waiting now, up to READ_BATCH."""
        return read_batch(lambda: self._sock.recv(RECV_BUFFER))

    def close(self) -> None:
        self._sock.close()


class VrrpSocket6:
    """Raw protocol-112 IPv6 socket on one interface, joined to ff02::12 there.

    Adverts leave from `source`, the interface's link-local address (RFC 5798 5.1.2.1).
    The kernel neither computes nor checks a checksum (IPV6_CHECKSUM stays off): the
    VRRPv3 checksum, pseudo-header included (RFC 5798 5.2.8), is the daemon's.
    """

    def __init__(self, ifname: str, ifindex: int, source: IPv6Address) -> None:
        self.ifname = ifname
        self.ifindex = ifindex
        self.source = source
        ip6 = socket.IPPROTO_IPV6
        mreq = ipv6_mreq(VRRP_GROUP6, ifindex)
        # RFC 5798 7.1 checks the hop limit and destination of what arrives.
        want = [(ip6, socket.IPV6_RECVHOPLIMIT, 1), (ip6, socket.IPV6_RECVPKTINFO, 1)]
        self._sock = open_raw(IPV6, ifname, ifindex, mreq, want)
        # RFC 5798 5.1.2.1: the source is the interface's link-local address.
        self._from: dict[IPAddress | None, list[Ancillary]] = {}  # IPV6_PKTINFO by source
        self._to: dict[IPAddress | None, tuple[str, int, int, int]] = {}  # sendmsg targets

    def fileno(self) -> int:
        return self._sock.fileno()

    def send(
        self,
        vrrp_message: bytes,
        destination: IPAddress | None = None,
        source: IPAddress | None = None,
    ) -> None:
        """Send one VRRP message to ff02::12, or unicast to `destination`, from `source`
        (default the socket's link-local address)."""
        address = self._to.get(destination)
        if address is None:  # once per destination: str() of an address is not free
            target = VRRP_GROUP6 if destination is None else destination
            address = self._to[destination] = (str(IPv6Address(target.packed)), 0, 0, self.ifindex)
        ancillary = self._from.get(source)
        if ancillary is None:  # RFC 5798 5.1.2.1: the link-local address unless told
            mine = source if isinstance(source, IPv6Address) else self.source
            pktinfo = in6_pktinfo(mine, self.ifindex)
            ancillary = self._from[source] = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, pktinfo)]
        self._sock.sendmsg([vrrp_message], ancillary, 0, address)

    def receive(self) -> list[Datagram]:
        """Every VRRP message waiting now, up to READ_BATCH, with its IPv6 header's
        source, destination and hop limit."""
        return read_batch(self._read_one)

    def _read_one(self) -> Datagram | None:
        payload, ancillary, _, address = self._sock.recvmsg(RECV_BUFFER, ANCILLARY_SPACE)
        destination: IPv6Address | None = None
        hop_limit: int | None = None
        for level, kind, data in ancillary:
            if level != socket.IPPROTO_IPV6:
                continue
            if kind == socket.IPV6_PKTINFO and len(data) >= IN6_PKTINFO.size:
                destination = IPv6Address(IN6_PKTINFO.unpack_from(data)[0])
            elif kind == socket.IPV6_HOPLIMIT and len(data) >= HOP_LIMIT.size:
                hop_limit = HOP_LIMIT.unpack_from(data)[0]
        if destination is None or hop_limit is None:
            return None  # cannot happen with both options on; never guess a hop limit
        source = IPv6Address(str(address[0]).partition("%")[0])  # no scope: one interface
        return Datagram(source, destination, hop_limit, payload)

    def close(self) -> None:
        self._sock.close()
