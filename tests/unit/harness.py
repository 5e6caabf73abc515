"""A real `Daemon` on a fake kernel (tests/unit/fakekernel.py), run as an asyncio task.

The daemon starts through its own `run()`: control socket in tmp, start-up as a reload
from the empty config, the address worker applying jobs to the fake netlink.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from failover.config import load
from failover.control import ReloadReply
from failover.daemon.model import Router
from failover.daemon.service import Daemon
from failover.protocol.packet import decode
from failover.protocol.router import State
from tests.control_replies import problems

from .fakekernel import FakeKernel, FakeNetlink

A, B = "192.0.2.100/24", "192.0.2.101/24"
LINKS = {"eth0": (2, ["192.0.2.1/24"]), "eth1": (3, ["198.51.100.1/24"])}


def router(vrid: int = 51, priority: int = 100, **kw: Any) -> dict[str, Any]:
    """One router's JSON, on eth0 with VIP A unless told otherwise."""
    return {
        "name": f"VR_{vrid}",
        "vrid": vrid,
        "interface_name": "eth0",
        "ip_addresses": [A],
        "priority": priority,
    } | kw


async def until(cond: Callable[[], object], timeout: float = 10.0) -> None:
    """Wait until `cond()` is true (polling the loop), or fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {cond}")
        await asyncio.sleep(0.005)


async def applied(h: Harness) -> ReloadReply:
    """Reload; the reply, which must say it was applied (and keep the contract)."""
    reply = await h.d.reload()
    assert reply["ok"] is True, reply
    assert problems(ReloadReply, reply) == []
    return reply


class Harness:
    """`async with Harness(tmp_path, [router()]) as h:` a started daemon; stopped on exit."""

    def __init__(self, tmp_path: Path, routers: list[dict[str, Any]], **top: Any) -> None:
        self.path = tmp_path / "vrrp-config.json"
        self.control = tmp_path / "failover.sock"
        self.kernel = FakeKernel(FakeNetlink(copy.deepcopy(LINKS)))
        self.write(*routers, **top)
        self.exit_code: int | None = None
        self.task: asyncio.Task[Any] | None = None

    def write(self, *routers: dict[str, Any], **top: Any) -> None:
        data: Any = {"virtual_routers": list(routers), **top} if top else list(routers)
        self.path.write_text(json.dumps(data))

    def daemon(self) -> Daemon:
        return Daemon(load(self.path), str(self.control), str(self.path), kernel=self.kernel)

    async def start(self) -> Harness:
        self.d = self.daemon()
        self.task = asyncio.create_task(self.d.run())
        await until(lambda: self.d.ready.is_set() or self.task is None or self.task.done())
        if self.task.done():
            self.task.result()  # raises what start-up raised
        return self

    async def stop(self) -> int:
        assert self.task is not None
        self.d.stop()
        code: int = await asyncio.wait_for(self.task, 10)
        self.exit_code = code
        return code

    async def __aenter__(self) -> Harness:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.task is not None and not self.task.done():
            await self.stop()

    # -- reading and driving the daemon ------------------------------------------------
    def router(self, vrid: int, interface: str = "eth0", family: int = 4) -> Router:
        return self.d.model.interfaces[(interface, family)].routers[vrid]

    def master(self, vrid: int) -> Router:
        """Fire the router's Master_Down timer now (RFC 3768 6.4.2): it becomes master."""
        r = self.router(vrid)
        deadline = r.core.next_deadline()
        assert deadline is not None
        self.d.routers.feed(r, r.core.expire(deadline))
        assert r.core.state is State.MASTER
        return r

    def sent(self, iface: str = "eth0") -> list[tuple[int, int]]:
        """(VRID, priority) of every advert sent on `iface`."""
        return [(a.vrid, a.priority) for a in map(decode, self.kernel.socks[iface].sent)]

    async def changes(self) -> list[tuple[str, str]]:
        """Every address change the fake kernel saw, once the worker is idle."""
        assert await self.d.addresses.drain(5)
        return [(kind, str(a)) for kind, _, a in self.kernel.netlink.changes]
