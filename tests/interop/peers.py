"""Real VRRP peers on lab hosts: keepalived 2.2.x and FRR vrrpd (Debian packages).

Each peer reports its own view of each virtual router's state, so a test can compare
what every implementation believes, not only who holds the address.

VRRPv2 (RFC 3768) by default; an `Instance(version=3)` is VRRPv3 (RFC 5798) over IPv4
or, when its VIPs are IPv6, over IPv6 (always version 3), with an interval down to
0.01 s and, for keepalived, unicast peers.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv6Interface
from pathlib import Path

from failover.lab.lab import DEFAULT_VIP, LANS, Host, Lab
from failover.lab.procs import Proc, Service
from failover.lab.wait import wait_until

KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
FRR_DIR = Path("/usr/lib/frr")


@dataclass(frozen=True, slots=True)
class Instance:
    """One virtual router as a peer is configured for it.

    `vips` are all IPv4 or all IPv6 (an IPv6 instance is VRRPv3). `interval` is in
    seconds: whole seconds 1..255 for version 2, 0.01..40.95 in steps of 0.01 for 3.
    `unicast_peers` (keepalived only) sends adverts to these addresses instead of the
    group, from `unicast_source` if given. `v3_checksum_as_v2` (keepalived >= 2.2.8, not
    2.2.7) leaves the IPv4 pseudo-header out of a VRRPv3 checksum, as RFC 9568 says.
    """

    vrid: int
    priority: int = 100
    vips: tuple[IPv4Interface | IPv6Interface, ...] = (DEFAULT_VIP,)
    interval: float = 1
    preempt: bool = True
    auth_pass: str | None = None
    interface: str = LANS[0].ifname
    track_script: str | None = None  # a vrrp_script's command line (keepalived)
    track_file: str | None = None  # a track_file's path (keepalived)
    track_weight: int = 0
    version: int = 2
    unicast_peers: tuple[str, ...] = ()
    unicast_source: str | None = None
    v3_checksum_as_v2: bool = False

    def __post_init__(self) -> None:
        families = {v.version for v in self.vips}
        if len(families) != 1:
            raise ValueError(f"VRID {self.vrid}: VIPs must be one family, not {self.vips}")
        if self.version not in (2, 3) or (self.ipv6 and self.version != 3):
            raise ValueError(f"VRID {self.vrid}: version {self.version} (IPv6 needs 3)")
        centis = round(self.interval * 100)
        if abs(centis - self.interval * 100) > 1e-6 or not 1 <= centis <= 4095:
            raise ValueError(f"VRID {self.vrid}: interval {self.interval} s")
        if self.version == 2 and centis % 100:
            raise ValueError(f"VRID {self.vrid}: VRRPv2 intervals are whole seconds")
        if self.version == 3 and self.auth_pass is not None:
            raise ValueError(f"VRID {self.vrid}: VRRPv3 has no authentication")

    @property
    def ipv6(self) -> bool:
        return self.vips[0].version == 6

    @property
    def interval_ms(self) -> int:
        return round(self.interval * 1000)


class KeepalivedPeer(Service):
    """keepalived in a lab host's namespace, foreground, its own pid files.

    The global default is VRRPv2; each instance says its own `version`.
    """

    what = "keepalived"

    def __init__(self, lab: Lab, host: Host | str, instances: list[Instance]) -> None:
        self.lab = lab
        self.host = lab.host(host)
        self.host_name = self.host.name
        self.instances = instances
        self.dir = lab.path(f"{self.host.name}-keepalived")
        self.dir.mkdir(exist_ok=True)
        self.conf = self.dir / "keepalived.conf"
        self.notify = self.dir / "notify.sh"

    def render(self) -> str:
        """keepalived.conf for the instances; `notify` records keepalived's own view."""
        lines = [
            "global_defs {",
            f"  router_id {self.host.name}",
            "  vrrp_version 2",
            "  script_user root",
            "  enable_script_security",
            "}",
        ]
        for i in self.instances:
            if i.track_script is not None:
                lines += [
                    f"vrrp_script chk_{i.vrid} {{",
                    f'  script "{i.track_script}"',
                    "  interval 1",
                    f"  weight {i.track_weight}",
                    "}",
                ]
            if i.track_file is not None:
                lines += [
                    f"vrrp_track_file file_{i.vrid} {{",
                    f"  file {i.track_file}",
                    f"  weight {i.track_weight}",
                    "}",
                ]
            lines += [
                f"vrrp_instance VI_{i.vrid} {{",
                "  state BACKUP",
                f"  interface {i.interface}",
                f"  virtual_router_id {i.vrid}",
                f"  version {i.version}",
                f"  priority {i.priority}",
                f"  advert_int {i.interval:g}",
                f"  notify {self.notify}",
            ]
            if i.v3_checksum_as_v2:
                lines.append("  v3_checksum_as_v2")
            if i.unicast_source is not None:
                lines.append(f"  unicast_src_ip {i.unicast_source}")
            if i.unicast_peers:
                lines += ["  unicast_peer {", *(f"    {a}" for a in i.unicast_peers), "  }"]
                # RFC 5798 5.1.2.3 / 7.1: Hop Limit 255, which keepalived 2.2.7 does not
                # send over IPv6 unicast by default (64): an RFC-strict peer drops it.
                lines.append("  unicast_ttl 255")
            if not i.preempt:
                lines.append("  nopreempt")
            if i.track_script is not None:
                lines += ["  track_script {", f"    chk_{i.vrid}", "  }"]
            if i.track_file is not None:
                lines += ["  track_file {", f"    file_{i.vrid}", "  }"]
            if i.auth_pass is not None:
                lines += [
                    "  authentication {",
                    "    auth_type PASS",
                    f"    auth_pass {i.auth_pass}",
                    "  }",
                ]
            lines += ["  virtual_ipaddress {", *(f"    {v}" for v in i.vips), "  }", "}"]
        return "\n".join(lines) + "\n"

    def start(self) -> KeepalivedPeer:
        self.conf.write_text(self.render())
        self.notify.write_text(f'#!/bin/sh\necho "$3" > {self.dir}/state-"$2"\n')
        self.notify.chmod(0o700)
        for old in self.dir.glob("state-*"):
            old.unlink()
        argv = [
            KEEPALIVED, "-n", "-l", "-D", "-f", str(self.conf),
            "-p", str(self.dir / "keepalived.pid"),
            "-r", str(self.dir / "vrrp.pid"),
            "-c", str(self.dir / "checker.pid"),
        ]  # fmt: skip
        self.proc = self.lab.start(self.host, argv, name=f"{self.host.name}-keepalived")
        return self

    def state(self, vrid: int) -> str | None:
        """keepalived's own view (from its notify script): MASTER, BACKUP, FAULT or None."""
        path = self.dir / f"state-VI_{vrid}"
        try:
            return path.read_text().strip() or None
        except FileNotFoundError:
            return None


class FrrPeer:
    """FRR zebra + vrrpd in a lab host's namespace, with a macvlan per VRID.

    FRR needs the macvlan (virtual MAC 00:00:5e:00:01:VRID, bridge mode; for IPv6
    00:00:5e:00:02:VRID with `addrgenmode random`, so that each router's has its own
    link-local address) to exist with the virtual addresses on it; vrrpd brings it up
    as master and keeps it protodown as backup. FRR has no VRRPv2 authentication and
    (8.4) no unicast.
    """

    def __init__(self, lab: Lab, host: Host | str, instances: list[Instance]) -> None:
        self.lab = lab
        self.host = lab.host(host)
        self.instances = instances
        self.dir = lab.path(f"{self.host.name}-frr")
        self.procs: list[Proc] = []

    def macvlan(self, vrid: int, ipv6: bool = False) -> str:
        return f"vrrp{6 if ipv6 else 4}-{vrid}"

    def instance(self, vrid: int) -> Instance:
        (found,) = [i for i in self.instances if i.vrid == vrid]
        return found

    def render(self) -> str:
        lines = ["frr defaults traditional", "!"]
        for i in self.instances:
            if i.auth_pass is not None:
                raise ValueError("FRR vrrpd has no VRRPv2 authentication")
            if i.unicast_peers or i.unicast_source or i.v3_checksum_as_v2:
                raise ValueError("FRR 8.4 vrrpd has no unicast and no v3_checksum_as_v2")
            lines += [
                f"interface {i.interface}",
                f" vrrp {i.vrid} version {i.version}",
                f" vrrp {i.vrid} priority {i.priority}",
                f" vrrp {i.vrid} advertisement-interval {i.interval_ms}",
                *(f" vrrp {i.vrid} {'ipv6' if i.ipv6 else 'ip'} {v.ip}" for v in i.vips),
            ]
            if not i.preempt:
                lines.append(f" no vrrp {i.vrid} preempt")
            lines.append("!")
        return "\n".join(lines) + "\n"

    def _prepare(self) -> None:
        """The per-namespace folder owned by frr, and a macvlan per VRID."""
        frr = pwd.getpwnam("frr")
        # The frr user must reach its folder inside the lab's private (0700) temp dir.
        self.lab.dir.chmod(0o711)
        self.dir.mkdir(exist_ok=True)
        os.chown(self.dir, frr.pw_uid, frr.pw_gid)
        conf = self.dir / "frr.conf"
        conf.write_text(self.render())
        os.chown(conf, frr.pw_uid, frr.pw_gid)
        # FRR's documented set-up: only the macvlan (up as master) answers ARP for the
        # VIPs; without this the parent interface answers for them even as backup.
        for knob, value in (("arp_ignore", "1"), ("arp_announce", "2")):
            self.lab.run(self.host, ["sysctl", "-qw", f"net.ipv4.conf.all.{knob}={value}"])
        for i in self.instances:
            name = self.macvlan(i.vrid, i.ipv6)
            if subprocess.run(self.host.argv(["ip", "link", "show", name]),
                              capture_output=True).returncode == 0:  # fmt: skip
                continue
            self.lab.run(self.host, ["ip", "link", "add", name, "link", i.interface,
                                     "type", "macvlan", "mode", "bridge"])  # fmt: skip
            mac = f"00:00:5e:00:0{2 if i.ipv6 else 1}:{i.vrid:02x}"
            self.lab.run(self.host, ["ip", "link", "set", name, "address", mac])
            if i.ipv6:  # not the VMAC's EUI-64 link-local: the same on every router
                self.lab.run(self.host, ["ip", "link", "set", name, "addrgenmode", "random"])
            for v in i.vips:
                self.lab.run(self.host, ["ip", "addr", "add", str(v), "dev", name,
                                         *(["nodad"] if i.ipv6 else [])])  # fmt: skip
            self.lab.run(self.host, ["ip", "link", "set", name, "up"])

    def _daemon(self, name: str, config: str) -> Proc:
        d = self.dir
        argv = [
            str(FRR_DIR / name), "-u", "frr", "-g", "frr",
            "-z", str(d / "zserv.api"), "-i", str(d / f"{name}.pid"),
            "--vty_socket", str(d), "-f", config, "-A", "127.0.0.1",
        ]  # fmt: skip
        return self.lab.start(self.host, argv, name=f"{self.host.name}-{name}")

    def start(self) -> FrrPeer:
        self._prepare()
        zebra = self._daemon("zebra", "/dev/null")
        self.procs.append(zebra)
        wait_until(lambda: (self.dir / "zserv.api").exists(), 15, what="zebra's zserv socket")
        self.procs.append(self._daemon("vrrpd", str(self.dir / "frr.conf")))
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop of vrrpd (priority 0 as master), then zebra."""
        for proc in reversed(self.procs):
            proc.stop(timeout)

    def kill(self) -> None:
        for proc in reversed(self.procs):
            proc.kill()

    def log(self) -> str:
        return "\n".join(p.log() for p in self.procs)

    def vtysh(self, command: str) -> str:
        done = self.lab.run(
            self.host, ["vtysh", "--vty_socket", str(self.dir), "-c", command], check=False
        )
        return done.stdout

    def state(self, vrid: int) -> str | None:
        """FRR's own view of the instance (its IPv4 or IPv6 half, as its VIPs are):
        MASTER, BACKUP, INITIALIZE or None."""
        half = "v6" if self.instance(vrid).ipv6 else "v4"
        try:
            data = json.loads(self.vtysh(f"show vrrp {vrid} json") or "[]")
        except json.JSONDecodeError:
            return None
        for vr in data if isinstance(data, list) else [data]:
            if vr.get("vrid") == vrid:
                status = str(vr.get(half, {}).get("status", "")).upper()
                return status or None
        return None

    def holds(self, vrid: int) -> bool:
        """True if the VIPs are live here: the macvlan is up, not protodown (master).

        Both routers keep the VIPs configured on their macvlans; only the master's
        carries traffic.
        """
        name = self.macvlan(vrid, self.instance(vrid).ipv6)
        out = self.lab.run(self.host, ["ip", "-o", "link", "show", name], check=False).stdout
        return "protodown" not in out and ",UP" in out
