"""What the reliability benches (issue 12) share: the sections of their page and the
facts of a run.

A bench writes its section of a markdown page, leaving the other sections as they are.
A section lies between `<!-- begin KEY -->` and `<!-- end KEY -->`; writing it again
replaces it in place, a new one goes at the end. docs/reliability.md is made of them
(bench/loss_soak.py, bench/busy_host.py: one section per kind of run).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from bench.scale import facts, snapshot

RELIABILITY = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"
HEADER = """# Reliability: VRRP loss and a busy host

Measured figures, failover next to keepalived in the same namespaced lab and the same
run (issue 12). Each section below is written by the bench named in it; re-running that
bench with `--write` refreshes its section only.
"""


def write_section(key: str, body: str, doc: Path = RELIABILITY) -> None:
    """Put `body` (markdown, its own heading included) as section `key` of `doc`."""
    begin, end = f"<!-- begin {key} -->", f"<!-- end {key} -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    text = doc.read_text() if doc.exists() else HEADER
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)


def load() -> str:
    """The 1, 5 and 15-minute load averages, as uptime shows them."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


@contextlib.contextmanager
def measured_run() -> Iterator[dict[str, str]]:
    """The facts of the machine and code (bench/scale.py's) with the load before and
    after; inside, the working directory is a snapshot of failover/ (bench/scale.py's),
    so the daemons started run it and edits during the run do not reach them."""
    machine = facts()
    machine["load before (uptime)"] = load()
    code, digest = snapshot()
    machine["failover code measured"] = f"a copy of failover/ made at the start, sha256 {digest}"
    os.chdir(code)
    try:
        yield machine
    finally:
        os.chdir(RELIABILITY.parents[1])
        shutil.rmtree(code, ignore_errors=True)
        machine["load after (uptime)"] = load()
