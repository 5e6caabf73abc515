"""The tracker: runs the config's checks and keeps what each one says now.

Polled kinds (exec, tcp, http, file) run in a `probes.Poller` each, one run at a time;
`interface` checks follow the link events the daemon already watches. Every result goes
through the check's rise/fall (`tracking.Hysteresis`); when a check's status changes,
`on_change(name, now)` tells the daemon, which feeds the routers tracking it
(`VirtualRouter.track`). A reload keeps the state of checks whose settings did not
change, restarts changed ones from unknown, stops removed ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from failover.daemon.probes import Poller, ProbeResult
from failover.protocol.settings import CheckConfig
from failover.protocol.tracking import CheckStatus, Hysteresis

log = logging.getLogger("failover")

OnChange = Callable[[str, float], None]
STATUS_WORDS: dict[bool | None, Literal["healthy", "failing", "unknown"]] = {
    None: "unknown",
    True: "healthy",
    False: "failing",
}


@dataclass(eq=False)
class Check:
    """One running check: its settings, hysteresis, poller (or link) and last result."""

    config: CheckConfig
    hysteresis: Hysteresis
    poller: Poller | None = None
    index: int | None = None  # an `interface` check's interface, None if it is missing
    last: ProbeResult | None = None
    last_at: float | None = None

    @property
    def status(self) -> CheckStatus:
        return self.hysteresis.status


class Tracker:
    """All checks of the running config (see the module doc)."""

    def __init__(self, on_change: OnChange) -> None:
        self.checks: dict[str, Check] = {}
        self._on_change = on_change
        self._stopping: set[asyncio.Task[None]] = set()

    def statuses(self) -> dict[str, CheckStatus]:
        return {name: c.status for name, c in self.checks.items()}

    # -- reload -----------------------------------------------------------------------
    def apply(
        self, configs: Iterable[CheckConfig], links: dict[str, tuple[int | None, bool]], now: float
    ) -> None:
        """Run exactly `configs`; `links`: each `interface` check's (index, running) now.

        No await: called inside a reload's apply. Stopped pollers finish in the
        background (`close` waits for them).
        """
        wanted = {c.name: c for c in configs}
        for name in [n for n, c in self.checks.items() if wanted.get(n) != c.config]:
            self._stop(self.checks.pop(name))
        for name, config in wanted.items():
            if name in self.checks:
                continue
            check = Check(config, Hysteresis(config.rise, config.fall))
            self.checks[name] = check
            if config.kind == "interface":
                check.index, running = links.get(name, (None, False))
                self._link_result(check, running, now)
            else:
                check.poller = Poller(config, self.result)
                check.poller.start()

    def _stop(self, check: Check) -> None:
        if check.poller is not None:
            task = asyncio.get_running_loop().create_task(check.poller.stop())
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    async def close(self) -> None:
        """Stop every poller and wait for them (an exec in flight is killed)."""
        for check in self.checks.values():
            self._stop(check)
        self.checks.clear()
        if self._stopping:
            await asyncio.wait(list(self._stopping))

    # -- results ----------------------------------------------------------------------
    def result(self, name: str, result: ProbeResult, now: float) -> None:
        """A poller's result (`probes.ResultHandler`)."""
        check = self.checks.get(name)
        if check is not None and check.poller is not None:
            self._result(check, result, now)

    def link(self, index: int, running: bool, now: float) -> None:
        """A link event: the `interface` checks on that interface."""
        for check in self.checks.values():
            if check.config.kind == "interface" and check.index == index:
                self._link_result(check, running, now)

    def _link_result(self, check: Check, running: bool, now: float) -> None:
        detail = "up with carrier" if running else "down"
        if check.index is None:
            detail = "does not exist"
        self._result(check, ProbeResult(running, f"{check.config.interface}: {detail}"), now)

    def _result(self, check: Check, result: ProbeResult, now: float) -> None:
        check.last, check.last_at = result, now
        before = check.status
        if not check.hysteresis.result(result.ok, result.value):
            return
        name = check.config.name
        if before.healthy is None:
            log.info("check %s: %s (%s)", name, _word(check.status), result.detail)
        else:
            log.warning("check %s: %s -> %s (%s)", name, _word(before), _word(check.status),
                        result.detail)  # fmt: skip
        self._on_change(name, now)


def _word(status: CheckStatus) -> str:
    word = STATUS_WORDS[status.healthy]
    return word if status.value is None else f"{word}, value {status.value}"
