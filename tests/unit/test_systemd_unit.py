"""The shipped systemd unit, as systemd itself reads it (`systemd-analyze`, offline)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import failover
from tests.support import require

UNIT = Path(failover.__file__).parent / "data" / "failover.service"
EXPOSURE = 2.1  # `systemd-analyze security`: 2.6 before Type=notify and the hardening pass


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    require(shutil.which("systemd-analyze") is not None, "systemd-analyze is not installed")
    return subprocess.run(
        ["systemd-analyze", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_exposure_stays_low() -> None:
    done = analyze("security", "--offline=true", str(UNIT))
    found = re.search(r"Overall exposure level for failover.service: ([\d.]+)", done.stdout)
    assert found, done.stdout[-2000:] + done.stderr
    assert float(found[1]) <= EXPOSURE


def test_the_unit_parses(tmp_path: Path) -> None:
    """`verify` with the commands pointed at a binary that exists here: no complaint."""
    unit = tmp_path / "failover.service"
    unit.write_text(UNIT.read_text().replace("/opt/failover/bin/failover", "/usr/bin/true"))
    done = analyze("verify", str(unit))
    assert done.returncode == 0 and done.stderr == "", done.stderr
