"""The raw IPv4 socket for VRRP (IP protocol 112) on one interface.

One non-blocking socket per interface both sends and receives. The kernel builds the
IP header; a raw IPv4 socket hands received packets over with their header, which the
receive validation needs (TTL, source).
"""

from __future__ import annotations

import socket
import struct
from ipaddress import IPv4Address

from failover.protocol.packet import VRRP_GROUP, VRRP_PROTOCOL, VRRP_TTL

IP_MULTICAST_ALL = 49  # linux/in.h; not exported by Python's socket module
RECV_BUFFER = 65535
READ_BATCH = 64  # packets read per readable event, so one busy LAN cannot starve the loop
# 255 routers' adverts can arrive in one burst; each small packet costs ~1 KiB of buffer.
RECV_BUFFER_BYTES = 1 << 20
SO_RCVBUFFORCE = 33  # asm-generic/socket.h; not exported by Python's socket module


def ip_mreqn(group: IPv4Address, address: IPv4Address, ifindex: int) -> bytes:
    """struct ip_mreqn (linux/in.h): multicast group, local address, interface index."""
    return group.packed + address.packed + struct.pack("@i", ifindex)


class VrrpSocket:
    """Raw protocol-112 socket bound to one interface, joined to 224.0.0.18."""

    def __init__(self, ifname: str, ifindex: int, source: IPv4Address) -> None:
        self.ifname = ifname
        self.source = source
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, VRRP_PROTOCOL)
        try:
            # Receive only what arrives on this interface.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
            # RFC 3768 5.2.3: TTL MUST be 255, for multicast and (defensively) unicast.
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, VRRP_TTL)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, VRRP_TTL)
            # RFC 3768 5.2.1: the source is the interface's primary address; the
            # ip_mreqn form of IP_MULTICAST_IF sets both the interface and the source.
            mreq = ip_mreqn(VRRP_GROUP, source, ifindex)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreq)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
            # Only the groups this socket joined, not every group joined on the host.
            sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
            # RFC 3768 5.2.2: adverts go to 224.0.0.18; receive them on this interface.
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            try:  # root may exceed net.core.rmem_max
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECV_BUFFER_BYTES)
            except PermissionError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER_BYTES)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._sock = sock

    def fileno(self) -> int:
        return self._sock.fileno()

    def send(self, vrrp_message: bytes) -> None:
        """Send one VRRP message to 224.0.0.18 (the kernel adds the IP header)."""
        self._sock.sendto(vrrp_message, (str(VRRP_GROUP), 0))

    def receive(self) -> list[bytes]:
        """Every packet (IP header included) waiting now, up to READ_BATCH."""
        out = []
        for _ in range(READ_BATCH):
            try:
                out.append(self._sock.recv(RECV_BUFFER))
            except (BlockingIOError, InterruptedError):
                break
        return out

    def close(self) -> None:
        self._sock.close()
