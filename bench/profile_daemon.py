"""Where a converged daemon spends its CPU (issue 11): py-spy on a master and a backup.

Two failover daemons with --routers virtual routers each on one interface (r1 master of
all, r2 backup of all), converged; `py-spy record` samples each for --duration seconds
(--rate Hz, idle samples left out); prints, per role, the functions with the most
samples, by own time ("self") and with what they call ("total"), from the collapsed
stacks. py-spy from PyPI (`.venv/bin/pip install py-spy`). Needs root.

    .venv/bin/python bench/profile_daemon.py --routers 255 --duration 20
    .venv/bin/python bench/profile_daemon.py --routers 1 --version 3 --interval 0.1
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.failover_outage import vip
from failover.lab import Lab, wait_until
from failover.lab.nodes import Node, router


def record(pid: int, seconds: int, rate: int, out: Path) -> None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    argv = [py_spy, "record", "-p", str(pid), "-d", str(seconds), "-r", str(rate),
            "--format", "raw", "-o", str(out), "--nonblocking"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"py-spy failed ({done.returncode}): {done.stderr[-2000:]}")


def tops(collapsed: Path, count: int) -> tuple[list[tuple[str, int]], list[tuple[str, int]], int]:
    """(self, total) sample counts per function from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        weight = int(n)
        samples += weight
        own[frames[-1]] += weight
        for frame in set(frames):
            total[frame] += weight
    return own.most_common(count), total.most_common(count), samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routers", type=int, default=255)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--version", type=int, default=2)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    n = args.routers

    def vr(vrid: int, priority: int) -> dict[str, object]:
        return router(
            vrid, priority, vips=[vip(vrid)], version=args.version, interval=args.interval
        )

    with Lab(routers=2, client=False) as lab, tempfile.TemporaryDirectory() as tmp:
        nodes = [
            Node(lab, host, [vr(v, prio) for v in range(1, n + 1)])
            for host, prio in zip(lab.routers, (200, 100), strict=True)
        ]
        for node in nodes:
            node.start()
        want = [{v: s for v in range(1, n + 1)} for s in ("MASTER", "BACKUP")]
        wait_until(lambda: [x.states() for x in nodes] == want, 120, 0.2, what="convergence")
        outs = [Path(tmp) / f"{name}.txt" for name in ("master", "backup")]
        me = [sys.executable, __file__, "--_record"]
        procs = [
            subprocess.Popen([*me, str(x.running.pid), str(args.duration), str(args.rate), str(o)])
            for x, o in zip(nodes, outs, strict=True)
        ]
        for p in procs:
            p.wait()
        for role, out in zip(("master", "backup"), outs, strict=True):
            own, total, samples = tops(out, args.top)
            print(f"\n## {role} of {n}: {samples} samples in {args.duration:g} s at {args.rate} Hz")
            print("\n| self | function |\n|---|---|")
            for frame, k in own:
                print(f"| {100 * k / samples:.1f} % | `{frame}` |")
            print("\n| total | function |\n|---|---|")
            for frame, k in total:
                print(f"| {100 * k / samples:.1f} % | `{frame}` |")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--_record":  # one py-spy run, in parallel
        record(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5]))
        sys.exit(0)
    sys.exit(main())
