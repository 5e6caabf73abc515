"""Interop tier: real keepalived and FRR peers beside failover in a namespaced lab.

Outside CI these tests skip with a reason when root, namespaces or a peer is missing;
in CI (CI=true) a missing piece is a failure: no interop test may be skipped there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from failover.lab.lab import Lab
from failover.lab.netns import unavailable

from .peers import FRR_DIR, KEEPALIVED


def require(ok: bool, why: str) -> None:
    """Skip (or, in CI, fail) when a prerequisite is missing."""
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"interop prerequisite missing in CI: {why}")
    pytest.skip(why)


@pytest.fixture
def lab() -> Iterator[Lab]:
    require(os.geteuid() == 0, "needs root for network namespaces")
    reason = unavailable()
    require(reason is None, f"network namespaces unavailable: {reason}")
    with Lab(routers=2) as built:
        yield built


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
