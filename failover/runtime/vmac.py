"""Virtual MAC interfaces (`use_vmac`): one macvlan per (parent interface, VRID, family).

RFC 5798 7.3 (RFC 3768 7.3): a virtual router answers with the MAC 00:00:5e:00:01:VRID
(IPv4) or 00:00:5e:00:02:VRID (IPv6). failover gives it a macvlan of its own on the
router's interface, in **bridge** mode (FRR's vrrpd requires it; keepalived uses private
mode, which also works but cuts the vmacs of one parent off from each other), carrying
the VIPs, sending the adverts and the gratuitous ARPs.

Names (`vmac_name`): ``fo`` + ``4``/``6`` + the VRID in two hex digits (the last byte
of the MAC) + ``.`` + the parent's name, e.g. ``fo433.eth0`` for VRID 51 on eth0. A
parent name longer than 9 characters, or holding ``~``, is shortened to its first 3
characters + ``~`` + 5 hex digits of its SHA-256 (``fo433.enp~1a2b3``): at most 15
characters (IFNAMSIZ - 1); the two forms never collide (only the short one has no
``~``). Teardown (`Vmacs.find`) takes an interface for failover's only if it is a
macvlan, its name parses and its MAC is the one the name says: a user's interface that
merely starts with ``fo`` is never touched.

What failover does in each state (the lead wires this into the daemon):

- The vmac exists from start-up to shutdown (or `failover teardown`), on every router
  of the group, backups included: becoming master then costs only adding the VIPs and
  a GARP burst, no interface creation.
- The VIPs are only ever on the master's vmac. Master and backups share one MAC, so a
  client's ARP entry for a VIP never changes across a failover; what moves is the
  switch's learning table, which the new master's GARP (sent from the vmac, source MAC
  the VRRP MAC, RFC 5798 6.4.1) and adverts update at once. The GARP is needed: without
  it a client could not reach the moved VIP for over 30 s in the lab (the bridge kept
  the MAC on the old master's port; tests/integration/test_vmac.py).
- IPv4 vmac: link up always (keepalived's choice). A backup's vmac still sends nothing
  that carries the VRRP MAC: IPv6 is disabled on it (no DAD, router solicitation or MLD
  frames), it has no IPv4 address (so no IGMP or ARP of its own), and with arp_ignore=1
  it answers ARP only for addresses on itself: none. The daemon must receive adverts on
  the parent and not join 224.0.0.18 on a backup's vmac (with IPv6 left on, a backup's
  vmac sent 3 frames at link-up in the lab). So two routers never answer
  for a VIP at once, and the parent (arp_ignore=1, arp_filter=1, arp_announce=2) never
  answers for the VIP with its own MAC nor announces the VIP as its ARP source, which
  would move the client's entry to the parent's MAC (the split keepalived's users meet).
- IPv6 vmac: down as backup, up as master (FRR's protodown). An up IPv6 interface
  needs a link-local address, joins its solicited-node group and answers neighbour
  solicitations for it: frames with the VRRP MAC from a backup, which would pull the
  switch's entry for that MAC away from the master. Down, it sends nothing.
  `Vmacs.up` (re)adds the link-local address the kernel flushes on every down. IPv6
  adverts are received on the parent.

IPv6 link-local address (RFC 5798 5.1.2.1: adverts come from the interface's
link-local address): addrgenmode **none** plus a copy of the parent's link-local
address, added with IFA_F_NODAD (keepalived's choice; FRR asks for addrgenmode random).
The kernel's EUI-64 from the VRRP MAC would give every router of the group the same
address (DAD fails, and the RFC 5798 6.4.3 tie-break on the source address breaks);
random needs DAD (about a second tentative at every takeover) and changes on every up.
The parent's address is unique (it passed DAD there), stable across restarts, usable at
once, and the source a peer sees is the same with and without `use_vmac`. On the
master, parent and vmac both answer for it: two MACs of the same router.

Sysctls (`apply_sysctls`, keepalived's vrrp_if_config.c), per interface (``all`` and
``default`` only as keepalived does, below): on an IPv4 vmac arp_ignore=1,
accept_local=1, rp_filter=0, promote_secondaries=1, disable_ipv6=1; on its parent
arp_ignore=1, arp_filter=1 and (not keepalived: its guide sets all.arp_announce=1, which
still picks a VIP in the target's subnet, and the master's replies from a VIP leave by
the parent, whose route comes first) arp_announce=2. On an IPv6 vmac arp_ignore=1,
addr_gen_mode=1 (none), accept_ra=0 (no router solicitations with the VRRP MAC). The
kernel applies max(all, interface) for rp_filter, so a non-zero all.rp_filter overrides
the vmac's 0, and a strict one (1) dropped the client's traffic to a VIP in the lab (the
reverse route is the parent's). For an IPv4 vmac failover then does what keepalived does
(`clear_all_rp_filter`), the one place it writes ``all``/``default``: raise default and
every interface to at least all's value, then set all to 0; no interface's effective
value changes, and a crash that leaves it so changes nothing either.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

from pyroute2.iproute.linux import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

log = logging.getLogger("failover")

PREFIX = "fo"
IFNAMSIZ = 16  # linux/if.h, with the terminating NUL
_SHORT_PARENT = 9  # what is left of 15 after "fo433."
_NAME = re.compile(r"^fo([46])([0-9a-f]{2})\.(.+)$")
MACVLAN_MODE = "bridge"  # linux/if_link.h MACVLAN_MODE_BRIDGE, as pyroute2 names it
IFA_F_NODAD = 0x02  # linux/if_addr.h
IFA_F_TENTATIVE = 0x40
IFA_F_DADFAILED = 0x08
RT_SCOPE_LINK = 253  # linux/rtnetlink.h
ADDR_GEN_MODE_NONE = 1  # linux/if_link.h IN6_ADDR_GEN_MODE_NONE
SYSCTL_ROOT = Path("/proc/sys/net")


def _family_digit(family: int) -> str:
    if family == socket.AF_INET:
        return "4"
    if family == socket.AF_INET6:
        return "6"
    raise ValueError(f"family must be AF_INET or AF_INET6, not {family}")


def _check_vrid(vrid: int) -> None:
    if not 1 <= vrid <= 255:
        raise ValueError(f"VRID must be 1-255, not {vrid}")


def vmac_mac(vrid: int, family: int) -> bytes:
    """The virtual router MAC, RFC 5798 7.3: 00:00:5e:00:01:VRID (IPv4), :02: (IPv6)."""
    _check_vrid(vrid)
    kind = 0x01 if _family_digit(family) == "4" else 0x02
    return bytes((0x00, 0x00, 0x5E, 0x00, kind, vrid))


def format_mac(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def vmac_name(parent: str, vrid: int, family: int) -> str:
    """The vmac's interface name for (parent, VRID, family); see the module docstring."""
    _check_vrid(vrid)
    if not parent or len(parent) >= IFNAMSIZ or re.search(r"[\s/:]", parent):
        raise ValueError(f"not an interface name: {parent!r}")
    tail = parent
    if len(parent) > _SHORT_PARENT or "~" in parent:
        tail = f"{parent[:3]}~{hashlib.sha256(parent.encode()).hexdigest()[:5]}"
    return f"{PREFIX}{_family_digit(family)}{vrid:02x}.{tail}"


def parse_vmac_name(name: str) -> tuple[int, int] | None:
    """(VRID, family) of a name `vmac_name` could have made, else None."""
    m = _NAME.match(name)
    if m is None or len(name) >= IFNAMSIZ:
        return None
    vrid = int(m[2], 16)
    if vrid == 0:
        return None
    return vrid, socket.AF_INET if m[1] == "4" else socket.AF_INET6


def eui64_link_local(mac: bytes) -> IPv6Address:
    """fe80::/64 with the modified EUI-64 interface identifier of `mac` (RFC 4291 2.5.1)."""
    iid = bytes((mac[0] ^ 0x02, mac[1], mac[2], 0xFF, 0xFE, mac[3], mac[4], mac[5]))
    return IPv6Address(b"\xfe\x80" + bytes(6) + iid)


# -- sysctls ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SysctlChange:
    """One value written under /proc/sys/net of the current network namespace."""

    path: Path
    old: str
    new: str


def _sysctl(ip: str, ifname: str, key: str) -> Path:
    return SYSCTL_ROOT / ip / "conf" / ifname / key


def wanted_sysctls(vmac: str, parent: str, family: int) -> list[tuple[Path, str]]:
    """What `apply_sysctls` writes for a vmac, in order (see the module docstring)."""
    if family == socket.AF_INET6:
        return [
            (_sysctl("ipv4", vmac, "arp_ignore"), "1"),
            (_sysctl("ipv6", vmac, "addr_gen_mode"), str(ADDR_GEN_MODE_NONE)),
            (_sysctl("ipv6", vmac, "accept_ra"), "0"),
        ]
    _family_digit(family)
    return [
        (_sysctl("ipv6", vmac, "disable_ipv6"), "1"),
        (_sysctl("ipv4", vmac, "arp_ignore"), "1"),
        (_sysctl("ipv4", vmac, "accept_local"), "1"),
        (_sysctl("ipv4", vmac, "rp_filter"), "0"),
        (_sysctl("ipv4", vmac, "promote_secondaries"), "1"),
        (_sysctl("ipv4", parent, "arp_ignore"), "1"),
        (_sysctl("ipv4", parent, "arp_filter"), "1"),
        (_sysctl("ipv4", parent, "arp_announce"), "2"),
    ]


def _write(path: Path, value: str) -> SysctlChange | None:
    """Write `value` unless it is there already; the change made, or None."""
    old = path.read_text().strip()
    if old == value:
        return None
    path.write_text(value)
    return SysctlChange(path, old, value)


def apply_sysctls(vmac: str, parent: str, family: int) -> list[SysctlChange]:
    """Set a vmac's sysctls (and its parent's, for IPv4); returns and logs what changed.

    An ipv6 key is skipped when the kernel has no IPv6 (no /proc/sys/net/ipv6).
    """
    changes = clear_all_rp_filter(skip=vmac) if family == socket.AF_INET else []
    for path, value in wanted_sysctls(vmac, parent, family):
        if path.is_relative_to(SYSCTL_ROOT / "ipv6") and not (SYSCTL_ROOT / "ipv6").exists():
            continue
        change = _write(path, value)
        if change is not None:
            changes.append(change)
    for change in changes:
        log.info("vmac %s: %s %s -> %s", vmac, change.path, change.old, change.new)
    return changes


def clear_all_rp_filter(skip: str | None = None) -> list[SysctlChange]:
    """keepalived's clear_rp_filter (vrrp_if_config.c): move a non-zero all.rp_filter
    onto default and every interface (where lower), then set all to 0.

    Nothing's effective rp_filter changes, but an interface's own 0 (the vmac's) now
    holds. `skip`: an interface left as it is (the vmac, set to 0 next). Returns the
    changes (none when all.rp_filter is 0 already).
    """
    conf = SYSCTL_ROOT / "ipv4" / "conf"
    strict = int((conf / "all" / "rp_filter").read_text())
    if strict == 0:
        return []
    changes = []
    for path in sorted(conf.glob("*/rp_filter")):
        if path.parent.name in ("all", skip):
            continue
        with contextlib.suppress(FileNotFoundError):  # an interface that just went
            if int(path.read_text()) < strict:
                changes.append(SysctlChange(path, path.read_text().strip(), str(strict)))
                path.write_text(str(strict))
    all_change = _write(conf / "all" / "rp_filter", "0")
    return [*changes, *([all_change] if all_change else [])]


def restore_sysctls(changes: Iterable[SysctlChange]) -> list[SysctlChange]:
    """Undo `changes` (newest first) where the value is still ours; returns what it wrote.

    Keys of an interface that is gone are skipped. Call it once the last vmac that
    needs the changes is gone: a parent's keys with its last IPv4 vmac, all.rp_filter
    (in the first IPv4 vmac's changes) with the namespace's last one (keepalived restores
    them then). A crashed daemon's changes are not known, and stay.
    """
    undone = []
    for change in reversed(list(changes)):
        with contextlib.suppress(FileNotFoundError):
            if change.path.read_text().strip() == change.new:
                undone.append(SysctlChange(change.path, change.new, change.old))
                change.path.write_text(change.old)
    return undone


# -- netlink ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Vmac:
    """A vmac as it is in the kernel, with the sysctl changes `Vmacs.ensure` made."""

    name: str
    index: int
    parent: str | None  # None when the parent is not in this namespace
    parent_index: int
    vrid: int
    family: int
    sysctls: tuple[SysctlChange, ...] = ()

    @property
    def mac(self) -> bytes:
        return vmac_mac(self.vrid, self.family)


@contextlib.contextmanager
def _as_oserror() -> Iterator[None]:
    """pyroute2's NetlinkError as OSError, so callers need not know pyroute2."""
    try:
        yield
    except NetlinkError as err:
        raise OSError(err.code, os.strerror(err.code)) from None


def _kind(link: Any) -> str | None:
    kind = link.get(("IFLA_LINKINFO", "IFLA_INFO_KIND"))
    return kind if isinstance(kind, str) else None


def _macvlan_mode(link: Any) -> str | None:
    data = link.get(("IFLA_LINKINFO", "IFLA_INFO_DATA"))
    mode = data.get("IFLA_MACVLAN_MODE") if data is not None else None
    return mode if isinstance(mode, str) else None


def _is_ours(link: Any) -> tuple[int, int] | None:
    """(VRID, family) if `link` is a vmac failover made, else None."""
    parsed = parse_vmac_name(str(link.get("IFLA_IFNAME")))
    if parsed is None or _kind(link) != "macvlan":
        return None
    if link.get("IFLA_ADDRESS") != format_mac(vmac_mac(*parsed)):
        return None
    return parsed


class Vmacs:
    """Create, adopt, raise, lower, list and remove vmacs in the current namespace.

    Every method is idempotent; netlink errors are raised as OSError.
    """

    def __init__(self) -> None:
        self._ipr = AsyncIPRoute()

    async def __aenter__(self) -> Vmacs:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._ipr.close()

    async def _link(self, name: str | None = None, index: int | None = None) -> Any | None:
        """The RTM_NEWLINK message of one interface, or None if there is none."""
        try:
            with _as_oserror():
                if index is None:
                    found = await self._ipr.link_lookup(ifname=name)
                    if not found:
                        return None
                    index = found[0]
                links = await self._ipr.link("get", index=index)
        except OSError as err:
            if err.errno == errno.ENODEV:
                return None
            raise
        return links[0] if links else None

    async def ensure(self, parent: str, vrid: int, family: int) -> Vmac:
        """The vmac for (parent, VRID, family): adopted if right, else (re)created.

        Right means a macvlan on `parent`, bridge mode, the VRRP MAC; a wrong macvlan of
        that name is replaced; any other interface of that name is an error (EEXIST),
        never removed; so is another macvlan on `parent` with the VRRP MAC (EADDRINUSE:
        keepalived's or FRR's, say). A new vmac stays down: see `up`. The sysctls are applied before
        the link can come up (so an IPv4 vmac never sends an IPv6 frame).
        """
        name, mac = vmac_name(parent, vrid, family), format_mac(vmac_mac(vrid, family))
        base = await self._link(parent)
        if base is None:
            raise OSError(errno.ENODEV, f"interface {parent!r} does not exist")
        parent_index = int(base["index"])
        link = await self._link(name)
        if link is not None and _kind(link) != "macvlan":
            raise OSError(errno.EEXIST, f"{name} exists and is not a macvlan; not touching it")
        if link is not None and (
            link.get("IFLA_LINK") != parent_index
            or _macvlan_mode(link) != MACVLAN_MODE
            or link.get("IFLA_ADDRESS") != mac
        ):
            log.info("vmac %s: replacing a macvlan with the wrong parent, mode or MAC", name)
            await self._delete(int(link["index"]))
            link = None
        if link is None:
            await self._refuse_twin(parent_index, mac, name)
            with _as_oserror():
                await self._ipr.link(
                    "add",
                    ifname=name,
                    kind="macvlan",
                    link=parent_index,
                    macvlan_mode=MACVLAN_MODE,
                    address=mac,
                )
            link = await self._link(name)
            if link is None:
                raise OSError(errno.ENODEV, f"{name} vanished after it was created")
            log.info("vmac %s: created on %s with MAC %s", name, parent, mac)
        changes = apply_sysctls(name, parent, family)
        return Vmac(name, int(link["index"]), parent, parent_index, vrid, family, tuple(changes))

    async def _refuse_twin(self, parent_index: int, mac: str, name: str) -> None:
        """EADDRINUSE if a macvlan other than `name` has `mac` on the parent: the kernel
        would refuse to bring a second one up."""
        with _as_oserror():
            async for link in await self._ipr.get_links():
                other = str(link.get("IFLA_IFNAME"))
                if (
                    other != name
                    and _kind(link) == "macvlan"
                    and link.get("IFLA_LINK") == parent_index
                    and link.get("IFLA_ADDRESS") == mac
                ):
                    raise OSError(errno.EADDRINUSE, f"{other} has {mac} on the parent already")

    async def up(self, vmac: Vmac) -> None:
        """Link up; for IPv6, add the link-local address too (see the module docstring)."""
        with _as_oserror():
            await self._ipr.link("set", index=vmac.index, state="up")
        if vmac.family == socket.AF_INET6:
            address = await self._parent_link_local(vmac.parent_index)
            try:
                with _as_oserror():
                    await self._ipr.addr(
                        "add",
                        index=vmac.index,
                        address=str(address),
                        prefixlen=64,
                        flags=IFA_F_NODAD,
                        scope=RT_SCOPE_LINK,
                    )
            except OSError as err:
                if err.errno != errno.EEXIST:
                    raise
            if await self.link_local(vmac) != address:
                raise OSError(errno.EADDRNOTAVAIL, f"{vmac.name}: cannot add {address}")

    async def down(self, vmac: Vmac) -> None:
        """Link down (the kernel flushes its IPv6 addresses, keeps its IPv4 ones)."""
        with _as_oserror():
            await self._ipr.link("set", index=vmac.index, state="down")

    async def _link_locals(self, index: int) -> list[IPv6Address]:
        """The usable (not tentative, not failed) fe80::/10 addresses of an interface."""
        out = []
        with _as_oserror():
            async for msg in await self._ipr.get_addr(family=socket.AF_INET6, index=index):
                flags = msg.get("IFA_FLAGS") or msg["flags"]
                address = IPv6Address(str(msg.get("IFA_ADDRESS")))
                if address.is_link_local and not flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED):
                    out.append(address)
        return out

    async def link_local(self, vmac: Vmac) -> IPv6Address | None:
        """The vmac's usable link-local address (the adverts' IPv6 source), if any."""
        found = await self._link_locals(vmac.index)
        return found[0] if found else None

    async def _parent_link_local(self, parent_index: int) -> IPv6Address:
        found = await self._link_locals(parent_index)
        if found:
            return found[0]
        base = await self._link(index=parent_index)
        if base is None:
            raise OSError(errno.ENODEV, f"parent interface {parent_index} is gone")
        return eui64_link_local(bytes.fromhex(str(base.get("IFLA_ADDRESS")).replace(":", "")))

    async def find(self) -> list[Vmac]:
        """Every vmac failover made in this namespace (for `failover teardown`)."""
        out = []
        with _as_oserror():
            links = [link async for link in await self._ipr.get_links()]
        names = {int(link["index"]): str(link.get("IFLA_IFNAME")) for link in links}
        for link in links:
            ours = _is_ours(link)
            if ours is None:
                continue
            parent_index = int(link.get("IFLA_LINK") or 0)
            parent = names.get(parent_index) if link.get("IFLA_LINK_NETNSID") is None else None
            name = str(link.get("IFLA_IFNAME"))
            out.append(Vmac(name, int(link["index"]), parent, parent_index, *ours))
        return out

    async def remove(self, name: str) -> bool:
        """Delete a vmac failover made; False if there is none of that name.

        Anything else of that name (not a macvlan, or a name or MAC of someone else's)
        is an error (EPERM) and stays.
        """
        link = await self._link(name)
        if link is None:
            return False
        if _is_ours(link) is None:
            raise OSError(errno.EPERM, f"{name} is not a vmac of failover's; not removing it")
        return await self._delete(int(link["index"]))

    def restore(self, changes: Iterable[SysctlChange]) -> list[SysctlChange]:
        """Put sysctls back as they were (`restore_sysctls`), for the daemon's kernel."""
        return restore_sysctls(changes)

    async def remove_all(self) -> list[str]:
        """Delete every vmac `find` lists (`failover teardown`); the names removed."""
        return [m.name for m in await self.find() if await self._delete(m.index)]

    async def _delete(self, index: int) -> bool:
        try:
            with _as_oserror():
                await self._ipr.link("del", index=index)
        except OSError as err:
            if err.errno == errno.ENODEV:
                return False
            raise
        return True
