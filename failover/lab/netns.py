"""Network namespace plumbing: create, remove, list, and the processes inside one."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from pyroute2 import netns as _netns

from failover.lab.naming import orphans

NETNS_DIR = Path("/run/netns")


def exec_argv(ns: str, argv: list[str]) -> list[str]:
    """`argv` run inside namespace `ns` (`ip netns exec` execs it: same pid)."""
    return ["ip", "netns", "exec", ns, *argv]


def create(ns: str, ipv6: bool = False) -> None:
    """Create a namespace, IPv4-only, or with IPv6 and no duplicate address detection.

    The sysctls are written inside the namespace only (`default` covers the interfaces
    made or moved in later; a caller sets an interface's own knob with `sysctl`).
    """
    _netns.create(ns)
    if ipv6:
        knobs = [
            f"net.ipv6.conf.{conf}.{knob}"
            for conf in ("all", "default")
            for knob in ("disable_ipv6=0", "accept_dad=0", "dad_transmits=0")
        ]
    else:
        knobs = ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]
    sysctl(ns, *knobs)


def sysctl(ns: str, *settings: str) -> None:
    """Write `key=value` sysctls inside namespace `ns` (never the host's)."""
    subprocess.run(exec_argv(ns, ["sysctl", "-qw", *settings]), check=True, capture_output=True)


def remove(ns: str) -> None:
    """Delete a namespace (its interfaces go with it); no error if already gone."""
    with contextlib.suppress(FileNotFoundError):
        _netns.remove(ns)


def names() -> list[str]:
    """Every named namespace, as `ip netns list` shows them."""
    return sorted(_netns.listnetns())


def pids(ns: str) -> list[int]:
    """Pids of the processes whose network namespace is `ns`."""
    try:
        target = os.stat(NETNS_DIR / ns)
    except FileNotFoundError:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry}/ns/net")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
            found.append(int(entry))
    return found


def kill_all(ns: str, grace: float = 2.0) -> None:
    """SIGTERM every process in `ns`, then SIGKILL those still there after `grace` s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = [p for p in pids(ns) if p != os.getpid()]
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 1.0)
        while left and time.monotonic() < deadline:
            time.sleep(0.02)
            left = [p for p in pids(ns) if p != os.getpid()]
        if not left:
            return


def sweep() -> list[str]:
    """Remove namespaces and temp dirs left by lab runs whose owner pid is dead.

    Returns the names removed. Labs of live processes are never touched.
    """
    removed = []
    for ns in orphans(names()):
        kill_all(ns)
        remove(ns)
        removed.append(ns)
    tmp = Path(tempfile.gettempdir())
    for name in orphans(p.name for p in tmp.iterdir()):
        shutil.rmtree(tmp / name, ignore_errors=True)
        removed.append(str(tmp / name))
    return removed


def unavailable() -> str | None:
    """Why a lab cannot be built here, or None if it can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, veth, bridges)"
    if shutil.which("ip") is None:
        return "needs iproute2's `ip` command (apt-get install iproute2)"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"`ip netns` does not work here: {probe.stderr.strip()}"
    return None
