"""The event stream: what happens in the daemon, numbered, to whoever follows it.

`failover events` follows it over the control socket (`{"command": "events"}`). Kinds:
`state` (a router's state change and why), `priority` (a router's effective priority
moved, and the check that moved it), `check` (a check's status changed, with its last
result), `reload` (a config applied). Every event has a `seq` from one counter (the
notify hooks' FAILOVER_SEQ is the same number), so a follower can tell it missed some:
a follower too slow to keep up loses the oldest events, never blocks the daemon.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any, cast

from failover.control import EventMessage

FOLLOWER_QUEUE = 1024  # events a follower may lag behind before it loses some


class EventBus:
    """Numbers events and hands them to every follower's queue."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)
        self._followers: set[asyncio.Queue[EventMessage]] = set()

    def publish(self, kind: str, **fields: Any) -> EventMessage:
        event = cast(EventMessage, {"seq": next(self._seq), "time": time.time(), "kind": kind})
        event.update(cast(EventMessage, fields))
        for queue in self._followers:
            if queue.full():
                queue.get_nowait()  # the follower lags: it loses the oldest (a seq gap)
            queue.put_nowait(event)
        return event

    def follow(self) -> Follower:
        """Every event from this call on (not from the first iteration), until closed."""
        return Follower(self._followers)


class Follower:
    """One follower's events (a `control.Stream`); `aclose()` unsubscribes it."""

    def __init__(self, followers: set[asyncio.Queue[EventMessage]]) -> None:
        self._queue: asyncio.Queue[EventMessage] = asyncio.Queue(FOLLOWER_QUEUE)
        self._followers = followers
        followers.add(self._queue)

    def __aiter__(self) -> Follower:
        return self

    async def __anext__(self) -> EventMessage:
        return await self._queue.get()

    async def aclose(self) -> None:
        self._followers.discard(self._queue)
