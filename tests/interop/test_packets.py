"""Packet truth: tshark dissects failover's adverts exactly as it dissects keepalived's.

Each implementation runs alone (as master) with the same virtual router; tshark in the
client namespace captures its adverts. Every field but the sender's address (and so the
checksum, which covers no IP header but is compared for validity) must match.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from ipaddress import IPv4Interface

import pytest

from failover.lab.lab import Lab
from failover.lab.nodes import Node, router

from .peers import Instance, KeepalivedPeer

pytestmark = [pytest.mark.root, pytest.mark.interop]
FIELDS = (
    "ip.ttl", "ip.dst", "vrrp.version", "vrrp.type", "vrrp.virt_rtr_id", "vrrp.prio",
    "vrrp.addr_count", "vrrp.auth_type", "vrrp.adver_int", "vrrp.checksum.status",
    "vrrp.ip_addr", "vrrp.auth_string",
)  # fmt: skip
VIPS = (IPv4Interface("192.0.2.254/24"), IPv4Interface("192.0.2.253/24"))


def capture(
    lab: Lab, start: Callable[[], object], source: str, count: int = 4
) -> list[dict[str, str]]:
    """Start tshark in the client namespace, then the sender; `count` adverts from it."""
    argv = ["tshark", "-l", "-n", "-i", "eth0", "-f", f"ip proto 112 and src host {source}",
            "-c", str(count), "-a", "duration:30", "-T", "fields", "-E", "separator=|"]  # fmt: skip
    for f in FIELDS:
        argv += ["-e", f]
    assert lab.client is not None
    tshark = subprocess.Popen(
        lab.client.argv(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        # tshark prints "Capturing on" to stderr once the capture is live.
        assert tshark.stderr is not None
        while "Capturing on" not in tshark.stderr.readline():
            if tshark.poll() is not None:
                pytest.fail("tshark exited before capturing")
        start()
        out, _ = tshark.communicate(timeout=40)
    finally:
        if tshark.poll() is None:
            tshark.kill()
            tshark.wait()
    rows = [dict(zip(FIELDS, line.split("|"), strict=True)) for line in out.splitlines() if line]
    assert len(rows) == count, f"captured {len(rows)} adverts from {source}, expected {count}"
    return rows


@pytest.mark.parametrize("auth", [None, "s3cret"], ids=["auth-none", "auth-simple"])
def test_failover_adverts_dissect_like_keepalived(
    lab: Lab, keepalived: str, tshark: str, auth: str | None
) -> None:
    vr = router(51, 200, vips=VIPS, interval=1)
    if auth is not None:
        vr |= {"auth_type": "simple", "auth_password": auth}
    ours = Node(lab, "r1", [vr])
    theirs = KeepalivedPeer(lab, "r2", [Instance(51, 200, vips=VIPS, auth_pass=auth)])

    our_rows = capture(lab, ours.start, "192.0.2.1")
    ours.stop()
    their_rows = capture(lab, theirs.start, "192.0.2.2")

    for row in our_rows:
        # RFC 3768 5.2.3 TTL 255, 5.3.1 version 2, 5.3.8 checksum verified by tshark (1 = good)
        assert row["ip.ttl"] == "255"
        assert row["ip.dst"] == "224.0.0.18"
        assert row["vrrp.version"] == "2"
        assert row["vrrp.checksum.status"] == "1", row
    # Same config, same advert: compare the steady-state adverts field by field.
    assert our_rows[-1] == their_rows[-1]
