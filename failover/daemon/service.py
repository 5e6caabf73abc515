"""The `Daemon`: runs every configured virtual router until SIGTERM/SIGINT; SIGHUP reloads.

Resources are opened under one `AsyncExitStack`, in this order, and closed in reverse:
the control socket (first, so a second daemon on the same socket touches nothing), the
kernel (netlink, link monitor), the address worker, signal handlers; start-up is a
reload from an empty config. Whatever fails half-way, the stack stops the routers that
started (masters send priority 0 and remove their VIPs), closes the sockets and removes
the control socket file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import replace
from typing import Any

from failover.config import Config, ConfigError, load
from failover.control import (
    EVENTS,
    RELOAD,
    STATUS,
    AlreadyRunning,
    ControlServer,
    ErrorReply,
    Handler,
    Json,
    ReloadReply,
    StatusReply,
    bind_socket,
    error_reply,
)
from failover.control_access import group_id
from failover.daemon.addresses import AddressWorker, LinkChange
from failover.daemon.errors import ExitCode, ReloadRefused, StartupError
from failover.daemon.events import EventBus, Follower
from failover.daemon.kernel import Kernel, system_kernel
from failover.daemon.logs import fields
from failover.daemon.loop import RouterLoop
from failover.daemon.metrics import DaemonCounters, MetricsServer, collect, render
from failover.daemon.model import Model
from failover.daemon.notify import Notifier
from failover.daemon.reload import reload
from failover.daemon.scheduling import apply as apply_scheduling

log = logging.getLogger("failover")

STOP_TIMEOUT = 5.0  # seconds to finish address removal on shutdown
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

KernelFactory = Callable[[], AbstractAsyncContextManager[Kernel]]


class Daemon:
    """One process, any number of virtual routers on any number of interfaces."""

    def __init__(
        self,
        config: Config,
        control_path: str,
        config_path: str | None = None,
        kernel: KernelFactory = system_kernel,
    ) -> None:
        self.initial = config  # applied at start-up; `config_path` is re-read on reload
        self.control_path = control_path
        self.config_path = config_path
        self.model = Model()
        self._kernel_factory = kernel
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()  # set once started and answering on the control socket
        self.bus = EventBus()
        self.counters = DaemonCounters()  # reloads, start time (metrics.py)
        self._exit = ExitCode.OK
        self._lock = asyncio.Lock()  # one start-up or reload at a time
        self._tasks: set[asyncio.Task[ReloadReply | ErrorReply]] = set()
        self.notify = Notifier.from_environment()  # systemd's $NOTIFY_SOCKET and watchdog, if any
        self.kernel: Kernel  # set by run(), with:
        self.addresses: AddressWorker
        self.routers: RouterLoop

    # -- lifecycle ------------------------------------------------------------------------
    async def run(self) -> ExitCode:
        """Start, serve until SIGTERM/SIGINT (or a fatal error), stop; the exit code."""
        async with AsyncExitStack() as stack:
            stack.callback(self.notify.close)  # last: the watchdog is fed while stopping
            handlers: dict[str, Handler] = {
                STATUS: self.status,
                RELOAD: self.reload_request,
                EVENTS: self.events,
            }
            group = self._control_group()
            control = ControlServer(self._bind_control(group), handlers, group)
            stack.push_async_callback(control.close)
            self.kernel = await stack.enter_async_context(self._kernel_factory())
            self.addresses = AddressWorker(self.kernel.netlink, self._loop, self.kernel.vmacs)
            self.routers = RouterLoop(self._loop, self.addresses, self.model, self.bus)
            await self._serve_metrics(stack)
            stack.callback(self.model.close)
            stack.callback(self.routers.deadlines.close)
            self._spawn(self.addresses.run(), stack)
            stack.push_async_callback(self._shutdown)
            for sig in SIGNALS:
                self._loop.add_signal_handler(sig, self._on_signal, sig)
                stack.callback(self._loop.remove_signal_handler, sig)
            await self.kernel.links.bind()  # before reading link states: no change missed
            apply_scheduling(self.initial.settings)
            await self._start()
            await control.start()
            self._spawn(self._watch_links(), stack)
            self.ready.set()
            self.notify.ready(self._summary())  # sockets open, left-overs gone, listening
            self.notify.start_watchdog(self._loop)
            await self._stop.wait()
            self.notify.stopping()
        log.info("failover stopped")
        return self._exit

    def _control_group(self) -> int | None:
        """The gid of `control_group` (read-only access to the control socket), if set."""
        name = self.initial.settings.control_group
        try:
            return None if name is None else group_id(name)
        except KeyError as err:
            raise StartupError(ExitCode.CONFIG, f"control_group: {err.args[0]}") from None

    def _bind_control(self, group: int | None) -> socket.socket:
        try:
            return bind_socket(self.control_path, group)
        except AlreadyRunning as err:
            raise StartupError(ExitCode.ALREADY_RUNNING, str(err)) from None
        except OSError as err:
            hint = ""
            if group is not None and isinstance(err, PermissionError):
                name = self.initial.settings.control_group
                hint = f" (for control_group {name}, run the daemon with Group={name})"
            raise StartupError(
                ExitCode.SYSTEM, f"cannot create control socket {self.control_path}: {err}{hint}"
            ) from None

    async def _serve_metrics(self, stack: AsyncExitStack) -> None:
        """The Prometheus endpoint (`metrics_listen`), before any router starts: a port
        in use fails the start-up having touched nothing."""
        listen = self.initial.settings.metrics_listen
        if listen is None:
            return
        server = MetricsServer(*listen, self.metrics_page)
        try:
            await server.start()
        except OSError as err:
            raise StartupError(
                ExitCode.SYSTEM, f"cannot serve metrics on {_endpoint(listen)}: {err.strerror}"
            ) from None
        stack.push_async_callback(server.close)
        log.info("metrics at http://%s/metrics", _endpoint(listen))

    def metrics_page(self) -> str:
        """One scrape: every metric as the model has it now."""
        families = collect(self.model, self.routers.tracker.checks, self.routers.lag,
                           self.counters, self._loop.time())  # fmt: skip
        return render(families)

    def _spawn(self, work: Coroutine[Any, Any, None], stack: AsyncExitStack) -> None:
        """A background task, cancelled when the stack unwinds."""
        task = self._loop.create_task(work)
        stack.push_async_callback(_cancel, task)

    async def _start(self) -> None:
        """Start-up: a reload from the empty config to the one given."""
        async with self._lock:
            try:
                await reload(
                    self.kernel,
                    self.model,
                    self.initial,
                    self.routers,
                    self.addresses,
                    "start-up",
                    self._stopping,
                )
            except ReloadRefused as err:
                if self._stop.is_set():
                    return
                raise StartupError(err.code, *(err.details or [err.error])) from None
        log.info("failover %d: %s, control socket %s", os.getpid(), self._summary(),
                 self.control_path, extra=fields(event="start", pid=os.getpid(),
                 routers=len(self.model.routers)))  # fmt: skip

    def _summary(self) -> str:
        """`2 virtual router(s) on eth0, eth1`: the log's and systemd's STATUS= line."""
        ifaces = ", ".join(sorted({name for name, _ in self.model.interfaces}))
        return f"{len(self.model.routers)} virtual router(s) on {ifaces}"

    def _stopping(self) -> str | None:
        return "the daemon is stopping" if self._stop.is_set() else None

    async def _shutdown(self) -> None:
        """RFC 3768 6.4.2/6.4.3 Shutdown for every router; wait for their VIPs to go."""
        self._stop.set()
        await self.routers.tracker.close()
        for iface in self.model.interfaces.values():
            iface.stop_reading()
        for r in self.model.routers:
            self.routers.stop(r)
            self.addresses.vmac_link(r, LinkChange.REMOVE)  # after its VIPs went
        if not await self.addresses.drain(STOP_TIMEOUT):
            log.error("gave up waiting for address removal after %gs", STOP_TIMEOUT)
        await self.routers.close_hooks([*self.model.routers, *self.model.groups.values()])

    def _on_signal(self, sig: signal.Signals) -> None:
        if sig == signal.SIGHUP:
            if self._stop.is_set():
                log.warning("SIGHUP received while stopping: no reload")
                return
            log.info("SIGHUP received: reloading %s", self.config_path)
            task = self._loop.create_task(self.reload())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        if not self._stop.is_set():
            log.info("%s received: stopping", sig.name)
        self.stop()

    def stop(self) -> None:
        """Stop: every router shuts down (RFC 3768 6.4.2/6.4.3) and `run` returns."""
        self._stop.set()

    async def _watch_links(self) -> None:
        """Feed link changes of the interfaces in use to their routers; fatal if it fails."""
        try:
            async for event in self.kernel.links.events():
                self.routers.tracker.link(event.index, event.running, self._loop.time())
                by_index = {i.index: i for i in self.model.interfaces.values()}
                iface = by_index.get(event.index)
                if iface is not None and (event.running != iface.running or event.deleted):
                    self.routers.link_changed(iface, event.running, event.deleted)
            raise RuntimeError("the link monitor stopped")
        except Exception:
            log.exception("link monitoring failed: stopping")
            self._exit = ExitCode.INTERNAL
            self._stop.set()

    # -- reload ---------------------------------------------------------------------------
    async def reload_request(self, _request: Json) -> ReloadReply | ErrorReply:
        """The control request `reload`."""
        return await self.reload()

    async def reload(self) -> ReloadReply | ErrorReply:
        """Re-read the config file and apply it in place; the reply for `failover reload`.

        All or nothing (see `failover.daemon.reload`); one reload at a time; the control
        socket never moves (a restart moves it).
        """
        async with self._lock:
            self.notify.reloading()
            try:
                reply = await self._reload()
                self.counters.reloads["ok"] += 1
                return reply
            except ReloadRefused as err:
                self.counters.reloads["refused"] += 1
                for detail in err.details or [""]:
                    sep = ": " if detail else ""
                    log.error("reload refused, nothing changed: %s%s%s", err.error, sep, detail,
                              extra=fields(event="reload", result="refused", error=err.error,
                                           detail=detail or None))  # fmt: skip
                return error_reply(err.error, err.details)
            finally:
                if not self._stop.is_set():
                    self.notify.ready(self._summary())

    async def _reload(self) -> ReloadReply:
        path = self.config_path
        if path is None:
            raise ReloadRefused("this daemon was started without a config file")
        if self._stop.is_set():
            raise ReloadRefused("the daemon is stopping")
        try:
            new = load(path)
        except ConfigError as err:
            raise ReloadRefused(f"{path}: invalid configuration", err.errors) from None
        warnings = [f"config: {w}" for w in new.warnings]
        settings = self.model.config.settings  # made once, at start: kept until a restart
        metrics = "off" if settings.metrics_listen is None else _endpoint(settings.metrics_listen)
        for key, stays in (
            ("control_socket", f"the control socket stays {self.control_path}"),
            ("control_group", f"the control socket's group stays {settings.control_group}"),
            ("metrics_listen", f"metrics stay {metrics}"),
            ("realtime_priority", f"it stays {settings.realtime_priority or 'unset'}"),
            ("nice", f"it stays {'unset' if settings.nice is None else settings.nice}"),
        ):
            if getattr(new.settings, key) != getattr(settings, key):
                value = getattr(new.settings, key)
                shown = _endpoint(value) if key == "metrics_listen" and value else value
                warnings.append(f"{key} {shown} is ignored until a restart; {stays}")
                new = replace(new, settings=replace(new.settings, **{key: getattr(settings, key)}))

        diff = await reload(
            self.kernel, self.model, new, self.routers, self.addresses, "reload", self._stopping
        )
        for warning in warnings:
            log.warning("reload: %s", warning)
        self.bus.publish(
            "reload",
            config=path,
            added=[rc.name for rc in diff.added],
            removed=[rc.name for rc in diff.removed],
            changed=[new_rc.name for _, new_rc in diff.changed],
        )
        log.info(
            "reload of %s done: %d added, %d removed, %d changed, %d unchanged",
            path,
            len(diff.added),
            len(diff.removed),
            len(diff.changed),
            len(diff.unchanged),
            extra=fields(
                event="reload",
                result="ok",
                config=path,
                added=[rc.name for rc in diff.added],
                removed=[rc.name for rc in diff.removed],
                changed=[new_rc.name for _, new_rc in diff.changed],
                unchanged=len(diff.unchanged),
            ),
        )
        return {
            "ok": True,
            "config": path,
            "added": [rc.name for rc in diff.added],
            "removed": [rc.name for rc in diff.removed],
            "changed": [new_rc.name for _, new_rc in diff.changed],
            "unchanged": [rc.name for rc in diff.unchanged],
            "warnings": warnings,
        }

    # -- control --------------------------------------------------------------------------
    def events(self, _request: Json) -> Follower:
        """The control request `events`: the live event stream."""
        return self.bus.follow()

    def status(self, _request: Json) -> StatusReply:
        now = self._loop.time()
        return {
            "ok": True,
            "pid": os.getpid(),
            "routers": [r.status(now, self.routers.tracker.checks) for r in self.model.routers],
            "interfaces": [i.status() for i in self.model.interfaces.values()],
        }


def _endpoint(listen: tuple[str, int]) -> str:
    host, port = listen
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def run(config: Config, control_path: str, config_path: str | None = None) -> int:
    """Run the daemon to completion; start-up errors go to stderr with their exit code.

    `config_path` is the file a reload (SIGHUP, `failover reload`) re-reads.
    """

    async def main() -> ExitCode:
        return await Daemon(config, control_path, config_path).run()

    try:
        return asyncio.run(main())
    except StartupError as err:
        for message in err.messages:
            print(f"failover: error: {message}", file=sys.stderr)
        return err.code
