"""Who may use the control socket: the peer's kernel credentials against the verbs.

Two fences, both needed. The socket file's mode (0600 root, or 0660 root:`control_group`)
keeps everyone else from connecting at all; the credentials the kernel records at
connect() (SO_PEERCRED, SO_PEERGROUPS, see socket(7)) decide, per request, what a
connected peer may ask: root everything, a member of `control_group` the read-only verbs
(status, events), anyone else nothing (a socket file made world-writable by hand still
serves no one else).

Standard library only, no asyncio: `failover check` imports `group_id`.
"""

from __future__ import annotations

import errno
import grp
import socket
import struct
from dataclasses import dataclass
from typing import Protocol

SO_PEERGROUPS = getattr(socket, "SO_PEERGROUPS", 59)  # Linux 4.13; Python 3.11 lacks it
GID = struct.Struct("=I")  # gid_t
NGROUPS_MAX = 65536


class SockOpt(Protocol):
    """What is read of a connected socket (socket.socket or asyncio's TransportSocket)."""

    def getsockopt(self, level: int, option: int, buflen: int, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Peer:
    """A connected client as the kernel saw it at connect()."""

    pid: int
    uid: int
    gid: int
    groups: frozenset[int] = frozenset()  # supplementary groups

    def member_of(self, gid: int) -> bool:
        return gid == self.gid or gid in self.groups


ROOT = Peer(pid=0, uid=0, gid=0)  # the daemon answering itself (tests, `answer` callers)


def peer_credentials(sock: SockOpt) -> Peer:
    """SO_PEERCRED (pid, uid, gid) and SO_PEERGROUPS of a connected unix socket."""
    pid, uid, gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    return Peer(pid, uid, gid, _peer_groups(sock))


def _peer_groups(sock: SockOpt) -> frozenset[int]:
    for size in (64, NGROUPS_MAX):  # ERANGE: more groups than the first buffer holds
        try:
            raw = sock.getsockopt(socket.SOL_SOCKET, SO_PEERGROUPS, size * GID.size)
        except OSError as err:
            if err.errno == errno.ERANGE:
                continue
            return frozenset()  # an old kernel: the primary gid still counts
        return frozenset(g for (g,) in GID.iter_unpack(raw[: len(raw) // GID.size * GID.size]))
    return frozenset()


def refusal(peer: Peer, command: str, read_only: frozenset[str], group: int | None) -> str | None:
    """Why `peer` may not run `command`, or None: root may do all, members of `group`
    the `read_only` verbs, nobody else anything."""
    if peer.uid == 0:
        return None
    if group is None or not peer.member_of(group):
        who = "root" if group is None else f"root and members of group {_group_name(group)}"
        return f"permission denied: only {who} may use the control socket (uid {peer.uid})"
    if command not in read_only:
        return f"permission denied: {command!r} is for root only ({_group_name(group)} may: " + (
            ", ".join(sorted(read_only)) + ")"
        )
    return None


def group_id(name: str) -> int:
    """The gid of group `name`; KeyError with a sentence if there is no such group."""
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise KeyError(f"group {name!r} does not exist on this host") from None


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return f"gid {gid}"
