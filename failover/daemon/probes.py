"""Health-check probes: one attempt of a check (`attempt`), and a `Poller` repeating it.

Kinds (issue 9; keepalived's equivalent in brackets). Each attempt is bounded by the
probe's `timeout`; a timeout is a failure.

- `exec` [vrrp_script]: run `command` (an argv list) through `process.run_command`,
  as `user` if given. Exit 0 is success; a non-zero exit, a signal, the timeout (the
  process group gets SIGTERM, SIGKILL 2 s later, as keepalived) or a start failure is
  failure; the detail carries the first line of stderr.
- `tcp`: a TCP connection to `host`:`port` established, then closed.
- `http`: GET `url` with a minimal HTTP/1.1 request (`Connection: close`, standard
  library only); success is a status line with a status in `expect_status` (inclusive;
  default 200-299). Redirects are not followed (a 301 is a status like another); the
  body is not read. `https://` verifies the certificate against the system's CAs.
- `file` [track_file]: the file holds an integer (optional sign, whitespace around it);
  success means it was read, and `value` carries it. What the value means is the
  tracker's, as keepalived's: with weight 0 non-zero is FAULT, otherwise value x weight
  is added to the priority. A missing, unreadable, non-regular (a FIFO is not opened for
  good) or non-integer file is a failure; keepalived reads a leading integer ("5 x" is 5),
  this reads the whole file (at most 4 KiB) and refuses it.

`Poller`: one probe every `interval` seconds from `start()`, each run starting `interval`
after the previous one started or, if that one overran, as soon as it ended: never two
runs of a check at once (keepalived skips a run while the script still runs; here the
next run waits for it). Every result goes to `on_result(name, result, now)`, `now` being
`loop.time()`, the clock the core runs on. `stop()` cancels a run in flight (an exec's
process group is SIGKILLed).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import ssl
import stat
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from failover.daemon.process import Runner, run_command
from failover.protocol.settings import CheckConfig

log = logging.getLogger("failover")

FILE_BYTES = 4096  # longest `file` content read
INTEGER = re.compile(rb"\s*([+-]?[0-9]+)\s*")
STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([0-9]{3})(?: ([^\r\n]*))?\r?\n")


class Kind(StrEnum):
    EXEC = "exec"
    TCP = "tcp"
    HTTP = "http"
    FILE = "file"


# One check's settings, as the config defines them; each kind reads only its own fields.
Probe = CheckConfig


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One attempt: `detail` for logs and status, `value` the `file` kind's integer."""

    ok: bool
    detail: str
    value: int | None = None
    duration: float = 0.0


async def attempt(probe: Probe, runner: Runner = run_command) -> ProbeResult:
    """Run the probe once; what it meets is a result, never an exception. The detail
    starts with what was probed: "127.0.0.1:5432: Connection refused"."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    value = None
    try:
        if probe.kind == Kind.EXEC:  # run_command has the timeout, and the kill
            ok, outcome = await _exec(probe, runner)
        else:
            async with asyncio.timeout(probe.timeout):
                if probe.kind == Kind.TCP:
                    ok, outcome = await _tcp(probe.host, probe.port)
                elif probe.kind == Kind.HTTP:
                    ok, outcome = await _http(probe.url, probe.expect_status)
                else:
                    value = await asyncio.to_thread(_read_integer, probe.path)
                    ok, outcome = True, str(value)
    except TimeoutError:
        ok, outcome = False, f"timed out after {probe.timeout:g}s"
    except (OSError, ValueError) as e:
        ok, outcome = False, _why(e)
    return ProbeResult(ok, f"{_target(probe)}: {outcome}", value, loop.time() - started)


def _target(probe: Probe) -> str:
    if probe.kind == Kind.EXEC:
        return probe.command[0] if probe.command else "(no command)"
    if probe.kind == Kind.TCP:
        return f"{probe.host}:{probe.port}"
    return probe.url if probe.kind == Kind.HTTP else probe.path


async def _exec(probe: Probe, runner: Runner) -> tuple[bool, str]:
    done = await runner(probe.command, probe.timeout, user=probe.user)
    outcome = done.describe()
    if not done.ok and done.stderr:
        outcome += f": {done.stderr[0]}"
    return done.ok, outcome


async def _tcp(host: str, port: int) -> tuple[bool, str]:
    _, writer = await asyncio.open_connection(host, port)
    writer.close()
    return True, "connected"


async def _http(address: str, expected: tuple[int, int]) -> tuple[bool, str]:
    url = urlsplit(address)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError("not an http:// or https:// URL")
    tls = ssl.create_default_context() if url.scheme == "https" else None
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {url.netloc.rpartition('@')[2]}\r\n"
        "User-Agent: failover-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )
    port = url.port or (443 if tls else 80)
    reader, writer = await asyncio.open_connection(url.hostname, port, ssl=tls)
    try:
        writer.write(request.encode("latin-1"))
        line = await reader.readline()
    finally:
        writer.close()
    reply = STATUS_LINE.fullmatch(line)
    if reply is None:
        raise ValueError(f"not an HTTP status line: {line[:60]!r}" if line else "no reply")
    status, low, high = int(reply[1]), *expected
    outcome = f"HTTP {status} {(reply[2] or b'').decode('latin-1')}".rstrip()
    if low <= status <= high:
        return True, outcome
    return False, f"{outcome} (expected {low}-{high})"


def _read_integer(path: str) -> int:
    """The file's integer; ValueError or OSError says why not (runs in a thread)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file")
        data = os.read(fd, FILE_BYTES + 1)
    finally:
        os.close(fd)
    number = INTEGER.fullmatch(data) if len(data) <= FILE_BYTES else None
    if number is None:
        raise ValueError(f"not an integer: {data[:40]!r}")
    return int(number[1])


def _why(e: OSError | ValueError) -> str:
    """An error in words: "Connection refused", not "[Errno 111] Connect call failed"."""
    if isinstance(e, socket.gaierror):
        return e.strerror or str(e)
    if isinstance(e, OSError) and not isinstance(e, ssl.SSLError) and e.errno:
        return os.strerror(e.errno)
    return str(e)


ResultHandler = Callable[[str, ProbeResult, float], None]


class Poller:
    """Runs `probe` every `probe.interval` seconds, one run at a time, as an asyncio task."""

    def __init__(
        self, probe: Probe, on_result: ResultHandler, *, runner: Runner = run_command
    ) -> None:
        self.probe = probe
        self._on_result = on_result
        self._runner = runner
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start polling now (the first run at once); a running poller is left alone."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(
                self._poll(), name=f"check {self.probe.name}"
            )

    async def stop(self) -> None:
        """Stop polling; a run in flight is cancelled (an exec's processes killed)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])  # (a cancellation of stop() itself propagates)

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        name = self.probe.name
        while True:
            started = loop.time()
            try:
                result = await attempt(self.probe, self._runner)
            except Exception as e:  # a bug: report a failure rather than go silent
                log.exception("check %s: the probe raised", name)
                result = ProbeResult(False, f"internal error: {e!r}", None, loop.time() - started)
            now = loop.time()
            try:
                self._on_result(name, result, now)
            except Exception:
                log.exception("check %s: the result handler raised", name)
            await asyncio.sleep(max(0.0, started + self.probe.interval - now))
