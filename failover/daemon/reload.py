"""Reload: diff a new config against what runs, prepare it, apply it at one instant.

Start-up is a reload from an empty config: one code path opens interfaces, clears
left-over addresses and starts routers, whether at start or on SIGHUP.

All or nothing: `prepare` resolves every interface the new routers need and opens
their sockets (awaiting netlink) and refuses with `ReloadRefused` before anything
changed; `apply` then runs without an await, so no packet or timer comes between.
Routers are matched by (interface, VRID): removed ones stop as on shutdown (a master
sends priority 0 and gives its addresses up), added ones start as at startup, kept
ones are reconfigured in place without a state change.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from failover.config import Config
from failover.daemon.addresses import AddressWorker, LinkChange
from failover.daemon.errors import ExitCode, ReloadRefused
from failover.daemon.kernel import AddressTable, Kernel, VmacTable
from failover.daemon.loop import RouterLoop
from failover.daemon.model import Group, Interface, Model, Router, VmacPort
from failover.protocol.packet import IPAddress
from failover.protocol.router import ADVERT_GRID, VirtualRouter
from failover.protocol.settings import RouterConfig
from failover.protocol.syncgroup import Settlement, SyncGroup
from failover.runtime.netlink import InterfaceAddress, InterfaceError, primary_address
from failover.v3_config import self_peers

log = logging.getLogger("failover")

IfaceKey = tuple[str, int]  # an interface's name and address family (Model.interfaces)
_AF = {4: socket.AF_INET, 6: socket.AF_INET6}


# -- diff (pure) ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RouterDiff:
    """Routers of a new config against the running ones, matched by `RouterConfig.key`."""

    added: tuple[RouterConfig, ...] = ()
    removed: tuple[RouterConfig, ...] = ()
    changed: tuple[tuple[RouterConfig, RouterConfig], ...] = ()  # (old, new)
    unchanged: tuple[RouterConfig, ...] = ()


def diff_routers(old: Iterable[RouterConfig], new: Iterable[RouterConfig]) -> RouterDiff:
    """Added, removed, changed and unchanged routers, each in its config's order.

    A router whose family or `use_vmac` changes cannot change in place (its sockets and
    the interface its VIPs are on differ): it is removed and added, as if renumbered.
    """
    before = {rc.key: rc for rc in old}
    after = {rc.key: rc for rc in new}
    pairs = [(before[k], rc) for k, rc in after.items() if k in before]
    moved = {o.key for o, n in pairs if (o.family, o.use_vmac) != (n.family, n.use_vmac)}
    return RouterDiff(
        added=tuple(rc for k, rc in after.items() if k not in before or k in moved),
        removed=tuple(rc for k, rc in before.items() if k not in after or k in moved),
        changed=tuple((o, n) for o, n in pairs if o != n and o.key not in moved),
        unchanged=tuple(n for o, n in pairs if o == n),
    )


def describe_change(old: RouterConfig, new: RouterConfig) -> str:
    """What a reload changes in one router, for its log line (never the password)."""
    out = []
    if old.name != new.name:
        out.append(f"name {old.name} -> {new.name}")
    for key in ("priority", "advert_interval", "preempt_mode", "preempt_delay"):
        a, b = getattr(old, key), getattr(new, key)
        if a != b:
            out.append(f"{key} {a} -> {b}")
    gone = [str(a) for a in old.addresses if a not in new.addresses]
    came = [str(a) for a in new.addresses if a not in old.addresses]
    if gone or came:
        out.append("addresses " + " ".join([*(f"+{a}" for a in came), *(f"-{a}" for a in gone)]))
    elif old.addresses != new.addresses:
        out.append("address order")
    if (old.auth_type, old.auth_password) != (new.auth_type, new.auth_password):
        out.append("authentication")
    return ", ".join(out) or "nothing"


# -- prepare (awaits the kernel, changes nothing) ------------------------------------------


async def resolve_interface(
    netlink: AddressTable, name: str, family: int, rcs: list[RouterConfig]
) -> tuple[int, list[InterfaceAddress], IPAddress]:
    """An interface's index, addresses of `family` and the adverts' source address;
    InterfaceError if unusable."""
    users = ", ".join(rc.name for rc in rcs)
    try:
        index = await netlink.index(name)
    except InterfaceError as err:
        raise InterfaceError(f"{err} (used by {users})") from None
    if family == 6:
        present = await netlink.addresses(index, socket.AF_INET6)
        # RFC 5798 5.1.2.1: the interface's link-local address, never a link-local VIP
        # (a crashed run's, say), which moves with mastership.
        link_local = await netlink.link_local(index, {a.ip for rc in rcs for a in rc.addresses})
        if link_local is None:
            raise InterfaceError(
                f"interface {name!r} has no usable link-local IPv6 address (used by "
                f"{users}); IPv6 adverts are sent from it (RFC 5798 5.1.2.1)"
            )
        return index, present, link_local
    present = await netlink.addresses(index)
    # The owner's (priority 255) addresses are real; other VIPs are not ours to use.
    virtual = {
        a.ip
        for rc in rcs
        if rc.priority != 255
        for a in rc.addresses
        if isinstance(a.ip, IPv4Address)
    }
    primary = primary_address(present, virtual)
    if primary is None:
        raise InterfaceError(
            f"interface {name!r} has no IPv4 address (used by {users}); adverts "
            "are sent from its primary IPv4 address (RFC 3768 5.2.1)"
        )
    return index, present, primary


def open_interface(kernel: Kernel, name: str, index: int, primary: IPAddress) -> Interface:
    """Open an interface's VRRP socket and announcer for `primary`'s family;
    ReloadRefused (exit 6) if refused."""
    try:
        if isinstance(primary, IPv6Address):
            sock = kernel.open_vrrp6(name, index, primary)
        else:
            sock = kernel.open_vrrp(name, index, primary)
    except OSError as err:
        raise ReloadRefused(
            "cannot open sockets",
            [
                f"cannot open a raw VRRP socket on {name}: {err.strerror or err} "
                "(failover run needs root or CAP_NET_RAW)"
            ],
            ExitCode.SYSTEM,
        ) from None
    iface = Interface(name, index, primary, sock)
    try:
        if primary.version == 6:
            iface.ndisc = kernel.open_ndisc(name)
        else:
            iface.arp = kernel.open_arp(name)
    except OSError as err:
        sock.close()
        what = (
            "an AF_PACKET socket (neighbor advertisements)"
            if primary.version == 6
            else ("an ARP socket")
        )
        raise ReloadRefused(
            "cannot open sockets",
            [f"cannot open {what} on {name}: {err.strerror or err}"],
            ExitCode.SYSTEM,
        ) from None
    log.info("%s: index %d, IPv%d adverts from %s", name, index, primary.version, primary)
    return iface


@dataclass(eq=False)
class Prepared:
    """What applying a diff needs from the kernel, read before anything changes."""

    diff: RouterDiff
    interfaces: dict[IfaceKey, Interface] = field(default_factory=dict)  # opened for it
    present: dict[IfaceKey, list[InterfaceAddress]] = field(default_factory=dict)
    check_links: dict[str, tuple[int | None, bool]] = field(default_factory=dict)
    vmacs: dict[tuple[str, int], VmacPort] = field(default_factory=dict)  # by router key
    vmac_present: dict[tuple[str, int], list[InterfaceAddress]] = field(default_factory=dict)

    async def release(self, vmacs: VmacTable) -> None:
        """Close the interfaces and vmacs `apply` did not take over (a refused reload
        leaves no vmac behind)."""
        for iface in self.interfaces.values():
            iface.close()
        self.interfaces.clear()
        for port in self.vmacs.values():
            port.close()
            with contextlib.suppress(OSError):
                await vmacs.remove(port.vmac.name)
        self.vmacs.clear()


async def prepare(
    kernel: Kernel, diff: RouterDiff, interfaces: dict[IfaceKey, Interface], new: Config
) -> Prepared:
    """Resolve and open what the added routers need; ReloadRefused on any problem."""
    by_iface: dict[IfaceKey, list[RouterConfig]] = {}
    for rc in diff.added:
        by_iface.setdefault((rc.interface, rc.family), []).append(rc)
    prepared = Prepared(diff)
    errors = []
    found: dict[IfaceKey, tuple[int, IPAddress]] = {}
    for key, rcs in by_iface.items():
        name, family = key
        try:
            iface = interfaces.get(key)
            if iface is not None:
                prepared.present[key] = await kernel.netlink.addresses(iface.index, _AF[family])
                continue
            index, present, primary = await resolve_interface(kernel.netlink, name, family, rcs)
        except InterfaceError as err:
            errors.append(str(err))
            continue
        except Exception as err:  # netlink refused: report it, change nothing
            errors.append(f"interface {name!r}: cannot read it: {err}")
            continue
        found[key] = (index, primary)
        prepared.present[key] = present
    if errors:
        raise ReloadRefused("interface problem", errors, ExitCode.INTERFACE)
    changed = diff.added + tuple(n for _, n in diff.changed)
    mistakes = await _unicast_problems(kernel.netlink, changed)
    if mistakes:
        raise ReloadRefused("unicast settings that cannot work here", mistakes)
    prepared.check_links = await _check_links(kernel.netlink, new)
    try:
        for key, (index, primary) in found.items():
            iface = open_interface(kernel, key[0], index, primary)
            prepared.interfaces[key] = iface
            iface.running = await kernel.netlink.running(index)
        for rc in diff.added:
            if rc.use_vmac:
                key = (rc.interface, rc.family)
                source = (interfaces.get(key) or prepared.interfaces[key]).primary
                await _open_vmac(kernel, rc, source, prepared)
    except BaseException:
        await prepared.release(kernel.vmacs)
        raise
    return prepared


async def _open_vmac(kernel: Kernel, rc: RouterConfig, source: IPAddress, out: Prepared) -> None:
    """Make (or adopt) the router's vmac and open its senders (runtime/vmac.py says what
    each family needs); ReloadRefused (exit 6) if the kernel refuses."""
    family = _AF[rc.family]
    try:
        vmac = await kernel.vmacs.ensure(rc.interface, rc.vrid, family)
        out.vmacs[rc.key] = port = VmacPort(vmac)
        if isinstance(source, IPv4Address):
            await kernel.vmacs.up(vmac)  # IPv4: up for good; IPv6: up only as master
            port.tx = kernel.open_sender(vmac.name, vmac.index, source)
            port.arp = kernel.open_arp(vmac.name)
        else:
            port.ndisc = kernel.open_ndisc(vmac.name)
        out.vmac_present[rc.key] = await kernel.netlink.addresses(vmac.index, family)
    except OSError as err:
        raise ReloadRefused(
            "cannot make a virtual MAC interface",
            [f"{rc.label}: use_vmac on {rc.interface}: {err.strerror or err}"],
            ExitCode.SYSTEM,
        ) from None


async def _unicast_problems(netlink: AddressTable, routers: tuple[RouterConfig, ...]) -> list[str]:
    """Unicast settings that cannot work here: a peer that is an address of the router's
    own interface, a `unicast_source` that is not."""
    peered = [rc for rc in routers if rc.unicast_peers]
    local: dict[tuple[str, int], set[IPAddress]] = {}
    for name, family in {(rc.interface, rc.family) for rc in peered}:
        with contextlib.suppress(InterfaceError):  # a missing one is reported elsewhere
            index = await netlink.index(name)
            present = await netlink.addresses(index, _AF[family])
            local[(name, family)] = {a.address.ip for a in present}
    mine = set().union(*local.values()) if local else set()
    problems = self_peers(peered, mine)
    for rc in peered:
        here = local.get((rc.interface, rc.family))
        if rc.unicast_source is not None and here is not None and rc.unicast_source not in here:
            problems.append(
                f"{rc.label}: unicast_source {rc.unicast_source} is not an address of "
                f"{rc.interface}"
            )
    return problems


async def _check_links(netlink: AddressTable, config: Config) -> dict[str, tuple[int | None, bool]]:
    """Each `interface` check's interface: (index, running), or (None, False) if missing."""
    out: dict[str, tuple[int | None, bool]] = {}
    for check in config.checks:
        if check.kind == "interface":
            try:
                index = await netlink.index(check.interface)
            except InterfaceError:
                out[check.name] = (None, False)
                continue
            out[check.name] = (index, await netlink.running(index))
    return out


# -- apply (no await) --------------------------------------------------------------------


def apply(
    model: Model,
    new: Config,
    prepared: Prepared,
    routers: RouterLoop,
    addresses: AddressWorker,
    verb: str = "reload",
) -> None:
    """Apply a prepared diff at one instant; `verb` names it in the log ("start-up")."""
    diff, now = prepared.diff, routers.loop.time()
    by_key = model.by_key()
    for rc in diff.removed:
        r = by_key[rc.key]
        log.info("%s: removing %s (%s)", verb, r.label, r.core.state.value)
        routers.stop(r, "removed from the config")
        addresses.vmac_link(r, LinkChange.REMOVE)  # after its VIPs went
        routers.set_hook(r, ())  # after its STOP event
        r.close()
        model.routers.remove(r)
    for old, rc in diff.changed:
        r = by_key[rc.key]
        log.info("%s: %s: %s", verb, rc.label, describe_change(old, rc))
        routers.feed(r, r.core.reconfigure(rc, now))
    for key, iface in prepared.interfaces.items():
        model.interfaces[key] = iface
        routers.attach(iface)
    prepared.interfaces = {}  # the model's now
    model.config = new
    addresses.settings = new.settings
    routers.tracker.apply(new.checks, prepared.check_links, now)
    statuses = routers.tracker.statuses()
    for old, rc in diff.changed:  # new tracks weigh in at once; a new hook from now
        r = by_key[rc.key]
        if old.notify != rc.notify:
            routers.set_hook(r, rc.notify)
        routers.feed(r, r.core.track(now, statuses))
    added = [_add_router(model, rc, prepared.vmacs.pop(rc.key, None)) for rc in diff.added]
    # Owners first: their real addresses are protected before anyone clears left-overs.
    for r in sorted(added, key=lambda r: r.core.config.priority != 255):
        if r.vmac is not None:
            addresses.hold_vmac(r.vmac.vmac)
        key = r.core.config.key
        present = prepared.vmac_present[key] if r.vmac else prepared.present[r.iface.key]
        addresses.clear_ground(r, present)
    _apply_groups(model, new, routers, now)
    for r in added:
        rc = r.core.config
        routers.set_hook(r, rc.notify)
        log.info(
            "%s: added %s (priority %d, %s)",
            verb,
            r.label,
            rc.priority,
            ", ".join(map(str, rc.addresses)),
        )
        routers.start(r)
    for key in [k for k, i in model.interfaces.items() if not i.routers]:
        model.interfaces.pop(key).close()
        log.info("%s: %s (IPv%d) is no longer used: its sockets are closed", verb, *key)
    order = {rc.key: i for i, rc in enumerate(new.routers)}
    model.routers.sort(key=lambda r: order[r.core.config.key])


def _apply_groups(model: Model, new: Config, routers: RouterLoop, now: float) -> None:
    """Sync groups as `new` has them (docs/sync-groups.md): a removed group dissolves,
    members come and go with `add`/`remove`, a new group forms over its routers (added
    ones before they start, so they follow the group at once)."""
    by_name = {r.core.config.name: r for r in model.routers}
    wanted = {g.name: g for g in new.sync_groups}
    for name in [n for n in model.groups if n not in wanted]:
        group = model.groups.pop(name)
        moved = group.core.dissolve(now)
        routers.settled(group, Settlement(moved))
        routers.set_hook(group, ())
    for name, config in wanted.items():
        members = [by_name[m] for m in config.routers]
        running = model.groups.get(name)
        if running is None:
            group = Group(SyncGroup(name, [r.core for r in members]), config)
            model.groups[name] = group
            routers.set_hook(group, config.notify)
            continue
        for core in [c for c in running.core.members if c not in {r.core for r in members}]:
            routers.settled(running, running.core.remove(core, now))
        for r in members:
            if r.core not in running.core.members:
                routers.settled(running, running.core.add(r.core, now))
        if running.config.notify != config.notify:
            routers.set_hook(running, config.notify)
        running.config = config


def _add_router(model: Model, rc: RouterConfig, vmac: VmacPort | None) -> Router:
    iface = model.interfaces[(rc.interface, rc.family)]
    r = Router(VirtualRouter(rc, iface.primary, ADVERT_GRID), iface, vmac=vmac)
    iface.routers[rc.vrid] = r
    model.routers.append(r)
    return r


async def reload(
    kernel: Kernel,
    model: Model,
    new: Config,
    routers: RouterLoop,
    addresses: AddressWorker,
    verb: str = "reload",
    abort: Callable[[], str | None] = lambda: None,
) -> RouterDiff:
    """Diff, prepare and apply `new`; ReloadRefused (nothing changed) on any problem.

    `abort()` is asked once everything is prepared: a reason not to apply (the daemon
    is stopping), or None.
    """
    diff = diff_routers(model.config.routers, new.routers)
    prepared = await prepare(kernel, diff, model.interfaces, new)
    try:
        reason = abort()
        if reason is not None:
            raise ReloadRefused(reason)
        apply(model, new, prepared, routers, addresses, verb)
    finally:
        await prepared.release(kernel.vmacs)
    return diff
