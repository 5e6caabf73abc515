"""Fixtures shared by the tiers that run real daemons: integration and interop.

Every test builds its own lab (`make_lab`); on failure the daemons' logs are printed,
and a session check fails the run if a namespace of this run is left behind. Tests
that need a lab (`make_lab`, or the `root` marker) skip with the reason when namespaces
cannot be made here, except in CI, where they fail.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from failover.lab import Lab, sweep, unavailable
from failover.lab.naming import owner_pid
from tests.support import MakeLab, require

REASON = unavailable()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked `root` needs network namespaces: it skips without them (fails in CI)."""
    if item.get_closest_marker("root") is not None:
        require(REASON is None, f"needs network namespaces: {REASON}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[None]:
    report = yield
    setattr(item, f"report_{report.when}", report)  # type: ignore[attr-defined]
    return report


def _netns_names() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


@pytest.fixture(scope="session", autouse=True)
def _leaves_no_namespace() -> Iterator[None]:
    """Sweep dead runs' leftovers first; at the end, no namespace of this run remains."""
    if REASON:
        yield
        return
    sweep()
    before = _netns_names()
    yield
    after = _netns_names()
    ours = {n for n in after - before if owner_pid(n) == os.getpid()}
    assert not ours, f"namespaces left behind: {sorted(ours)}"


@pytest.fixture
def make_lab(request: pytest.FixtureRequest) -> Iterator[MakeLab]:
    """`make_lab(routers=2, lans=1)` builds a lab torn down after the test (needs root)."""
    require(REASON is None, f"needs network namespaces: {REASON}")
    labs: list[Lab] = []

    def make(routers: int = 2, lans: int = 1) -> Lab:
        lab = Lab(routers=routers, lans=lans).up()
        labs.append(lab)
        return lab

    yield make
    failed = getattr(request.node, "report_call", None)
    for lab in labs:
        if failed is not None and failed.failed:
            for proc in lab.procs:
                print(f"----- {proc.name} (exit {proc.returncode}) {proc.log_path}")
                print(proc.log()[-6000:])
        lab.close()
