"""systemd's notify protocol (sd_notify(3)), without libsystemd: datagrams to $NOTIFY_SOCKET.

The daemon says READY=1 once its raw sockets are open, left-over VIPs are removed and
the control socket listens; RELOADING=1 ... READY=1 around a reload; STOPPING=1 when it
stops; STATUS= lines for `systemctl status`. With WatchdogSec= in the unit, systemd
sets $WATCHDOG_USEC (and $WATCHDOG_PID): the event loop then sends WATCHDOG=1 every half
period from a loop callback, so a loop that stalls stops feeding and systemd restarts
the daemon. Without $NOTIFY_SOCKET every call does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger("failover")


def notify_address(env: Mapping[str, str]) -> str | None:
    """$NOTIFY_SOCKET as a socket address: a path, or '@name' -> the abstract b'\\0name'."""
    path = env.get("NOTIFY_SOCKET", "")
    if path.startswith("@"):
        return "\0" + path[1:]
    return path if path.startswith("/") else None  # vsock: and others are not for us


def watchdog_period(env: Mapping[str, str], pid: int) -> float | None:
    """The watchdog period in seconds, if systemd asks this process to feed it."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
        owner = int(env.get("WATCHDOG_PID", str(pid)))
    except ValueError:
        return None
    return usec / 1e6 if usec > 0 and owner == pid else None


class Notifier:
    """Sends notify messages to the service manager, and feeds its watchdog."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.address = notify_address(env)
        self.period = watchdog_period(env, os.getpid())
        self._sock: socket.socket | None = None
        self._timer: asyncio.TimerHandle | None = None
        if self.address is not None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.setblocking(False)

    @classmethod
    def from_environment(cls) -> Notifier:
        """The manager systemd gave this process; the variables are then removed, as
        sd_notify(3)'s unset_environment does, so checks and hooks do not inherit them."""
        notifier = cls(dict(os.environ))
        for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
            os.environ.pop(name, None)
        return notifier

    def send(self, *fields: str) -> bool:
        """One datagram of `KEY=value` lines; False if there is no manager or it failed."""
        if self._sock is None or self.address is None:
            return False
        try:
            self._sock.sendto("\n".join(fields).encode(), self.address)
        except OSError as err:  # the manager is gone or busy: never fatal for the daemon
            log.debug("sd_notify to %r failed: %s", self.address, err)
            return False
        return True

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}")

    def reloading(self) -> None:
        """RELOADING=1 with MONOTONIC_USEC= (required from systemd 253 on)."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.send("RELOADING=1", f"MONOTONIC_USEC={usec}", "STATUS=reloading")

    def stopping(self) -> None:
        self.send("STOPPING=1", "STATUS=stopping: masters hand over, VIPs go")

    def start_watchdog(self, loop: asyncio.AbstractEventLoop) -> None:
        """WATCHDOG=1 now and every half period, from `loop`'s own callbacks."""
        if self.period is None or self._sock is None:
            return

        def feed() -> None:
            self.send("WATCHDOG=1")
            assert self.period is not None
            self._timer = loop.call_later(self.period / 2, feed)

        feed()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
