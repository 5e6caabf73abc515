"""The daemon's CPU scheduling from the config's `realtime_priority` and `nice`.

keepalived's `vrrp_rt_priority` (SCHED_RR) and `vrrp_priority` (nice) in failover's
words: on a busy host, the backup's Master_Down_Timer (RFC 3768 6.4.2) and the master's
Adver_Timer (6.4.3) fire on time only if the daemon gets a CPU when they are due.
Applied once, at start-up, to the whole process (every thread); neither is set unless
asked, and a refusal (no CAP_SYS_NICE, or a cgroup without real-time budget) is logged
as an error naming the key and the daemon runs on with the scheduling it has.

The shipped systemd unit (failover/data/failover.service) allows neither: it has
RestrictRealtime=yes, no CAP_SYS_NICE, and its SystemCallFilter=~@resources denies
sched_setscheduler and setpriority (any nice value). A drop-in with
`RestrictRealtime=no`, CAP_SYS_NICE added to CapabilityBoundingSet (root needs no
AmbientCapabilities) and `SystemCallFilter=sched_setscheduler setpriority` allows both;
the failover.vrrp.daemon role's unit renders exactly that from its variables.
The kernel's real-time throttling (/proc/sys/kernel/sched_rt_runtime_us, 95 % by
default) still leaves the other tasks some CPU if the daemon ever spins.
"""

from __future__ import annotations

import logging
import os

from failover.config import Settings

log = logging.getLogger("failover")


def apply(settings: Settings) -> list[str]:
    """Set the process's nice value and real-time policy as `settings` ask; a line per
    setting that failed (also logged as an error), empty if all went well."""
    failed = []
    if settings.nice is not None:
        try:
            for pid in _threads():  # nice is per thread on Linux; PRIO_PROCESS sets one
                os.setpriority(os.PRIO_PROCESS, pid, settings.nice)
        except OSError as err:
            failed.append(f"nice {settings.nice}: cannot set it: {err.strerror}")
        else:
            log.info("scheduling: nice %d", settings.nice)
    if settings.realtime_priority is not None:
        param = os.sched_param(settings.realtime_priority)
        try:
            for pid in _threads():
                os.sched_setscheduler(pid, os.SCHED_RR, param)
        except OSError as err:
            failed.append(
                f"realtime_priority {settings.realtime_priority}: cannot set SCHED_RR: "
                f"{err.strerror} (needs CAP_SYS_NICE, real-time CPU time in the daemon's "
                "cgroup and, under systemd, RestrictRealtime=no)"
            )
        else:
            log.info("scheduling: SCHED_RR priority %d", settings.realtime_priority)
    for line in failed:
        log.error("scheduling: %s; running on without it", line)
    return failed


def _threads() -> list[int]:
    """This process's thread ids (the main one first)."""
    try:
        tids = sorted(int(t) for t in os.listdir("/proc/self/task"))
    except OSError:
        return [os.getpid()]
    main = os.getpid()
    return [main, *(t for t in tids if t != main)]
