"""Interop tier: real keepalived and FRR peers beside failover in a namespaced lab.

Outside CI these tests skip with a reason when root, namespaces or a peer is missing;
in CI (CI=true) a missing piece is a failure: no interop test may be skipped there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from failover.lab.lab import Lab
from tests.support import MakeLab, require

from .peers import FRR_DIR, KEEPALIVED


@pytest.fixture
def lab(make_lab: MakeLab) -> Lab:
    """Two routers and a client on one LAN."""
    return make_lab(routers=2)


@pytest.fixture
def keepalived() -> str:
    require(Path(KEEPALIVED).exists(), "keepalived is not installed (apt-get install keepalived)")
    return KEEPALIVED


@pytest.fixture
def frr() -> Path:
    require((FRR_DIR / "vrrpd").exists(), "FRR is not installed (apt-get install frr)")
    return FRR_DIR


@pytest.fixture
def tshark() -> str:
    path = shutil.which("tshark")
    require(path is not None, "tshark is not installed (apt-get install tshark)")
    assert path is not None
    return path
