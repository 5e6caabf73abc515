"""Probes against real local servers, files and commands; the Poller's one-run-at-a-time."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import pytest

from failover.daemon.probes import Kind, Poller, Probe, ProbeResult, attempt
from failover.daemon.process import Completed, Runner, run_command
from tests.support import require
from tests.unit.children import appears, dead, run

LOCAL = "127.0.0.1"


def probe(kind: Kind, **settings: object) -> Probe:
    return Probe("web", kind, **settings)  # type: ignore[arg-type]


def once(kind: Kind, **settings: object) -> ProbeResult:
    return run(attempt(probe(kind, **settings)))


class Responder:
    """A local TCP server answering each connection with `reply` once it has read a
    request head (None: never answer); what it received is in `requests`."""

    def __init__(self, reply: bytes | None, tls: ssl.SSLContext | None = None) -> None:
        self.reply = reply
        self.tls = tls
        self.requests: list[bytes] = []

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[int]:
        server = await asyncio.start_server(self._handle, LOCAL, 0, ssl=self.tls)
        try:
            yield server.sockets[0].getsockname()[1]
        finally:
            server.close()
            await server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.requests.append(await reader.readuntil(b"\r\n\r\n"))
            if self.reply is None:
                await reader.read()  # until the client gives up
            else:
                writer.write(self.reply)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def http(reply: bytes | None, path: str = "/healthz", **settings: object) -> ProbeResult:
    responder = Responder(reply)

    async def main() -> ProbeResult:
        async with responder.serving() as port:
            return await attempt(probe(Kind.HTTP, url=f"http://{LOCAL}:{port}{path}", **settings))

    return run(main())


def status(code: int, reason: str = "Whatever") -> bytes:
    return f"HTTP/1.1 {code} {reason}\r\nContent-Length: 0\r\n\r\n".encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOCAL, 0))
        return int(s.getsockname()[1])


class TestTcp:
    def test_connects(self) -> None:
        async def main() -> tuple[ProbeResult, int]:
            async with Responder(None).serving() as port:
                return await attempt(probe(Kind.TCP, host=LOCAL, port=port, timeout=30)), port

        result, port = run(main())
        assert (result.ok, result.detail, result.value) == (
            True,
            f"{LOCAL}:{port}: connected",
            None,
        )
        assert result.duration >= 0

    def test_refused(self) -> None:
        port = free_port()
        result = once(Kind.TCP, host=LOCAL, port=port, timeout=30)
        assert (result.ok, result.detail) == (False, f"{LOCAL}:{port}: Connection refused")

    def test_unknown_host(self) -> None:
        result = once(Kind.TCP, host="no-such-host.invalid", port=80, timeout=30)
        assert not result.ok and result.detail.startswith("no-such-host.invalid:80: ")


class TestHttp:
    def test_success_and_the_request_sent(self) -> None:
        responder = Responder(status(200, "OK"))

        async def main() -> tuple[ProbeResult, int]:
            async with responder.serving() as port:
                url = f"http://{LOCAL}:{port}/healthz?deep=1"
                return await attempt(probe(Kind.HTTP, url=url, timeout=30)), port

        result, port = run(main())
        assert result.ok and result.detail == f"http://{LOCAL}:{port}/healthz?deep=1: HTTP 200 OK"
        (head,) = responder.requests
        lines = head.decode().split("\r\n")
        assert lines[0] == "GET /healthz?deep=1 HTTP/1.1"
        assert f"Host: {LOCAL}:{port}" in lines and "Connection: close" in lines

    def test_status_outside_the_range_fails(self) -> None:
        result = http(status(503, "Service Unavailable"), timeout=30)
        assert not result.ok
        assert result.detail.endswith(": HTTP 503 Service Unavailable (expected 200-299)")

    def test_a_redirect_is_not_followed(self) -> None:
        assert not http(status(301), timeout=30).ok

    def test_chosen_range(self) -> None:
        assert http(status(503), expect_status=(500, 599), timeout=30).ok
        assert not http(status(200), expect_status=(204, 204), timeout=30).ok

    def test_no_answer_is_a_timeout(self) -> None:
        result = http(None, timeout=0.2)
        assert not result.ok and result.detail.endswith(": timed out after 0.2s")

    def test_not_http(self) -> None:
        result = http(b"SSH-2.0-OpenSSH\r\n", timeout=30)
        assert not result.ok
        assert result.detail.endswith(": not an HTTP status line: b'SSH-2.0-OpenSSH\\r\\n'")

    def test_closed_without_a_reply(self) -> None:
        result = http(b"", timeout=30)
        assert not result.ok and result.detail.endswith(": no reply")

    def test_refused(self) -> None:
        result = once(Kind.HTTP, url=f"http://{LOCAL}:{free_port()}/", timeout=30)
        assert not result.ok and result.detail.endswith(": Connection refused")

    def test_not_an_http_url(self) -> None:
        result = once(Kind.HTTP, url="ftp://192.0.2.1/", timeout=30)
        assert result.detail == "ftp://192.0.2.1/: not an http:// or https:// URL"

    def test_https_verifies_the_certificate(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        require(shutil.which("openssl") is not None, "needs openssl to make a certificate")
        key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
             "-days", "2", "-subj", "/CN=localhost", "-addext", f"subjectAltName=IP:{LOCAL}"],
            check=True, capture_output=True,
        )  # fmt: skip
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert, key)
        responder = Responder(status(200, "OK"), tls)

        async def main() -> ProbeResult:
            async with responder.serving() as port:
                return await attempt(probe(Kind.HTTP, url=f"https://{LOCAL}:{port}/", timeout=30))

        untrusted = run(main())
        assert not untrusted.ok and "certificate verify failed" in untrusted.detail
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # now the system's CAs trust it
        trusted = run(main())
        assert trusted.ok, trusted.detail


class TestFile:
    @pytest.mark.parametrize(("text", "value"), [("42\n", 42), (" -7 ", -7), ("+0", 0)])
    def test_integer(self, tmp_path: Path, text: str, value: int) -> None:
        (tmp_path / "drain").write_text(text)
        result = once(Kind.FILE, path=str(tmp_path / "drain"))
        assert (result.ok, result.value, result.detail) == (
            True,
            value,
            f"{tmp_path}/drain: {value}",
        )

    @pytest.mark.parametrize(
        ("text", "why"),
        [
            ("abc\n", "not an integer: b'abc\\n'"),
            ("", "not an integer: b''"),
            ("5 down", "not an integer: b'5 down'"),
            ("1" * 5000, "not an integer: b'" + "1" * 40 + "'"),
        ],
    )
    def test_not_an_integer(self, tmp_path: Path, text: str, why: str) -> None:
        (tmp_path / "drain").write_text(text)
        result = once(Kind.FILE, path=str(tmp_path / "drain"))
        assert (result.ok, result.value, result.detail) == (False, None, f"{tmp_path}/drain: {why}")

    def test_missing(self, tmp_path: Path) -> None:
        result = once(Kind.FILE, path=str(tmp_path / "gone"))
        assert (result.ok, result.detail) == (False, f"{tmp_path}/gone: No such file or directory")

    def test_not_a_regular_file(self, tmp_path: Path) -> None:
        os.mkfifo(tmp_path / "fifo")  # opening it must not wait for a writer
        for path in (tmp_path, tmp_path / "fifo"):
            result = once(Kind.FILE, path=str(path), timeout=30)
            assert (result.ok, result.detail) == (False, f"{path}: not a regular file")


class TestExec:
    def test_success(self) -> None:
        result = once(Kind.EXEC, command=("/bin/true",), timeout=30)
        assert (result.ok, result.detail, result.value) == (True, "/bin/true: exit 0", None)

    def test_failure_with_its_stderr(self) -> None:
        command = ("/bin/sh", "-c", "echo 'haproxy is down' >&2; exit 2")
        result = once(Kind.EXEC, command=command, timeout=30)
        assert (result.ok, result.detail) == (False, "/bin/sh: exit 2: haproxy is down")

    def test_timeout(self) -> None:
        result = once(Kind.EXEC, command=("/bin/sleep", "300"), timeout=0.2)
        assert (result.ok, result.detail) == (False, "/bin/sleep: timed out, killed by SIGTERM")

    def test_missing_command(self) -> None:
        result = once(Kind.EXEC, command=("/nonexistent/check",), timeout=30)
        assert result.detail == "/nonexistent/check: cannot start: No such file or directory"

    def test_as_another_user(self) -> None:
        require(os.geteuid() == 0, "switching users needs root")
        command = ("/bin/sh", "-c", "test $(id -un) = nobody")
        assert once(Kind.EXEC, command=command, user="nobody", timeout=30).ok
        assert not once(Kind.EXEC, command=command, timeout=30).ok


class SlowRunner:
    """A fake runner: each run takes `seconds`; counts the runs in flight at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.in_flight = 0
        self.most = 0
        self.spans: list[tuple[float, float]] = []

    async def __call__(
        self,
        argv: Sequence[str],
        timeout: float,
        *,
        user: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Completed:
        loop = asyncio.get_running_loop()
        start = loop.time()
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(self.seconds)
        finally:
            self.in_flight -= 1
        self.spans.append((start, loop.time()))
        return Completed(tuple(argv), loop.time() - start, exit_code=0)


Seen = tuple[str, ProbeResult, float]


async def collect(check: Probe, n: int, runner: Runner = run_command) -> list[Seen]:
    """The first `n` results a Poller of `check` hands its handler; stopped after."""
    results: asyncio.Queue[Seen] = asyncio.Queue()
    poller = Poller(check, lambda *seen: results.put_nowait(seen), runner=runner)
    poller.start()
    try:
        return [await asyncio.wait_for(results.get(), 30) for _ in range(n)]
    finally:
        await poller.stop()
        assert not poller.running


def poll_true(runner: SlowRunner, interval: float, n: int) -> None:
    run(collect(probe(Kind.EXEC, command=("/bin/true",), interval=interval, timeout=30), n, runner))


class TestPoller:
    def test_results_reach_the_handler(self) -> None:
        async def main() -> list[Seen]:
            async with Responder(None).serving() as port:
                check = probe(Kind.TCP, host=LOCAL, port=port, interval=0.05, timeout=30)
                return await collect(check, 3)

        got = run(main())
        assert [(name, r.ok) for name, r, _ in got] == [("web", True)] * 3
        times = [now for _, _, now in got]
        assert times == sorted(times)

    def test_a_slow_run_delays_the_next_and_never_overlaps(self) -> None:
        runner = SlowRunner(0.2)
        poll_true(runner, interval=0.01, n=4)
        assert runner.most == 1
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(runner.spans))

    def test_runs_start_an_interval_apart(self) -> None:
        runner = SlowRunner(0.0)
        poll_true(runner, interval=0.1, n=3)
        starts = [start for start, _ in runner.spans]
        assert all(b - a >= 0.1 - 0.01 for a, b in itertools.pairwise(starts))

    def test_stop_kills_a_run_in_flight(self, tmp_path: Path) -> None:
        code = f"sleep 300 & echo $! > {tmp_path}/child; wait"
        check = probe(Kind.EXEC, command=("/bin/sh", "-c", code), interval=1, timeout=300)

        async def main() -> int:
            poller = Poller(check, lambda *r: None)
            poller.start()
            child = int(await appears(tmp_path / "child"))
            await poller.stop()
            return child

        assert dead(run(main()))

    def test_a_failing_handler_does_not_stop_polling(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        seen: list[ProbeResult] = []

        def handler(name: str, result: ProbeResult, now: float) -> None:
            seen.append(result)
            if len(seen) == 1:
                raise RuntimeError("handler bug")

        async def main() -> None:
            check = probe(Kind.EXEC, command=("/bin/true",), interval=0.01, timeout=30)
            poller = Poller(check, handler, runner=SlowRunner(0.0))
            poller.start()
            async with asyncio.timeout(30):
                while len(seen) < 2:
                    await asyncio.sleep(0.01)
            await poller.stop()

        run(main())
        assert "check web: the result handler raised" in caplog.text

    def test_a_probe_that_raises_is_a_failure_not_silence(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def broken(
            argv: Sequence[str],
            timeout: float,
            *,
            user: str | None = None,
            env: Mapping[str, str] | None = None,
        ) -> Completed:
            raise RuntimeError("bug")

        check = probe(Kind.EXEC, command=("/bin/true",), interval=1, timeout=30)
        ((name, result, _),) = run(collect(check, 1, broken))
        assert (name, result.ok, result.detail) == (
            "web",
            False,
            "internal error: RuntimeError('bug')",
        )
        assert "check web: the probe raised" in caplog.text
