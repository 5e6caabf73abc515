"""Write one bench's section of a markdown page, leaving the other sections as they are.

A section lies between `<!-- begin KEY -->` and `<!-- end KEY -->`; writing it again
replaces it in place, a new one goes at the end. docs/reliability.md is made of them
(bench/loss_soak.py, bench/busy_host.py: one section per kind of run).
"""

from __future__ import annotations

import re
from pathlib import Path

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
