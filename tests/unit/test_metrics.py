"""Metrics (failover/daemon/metrics.py): the text format, the histogram, and what a
daemon on the fake kernel exports after real inputs (tests/unit/harness.py)."""

from __future__ import annotations

import asyncio
import math
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from failover.config import ConfigError, parse
from failover.daemon.metrics import Family, Histogram, histogram, render
from failover.protocol.packet import Advertisement, encode

from .builders import ip_packet
from .harness import Harness, router

LABELS = 'interface="eth0",name="VR_51",vrid="51"'


def test_render_escapes_labels_and_help_and_writes_special_values() -> None:
    f = Family("x_total", "counter", "a \\ help\nline")
    f.add({"name": 'we"ird\\\n'}, 3)
    f.add({}, math.inf)
    f.add({"a": "b"}, 0.25)
    assert render([f]).splitlines() == [
        "# HELP x_total a \\\\ help\\nline",
        "# TYPE x_total counter",
        'x_total{name="we\\"ird\\\\\\n"} 3',
        "x_total +Inf",
        'x_total{a="b"} 0.25',
    ]


def test_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    h = Histogram((0.001, 0.01))
    for v in (0.0005, 0.001, 0.005, 3.0):
        h.observe(v)
    lines = render([histogram("lag_seconds", "lag", h)]).splitlines()[2:]
    assert lines == [
        'lag_seconds_bucket{le="0.001"} 2',  # le: less than or equal
        'lag_seconds_bucket{le="0.01"} 3',
        'lag_seconds_bucket{le="+Inf"} 4',
        "lag_seconds_sum 3.0065",
        "lag_seconds_count 4",
    ]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("::1:9165", "an IPv6 address goes in brackets"),
        ("localhost:9165", "'localhost' is not an IP address"),
        ("127.0.0.1:0", "the port must be 1..65535"),
        ("127.0.0.1", "must be ADDRESS:PORT"),
        (9165, "must be a non-empty string"),
    ],
)
def test_metrics_listen_is_an_address_and_port(value: object, error: str) -> None:
    routers = [{"interface_name": "eth0", "vrid": 1, "ip_addresses": ["192.0.2.9/24"]}]
    with pytest.raises(ConfigError) as err:
        parse({"metrics_listen": value, "virtual_routers": routers})
    assert err.value.errors[0].startswith("metrics_listen: " + error)
    ok = parse({"metrics_listen": "[2001:db8::1]:9165", "virtual_routers": routers})
    assert ok.settings.metrics_listen == ("2001:db8::1", 9165)
    assert parse(routers).settings.metrics_listen is None  # off by default


def page_of(h: Harness) -> dict[str, float]:
    """Sample line (name and labels) -> value."""
    out = {}
    for line in h.d.metrics_page().splitlines():
        if not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def test_a_daemon_exports_its_counters_as_they_move(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router(51, 100)]) as h:
            page = page_of(h)
            assert page[f"failover_vrrp_state{{{_sorted(LABELS)}}}"] == 1  # BACKUP
            r = h.master(51)
            sock = h.kernel.socks["eth0"]
            p0 = Advertisement(51, 0, (IPv4Address("192.0.2.100"),))
            sock.inbox = [ip_packet(encode(p0), src="192.0.2.2"), b"\x45"]
            h.d.routers.on_readable(r.iface)
            await h.d.reload()
            assert await h.d.addresses.drain(5)  # the VIP added, its GARPs sent
            page = page_of(h)
            labels = _sorted(LABELS)
            assert page[f"failover_vrrp_state{{{labels}}}"] == 2  # MASTER
            assert page[f'failover_vrrp_transitions_total{{{labels},to="MASTER"}}'] == 1
            assert page[f'failover_vrrp_transitions_total{{{labels},to="BACKUP"}}'] == 1
            assert page[f"failover_vrrp_priority_zero_received_total{{{labels}}}"] == 1
            assert page[f"failover_vrrp_advertisements_sent_total{{{labels}}}"] >= 1
            assert page[f"failover_vrrp_gratuitous_arps_sent_total{{{labels}}}"] >= 1
            assert page['failover_interface_drops_total{interface="eth0",family="ipv4",'
                        'reason="truncated"}'] == 1  # fmt: skip
            assert page['failover_reloads_total{result="ok"}'] == 1
            assert page["failover_event_loop_lag_seconds_count"] >= 0
            assert page["process_resident_memory_bytes"] > 0

    asyncio.run(main())


def _sorted(labels: str) -> str:
    """Labels in the order the page writes them: name, interface, vrid."""
    parts = dict(p.split("=", 1) for p in labels.split(","))
    return ",".join(f"{k}={parts[k]}" for k in ("name", "interface", "vrid"))
