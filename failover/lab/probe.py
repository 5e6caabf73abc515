"""Client-visible reachability: ICMP/ICMPv6 echo or HTTP GET loops (IPv4 or IPv6 targets)
and the longest gap in replies."""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import select
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from pyroute2 import netns as _netns

from failover.lab.wait import wait_until

ECHO_REQUEST, ECHO_REPLY = 8, 0
ECHO6_REQUEST, ECHO6_REPLY = 128, 129  # ICMPv6 (RFC 4443)
Target = IPv4Address | IPv6Address | str


@dataclass(frozen=True, slots=True)
class Outage:
    """Reachability over a window: the longest time without a reply, and the counts.

    `sent` counts the requests sent in the window, `answered` those of them that got a
    reply (a reply in the window to a request sent before it is not counted), so `lost`
    is never negative; a request still in flight at the window's end counts as lost.
    """

    longest_gap: float
    gap_start: float  # when the longest gap began (monotonic seconds)
    sent: int
    answered: int

    @property
    def lost(self) -> int:
        return self.sent - self.answered


def longest_gap(replies: list[float], start: float, end: float) -> tuple[float, float]:
    """Longest interval in [start, end] with no reply, and when it began.

    The edges count: no reply at all is one gap of `end - start`.
    """
    points = [start, *sorted(t for t in replies if start <= t <= end), end]
    best, began = 0.0, start
    for a, b in itertools.pairwise(points):
        if b - a > best:
            best, began = b - a, a
    return best, began


def gaps_over(
    over: float, replies: list[float], start: float, end: float
) -> list[tuple[float, float]]:
    """Every interval in [start, end] with no reply longer than `over`: (began, lasted)."""
    points = [start, *sorted(t for t in replies if start <= t <= end), end]
    return [(a, b - a) for a, b in itertools.pairwise(points) if b - a > over]


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def echo_request(ident: int, seq: int, payload: bytes = b"failover-lab", v6: bool = False) -> bytes:
    """An ICMP echo request with a correct checksum, or (`v6`) an ICMPv6 one whose
    checksum the kernel fills in (it covers a pseudo-header only the kernel knows)."""
    kind = ECHO6_REQUEST if v6 else ECHO_REQUEST
    header = struct.pack("!BBHHH", kind, 0, 0, ident, seq)
    csum = 0 if v6 else checksum(header + payload)
    return struct.pack("!BBHHH", kind, 0, csum, ident, seq) + payload


def parse_reply(packet: bytes, ident: int, v6: bool = False) -> int | None:
    """The sequence number of an echo reply to `ident`: `packet` includes the IPv4
    header, or (`v6`) is the ICMPv6 message alone, as raw sockets deliver them."""
    if v6:
        icmp, reply = packet[:8], ECHO6_REPLY
    else:
        if len(packet) < 20:
            return None
        ihl = (packet[0] & 0x0F) * 4
        icmp, reply = packet[ihl : ihl + 8], ECHO_REPLY
    if len(icmp) < 8:
        return None
    kind, _code, _csum, rid, seq = struct.unpack("!BBHHH", icmp)
    return seq if kind == reply and rid == ident else None


def family(target: Target) -> socket.AddressFamily:
    """AF_INET or AF_INET6, as `target` is spelled."""
    return socket.AF_INET6 if ip_address(str(target)).version == 6 else socket.AF_INET


class Prober:
    """Probes `target` every `period` s from namespace `ns` in a background thread.

    Subclasses send one request per period (`_run`) and record, under the lock, when
    each request went out (`sent`), when each reply came (`replies`) and when the
    requests that got one went out (`answered`); times are monotonic seconds
    (comparable with time.monotonic() here).
    """

    kind = "probe"

    def __init__(self, ns: str | None, target: Target, period: float = 0.01) -> None:
        self.ns = ns
        self.target = str(target)
        self.family = family(target)
        self.period = period
        self.sent: list[float] = []
        self.replies: list[float] = []
        self.answered: list[float] = []  # send times of the requests that got a reply
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"{self.kind} {self.target}", daemon=True
        )
        self.started = time.monotonic()

    def _begin(self) -> None:
        """Start the thread (a subclass calls this once its own state is ready)."""
        self.started = time.monotonic()
        self._thread.start()

    def __enter__(self) -> Prober:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        raise NotImplementedError

    def _record(self, sent: float, replied: float | None) -> None:
        with self._lock:
            self.sent.append(sent)
            if replied is not None:
                self.replies.append(replied)
                self.answered.append(sent)

    def stop(self) -> None:
        """Stop probing (idempotent)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def last_reply(self) -> float | None:
        with self._lock:
            return self.replies[-1] if self.replies else None

    def replied_after(self, t: float) -> bool:
        """True once a reply has arrived after monotonic time `t`."""
        last = self.last_reply()
        return last is not None and last > t

    def reachable(self, within: float = 0.5) -> bool:
        """True if a reply arrived in the last `within` seconds."""
        last = self.last_reply()
        return last is not None and time.monotonic() - last <= within

    def measure(
        self, event: Callable[[], object], recovered: Callable[[], object], timeout: float = 30.0
    ) -> Outage:
        """The client-visible outage caused by `event()`.

        Waits for steady replies, runs `event`, waits for `recovered()` (e.g. a new master
        holds the VIP), then for replies again; the result spans the last reply before
        the event to the last reply, well after replies resumed (so no request is left
        in flight and counted as lost).
        """
        wait_until(lambda: self.reachable(0.1), timeout, what=f"replies from {self.target}")
        t0 = time.monotonic()
        event()
        wait_until(recovered, timeout, what="recovery after the event")
        t1 = time.monotonic()
        wait_until(lambda: self.replied_after(t1), timeout, what=f"{self.target} to answer")
        resumed = self.last_reply() or t1
        wait_until(lambda: self.replied_after(resumed + 0.2), timeout, what="steady replies")
        with self._lock:
            before = [t for t in self.replies if t <= t0]
        return self.outage(before[-1] if before else t0, self.last_reply())

    def outage(self, start: float | None = None, end: float | None = None) -> Outage:
        """The longest reply gap in [start, end] (default: since start, until now)."""
        start = self.started if start is None else start
        end = time.monotonic() if end is None else end
        with self._lock:
            replies = list(self.replies)
            sent = sum(1 for t in self.sent if start <= t <= end)
            answered = sum(1 for t in self.answered if start <= t <= end)
        gap, began = longest_gap(replies, start, end)
        return Outage(gap, began, sent, answered)


class Pinger(Prober):
    """ICMP (IPv4 target) or ICMPv6 (IPv6 target) echo requests every `period` s."""

    kind = "ping"

    def __init__(self, ns: str | None, target: Target, period: float = 0.01) -> None:
        super().__init__(ns, target, period)
        self.ident = (os.getpid() ^ id(self)) & 0xFFFF
        self.v6 = self.family == socket.AF_INET6
        proto = socket.IPPROTO_ICMPV6 if self.v6 else socket.IPPROTO_ICMP
        if ns is None:
            self._sock = socket.socket(self.family, socket.SOCK_RAW, proto)
        else:
            self._sock = _netns.create_socket(ns, self.family, socket.SOCK_RAW, proto)
        self._sock.setblocking(False)
        self._begin()

    def _run(self) -> None:
        seq = 0
        sent_at: dict[int, float] = {}
        next_send = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_send:
                seq = (seq + 1) & 0xFFFF
                # an error (e.g. no route while the LAN is down) counts as a loss
                with contextlib.suppress(OSError):
                    self._sock.sendto(echo_request(self.ident, seq, v6=self.v6), (self.target, 0))
                sent_at[seq] = now
                self._record(now, None)
                next_send += self.period
                if next_send < now:  # fell behind (e.g. a stall): do not burst
                    next_send = now + self.period
            ready, _, _ = select.select([self._sock], [], [], max(0.0, next_send - now))
            if ready:
                self._drain(sent_at)
        self._sock.close()

    def _drain(self, sent_at: dict[int, float]) -> None:
        while True:
            try:
                packet = self._sock.recv(2048)
            except (BlockingIOError, InterruptedError):
                return
            got = parse_reply(packet, self.ident, self.v6)
            sent = None if got is None else sent_at.pop(got, None)
            if sent is not None:
                with self._lock:
                    self.replies.append(time.monotonic())
                    self.answered.append(sent)


class HttpGetter(Prober):
    """HTTP GETs of `http://target:port/` started every `period` s, each on its own.

    A reply is a status line with a 2xx status within `timeout` of the request; a
    refused or reset connection, a timeout or another status is a request without one.
    Requests do not wait for each other (as a ping's do not), so a lost SYN does not
    blind the probe for the kernel's retransmission time. What a web client of the VIP
    meets: while a master's service is down the VIP still answers pings, but not this.
    The thread enters the namespace itself (setns(2) moves only the calling thread).
    """

    kind = "http"

    def __init__(
        self,
        ns: str | None,
        target: Target,
        port: int = 80,
        period: float = 0.01,
        timeout: float = 1.0,
    ) -> None:
        super().__init__(ns, target, period)
        self.port = port
        self.timeout = timeout
        host = f"[{target}]" if self.family == socket.AF_INET6 else str(target)
        self._request = f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        self._begin()

    def _run(self) -> None:
        if self.ns is not None:
            _netns.setns(self.ns, flags=0)
        with selectors.DefaultSelector() as sel:
            next_send = time.monotonic()
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= next_send:
                    self._connect(sel, now)
                    next_send = max(next_send + self.period, now)
                for key in list(sel.get_map().values()):
                    if now - key.data.sent > self.timeout:
                        self._finish(sel, key, ok=False)
                for key, _ in sel.select(max(0.0, next_send - time.monotonic())):
                    self._advance(sel, key)
            for key in list(sel.get_map().values()):
                key.fileobj.close()  # type: ignore[union-attr]

    def _connect(self, sel: selectors.BaseSelector, now: float) -> None:
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        sock.setblocking(False)
        if sock.connect_ex((self.target, self.port)) not in (0, errno.EINPROGRESS):
            sock.close()
            self._record(now, None)
            return
        sel.register(sock, selectors.EVENT_WRITE, _Request(now))

    def _advance(self, sel: selectors.BaseSelector, key: selectors.SelectorKey) -> None:
        """Connected: send the request; readable: read until the status line."""
        sock: socket.socket = key.fileobj  # type: ignore[assignment]
        request: _Request = key.data
        try:
            if not request.asked:
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    raise ConnectionError
                sock.send(self._request.encode())  # small: fits the empty send buffer
                request.asked = True
                sel.modify(sock, selectors.EVENT_READ, request)
                return
            data = sock.recv(256)
        except OSError:
            self._finish(sel, key, ok=False)
            return
        request.reply += data
        if not data or b"\n" in request.reply:
            parts = request.reply.split(None, 2)
            ok = len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1][:1] == b"2"
            self._finish(sel, key, ok=ok)

    def _finish(self, sel: selectors.BaseSelector, key: selectors.SelectorKey, ok: bool) -> None:
        sel.unregister(key.fileobj)
        key.fileobj.close()  # type: ignore[union-attr]
        self._record(key.data.sent, time.monotonic() if ok else None)


@dataclass(slots=True)
class _Request:
    sent: float
    asked: bool = False
    reply: bytes = b""
