"""Tracked items, their hysteresis, a router's effective priority and FAULT (pure).

Not RFC 3768 (keepalived's `track_*`, `vrrp_script` and FAULT, see REFERENCE.md); what
the RFC says still holds with the *effective* priority in its place: Skew_Time,
Master_Down_Interval (6.1) and the priority a master advertises (5.3.4, 6.4.3).

- A check's result passes through `Hysteresis`: `rise` consecutive successes make it
  healthy, `fall` consecutive failures make it failing (keepalived's defaults 1/1). Its
  first result decides at once: before it there is no state to be steady in.
- A router tracks checks with a weight. `weight > 0` is added while the check is
  healthy, `weight < 0` is added while it fails, `weight == 0` puts the router in FAULT
  while it fails *or is not known yet* (a router does not claim addresses for a service
  nobody has looked at). A `file` check's value is multiplied by its weight (keepalived's
  `track_file`); with weight 0 a non-zero value is FAULT.
- Effective priority = configured + contributions, clamped to 1..254; a configured 255
  (the address owner, 5.3.4) is never changed, and nothing is raised to 255.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from failover.protocol.settings import Track

OWNER = 255  # RFC 3768 5.3.4
MIN_PRIORITY, MAX_PRIORITY = 1, 254  # 5.3.4: 1-254 for backups; 0 is "stop" only


@dataclass(frozen=True, slots=True)
class CheckStatus:
    """What one check says now: `healthy` is None until its first result."""

    healthy: bool | None = None
    value: int | None = None  # a `file` check's integer


class Hysteresis:
    """One check's state from its results: `rise` successes or `fall` failures in a row."""

    def __init__(self, rise: int = 1, fall: int = 1) -> None:
        if rise < 1 or fall < 1:
            raise ValueError(f"rise and fall must be at least 1 (got {rise}, {fall})")
        self.rise, self.fall = rise, fall
        self.status = CheckStatus()
        self._streak = 0  # consecutive results against the current state

    def result(self, ok: bool, value: int | None = None) -> bool:
        """Feed one result; True when `status` changed (state or value)."""
        old = self.status
        if old.healthy is None or ok == old.healthy:
            self._streak = 0
            self.status = CheckStatus(ok, value)
        else:
            self._streak += 1
            if self._streak >= (self.rise if ok else self.fall):
                self._streak = 0
                self.status = CheckStatus(ok, value)
        return self.status != old


@dataclass(frozen=True, slots=True)
class Assessment:
    """A router's tracked items, weighed: its effective priority and FAULT causes."""

    priority: int  # effective
    faults: tuple[str, ...] = ()  # names of the items that hold it in FAULT
    contributions: tuple[tuple[str, int], ...] = ()  # (check, what it adds now)


def contribution(track: Track, status: CheckStatus) -> int:
    """What one tracked item adds to the priority now (0 while unknown)."""
    if status.healthy is None or track.weight == 0:
        return 0
    if status.value is not None:  # a file check: value x weight, as track_file
        return status.value * track.weight
    if track.weight > 0:
        return track.weight if status.healthy else 0
    return 0 if status.healthy else track.weight


def is_fault(track: Track, status: CheckStatus) -> bool:
    """A weight-0 item holds its router in FAULT while failing or not yet known."""
    if track.weight != 0:
        return False
    if status.value is not None:
        return status.value != 0
    return status.healthy is not True


def effective_priority(configured: int, added: Iterable[int]) -> int:
    """Configured + contributions, clamped to 1..254; the owner's 255 never moves."""
    if configured == OWNER:
        return OWNER
    return max(MIN_PRIORITY, min(MAX_PRIORITY, configured + sum(added)))


def assess(
    configured: int, tracks: Iterable[Track], statuses: Mapping[str, CheckStatus]
) -> Assessment:
    """Weigh a router's tracked items (a check not in `statuses` is unknown)."""
    unknown = CheckStatus()
    contributions = []
    faults = []
    for track in tracks:
        status = statuses.get(track.check, unknown)
        if is_fault(track, status):
            faults.append(track.check)
        contributions.append((track.check, contribution(track, status)))
    return Assessment(
        effective_priority(configured, (c for _, c in contributions)),
        tuple(faults),
        tuple(contributions),
    )
