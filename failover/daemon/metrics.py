"""Prometheus metrics: the text exposition format (0.0.4), written here, served on
`metrics_listen` (off by default).

A small writer rather than `prometheus_client`: the daemon's dependencies are the four
the design names, the format is a few lines of escaping, and every value already lives
in the model (counters on `Router`, `Interface`, the loop's lag histogram), so there is
no registry to keep in step: each scrape renders what is there now. `promtool check
metrics` validates the output in the tests.

Per virtual router (labels `name`, `interface`, `vrid`; never the state as a label: a
state label makes a new series on every transition, which keepalived's exporters
learned and dropped): `failover_vrrp_state` (INITIALIZE 0, BACKUP 1, MASTER 2, FAULT 3,
as keepalived exporters map them), transitions by the state entered, priorities,
adverts, drops by reason, gratuitous ARPs / NAs, priority-0 adverts, time in state.
Daemon-wide: timer lateness (event-loop lag) as a histogram, reloads by result, the
process's CPU, memory and file descriptors (the names every exporter uses).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import math
import os
import resource
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from failover.protocol.packet import DropReason

if TYPE_CHECKING:
    from failover.daemon.model import Model
    from failover.daemon.tracker import Check

log = logging.getLogger("failover")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATE_VALUES = {"INITIALIZE": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3}
LAG_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
MAX_REQUEST = 8192  # bytes of request line and headers
REQUEST_TIMEOUT = 5.0
MAX_CLIENTS = 16  # concurrent scrapes; more are closed at once

Labels = Mapping[str, str]


class Histogram:
    """Observations in fixed buckets (upper bounds, seconds), with their sum."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last: above every bound
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self.counts)


@dataclass
class Family:
    """One metric family: its samples as (name suffix, labels, value)."""

    name: str
    kind: str  # counter, gauge, histogram
    help: str
    samples: list[tuple[str, Labels, float]] = field(default_factory=list)

    def add(self, labels: Labels, value: float, suffix: str = "") -> None:
        self.samples.append((suffix, labels, value))


def render(families: Iterable[Family]) -> str:
    """The text exposition format: HELP and TYPE, then the samples, per family."""
    lines: list[str] = []
    for f in families:
        lines.append(f"# HELP {f.name} {_escape_help(f.help)}")
        lines.append(f"# TYPE {f.name} {f.kind}")
        for suffix, labels, value in f.samples:
            lines.append(f"{f.name}{suffix}{_labels(labels)} {_value(value)}")
    return "\n".join(lines) + "\n"


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels.items()) + "}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _value(v: float) -> str:
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if isinstance(v, int) or v.is_integer():
        return str(int(v))
    return repr(v)


def histogram(name: str, help_: str, h: Histogram, labels: Labels | None = None) -> Family:
    """A histogram family: cumulative `_bucket`s (`le`), `_sum`, `_count`."""
    base = dict(labels or {})
    f = Family(name, "histogram", help_)
    total = 0
    for bound, n in zip((*h.bounds, math.inf), h.counts, strict=True):
        total += n
        f.add({**base, "le": "+Inf" if math.isinf(bound) else repr(bound)}, total, "_bucket")
    f.add(base, h.sum, "_sum")
    f.add(base, total, "_count")
    return f


# -- what the daemon exports ------------------------------------------------------------


@dataclass
class DaemonCounters:
    """Daemon-wide counts that live outside the model."""

    reloads: dict[str, int] = field(default_factory=lambda: {"ok": 0, "refused": 0})
    started: float = field(default_factory=time.time)


def collect(
    model: Model,
    checks: Mapping[str, Check],
    lag: Histogram,
    counters: DaemonCounters,
    now: float,
) -> list[Family]:
    """Every family, from the model as it is now (`now`: the loop's clock)."""
    return [
        *_router_families(model, now),
        *_interface_families(model),
        *_check_families(checks),
        histogram(
            "failover_event_loop_lag_seconds",
            "How late the routers' timers fired after their deadline.",
            lag,
        ),
        _reloads(counters),
        *_process_families(counters),
    ]


def _router_families(model: Model, now: float) -> Iterator[Family]:
    def fam(name: str, kind: str, help_: str) -> Family:
        return Family(f"failover_vrrp_{name}", kind, help_)

    state = fam("state", "gauge", "State: INITIALIZE 0, BACKUP 1, MASTER 2, FAULT 3.")
    transitions = fam("transitions_total", "counter", "State changes, by the state entered.")
    priority = fam("priority", "gauge", "Configured priority.")
    effective = fam("effective_priority", "gauge", "Priority now, tracked items included.")
    since = fam("state_duration_seconds", "gauge", "Time in the current state.")
    sent = fam("advertisements_sent_total", "counter", "Adverts sent.")
    received = fam("advertisements_received_total", "counter", "Valid adverts received.")
    errors = fam("advertisement_send_errors_total", "counter", "Adverts the kernel refused.")
    drops = fam("drops_total", "counter", "Adverts dropped, by reason (RFC 3768 7.1).")
    p0_sent = fam("priority_zero_sent_total", "counter", "Priority-0 adverts sent.")
    p0_received = fam("priority_zero_received_total", "counter", "Priority-0 adverts received.")
    garps = fam(
        "gratuitous_arps_sent_total",
        "counter",
        "Gratuitous ARPs (IPv4) or unsolicited neighbour advertisements (IPv6) sent, "
        "one per address.",
    )
    dual = fam(
        "dual_master_periods_total",
        "counter",
        "Periods in which this master heard another master (a split brain healing, or a "
        "preemption's overlap); sum() for the daemon's.",
    )
    reasons = [d.value for d in DropReason]
    for r in model.routers:
        c, core = r.core.config, r.core
        labels = {"name": c.name, "interface": c.interface, "vrid": str(c.vrid)}
        state.add(labels, STATE_VALUES[core.state.value])
        for to in STATE_VALUES:
            transitions.add({**labels, "to": to}, r.transitions[to])
        priority.add(labels, c.priority)
        effective.add(labels, core.priority)
        if core.state_since is not None:
            since.add(labels, round(now - core.state_since, 3))
        sent.add(labels, r.adverts_sent)
        received.add(labels, r.adverts_received)
        errors.add(labels, r.send_errors)
        for reason in reasons:
            drops.add({**labels, "reason": reason}, r.drops[reason])
        p0_sent.add(labels, r.priority_zero_sent)
        p0_received.add(labels, r.priority_zero_received)
        garps.add(labels, r.announcements_sent)
        dual.add(labels, core.dual_master_periods)
    yield from (
        state,
        transitions,
        priority,
        effective,
        since,
        sent,
        received,
        errors,
        drops,
        p0_sent,
        p0_received,
        garps,
        dual,
    )


def _interface_families(model: Model) -> Iterator[Family]:
    drops = Family(
        "failover_interface_drops_total",
        "counter",
        "Adverts dropped before a router was known (unknown VRID, ...), by reason.",
    )
    for iface in model.interfaces.values():
        labels = {"interface": iface.name, "family": f"ipv{iface.family}"}
        for reason, n in sorted(iface.drops.items()):
            drops.add({**labels, "reason": reason}, n)
    yield drops


def _check_families(checks: Mapping[str, Check]) -> Iterator[Family]:
    healthy = Family(
        "failover_check_healthy",
        "gauge",
        "A check's status after rise/fall: 1 healthy, 0 failing (absent: unknown).",
    )
    for name, check in sorted(checks.items()):
        status = check.status.healthy
        if status is not None:
            healthy.add({"check": name, "kind": check.config.kind}, int(status))
    yield healthy


def _reloads(counters: DaemonCounters) -> Family:
    f = Family("failover_reloads_total", "counter", "Reloads, by result (ok, refused).")
    for result, n in counters.reloads.items():
        f.add({"result": result}, n)
    return f


def _process_families(counters: DaemonCounters) -> Iterator[Family]:
    """The process's CPU, memory and descriptors, under the names exporters use."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    yield Family(
        "process_cpu_seconds_total",
        "counter",
        "User and system CPU time.",
        [("", {}, usage.ru_utime + usage.ru_stime)],
    )
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        yield Family(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory.",
            [("", {}, pages * os.sysconf("SC_PAGE_SIZE"))],
        )
    with contextlib.suppress(OSError):
        yield Family(
            "process_open_fds",
            "gauge",
            "Open file descriptors.",
            [("", {}, len(os.listdir("/proc/self/fd")))],
        )
    yield Family(
        "process_max_fds",
        "gauge",
        "Limit of open file descriptors.",
        [("", {}, resource.getrlimit(resource.RLIMIT_NOFILE)[0])],
    )
    yield Family(
        "process_start_time_seconds",
        "gauge",
        "Start time (Unix epoch).",
        [("", {}, round(counters.started, 3))],
    )


# -- the endpoint -----------------------------------------------------------------------


class MetricsServer:
    """`GET /metrics` over HTTP/1.x on one address; anything else 404/405; one request
    per connection, bounded in size, time and concurrent clients."""

    def __init__(self, host: str, port: int, page: Callable[[], str]) -> None:
        self.host, self.port = host, port
        self._page = page
        self._server: asyncio.Server | None = None
        self._clients = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, reuse_address=True, limit=MAX_REQUEST
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients += 1
        try:
            if self._clients <= MAX_CLIENTS:
                await asyncio.wait_for(self._answer(reader, writer), REQUEST_TIMEOUT)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a client gone, slow or too long: dropped
        except Exception:  # never into the loop: the protocol runs there
            log.exception("metrics: serving a request failed")
        finally:
            self._clients -= 1
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        method, _, rest = head.partition(b" ")
        target = rest.split(b" ", 1)[0].split(b"?", 1)[0]
        if method not in (b"GET", b"HEAD"):
            status, body, ctype = "405 Method Not Allowed", "only GET\n", "text/plain"
        elif target == b"/metrics":
            status, body, ctype = "200 OK", self._page(), CONTENT_TYPE
        elif target == b"/":
            status, body, ctype = "200 OK", "failover: metrics at /metrics\n", "text/plain"
        else:
            status, body, ctype = "404 Not Found", "not found: try /metrics\n", "text/plain"
        data = body.encode()
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(data)}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        if method != b"HEAD":
            writer.write(data)
        await writer.drain()
