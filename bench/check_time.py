"""Wall time of `failover check` (what Ansible's `validate:` and systemd's ExecStartPre=
run on every host) next to a bare interpreter, in the same run.

Each command runs --runs times, alternating, as a fresh process; min/median/max in ms.
The interesting figure is the difference: what `check` costs on top of Python itself.

    .venv/bin/python bench/check_time.py [--runs 30] [CONFIG]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sample-vrrp-config.json"


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("config", nargs="?", default=str(SAMPLE))
    args = parser.parse_args()
    commands = {
        "python3 -c pass": [sys.executable, "-c", "pass"],
        "failover check": [sys.executable, "-m", "failover", "check", args.config],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():  # warm the page cache once
        timed(argv)
    for _ in range(args.runs):
        for name, argv in commands.items():
            times[name].append(timed(argv))
    print(f"{args.runs} runs each, ms (config {args.config})")
    print(f"{'command':<18} {'min':>7} {'median':>7} {'max':>7}")
    for name, values in times.items():
        print(f"{name:<18} {min(values):7.1f} {statistics.median(values):7.1f} {max(values):7.1f}")
    extra = statistics.median(times["failover check"]) - statistics.median(times["python3 -c pass"])
    print(f"check costs {extra:.1f} ms over a bare interpreter (medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
