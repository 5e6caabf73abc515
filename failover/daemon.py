"""The daemon: one asyncio loop feeds packets and timers into every virtual router.

Each router has one `loop.call_at` timer, re-armed from `next_deadline()` after every
input (no polling tick). Packets from each interface's raw socket go through the
RFC 3768 7.1 receive checks; every drop is counted by reason. The routers' actions run
here: adverts are sent at once, address changes and gratuitous ARPs go through one
ordered work queue (netlink is async).

SIGHUP, or the control request ``{"command": "reload"}``, re-reads the config file the
daemon was started with and applies it in place, all or nothing (`Daemon.reload`):
routers are matched by (interface, VRID); kept ones are reconfigured without a state
change, removed ones stop as on shutdown, added ones start as at startup.

Exit codes of `failover run`:

    0  clean shutdown on SIGTERM/SIGINT (masters sent priority 0, VIPs removed)
    1  unexpected internal error (a bug: the traceback is on stderr)
    2  usage error (bad command-line arguments)
    3  invalid or unreadable config file
    4  interface problem: an interface is missing or has no IPv4 address
    5  another daemon already runs on the same control socket
    6  the system refused a socket: raw/AF_PACKET (not root?) or the control socket
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from enum import IntEnum
from functools import partial
from ipaddress import IPv4Address, IPv4Interface

from failover.config import (
    Config,
    ConfigError,
    RouterConfig,
    RouterDiff,
    describe_change,
    diff_routers,
    load,
    router_key,
)
from failover.control import AlreadyRunning, ControlServer, Json, bind_socket
from failover.protocol.packet import DropReason, encode
from failover.protocol.receive import ReceivePolicy, Rejected, validate
from failover.protocol.router import (
    Action,
    AddAddresses,
    RemoveAddresses,
    SendAdvert,
    SendGratuitousArp,
    State,
    StateChanged,
    VirtualRouter,
)
from failover.ratelimit import RateLimiter
from failover.runtime.arp import GarpSender
from failover.runtime.netlink import (
    InterfaceAddress,
    InterfaceError,
    LinkMonitor,
    Netlink,
    VipClaims,
    primary_address,
)
from failover.runtime.sockets import VrrpSocket

log = logging.getLogger("failover")

STOP_TIMEOUT = 5.0  # seconds to finish address removal on shutdown
QUIET_DROPS = {DropReason.UNKNOWN_VRID}  # routine on a LAN shared with other groups


def label(rc: RouterConfig) -> str:
    """How log lines name a virtual router: `VR_1 vrid=51 eth0`."""
    return f"{rc.name} vrid={rc.vrid} {rc.interface}"


async def remove_vips(
    nl: Netlink, rc: RouterConfig, index: int, present: list[InterfaceAddress]
) -> list[IPv4Interface]:
    """Remove `rc`'s virtual addresses from the interface (crash left-overs, teardown)."""
    vips = {a.ip for a in rc.addresses}
    return [
        a.address for a in present if a.address.ip in vips and await nl.remove(index, a.address)
    ]


async def teardown(config: Config) -> list[str]:
    """`failover teardown`: remove every configured VIP; one line per thing done."""
    lines = []
    async with Netlink() as nl:
        for rc in config.routers:
            if rc.priority == 255:
                lines.append(f"{label(rc)}: skipped: priority 255, its addresses are real")
                continue
            try:
                index = await nl.index(rc.interface)
            except InterfaceError as err:
                lines.append(f"{label(rc)}: skipped: {err}")
                continue
            removed = await remove_vips(nl, rc, index, await nl.addresses(index))
            lines += [f"{label(rc)}: removed {a}" for a in removed]
    return lines


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    CONFIG = 3
    INTERFACE = 4
    ALREADY_RUNNING = 5
    SYSTEM = 6


class ReloadRefused(Exception):
    """A reload changes nothing: `error` says why, `details` list each problem."""

    def __init__(self, error: str, details: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.details = details or []


class StartupError(Exception):
    """The daemon cannot start; each message is one line for stderr."""

    def __init__(self, code: ExitCode, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.code = code
        self.messages = messages


@dataclass(eq=False)
class Interface:
    """One interface in use: its socket, its routers by VRID, its drops."""

    name: str
    index: int
    primary: IPv4Address
    sock: VrrpSocket
    garp: GarpSender
    routers: dict[int, Router] = field(default_factory=dict)
    policies: dict[int, ReceivePolicy] = field(default_factory=dict)
    drops: Counter[str] = field(default_factory=Counter)
    running: bool = True  # link up with carrier (`link_running`)
    local: frozenset[IPv4Address] = field(init=False)  # our own adverts, looped back

    def __post_init__(self) -> None:
        self.local = frozenset({self.primary})


@dataclass(eq=False)
class Router:
    """One virtual router and what the daemon keeps about it."""

    core: VirtualRouter
    iface: Interface
    timer: asyncio.TimerHandle | None = None
    armed: float | None = None
    garp: list[asyncio.TimerHandle] = field(default_factory=list)
    adverts_sent: int = 0
    adverts_received: int = 0
    send_errors: int = 0
    drops: Counter[str] = field(default_factory=Counter)

    @property
    def label(self) -> str:
        return label(self.core.config)

    @property
    def key(self) -> str:
        """Who holds an address in `VipClaims`: stable across reloads (names may change)."""
        c = self.core.config
        return f"{c.interface}/{c.vrid}"

    def status(self, now: float) -> Json:
        core, c = self.core, self.core.config
        since = None if core.state_since is None else round(now - core.state_since, 1)
        return {
            "name": c.name,
            "vrid": c.vrid,
            "interface": c.interface,
            "state": core.state.value,
            "priority": c.priority,
            "master_ip": None if core.master_ip is None else str(core.master_ip),
            "master_priority": core.master_priority,
            "since": since,
            "primary_ip": str(core.primary_ip),
            "addresses": [str(a) for a in c.addresses],
            "adverts_sent": self.adverts_sent,
            "adverts_received": self.adverts_received,
            "send_errors": self.send_errors,
            "drops": dict(sorted(self.drops.items())),
        }


Job = Callable[[], Awaitable[None]]


@dataclass(eq=False)
class Prepared:
    """What a reload needs from the kernel before it changes anything."""

    interfaces: dict[str, Interface] = field(default_factory=dict)  # opened for it
    present: dict[str, list[InterfaceAddress]] = field(default_factory=dict)  # by name

    def close(self) -> None:
        for iface in self.interfaces.values():
            iface.sock.close()
            iface.garp.close()
        self.interfaces.clear()


class Daemon:
    """Runs every configured virtual router until SIGTERM/SIGINT; SIGHUP reloads."""

    def __init__(self, config: Config, control_path: str, config_path: str | None = None) -> None:
        self.config = config
        self.control_path = control_path
        self.config_path = config_path  # re-read on reload
        self.interfaces: dict[str, Interface] = {}
        self.routers: list[Router] = []
        self._claims = VipClaims()
        self._limiter = RateLimiter()
        self._jobs: asyncio.Queue[Job] = asyncio.Queue()
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._started = False
        self._reload_pending = False  # SIGHUP before the routers started
        self._reload_lock = asyncio.Lock()
        self._reloads: set[asyncio.Task[Json]] = set()
        self._nl: Netlink  # opened by run(), once the control socket is ours
        self._links: LinkMonitor

    # -- lifecycle ------------------------------------------------------------------------
    async def run(self) -> ExitCode:
        control = ControlServer(
            self._bind_control(), {"status": self.status, "reload": self.reload_request}
        )
        self._nl = Netlink()
        self._links = LinkMonitor()
        signals = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        for sig in signals:
            self._loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            await self._setup(self._nl)
            await control.start()
            worker = asyncio.create_task(self._work())
            if not self._stop.is_set():
                self._start()
                watcher = asyncio.create_task(self._watch_links())
                await self._stop.wait()
                watcher.cancel()
            self._shutdown()
            try:
                await asyncio.wait_for(self._jobs.join(), STOP_TIMEOUT)
            except TimeoutError:
                log.error("gave up waiting for address removal after %gs", STOP_TIMEOUT)
            worker.cancel()
        finally:
            for sig in signals:
                self._loop.remove_signal_handler(sig)
            await control.close()
            self._close()
            self._nl.close()
            self._links.close()
        log.info("failover stopped")
        return ExitCode.OK

    def _bind_control(self) -> socket.socket:
        try:
            return bind_socket(self.control_path)
        except AlreadyRunning as err:
            raise StartupError(ExitCode.ALREADY_RUNNING, str(err)) from None
        except OSError as err:
            raise StartupError(
                ExitCode.SYSTEM, f"cannot create control socket {self.control_path}: {err}"
            ) from None

    async def _setup(self, nl: Netlink) -> None:
        """Resolve interfaces, open sockets, remove stale VIPs, build the routers."""
        by_iface: dict[str, list[RouterConfig]] = {}
        for rc in self.config.routers:
            by_iface.setdefault(rc.interface, []).append(rc)
        found: dict[str, tuple[int, list[InterfaceAddress], IPv4Address]] = {}
        errors = []
        for name, rcs in by_iface.items():
            try:
                found[name] = await resolve_interface(nl, name, rcs)
            except InterfaceError as err:
                errors.append(str(err))
        if errors:
            raise StartupError(ExitCode.INTERFACE, *errors)
        for name, (index, _, primary) in found.items():
            self.interfaces[name] = self._open_interface(name, index, primary)
        await self._links.bind()  # before reading link states: no change is missed
        for iface in self.interfaces.values():
            iface.running = await nl.running(iface.index)
        protected = []
        for name, rcs in by_iface.items():
            index, present, _ = found[name]
            for rc in rcs:
                if rc.priority == 255:  # the owner's addresses already there are real
                    real = {p.address.ip for p in present}
                    protected += [(name, a.ip) for a in rc.addresses if a.ip in real]
                    continue
                try:
                    stale = await remove_vips(nl, rc, index, present)
                except OSError as err:
                    raise StartupError(
                        ExitCode.SYSTEM, f"{label(rc)}: cannot remove stale addresses: {err}"
                    ) from None
                for a in stale:
                    log.warning("%s: removed stale %s (left by an earlier run)", label(rc), a)
        self._claims = VipClaims(protected)
        self._build_routers()

    def _build_routers(self) -> None:
        """A VirtualRouter per config entry, on its interface (sockets already open)."""
        for rc in self.config.routers:
            self._add_router(rc)

    def _add_router(self, rc: RouterConfig) -> Router:
        iface = self.interfaces[rc.interface]
        router = Router(VirtualRouter(rc, iface.primary), iface)
        iface.routers[rc.vrid] = router
        iface.policies[rc.vrid] = router.core.receive_policy()
        self.routers.append(router)
        return router

    def _open_interface(self, name: str, index: int, primary: IPv4Address) -> Interface:
        try:
            sock = VrrpSocket(name, index, primary)
        except OSError as err:
            raise StartupError(
                ExitCode.SYSTEM,
                f"cannot open a raw VRRP socket on {name}: {err.strerror or err} "
                "(failover run needs root or CAP_NET_RAW)",
            ) from None
        try:
            garp = GarpSender(name)
        except OSError as err:
            sock.close()
            raise StartupError(
                ExitCode.SYSTEM, f"cannot open an ARP socket on {name}: {err.strerror or err}"
            ) from None
        iface = Interface(name, index, primary, sock, garp)
        log.info("%s: index %d, adverts from %s", name, index, primary)
        return iface

    def _start(self) -> None:
        names = ", ".join(sorted(self.interfaces))
        log.info(
            "failover %d: %d virtual router(s) on %s, control socket %s",
            os.getpid(),
            len(self.routers),
            names,
            self.control_path,
        )
        for iface in self.interfaces.values():
            self._loop.add_reader(iface.sock.fileno(), self._on_readable, iface)
        for iface in self.interfaces.values():
            if not iface.running:
                log.warning("%s: link is down; its virtual routers start when it is up", iface.name)
        now = self._loop.time()
        for r in self.routers:
            if r.iface.running:
                self._feed(r, r.core.start(now))
        self._started = True
        if self._reload_pending:
            self._reload_pending = False
            self._spawn_reload()

    def _on_signal(self, sig: signal.Signals) -> None:
        if sig == signal.SIGHUP:
            if self._stop.is_set():
                log.warning("SIGHUP received while stopping: no reload")
            elif not self._started:
                log.info("SIGHUP received during startup: reloading once started")
                self._reload_pending = True
            else:
                log.info("SIGHUP received: reloading %s", self.config_path)
                self._spawn_reload()
            return
        if not self._stop.is_set():
            log.info("%s received: stopping", sig.name)
        self._stop.set()

    def _shutdown(self) -> None:
        """RFC 3768 6.4.2/6.4.3 Shutdown for every router."""
        for iface in self.interfaces.values():
            self._loop.remove_reader(iface.sock.fileno())
        now = self._loop.time()
        for r in self.routers:
            if r.timer is not None:
                r.timer.cancel()
                r.timer = None
            self._execute(r, r.core.stop(now))

    def _close(self) -> None:
        for iface in self.interfaces.values():
            self._loop.remove_reader(iface.sock.fileno())
            iface.sock.close()
            iface.garp.close()

    # -- inputs ---------------------------------------------------------------------------
    def _feed(self, r: Router, actions: list[Action]) -> None:
        self._execute(r, actions)
        self._arm(r)

    def _arm(self, r: Router) -> None:
        """One timer per router, at the core's next deadline."""
        deadline = r.core.next_deadline()
        if r.timer is not None:
            if deadline == r.armed:
                return
            r.timer.cancel()
            r.timer = None
        r.armed = deadline
        if deadline is not None:
            r.timer = self._loop.call_at(deadline, self._on_timer, r)

    def _on_timer(self, r: Router) -> None:
        r.timer = None
        self._feed(r, r.core.expire(self._loop.time()))

    async def _watch_links(self) -> None:
        """Feed link changes of the interfaces in use (a reload may change them) to routers."""
        async for event in self._links.events():
            by_index = {i.index: i for i in self.interfaces.values()}
            iface = by_index.get(event.index)
            if iface is not None and (event.running != iface.running or event.deleted):
                self._link_changed(iface, event.running, event.deleted)

    def _link_changed(self, iface: Interface, running: bool, deleted: bool = False) -> None:
        """Link down: routers give up (masters remove VIPs); link up: RFC 3768 6.4.1 Startup."""
        if deleted:
            log.error("%s was deleted: its virtual routers stay down until a restart", iface.name)
        else:
            log.warning("%s: link %s", iface.name, "up" if running else "down")
        iface.running = running
        now = self._loop.time()
        for r in iface.routers.values():
            self._feed(r, r.core.link_up(now) if running else r.core.link_down(now))

    def _on_readable(self, iface: Interface) -> None:
        try:
            packets = iface.sock.receive()
        except OSError as err:
            log.error("%s: receive failed: %s", iface.name, err)
            return
        now = self._loop.time()
        for packet in packets:
            result = validate(packet, iface.policies, iface.local)
            if isinstance(result, Rejected):
                self._drop(iface, result, now)
                continue
            r = iface.routers[result.advert.vrid]
            r.adverts_received += 1
            self._feed(r, r.core.receive(result.advert, result.source, now))

    def _drop(self, iface: Interface, rej: Rejected, now: float) -> None:
        """Count every drop (per router, or per interface for unknown VRIDs); log a few."""
        r = iface.routers.get(rej.vrid) if rej.vrid is not None else None
        (r.drops if r else iface.drops)[rej.reason.value] += 1
        held_back = self._limiter.allow((iface.name, rej.vrid, rej.reason), now)
        if held_back is None:
            return
        level = logging.INFO if rej.reason in QUIET_DROPS else logging.WARNING
        more = f" ({held_back} more since last logged)" if held_back else ""
        log.log(
            level,
            "%s: dropped advert from %s vrid=%s: %s: %s%s",
            r.label if r else iface.name,
            rej.source or "?",
            rej.vrid,
            rej.reason.value,
            rej.detail,
            more,
        )

    # -- actions --------------------------------------------------------------------------
    def _execute(self, r: Router, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case StateChanged(old, new, reason):
                    log.info("%s %s -> %s (%s)", r.label, old.value, new.value, reason)
                case SendAdvert(priority):
                    self._send(r, priority)
                case AddAddresses(addresses):
                    self._claims.claim(r.key, r.iface.name, addresses)
                    self._jobs.put_nowait(partial(self._apply, r, True, addresses))
                case RemoveAddresses(addresses):
                    for handle in r.garp:
                        handle.cancel()
                    r.garp.clear()
                    free = self._claims.release(r.key, r.iface.name, addresses)
                    kept = [a for a in addresses if a not in free]
                    if kept:
                        log.info(
                            "%s: keeping %s (held by another router or owned)",
                            r.label,
                            ", ".join(map(str, kept)),
                        )
                    if free:
                        self._jobs.put_nowait(partial(self._apply, r, False, tuple(free)))
                case SendGratuitousArp(ips):
                    self._jobs.put_nowait(partial(self._garp, r, ips))

    def _send(self, r: Router, priority: int) -> None:
        try:
            r.iface.sock.send(encode(r.core.advertisement(priority)))
        except OSError as err:
            r.send_errors += 1
            held_back = self._limiter.allow((r.label, "send"), self._loop.time())
            if held_back is not None:
                more = f" ({held_back} more since last logged)" if held_back else ""
                log.warning("%s: sending advert failed: %s%s", r.label, err, more)
            return
        r.adverts_sent += 1

    async def _work(self) -> None:
        """Run address and ARP jobs one at a time, in order."""
        while True:
            job = await self._jobs.get()
            try:
                await job()
            except Exception:
                log.exception("address job failed")
            finally:
                self._jobs.task_done()

    async def _apply(self, r: Router, add: bool, addresses: tuple[IPv4Interface, ...]) -> None:
        """Add or remove addresses; log what changed, and errors, and carry on."""
        change = self._nl.add if add else self._nl.remove
        for a in addresses:
            try:
                changed = await change(r.iface.index, a)
            except OSError as err:
                log.error("%s: cannot %s %s: %s", r.label, "add" if add else "remove", a, err)
                continue
            if changed:
                log.info("%s: %s %s", r.label, "added" if add else "removed", a)

    async def _garp(self, r: Router, ips: tuple[IPv4Address, ...]) -> None:
        s = self.config.settings

        def failed(err: OSError) -> None:
            log.warning("%s: gratuitous ARP failed: %s", r.label, err)

        r.garp = r.iface.garp.schedule(
            self._loop,
            ips,
            s.garp_repeat,
            s.garp_delay,
            lambda: r.core.state is State.MASTER,
            failed,
        )
        log.debug("%s: gratuitous ARP for %s", r.label, ", ".join(map(str, ips)))

    # -- reload ---------------------------------------------------------------------------
    def _spawn_reload(self) -> None:
        """Reload in the background (SIGHUP); the outcome is in the log."""
        task = self._loop.create_task(self.reload())
        self._reloads.add(task)
        task.add_done_callback(self._reload_done)

    def _reload_done(self, task: asyncio.Task[Json]) -> None:
        self._reloads.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("reload failed", exc_info=task.exception())

    async def reload_request(self, _request: Json) -> Json:
        """The control request `reload`."""
        return await self.reload()

    async def reload(self) -> Json:
        """Re-read the config file and apply it in place; the reply for `failover reload`.

        All or nothing: an invalid file, a missing interface (or one without IPv4) or a
        socket that cannot be opened refuses the whole reload, and nothing changes.
        Otherwise routers are matched by (interface, VRID): removed ones stop as on
        shutdown (a master sends priority 0 and gives its addresses up), added ones
        start as at startup, kept ones are reconfigured in place without a state change.
        One reload at a time; the control socket never moves (a restart moves it).
        """
        async with self._reload_lock:
            try:
                return await self._reload()
            except ReloadRefused as err:
                for detail in err.details or [""]:
                    sep = ": " if detail else ""
                    log.error("reload refused, nothing changed: %s%s%s", err.error, sep, detail)
                return {"ok": False, "error": err.error, "errors": err.details}

    async def _reload(self) -> Json:
        path = self.config_path
        if path is None:
            raise ReloadRefused("this daemon was started without a config file")
        if self._stop.is_set():
            raise ReloadRefused("the daemon is stopping")
        try:
            new = load(path)
        except ConfigError as err:
            raise ReloadRefused(f"{path}: invalid configuration", err.errors) from None
        warnings = [f"config: {w}" for w in new.warnings]
        kept_socket = self.config.settings.control_socket
        if new.settings.control_socket != kept_socket:
            warnings.append(
                f"control_socket {new.settings.control_socket} is ignored until a restart; "
                f"the control socket stays {self.control_path}"
            )
            new = replace(new, settings=replace(new.settings, control_socket=kept_socket))
        diff = diff_routers((r.core.config for r in self.routers), new.routers)
        prepared = await self._prepare(diff)
        try:
            if self._stop.is_set():
                raise ReloadRefused("the daemon is stopping")
            for warning in warnings:
                log.warning("reload: %s", warning)
            self._apply_reload(new, diff, prepared)
        finally:
            prepared.close()  # the interfaces `_apply_reload` did not take over
        log.info(
            "reload of %s done: %d added, %d removed, %d changed, %d unchanged",
            path,
            len(diff.added),
            len(diff.removed),
            len(diff.changed),
            len(diff.unchanged),
        )
        return {
            "ok": True,
            "config": path,
            "added": [rc.name for rc in diff.added],
            "removed": [rc.name for rc in diff.removed],
            "changed": [new_rc.name for _, new_rc in diff.changed],
            "unchanged": [rc.name for rc in diff.unchanged],
            "warnings": warnings,
        }

    async def _prepare(self, diff: RouterDiff) -> Prepared:
        """Resolve and open the interfaces added routers need; refuse on any problem."""
        by_iface: dict[str, list[RouterConfig]] = {}
        for rc in diff.added:
            by_iface.setdefault(rc.interface, []).append(rc)
        prepared = Prepared()
        errors = []
        found: dict[str, tuple[int, IPv4Address]] = {}
        for name, rcs in by_iface.items():
            try:
                iface = self.interfaces.get(name)
                if iface is not None:
                    prepared.present[name] = await self._nl.addresses(iface.index)
                    continue
                index, present, primary = await resolve_interface(self._nl, name, rcs)
            except InterfaceError as err:
                errors.append(str(err))
                continue
            except Exception as err:  # netlink refused: report it, change nothing
                errors.append(f"interface {name!r}: cannot read it: {err}")
                continue
            found[name] = (index, primary)
            prepared.present[name] = present
        if errors:
            raise ReloadRefused("interface problem", errors)
        try:
            for name, (index, primary) in found.items():
                iface = self._open_interface(name, index, primary)
                prepared.interfaces[name] = iface
                iface.running = await self._nl.running(index)
        except StartupError as err:
            prepared.close()
            raise ReloadRefused("cannot open sockets", list(err.messages)) from None
        except BaseException:
            prepared.close()
            raise
        return prepared

    def _apply_reload(self, new: Config, diff: RouterDiff, prepared: Prepared) -> None:
        """Apply a checked reload at one instant (no await: no packet or timer between)."""
        now = self._loop.time()
        by_key = {router_key(r.core.config): r for r in self.routers}
        for rc in diff.removed:
            r = by_key[router_key(rc)]
            log.info("reload: removing %s (%s)", r.label, r.core.state.value)
            self._remove_router(r, now)
        for old, rc in diff.changed:
            r = by_key[router_key(rc)]
            log.info("reload: %s: %s", label(rc), describe_change(old, rc))
            self._feed(r, r.core.reconfigure(rc, now))
            r.iface.policies[rc.vrid] = r.core.receive_policy()
        for name, iface in prepared.interfaces.items():
            self.interfaces[name] = iface
            self._loop.add_reader(iface.sock.fileno(), self._on_readable, iface)
            if not iface.running:
                log.warning("%s: link is down; its virtual routers start when it is up", name)
        prepared.interfaces = {}  # ours now
        self.config = new
        for rc in diff.added:
            iface = self.interfaces[rc.interface]
            self._clear_ground(rc, iface, prepared.present[rc.interface])
            r = self._add_router(rc)
            addresses = ", ".join(map(str, rc.addresses))
            log.info("reload: added %s (priority %d, %s)", r.label, rc.priority, addresses)
            if iface.running:
                self._feed(r, r.core.start(now))
        for name in [n for n, i in self.interfaces.items() if not i.routers]:
            iface = self.interfaces.pop(name)
            self._loop.remove_reader(iface.sock.fileno())
            iface.sock.close()
            iface.garp.close()
            log.info("reload: %s is no longer used: its sockets are closed", name)
        order = {router_key(rc): i for i, rc in enumerate(new.routers)}
        self.routers.sort(key=lambda r: order[router_key(r.core.config)])

    def _remove_router(self, r: Router, now: float) -> None:
        """RFC 3768 6.4.2/6.4.3 Shutdown for one router, then forget it."""
        if r.timer is not None:
            r.timer.cancel()
            r.timer = None
        self._execute(r, r.core.stop(now, "removed from the config"))
        for handle in r.garp:
            handle.cancel()
        r.garp.clear()
        vrid = r.core.config.vrid
        del r.iface.routers[vrid]
        del r.iface.policies[vrid]
        self.routers.remove(r)

    def _clear_ground(
        self, rc: RouterConfig, iface: Interface, present: list[InterfaceAddress]
    ) -> None:
        """As at startup, for a router that a reload adds: its addresses already present.

        The owner's (priority 255) are real and never removed; another router's, when no
        master here holds them, are left-overs and go (a shared VIP a master holds stays).
        """
        vips = {a.ip for a in rc.addresses}
        mine = [p.address for p in present if p.address.ip in vips]
        loose = [a for a in mine if self._claims.unclaimed(iface.name, a.ip)]
        if rc.priority == 255:
            self._claims.protect(iface.name, [a.ip for a in loose])
        elif loose:
            self._jobs.put_nowait(partial(self._remove_stale, rc, iface.index, tuple(loose)))

    async def _remove_stale(
        self, rc: RouterConfig, index: int, addresses: tuple[IPv4Interface, ...]
    ) -> None:
        for a in addresses:
            if await self._nl.remove(index, a):
                log.warning("%s: removed stale %s (nobody here holds it)", label(rc), a)

    # -- control --------------------------------------------------------------------------
    def status(self, _request: Json) -> Json:
        now = self._loop.time()
        return {
            "ok": True,
            "pid": os.getpid(),
            "routers": [r.status(now) for r in self.routers],
            "interfaces": [
                {
                    "name": i.name,
                    "index": i.index,
                    "primary_ip": str(i.primary),
                    "drops": dict(sorted(i.drops.items())),
                }
                for i in self.interfaces.values()
            ],
        }


async def resolve_interface(
    nl: Netlink, name: str, rcs: list[RouterConfig]
) -> tuple[int, list[InterfaceAddress], IPv4Address]:
    """An interface's index, IPv4 addresses and primary address; InterfaceError if unusable."""
    users = ", ".join(rc.name for rc in rcs)
    try:
        index = await nl.index(name)
    except InterfaceError as err:
        raise InterfaceError(f"{err} (used by {users})") from None
    present = await nl.addresses(index)
    # The owner's (priority 255) addresses are real; other VIPs are not ours to use.
    virtual = {a.ip for rc in rcs if rc.priority != 255 for a in rc.addresses}
    primary = primary_address(present, virtual)
    if primary is None:
        raise InterfaceError(
            f"interface {name!r} has no IPv4 address (used by {users}); adverts "
            "are sent from its primary IPv4 address (RFC 3768 5.2.1)"
        )
    return index, present, primary


def run(config: Config, control_path: str, config_path: str | None = None) -> int:
    """Run the daemon to completion; startup errors go to stderr with their exit code.

    `config_path` is the file a reload (SIGHUP, `failover reload`) re-reads.
    """

    async def main() -> ExitCode:
        return await Daemon(config, control_path, config_path).run()

    try:
        return asyncio.run(main())
    except StartupError as err:
        for message in err.messages:
            print(f"failover: error: {message}", file=sys.stderr)
        return err.code


def configure_logging(level: str) -> None:
    """One line per event on stderr (journald adds its own metadata).

    `level` applies to failover's own logger; libraries (pyroute2, asyncio) log
    warnings and errors only.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s.%(msecs)03d %(levelname)s %(message)s", datefmt="%Y-%m-%d %H:%M:%S"
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    log.setLevel(level.upper())
