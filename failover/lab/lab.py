"""A LAN in network namespaces: a bridge, router hosts r1..rN and a client.

    with Lab(routers=2) as lab:
        lab.run(lab.client, ["ping", "-c1", "192.0.2.1"])

Every host is its own namespace with `eth0` on the LAN (and `eth1` on a second LAN when
asked), plugged by a veth into a bridge in a "switch" namespace. Only documentation
addresses are used: routers 192.0.2.1..N, the client 192.0.2.100; the second LAN is
198.51.100.0/24 with the same host numbers. Teardown is complete on every exit path.

IPv6 (on unless `ipv6=False`): host number n is also 2001:db8:<lan>::<n in hex>/64
(network + n: r1 2001:db8::1, the client 2001:db8::64; 2001:db8:1::/64 on the second
LAN), beside the interface's own fe80:: link-local address. Duplicate address detection
is off inside the lab's namespaces, so every address is usable at once; `up()` returns
once each interface has its link-local and global addresses, none tentative.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
    ip_address,
    ip_interface,
)
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute

from failover.lab import guard, netns
from failover.lab.naming import make_prefix
from failover.lab.probe import HttpGetter, Pinger, Prober
from failover.lab.procs import Proc, stop_all
from failover.lab.wait import wait_until

IPAddress = IPv4Address | IPv6Address
IPInterface = IPv4Interface | IPv6Interface
IFA_F_TENTATIVE = 0x40
IFA_F_DADFAILED = 0x08
AF_INET, AF_INET6 = 2, 10


@dataclass(frozen=True, slots=True)
class Lan:
    bridge: str
    ifname: str
    network: IPv4Network
    network6: IPv6Network

    def address(self, host_number: int) -> IPv4Interface:
        return IPv4Interface((self.network.network_address + host_number, self.network.prefixlen))

    def address6(self, host_number: int) -> IPv6Interface:
        """Host `host_number`'s IPv6 address: the network plus the number (r1 ::1)."""
        net = self.network6
        return IPv6Interface((net.network_address + host_number, net.prefixlen))


LANS = (
    Lan("br0", "eth0", IPv4Network("192.0.2.0/24"), IPv6Network("2001:db8::/64")),
    Lan("br1", "eth1", IPv4Network("198.51.100.0/24"), IPv6Network("2001:db8:1::/64")),
)
# A fleet's groups, each a lab of its own on its own LAN (eth0): the documentation /24s
# cut into /25s (room for the client's host number, 100), one IPv6 /64 each.
FLEET_LANS = tuple(
    Lan("br0", "eth0", net, IPv6Network(f"2001:db8:f{i}::/64"))
    for i, net in enumerate(
        half
        for block in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
        for half in IPv4Network(block).subnets(new_prefix=25)
    )
)
DEFAULT_VIP = IPv4Interface("192.0.2.254/24")
DEFAULT_VIP6 = IPv6Interface("2001:db8::100/64")  # on the first LAN; no host has it
CLIENT_NUMBER = 100
LOSS_TABLE = "failover_lab"
SPLIT_TABLE = "failover_lab_split"
NUD_UNUSABLE = {"FAILED", "INCOMPLETE"}  # neighbour states without a usable address


def as_ip(address: IPAddress | IPInterface | str) -> IPAddress:
    """The address alone, from `a.b.c.d`, `a:b::c`, either with `/len`, or an ipaddress object."""
    if isinstance(address, IPv4Interface | IPv6Interface):  # first: they subclass the addresses
        return address.ip
    if isinstance(address, IPv4Address | IPv6Address):
        return address
    return ip_interface(address).ip


@dataclass(slots=True)
class Host:
    """One namespaced host: `name` (r1, client, switch), its namespace and addresses."""

    name: str
    ns: str
    addresses: dict[str, IPv4Interface] = field(default_factory=dict)  # ifname -> address
    ports: dict[str, str] = field(default_factory=dict)  # ifname -> bridge port
    addresses6: dict[str, IPv6Interface] = field(default_factory=dict)  # ifname -> global
    link_local: dict[str, IPv6Address] = field(default_factory=dict)  # ifname -> fe80::

    @property
    def ip(self) -> IPv4Address:
        """The primary address on the first LAN."""
        return self.addresses[LANS[0].ifname].ip

    @property
    def ip6(self) -> IPv6Address:
        """The global IPv6 address on the first LAN (labs with IPv6)."""
        return self.addresses6[LANS[0].ifname].ip

    def argv(self, argv: list[str]) -> list[str]:
        """`argv` wrapped to run in this host's namespace."""
        return netns.exec_argv(self.ns, argv)


class LabError(RuntimeError):
    """The lab could not be built or a lab command failed."""


class Lab:
    """A namespaced LAN; use as a context manager (or call `up()` and `close()`)."""

    def __init__(
        self,
        routers: int = 2,
        lans: int | tuple[Lan, ...] = 1,
        client: bool = True,
        keep_dir: bool = False,
        ipv6: bool = True,
    ) -> None:
        if not 1 <= routers <= 99:
            raise ValueError("routers must be between 1 and 99")
        if isinstance(lans, int) and not 1 <= lans <= len(LANS):
            raise ValueError(f"lans must be between 1 and {len(LANS)}")
        if not isinstance(lans, int) and (not lans or lans[0].ifname != LANS[0].ifname):
            raise ValueError(f"the first of the lans must be on {LANS[0].ifname}")
        self.prefix = make_prefix()
        self.lans = LANS[:lans] if isinstance(lans, int) else lans
        self.keep_dir = keep_dir
        self.ipv6 = ipv6
        self.switch = Host("switch", self.prefix + "sw")
        self.routers = [Host(f"r{i}", f"{self.prefix}r{i}") for i in range(1, routers + 1)]
        self.client = Host("client", self.prefix + "client") if client else None
        self.hosts = {h.name: h for h in self.routers}
        if self.client:
            self.hosts["client"] = self.client
        self.dir = Path()
        self.procs: list[Proc] = []
        self._pingers: list[Prober] = []
        self._ipr: dict[str, Any] = {}
        self._created: list[str] = []
        self._open = False
        self._owner = os.getpid()

    # -- life cycle -----------------------------------------------------------------

    def __enter__(self) -> Lab:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def up(self) -> Lab:
        """Build the LAN (once); on any failure, tear down what was built and re-raise."""
        if self._open:
            return self
        reason = netns.unavailable()
        if reason:
            raise LabError(f"cannot build a lab: {reason}")
        guard.install()
        guard.register(id(self), self.close)
        self._open, self._owner = True, os.getpid()
        try:
            self.dir = Path(tempfile.mkdtemp(prefix=self.prefix))
            self._make_ns(self.switch, ipv6=False)  # it only bridges
            sw = self.ipr(self.switch)
            for lan in self.lans:
                sw.link("add", ifname=lan.bridge, kind="bridge", br_mcast_snooping=0)
                sw.link("set", index=sw.link_lookup(ifname=lan.bridge)[0], state="up")
            for host in self.hosts.values():
                self._make_ns(host, self.ipv6)
                number = CLIENT_NUMBER if host is self.client else int(host.name[1:])
                for i, lan in enumerate(self.lans):
                    self._plug(host, lan, f"{host.name}-{i}")
                if self.ipv6:  # before any link is up: no address ever goes through DAD
                    netns.sysctl(host.ns, *(f"net.ipv6.conf.{lan.ifname}.accept_dad=0"
                                            for lan in self.lans))  # fmt: skip
                for lan in self.lans:
                    self._address(host, lan, number)
            if self.ipv6:
                wait_until(self._ipv6_ready, 30, what="every lab interface's IPv6 addresses")
        except BaseException:
            self.close()
            raise
        return self

    def _make_ns(self, host: Host, ipv6: bool) -> None:
        netns.create(host.ns, ipv6=ipv6)
        self._created.append(host.ns)
        ipr = self.ipr(host)
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")

    def _plug(self, host: Host, lan: Lan, port: str) -> None:
        """A veth from the LAN's bridge into the host (its end left down)."""
        sw = self.ipr(self.switch)
        sw.link("add", ifname=port, kind="veth", peer={"ifname": lan.ifname, "net_ns_fd": host.ns})
        bridge = sw.link_lookup(ifname=lan.bridge)[0]
        sw.link("set", index=sw.link_lookup(ifname=port)[0], master=bridge, state="up")
        host.ports[lan.ifname] = port

    def _address(self, host: Host, lan: Lan, number: int) -> None:
        """Host `number`'s addresses on the LAN, then the link up."""
        ipr = self.ipr(host)
        index = ipr.link_lookup(ifname=lan.ifname)[0]
        host.addresses[lan.ifname] = lan.address(number)
        if self.ipv6:
            host.addresses6[lan.ifname] = lan.address6(number)
        for address in (host.addresses[lan.ifname], host.addresses6.get(lan.ifname)):
            if address is not None:
                ip, length = str(address.ip), address.network.prefixlen
                ipr.addr("add", index=index, address=ip, prefixlen=length)
        ipr.link("set", index=index, state="up")

    def _ipv6_ready(self) -> bool:
        """Every host interface has its fe80:: and global addresses, none tentative."""
        for host in self.hosts.values():
            ipr = self.ipr(host)
            for lan in self.lans:
                index = ipr.link_lookup(ifname=lan.ifname)[0]
                ready = {
                    IPv6Address(a.get("address"))
                    for a in ipr.get_addr(family=AF_INET6, index=index)
                    if not _flags(a) & (IFA_F_TENTATIVE | IFA_F_DADFAILED)
                }
                local = [a for a in ready if a.is_link_local]
                if not local or host.addresses6[lan.ifname].ip not in ready:
                    return False
                host.link_local[lan.ifname] = local[0]
        return True

    def close(self) -> None:
        """Tear everything down: processes, namespaces, temp dir. Idempotent."""
        if not self._open or os.getpid() != self._owner:
            return  # closed already, or a forked copy of the owner
        try:
            with guard.signals_deferred():
                self._teardown()
        finally:
            guard.unregister(id(self))
            guard.uninstall()

    def _teardown(self) -> None:
        self._open = False
        for pinger in self._pingers:
            pinger.stop()
        stop_all(self.procs)
        for ipr in self._ipr.values():
            ipr.close()
        self._ipr.clear()
        for ns in reversed(self._created):
            netns.kill_all(ns)
            netns.remove(ns)
        self._created.clear()
        if not self.keep_dir and self.dir != Path():
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- hosts and processes --------------------------------------------------------

    def host(self, host: Host | str) -> Host:
        if isinstance(host, Host):
            return host
        return self.switch if host == "switch" else self.hosts[host]

    def ipr(self, host: Host | str) -> Any:
        """A netlink (pyroute2 IPRoute) handle inside the host's namespace, kept open."""
        ns = self.host(host).ns
        if ns not in self._ipr:
            self._ipr[ns] = IPRoute(netns=ns)
        return self._ipr[ns]

    def run(
        self, host: Host | str, argv: list[str], check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run a command to completion in a host's namespace; output captured as text."""
        done = subprocess.run(
            self.host(host).argv(argv), capture_output=True, text=True, timeout=timeout
        )
        if check and done.returncode != 0:
            raise LabError(
                f"{' '.join(argv)} in {self.host(host).name} exited {done.returncode}: "
                f"{(done.stderr or done.stdout).strip()}"
            )
        return done

    def start(
        self,
        host: Host | str,
        argv: list[str],
        name: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Proc:
        """Start a long-running process in a host's namespace; stopped at teardown.

        `env`: variables added to the inherited environment (e.g. NOTIFY_SOCKET)."""
        h = self.host(host)
        name = name or f"{h.name}-{Path(argv[0]).name}"
        taken = {p.name for p in self.procs}
        unique, n = name, 1
        while unique in taken:
            n += 1
            unique = f"{name}.{n}"
        proc = Proc(unique, h.argv(argv), self.dir / f"{unique}.log", env)
        self.procs.append(proc)
        return proc

    def path(self, name: str) -> Path:
        """A file path in this lab's temp dir."""
        return self.dir / name

    # -- the LAN --------------------------------------------------------------------

    def _port(self, host: Host | str, lan: int) -> int:
        sw = self.ipr(self.switch)
        return int(sw.link_lookup(ifname=self.host(host).ports[self.lans[lan].ifname])[0])

    def cut(self, host: Host | str, lan: int = 0) -> None:
        """Cut a host off a LAN: its bridge port goes down (its link loses carrier)."""
        self.ipr(self.switch).link("set", index=self._port(host, lan), state="down")

    def heal(self, host: Host | str, lan: int = 0) -> None:
        """Plug a cut host back in."""
        self.ipr(self.switch).link("set", index=self._port(host, lan), state="up")

    def isolate(self, *hosts: Host | str, lan: int = 0) -> None:
        """Split the LAN in two: frames between `hosts` and the others are dropped at
        the bridge (the hosts still hear each other). Unlike `cut`, every link keeps
        its carrier: each side runs on, unaware of the other. `rejoin` ends it."""
        ports = ", ".join(f'"{self.host(h).ports[self.lans[lan].ifname]}"' for h in hosts)
        rules = (
            f"table bridge {SPLIT_TABLE} {{\n"
            "  chain forward {\n"
            "    type filter hook forward priority 0; policy accept;\n"
            f"    iifname {{ {ports} }} oifname {{ {ports} }} accept\n"
            f"    iifname {{ {ports} }} drop\n"
            f"    oifname {{ {ports} }} drop\n"
            "  }\n}\n"
        )
        self.rejoin()
        rules_file = self.path("split.nft")
        rules_file.write_text(rules)
        self.run(self.switch, ["nft", "-f", str(rules_file)])

    def rejoin(self) -> None:
        """End an `isolate` (at once: one table goes); nothing if the LAN is whole."""
        self.run(self.switch, ["nft", "delete", "table", "bridge", SPLIT_TABLE], check=False)

    def add_loss(self, percent: int, proto: int = 112, match: str = "") -> None:
        """Drop `percent`% of the bridged IP packets of protocol `proto` (112: VRRP),
        IPv4 and IPv6; `match`, an nftables match, narrows it (e.g. "ip daddr
        224.0.0.18": VRRP to the group only)."""
        if not 0 <= percent <= 100:
            raise ValueError("percent must be between 0 and 100")
        self.clear_loss()
        if percent == 0:
            return
        sample = "" if percent == 100 else f"numgen random mod 100 < {percent} "
        rules = (
            f"table bridge {LOSS_TABLE} {{\n"
            "  chain forward {\n"
            "    type filter hook forward priority 0; policy accept;\n"
            f"    meta l4proto {proto} {match + ' ' if match else ''}{sample}drop\n"
            "  }\n}\n"
        )
        rules_file = self.path("loss.nft")
        rules_file.write_text(rules)
        self.run(self.switch, ["nft", "-f", str(rules_file)])

    def clear_loss(self) -> None:
        """Remove the loss rule, if any."""
        self.run(self.switch, ["nft", "delete", "table", "bridge", LOSS_TABLE], check=False)

    def ping(
        self,
        target: IPAddress | IPInterface | str = DEFAULT_VIP.ip,
        period: float = 0.01,
        source: Host | str | None = None,
    ) -> Pinger:
        """Ping `target` (IPv4 or IPv6) continuously from the client (or `source`);
        stopped at teardown."""
        src = self.host(source) if source is not None else self.client
        if src is None:
            raise LabError("this lab has no client")
        pinger = Pinger(src.ns, as_ip(target), period)
        self._pingers.append(pinger)
        return pinger

    def http(
        self,
        target: IPAddress | IPInterface | str = DEFAULT_VIP.ip,
        port: int = 80,
        period: float = 0.01,
    ) -> HttpGetter:
        """GET http://target:port/ (IPv4 or IPv6) continuously from the client; stopped at
        teardown."""
        if self.client is None:
            raise LabError("this lab has no client")
        getter = HttpGetter(self.client.ns, as_ip(target), port, period)
        self._pingers.append(getter)
        return getter

    def addresses(self, host: Host | str) -> set[IPAddress]:
        """Every address configured in the host's namespace, IPv4 and IPv6 (link-local
        included, tentative ones too)."""
        return {ip_address(a.get("address")) for a in self.ipr(host).get_addr()}

    def mac(self, host: Host | str, lan: int = 0) -> str:
        """The host's MAC address on a LAN, as `ip` prints it (aa:bb:...)."""
        ipr = self.ipr(host)
        index = ipr.link_lookup(ifname=self.lans[lan].ifname)[0]
        return str(ipr.link("get", index=index)[0].get_attr("IFLA_ADDRESS"))

    def neighbour(
        self, host: Host | str, address: IPAddress | IPInterface | str, lan: int = 0
    ) -> str | None:
        """The MAC address `host`'s neighbour table has for `address` on a LAN (its ARP
        or IPv6 neighbour cache), or None without a usable entry."""
        ip, ifname = as_ip(address), self.lans[lan].ifname
        family = f"-{ip.version}"
        shown = self.run(host, ["ip", "-j", family, "neigh", "show", str(ip), "dev", ifname])
        for entry in json.loads(shown.stdout or "[]"):
            if "lladdr" in entry and not NUD_UNUSABLE & set(entry.get("state", [])):
                return str(entry["lladdr"])
        return None

    def holders(self, address: IPAddress | IPInterface | str) -> list[Host]:
        """The hosts that have `address` (IPv4 or IPv6, with `/len` or not) configured."""
        ip = as_ip(address)
        return [h for h in self.hosts.values() if ip in self.addresses(h)]


def _flags(msg: Any) -> int:
    """An address's flags: IFA_FLAGS (32 bits) when present, else ifaddrmsg's 8."""
    extended = msg.get_attr("IFA_FLAGS")
    return int(msg["flags"] if extended is None else extended)
