"""Helpers for the tiers that run real daemons (imported by conftest files)."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from failover.lab import Lab

MakeLab = Callable[..., Lab]


def require(ok: bool, why: str) -> None:
    """Skip when a prerequisite is missing; in CI (CI=true) fail instead: nothing that
    needs root, namespaces or a peer may be skipped there."""
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"prerequisite missing in CI: {why}")
    pytest.skip(why)
