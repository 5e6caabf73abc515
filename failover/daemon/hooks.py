"""Notify hooks, one ordered queue per router or sync group.

keepalived's `notify` scripts run as the events come and may overlap, a known source of
races (acassen/keepalived #996, #2389). Here each router and each sync group has a
`HookQueue`: its events run one at a time, in the order submitted, each bounded by the
hook's timeout (SIGTERM to its process group, SIGKILL 2 s later, as a check's).
`submit` never blocks and never fails, so the protocol never waits on a hook; a slow or
hanging hook delays only the later events of its own queue.

The hook is an argv list (`process.run_command`: no shell, stdin and stdout /dev/null).
The event is appended as four arguments, as keepalived's `notify` does: `ROUTER` or
`GROUP`, the name, the new state, the effective priority. The environment (the daemon's,
plus these) carries it all:

    FAILOVER_KIND        ROUTER or GROUP
    FAILOVER_NAME        the router's or the sync group's name
    FAILOVER_STATE       the new state (MASTER, BACKUP, FAULT; STOP at shutdown)
    FAILOVER_OLD_STATE   the state it left
    FAILOVER_PRIORITY    the effective priority
    FAILOVER_REASON      why, in words
    FAILOVER_SEQ         the event's sequence number (the caller's: the event stream's)

Every run is logged on "failover": exit status, duration, the first lines of stderr; a
failure, a timeout or a start failure at warning level. At most `limit` events wait;
beyond that the oldest waiting one is dropped with a warning (a hook sees the gap in
FAILOVER_SEQ). `close(timeout)` takes no more events, lets the queue finish for up to
`timeout` seconds, then kills the running hook and drops what still waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from failover.daemon.process import Completed, Runner, run_command

log = logging.getLogger("failover")

QUEUE_LIMIT = 64  # events waiting per queue before the oldest is dropped


@dataclass(frozen=True, slots=True)
class HookEvent:
    """One state change of a router or a sync group, as a hook gets it."""

    kind: Literal["ROUTER", "GROUP"]
    name: str
    state: str
    old_state: str
    priority: int
    reason: str
    seq: int

    def arguments(self) -> list[str]:
        """keepalived's four `notify` arguments."""
        return [self.kind, self.name, self.state, str(self.priority)]

    def environment(self) -> dict[str, str]:
        return {
            "FAILOVER_KIND": self.kind,
            "FAILOVER_NAME": self.name,
            "FAILOVER_STATE": self.state,
            "FAILOVER_OLD_STATE": self.old_state,
            "FAILOVER_PRIORITY": str(self.priority),
            "FAILOVER_REASON": self.reason,
            "FAILOVER_SEQ": str(self.seq),
        }


class HookQueue:
    """Runs one hook for the events of one router or group, one at a time, in order.

    `name` labels the log lines ("hook <name>: ..."), e.g. "inside" or "group fw".
    """

    def __init__(
        self,
        argv: Sequence[str],
        timeout: float,
        name: str,
        *,
        user: str | None = None,
        limit: int = QUEUE_LIMIT,
        runner: Runner = run_command,
    ) -> None:
        self.argv = tuple(argv)
        self.timeout = timeout
        self.name = name
        self.user = user
        self.limit = limit
        self._runner = runner
        self._waiting: deque[HookEvent] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._running: HookEvent | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Events not done yet: the one running and those waiting."""
        return len(self._waiting) + (self._running is not None)

    def submit(self, event: HookEvent) -> None:
        """Queue `event` (from the event loop); returns at once."""
        if self._closed:
            log.warning("hook %s: closed, event %d (%s) not run", self.name, event.seq, event.state)
            return
        if len(self._waiting) >= self.limit:
            old = self._waiting.popleft()
            log.warning(
                "hook %s: %d events waiting, event %d (%s) dropped",
                self.name, self.limit, old.seq, old.state,
            )  # fmt: skip
        self._waiting.append(event)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(
                self._drain(), name=f"hook {self.name}"
            )

    async def close(self, timeout: float) -> None:
        """Take no more events; finish within `timeout` seconds, else kill and drop."""
        self._closed = True
        worker = self._worker
        if worker is None:
            return
        done, _ = await asyncio.wait([worker], timeout=timeout)
        if not done:
            dropped = len(self._waiting)
            self._waiting.clear()
            worker.cancel()
            await asyncio.wait([worker])
            log.warning(
                "hook %s: not done %gs after close: the running hook killed, %d waiting dropped",
                self.name, timeout, dropped,
            )  # fmt: skip

    async def _drain(self) -> None:
        while self._waiting:
            event = self._running = self._waiting.popleft()
            try:
                done = await self._runner(
                    [*self.argv, *event.arguments()],
                    self.timeout,
                    user=self.user,
                    env=event.environment(),
                )
            except Exception:  # a bug: the later events still run
                log.exception("hook %s: event %d raised", self.name, event.seq)
                continue
            finally:
                self._running = None
            self._log(event, done)

    def _log(self, event: HookEvent, done: Completed) -> None:
        stderr = f"; stderr: {' | '.join(done.stderr)}" if done.stderr else ""
        log.log(
            logging.INFO if done.ok else logging.WARNING,
            "hook %s: event %d (%s -> %s): %s in %.2fs%s",
            self.name, event.seq, event.old_state, event.state, done.describe(),
            done.duration, stderr,
        )  # fmt: skip
