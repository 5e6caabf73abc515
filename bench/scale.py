"""failover next to keepalived 2.2.7 in one run: CPU, RSS, cold start, timer precision.

Issue 11: for 1..255 virtual routers, in the same namespaced lab, as ratios.

For each N (--ns, default 1,16,64,255): two daemons of one implementation on one LAN,
r1 master of all N (priority 200), r2 backup of all (100), each VR its own VRID and
documentation VIP; failover and keepalived alternate, --runs fresh labs each, medians:

- CPU % of every process in the master's and the backup's namespace (keepalived: its
  parent and its VRRP child) over --window s once converged, from /proc/<pid>/stat; the
  ratio failover/keepalived; µs of CPU per advert, the adverts counted for both equally
  from the interval (N per interval; sent by the master, received by the backup) and,
  for failover, also from its status (`adverts_sent`/`adverts_received`);
- RSS of each daemon: the sum over its namespace's processes and the largest one;
- cold start: from starting both daemons to r1 MASTER and r2 BACKUP of every VRID
  (failover's status; keepalived's notify files).

Then timer precision: N=1, a pair, the master cut off the LAN --cuts times; a capture in
the client's namespace (bench/vrrp_capture.py) records each advert's arrival, and the
takeover delay is the new master's first advert minus the old master's last, minus
Master_Down_Interval (of the backup, priority 100); the client's ping outage (VIP every
10 ms) beside it. Last, `failover check` wall time next to `python3 -c pass`
(bench/check_time.py). Needs root.

    .venv/bin/python bench/scale.py --runs 3 --write      # everything: about 25 min
    .venv/bin/python bench/scale.py --quick               # a short look: N 1 and 16
    .venv/bin/python bench/scale.py --version 3 --interval 0.1 --ns 1,16

--write needs the `bench` extra (matplotlib): .venv/bin/pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.check_time import SAMPLE, timed
from bench.failover_outage import cpu_seconds, memory_mib, vip
from bench.v3_outage import Peer
from bench.vrrp_capture import read as read_adverts
from failover.lab.lab import DEFAULT_VIP, LANS, Lab
from failover.lab.netns import pids, unavailable
from failover.lab.nodes import Node, router
from failover.lab.wait import wait_until
from failover.protocol.router import master_down_interval
from tests.interop.peers import KEEPALIVED, Instance, KeepalivedPeer

TOP = Path(__file__).resolve().parents[1]
CAPTURE = Path(__file__).resolve().parent / "vrrp_capture.py"
DOC = TOP / "docs" / "performance.md"
IMPLS = ("failover", "keepalived")
ROLES = ("master", "backup")
PRIORITIES = (200, 100)  # r1 master of all, r2 backup of all
T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    version: int
    interval: float
    window: float
    settle: float
    daemon: dict[str, Any] = field(default_factory=dict)  # failover's global keys, if any

    def extra(self) -> dict[str, Any]:
        """failover's router keys for the VRRP version (v2 is its default)."""
        return {"version": 3} if self.version == 3 else {}


def make(lab: Lab, impl: str, host: str, prio: int, n: int, s: Settings) -> Peer:
    """A daemon of `impl` on `host` with VRIDs 1..n (one VIP each; N=1 and the
    precision pair use the LAN's DEFAULT_VIP, which the client can reach)."""
    vips = [vip(v) for v in range(1, n + 1)] if n > 1 else [DEFAULT_VIP]
    if impl == "failover":
        routers = [router(v, prio, vips=[a], interval=s.interval, **s.extra())
                   for v, a in enumerate(vips, 1)]  # fmt: skip
        return Node(lab, host, routers, **s.daemon)
    instances = [Instance(v, prio, vips=(a,), version=s.version, interval=s.interval)
                 for v, a in enumerate(vips, 1)]  # fmt: skip
    return KeepalivedPeer(lab, host, instances)


def states(peer: Peer, n: int) -> list[str | None]:
    if isinstance(peer, Node):
        known = peer.states()  # one control request for all N
        return [known.get(v) for v in range(1, n + 1)]
    return [peer.state(v) for v in range(1, n + 1)]


def converged(master: Peer, backup: Peer, n: int) -> bool:
    return states(master, n) == ["MASTER"] * n and states(backup, n) == ["BACKUP"] * n


def start_pair(lab: Lab, impl: str, n: int, s: Settings) -> tuple[Peer, Peer, float]:
    """Start r1 and r2 together; (master, backup, seconds until all n converged)."""
    master, backup = (make(lab, impl, h, p, n, s)
                      for h, p in zip(("r1", "r2"), PRIORITIES, strict=True))  # fmt: skip
    t0 = time.monotonic()
    master.start()
    backup.start()
    wait_until(lambda: converged(master, backup, n), 60 + n, 0.05,
               what=f"{impl}: r1 master and r2 backup of all {n}")  # fmt: skip
    return master, backup, time.monotonic() - t0


# -- CPU, memory, cold start -------------------------------------------------------------


def process_cpu(pid: int) -> float:
    """CPU seconds of a whole process (all its threads, exited ones too), in ns steps.

    The kernel's process CPU clock (MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)), not
    /proc/<pid>/stat's utime + stime: those come in clock ticks (10 ms), too coarse for
    one idle VR over a 20 s window. bench/failover_outage.py's cpu_seconds if the clock
    cannot be read.
    """
    try:
        return time.clock_gettime(((~pid) << 3) | 2)
    except OSError:
        return cpu_seconds(pid)


def cpu_of(procs: Iterable[int]) -> dict[int, float]:
    """pid -> CPU seconds so far, for the processes still there."""
    out = {}
    for pid in procs:
        with contextlib.suppress(OSError, IndexError):
            out[pid] = process_cpu(pid)
    return out


def rss_of(procs: Iterable[int]) -> list[float]:
    out = []
    for pid in procs:
        with contextlib.suppress(OSError, KeyError):
            out.append(memory_mib(pid)[0])
    return out


def adverts_counted(peer: Peer) -> tuple[int, int] | None:
    """failover's (adverts_sent, adverts_received) over all its routers; None otherwise."""
    if not isinstance(peer, Node):
        return None
    status = peer.status()
    return sum(r["adverts_sent"] for r in status), sum(r["adverts_received"] for r in status)


@dataclass(frozen=True)
class Sample:
    """One fresh lab: per role (master, backup)."""

    cold_start: float
    cpu: tuple[float, float]  # %
    rss: tuple[float, float]  # MiB, sum over the namespace
    rss_max: tuple[float, float]  # MiB, largest single process
    processes: tuple[int, int]
    counted: tuple[float | None, float | None]  # failover: adverts/s sent, received


def sample(impl: str, n: int, s: Settings) -> Sample:
    with Lab(routers=2, client=False, ipv6=False) as lab:
        master, backup, cold = start_pair(lab, impl, n, s)
        time.sleep(s.settle)  # notify scripts and gratuitous ARP repeats done
        procs = [pids(p.host.ns) for p in (master, backup)]
        counts0 = [adverts_counted(p) for p in (master, backup)]
        before = [cpu_of(ps) for ps in procs]
        start = time.monotonic()
        time.sleep(s.window)  # the measurement window itself
        elapsed = time.monotonic() - start
        after = [cpu_of(ps) for ps in procs]
        counts1 = [adverts_counted(p) for p in (master, backup)]
        if not converged(master, backup, n):
            raise RuntimeError(f"{impl} N={n}: not converged at the end of the window")
        cpu = [100 * sum(a[p] - b[p] for p in a if p in b) / elapsed
               for b, a in zip(before, after, strict=True)]  # fmt: skip
        rss = [rss_of(ps) for ps in procs]
        counted: list[float | None] = [None, None]
        for role, (c0, c1) in enumerate(zip(counts0, counts1, strict=True)):
            if c0 is not None and c1 is not None:
                counted[role] = (c1[role] - c0[role]) / elapsed  # sent by r1, received by r2
        return Sample(
            cold, (cpu[0], cpu[1]), (sum(rss[0]), sum(rss[1])),
            (max(rss[0], default=0.0), max(rss[1], default=0.0)),
            (len(procs[0]), len(procs[1])), (counted[0], counted[1]),
        )  # fmt: skip


def retried(what: str, fn: Callable[[], T], tries: int = 3) -> T:
    """fn(), again in a fresh lab if it fails (a noisy machine, or a daemon being edited)."""
    for attempt in range(1, tries + 1):
        try:
            return fn()
        except Exception as err:
            if attempt == tries:
                raise
            print(f"  {what}: attempt {attempt} failed ({err}); again", flush=True)
    raise AssertionError("unreachable")


@dataclass
class Scale:
    """Per (impl, n): the samples of every run."""

    samples: dict[tuple[str, int], list[Sample]] = field(default_factory=dict)

    def median(self, impl: str, n: int, metric: str, role: int | None = None) -> float | None:
        """The median of a Sample field (of its `role` item for the per-role ones)."""
        values = [v for x in self.samples[impl, n] if (v := value(x, metric, role)) is not None]
        return statistics.median(values) if values else None


def value(x: Sample, metric: str, role: int | None = None) -> float | None:
    got = getattr(x, metric)
    result: float | None = got if role is None else got[role]
    return result


def scale(ns: Sequence[int], runs: int, s: Settings) -> Scale:
    out = Scale()
    for n in ns:
        for run in range(runs):
            for impl in IMPLS:  # alternate: both see the same noise over time
                got = retried(f"{impl} N={n}", partial(sample, impl, n, s))
                out.samples.setdefault((impl, n), []).append(got)
                print(f"  N={n:<3} run {run + 1}/{runs} {impl:<10} cold start "
                      f"{got.cold_start:5.2f} s  CPU master {got.cpu[0]:5.3f} % backup "
                      f"{got.cpu[1]:5.3f} %  RSS {got.rss[0]:.1f}/{got.rss[1]:.1f} MiB",
                      flush=True)  # fmt: skip
    return out


# -- timer precision ---------------------------------------------------------------------


@dataclass(frozen=True)
class Takeover:
    delay: float  # new master's first advert - old master's last - Master_Down_Interval
    outage: float  # the client's longest ping gap


def takeovers(impl: str, cuts: int, s: Settings, hogs: int = 0) -> list[Takeover]:
    """N=1, r1 master cut off the LAN `cuts` times (healed and back as master between);
    `hogs` busy-loop processes in r2's namespace from the start to the end."""
    bound = master_down_interval(PRIORITIES[1], s.interval, s.version)
    out = []
    with Lab(routers=2, ipv6=False) as lab:
        assert lab.client is not None
        path = str(lab.path("adverts.txt"))
        lab.start(lab.client, [sys.executable, str(CAPTURE), LANS[0].ifname, path])
        master, backup, _ = start_pair(lab, impl, 1, s)
        for _ in range(hogs):
            lab.start(backup.host, [sys.executable, "-c", "while True: pass"], name="hog")
        r1, r2 = (str(p.host.ip) for p in (master, backup))
        pinger = lab.ping(DEFAULT_VIP.ip, period=0.01)
        for i in range(cuts):
            # r1 has sent since r2 last did; then a random phase against its timer
            wait_until(lambda: _last(read_adverts(path), r1) > _last(read_adverts(path), r2),
                       10 + 5 * s.interval, what="an advert from r1 after r2's last")  # fmt: skip
            time.sleep(s.interval * (1 + random.random()))
            marks: list[float] = []
            outage = pinger.measure(partial(_cut, lab, master, marks),
                                    lambda: backup.state(1) == "MASTER")  # fmt: skip
            cut_at = marks[0]
            adverts = wait_until(partial(_after, path, r2, cut_at), 10,
                                 what="r2's first advert after the cut")  # fmt: skip
            first = _first(adverts, r2, cut_at)
            assert first is not None
            # r1's last advert before r2's first, not before the cut's time mark: one sent
            # while the port was going down still reached r2 (a delay one interval long)
            last = max(t for t, src, _, _ in adverts if src == r1 and t < first)
            out.append(Takeover(first - last - bound, outage.longest_gap))
            print(f"  {impl:<10} cut {i + 1}/{cuts}: takeover {first - last:.3f} s "
                  f"(bound {bound:.3f} s, delay {out[-1].delay * 1000:+.1f} ms), "
                  f"client outage {outage.longest_gap:.3f} s", flush=True)  # fmt: skip
            lab.heal(master.host)
            wait_until(lambda: converged(master, backup, 1), 30, what="r1 master again")
    return out


def _cut(lab: Lab, master: Peer, marks: list[float]) -> None:
    marks.append(time.time())
    lab.cut(master.host)


def _after(path: str, source: str, after: float) -> list[tuple[float, str, int, int]]:
    """The adverts recorded so far if `source` has sent one after `after`, else []."""
    adverts = read_adverts(path)
    return adverts if _first(adverts, source, after) is not None else []


def _last(adverts: list[tuple[float, str, int, int]], source: str) -> float:
    return max((t for t, src, _, _ in adverts if src == source), default=0.0)


def _first(adverts: list[tuple[float, str, int, int]], source: str, after: float) -> float | None:
    """The first advert from `source` after `after` with a priority (not a goodbye)."""
    return min((t for t, src, _, prio in adverts if src == source and t > after and prio),
               default=None)  # fmt: skip


# -- failover check ----------------------------------------------------------------------


def check_times(runs: int) -> dict[str, list[float]]:
    """ms per fresh process, alternating, after one warm-up each (bench/check_time.py)."""
    commands = {
        "python3 -c pass": [sys.executable, "-c", "pass"],
        "failover check": [sys.executable, "-m", "failover", "check", str(SAMPLE)],
    }
    for argv in commands.values():
        timed(argv)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(timed(argv))
    return times


# -- report ------------------------------------------------------------------------------


@dataclass
class Results:
    args: argparse.Namespace
    settings: Settings
    scale: Scale
    precision: dict[str, list[Takeover]]
    check: dict[str, list[float]]
    facts: dict[str, str]


def fmt(value: float | None, spec: str, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{unit}"


def ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def spread(values: Sequence[float]) -> tuple[float, float, float, float, float]:
    """(median, min, p25, p75, max)."""
    if len(values) > 1:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    else:
        q1 = q3 = values[0]
    return statistics.median(values), min(values), q1, q3, max(values)


def tables(r: Results) -> list[str]:
    s, sc, a = r.settings, r.scale, r.args
    lines = [
        f"### CPU over {s.window:g} s once converged (VRRPv{s.version}, advert interval "
        f"{s.interval:g} s, median of {a.runs} runs)",
        "",
        "µs/advert: CPU per advert sent (master) or received (backup), N adverts per "
        "interval for both; `counted`: failover's own `adverts_sent`/`adverts_received`.",
        "",
        "| N | role | failover CPU | keepalived CPU | ratio f/k | failover µs/advert "
        "| keepalived µs/advert | failover µs/advert (counted) | failover adverts/s "
        "counted / nominal |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n in a.ns:
        nominal = n / s.interval  # adverts per second sent by the master, heard by the backup
        for role, name in enumerate(ROLES):
            f = sc.median("failover", n, "cpu", role)
            k = sc.median("keepalived", n, "cpu", role)
            c = sc.median("failover", n, "counted", role)
            us = [None if v is None else v * 1e4 / nominal for v in (f, k)]
            us_counted = None if f is None or not c else f * 1e4 / c
            lines.append(
                f"| {n} | {name} | {fmt(f, '.3f', ' %')} | {fmt(k, '.3f', ' %')} | "
                f"{ratio(f, k)} | {fmt(us[0], '.0f')} | {fmt(us[1], '.0f')} | "
                f"{fmt(us_counted, '.0f')} | {fmt(c, '.1f')} / {nominal:g} |"
            )
    lines += [
        "",
        f"### Memory once converged (MiB, median of {a.runs} runs)",
        "",
        "RSS summed over the daemon's namespace (keepalived: parent and VRRP child), and "
        "its largest process.",
        "",
        "| N | role | failover RSS | failover largest | keepalived RSS | keepalived largest "
        "| keepalived processes |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in a.ns:
        for role, name in enumerate(ROLES):
            mem = [sc.median(impl, n, m, role) for impl in IMPLS for m in ("rss", "rss_max")]
            procs = sc.median("keepalived", n, "processes", role)
            lines.append(f"| {n} | {name} | " + " | ".join(fmt(v, ".1f") for v in mem)
                         + f" | {fmt(procs, '.0f')} |")  # fmt: skip
    lines += [
        "",
        f"### Cold start: both daemons started to all N converged (s, median of {a.runs} runs)",
        "",
        "| N | failover | keepalived | ratio f/k |",
        "|---|---|---|---|",
    ]
    for n in a.ns:
        f = sc.median("failover", n, "cold_start")
        k = sc.median("keepalived", n, "cold_start")
        lines.append(f"| {n} | {fmt(f, '.2f', ' s')} | {fmt(k, '.2f', ' s')} | {ratio(f, k)} |")
    bound = master_down_interval(PRIORITIES[1], s.interval, s.version)
    lines += [
        "",
        f"### Timer precision: master cut off the LAN, N=1, {a.cuts} cuts each",
        "",
        "Delay = the new master's first advert - the old master's last, as captured on the "
        f"LAN, minus Master_Down_Interval {bound:.3f} s (backup priority 100); ms. Client "
        "outage: longest gap in replies to a ping of the VIP every 10 ms (the cut comes at a "
        "random phase of the master's advert timer, so it is about the bound minus up to "
        "one interval).",
        "",
        "| implementation | delay median | min | p25 | p75 | max | client outage median "
        "| min | max |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for impl, got in r.precision.items():
        if not got:
            continue
        d = spread([t.delay * 1000 for t in got])
        o = spread([t.outage for t in got])
        lines.append(f"| {impl} | " + " | ".join(f"{v:+.1f}" for v in d)
                     + f" | {o[0]:.3f} s | {o[1]:.3f} s | {o[4]:.3f} s |")  # fmt: skip
    if r.check:
        lines += [
            "",
            f"### `failover check` wall time ({a.check_runs} runs each, ms; "
            f"{SAMPLE.relative_to(TOP)})",
            "",
            "| command | min | median | max |",
            "|---|---|---|---|",
        ]
        for name, values in r.check.items():
            lines.append(f"| {name} | {min(values):.1f} | {statistics.median(values):.1f} "
                         f"| {max(values):.1f} |")  # fmt: skip
        extra = statistics.median(r.check["failover check"]) - statistics.median(
            r.check["python3 -c pass"]
        )
        lines += ["", f"`failover check` costs {extra:.1f} ms over a bare interpreter (medians)."]
    return lines


def snapshot() -> tuple[Path, str]:
    """A copy of failover/ as it is now, for the daemons to run: (its folder, a digest).

    The daemons (`python -m failover`) and `failover check` start with the copy's parent
    as their working directory, which comes first on their sys.path: edits to failover/
    during a run do not reach the run, and the digest names the code measured.
    """
    folder = Path(tempfile.mkdtemp(prefix="failover-bench-"))
    shutil.copytree(TOP / "failover", folder / "failover",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    digest = hashlib.sha256()
    for path in sorted((folder / "failover").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    found = subprocess.run([sys.executable, "-c", "import failover; print(failover.__file__)"],
                           cwd=folder, capture_output=True, text=True, check=True)  # fmt: skip
    if not found.stdout.startswith(str(folder)):
        raise RuntimeError(f"the snapshot is not what `python -m failover` runs: {found.stdout}")
    return folder, digest.hexdigest()[:12]


def runnable(parser: argparse.ArgumentParser, version: int, interval: float) -> bool:
    """False (the reason on stderr) without network namespaces; a usage error for a
    VRRPv2 interval that is not whole seconds."""
    if version == 2 and interval != int(interval):
        parser.error("VRRPv2 intervals are whole seconds (use --version 3)")
    reason = unavailable()
    if reason:
        print(f"bench: {reason}", file=sys.stderr)
    return not reason


def facts() -> dict[str, str]:
    """The machine and the code the figures come from."""

    def out(argv: list[str]) -> str:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, cwd=TOP, check=False)
        except OSError:
            return ""
        return (done.stdout or done.stderr).strip().partition("\n")[0]

    dirty = out(["git", "status", "--porcelain", "--", "failover"])
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": out(["nproc"]),
        "kernel (uname -r)": platform.release(),
        "python": platform.python_version(),
        "keepalived": out([KEEPALIVED, "--version"]),
        "failover commit": out(["git", "rev-parse", "--short", "HEAD"])
        + (" + uncommitted changes in failover/" if dirty else ""),
    }


# -- plots and the page ------------------------------------------------------------------


def plots(r: Results, folder: Path) -> list[tuple[str, str]]:
    """PNGs in `folder`; (file name, caption) each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    ns, sc = r.args.ns, r.scale
    made = []
    colors = {"failover": "tab:blue", "keepalived": "tab:orange"}

    def lines_vs_n(name: str, caption: str, ylabel: str, metric: str, log: bool) -> None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
        for ax, (role, title) in zip(axes, enumerate(ROLES), strict=True):
            for impl in IMPLS:
                ys = [sc.median(impl, n, metric, role) or 0.0 for n in ns]
                ax.plot(ns, ys, "o-", label=impl, color=colors[impl])
                for run in range(r.args.runs):
                    pts = [(n, value(sc.samples[impl, n][run], metric, role)) for n in ns
                           if run < len(sc.samples[impl, n])]  # fmt: skip
                    ax.plot(*zip(*pts, strict=True), ".", alpha=0.35, color=colors[impl])
            ax.set_xscale("log")
            if log:
                ax.set_yscale("log")
            ax.set_xticks(ns, [str(n) for n in ns])
            ax.set_xlabel("virtual routers N")
            ax.set_title(f"r1 {title} of all" if role == 0 else f"r2 {title} of all")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel(ylabel)
        axes[0].legend()
        fig.suptitle(caption)
        fig.tight_layout()
        fig.savefig(folder / name, dpi=100)
        plt.close(fig)
        made.append((name, caption))

    v = r.settings
    lines_vs_n("cpu.png", f"CPU vs N (VRRPv{v.version}, {v.interval:g} s adverts; "
               "dots: runs, line: median)", "CPU % (log)", "cpu", True)  # fmt: skip
    lines_vs_n("rss.png", "RSS vs N (sum over the daemon's processes)", "MiB", "rss", False)
    for key, name, caption, unit in (
        ("delay", "takeover.png", "Takeover delay beyond Master_Down_Interval", "ms"),
        ("outage", "outage.png", "Client outage, master cut off the LAN", "s"),
    ):
        data = {impl: [t.delay * 1000 if key == "delay" else t.outage for t in got]
                for impl, got in r.precision.items() if got}  # fmt: skip
        if not data:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.boxplot(list(data.values()), tick_labels=list(data))
        for i, values in enumerate(data.values(), 1):
            jitter = [i + random.uniform(-0.08, 0.08) for _ in values]
            ax.plot(jitter, values, "o", alpha=0.5, color="tab:gray")
        ax.set_ylabel(unit)
        ax.set_title(f"{caption} ({r.args.cuts} cuts each)")
        ax.grid(alpha=0.3, axis="y")
        fig.tight_layout()
        fig.savefig(folder / name, dpi=100)
        plt.close(fig)
        made.append((name, caption))
    return made


def page(r: Results, doc: Path, command: str) -> str:
    folder = doc.with_suffix("")
    images = plots(r, folder)
    rel = folder.relative_to(doc.parent)
    lines = [
        "# Performance: failover next to keepalived",
        "",
        "Generated by `bench/scale.py` (issue 11): both implementations in the same run, "
        "in the same namespaced lab (a bridge, r1 and r2, one interface each), labs "
        "alternating between them, so the ratios compare like with like on a noisy "
        "machine. Re-run it after a change; it rewrites this page and its plots.",
        "",
        "```",
        command,
        "```",
        "",
        "| fact | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in r.facts.items()),
        "",
        "Other ways to run it: `--quick` (N 1 and 16, one run, 5 s window: a few "
        "minutes), `--ns 1,16` (some N only), `--version 3 --interval 0.1` (VRRPv3 at "
        "0.1 s adverts, both implementations), `--write PATH` (the page elsewhere); "
        "`--help` lists the rest. `--write` needs matplotlib: "
        "`.venv/bin/pip install -e '.[bench]'`.",
        "",
        "Set-up: for each N, r1 is master of VRIDs 1..N (priority 200) and r2 backup of "
        "all (100), each VR with its own VIP from 203.0.113.0/24 (VRID 255: "
        "198.51.100.254; N=1: 192.0.2.254). CPU is utime + stime of every process in a "
        "router's namespace (the kernel's per-process CPU clock: all threads, ns resolution; "
        "/proc/<pid>/stat counts 10 ms ticks) over the window, after the pair converged "
        f"and {r.settings.settle:g} s more; kernel time spent on the packets outside the "
        "processes is not counted, for either.",
        "",
        *tables(r),
        "",
        "## Plots",
        "",
        *(f"![{caption}]({rel}/{name})\n" for name, caption in images),
    ]
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ns", default="1,16,64,255", help="virtual router counts, comma list")
    parser.add_argument("--runs", type=int, default=3, help="fresh labs per N and implementation")
    parser.add_argument("--window", type=float, default=20.0, help="CPU window, s")
    parser.add_argument("--settle", type=float, default=6.0, help="s after convergence")
    parser.add_argument("--version", type=int, choices=(2, 3), default=2)
    parser.add_argument("--interval", type=float, default=1.0, help="advert interval, s")
    parser.add_argument("--cuts", type=int, default=10, help="timer precision: cuts each")
    parser.add_argument("--check-runs", type=int, default=20, help="failover check runs")
    quick = "a short look: N 1,16, 1 run, 5 s window, 3 cuts, 5 check runs"
    parser.add_argument("--quick", action="store_true", help=quick)
    write = f"write the page (default {DOC.relative_to(TOP)}) and its PNGs"
    parser.add_argument("--write", nargs="?", const=str(DOC), metavar="PATH", help=write)
    if parser.parse_args().quick:  # new defaults: an explicit option still wins
        parser.set_defaults(ns="1,16", runs=1, window=5.0, settle=2.0, cuts=3, check_runs=5)
    args = parser.parse_args()
    args.ns = [int(n) for n in str(args.ns).split(",")]
    if not all(1 <= n <= 255 for n in args.ns):
        parser.error("--ns: counts between 1 and 255")
    if not runnable(parser, args.version, args.interval):
        return 2
    if args.write:
        with contextlib.suppress(ImportError):
            import matplotlib  # noqa: F401
        if "matplotlib" not in sys.modules:
            print("bench: --write needs matplotlib: pip install -e '.[bench]'", file=sys.stderr)
            return 2
    if args.write:
        args.write = Path(args.write).resolve()  # before the run changes directory
    command = ".venv/bin/python bench/scale.py " + " ".join(sys.argv[1:])
    print(f"{command}\nN {args.ns}, {args.runs} runs, window {args.window:g} s, "
          f"VRRPv{args.version} at {args.interval:g} s", flush=True)  # fmt: skip
    machine = facts()  # the code as it was when the run began
    code, digest = snapshot()
    machine["failover code measured"] = f"a copy of failover/ made at the start, sha256 {digest}"
    os.chdir(code)  # every process started from here on runs the copy
    try:
        return run(args, command, machine)
    finally:
        os.chdir(TOP)
        shutil.rmtree(code, ignore_errors=True)


def run(args: argparse.Namespace, command: str, machine: dict[str, str]) -> int:
    started = time.monotonic()
    settings = Settings(args.version, args.interval, args.window, args.settle)
    results = Results(args, settings, scale(args.ns, args.runs, settings), {}, {}, machine)
    for impl in IMPLS:
        results.precision[impl] = retried(impl, partial(takeovers, impl, args.cuts, settings))
    if args.check_runs:
        results.check = check_times(args.check_runs)
    print()
    print("\n".join(tables(results)))
    results.facts["bench run time"] = f"{(time.monotonic() - started) / 60:.1f} min"
    print(f"\n({results.facts['bench run time']})")
    if args.write:
        doc = Path(args.write)
        doc.write_text(page(results, doc, command) + "\n")
        print(f"wrote {doc} and {doc.with_suffix('')}/*.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
