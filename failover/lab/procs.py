"""Long-running processes of a lab: own process group, output in a log file."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path


class Proc:
    """A process started in a namespace, with stdout and stderr in `log_path`."""

    def __init__(
        self, name: str, argv: list[str], log_path: Path, env: Mapping[str, str] | None = None
    ) -> None:
        """`env`: added to (or overriding) this process's environment."""
        self.name = name
        self.argv = argv
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: signals reach it only
                env=None if env is None else {**os.environ, **env},
            )
        self.pid = self.popen.pid

    def __repr__(self) -> str:
        return f"Proc({self.name!r}, pid={self.pid}, returncode={self.returncode})"

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        """Everything the process has written so far."""
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        """Send `sig` to the process group (no error if it has exited)."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit; raises subprocess.TimeoutExpired after `timeout` s."""
        return self.popen.wait(timeout)

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM, then SIGKILL if still running after `timeout` s; the exit code."""
        stop_all([self], timeout)
        return self.popen.wait()

    def kill(self) -> int:
        """SIGKILL at once (a crash, as `kill -9`); the exit code."""
        self.signal(signal.SIGKILL)
        return self.popen.wait()


class Service:
    """A daemon a lab host runs as one process: started by `start`, then stopped or crashed.

    Subclasses set `self.proc` in their `start`; `what` names it in errors.
    """

    what = "the daemon"
    host_name = "?"
    proc: Proc | None = None

    @property
    def running(self) -> Proc:
        if self.proc is None:
            raise RuntimeError(f"{self.what} on {self.host_name} was never started")
        return self.proc

    def stop(self, timeout: float = 10.0) -> int:
        """Graceful stop (SIGTERM); the exit code."""
        return self.running.stop(timeout)

    def kill(self) -> int:
        """Crash it (SIGKILL): no goodbye advert, addresses left behind."""
        return self.running.kill()

    def log(self) -> str:
        return self.running.log()


def stop_all(procs: Iterable[Proc], timeout: float = 5.0) -> None:
    """SIGTERM every process at once, SIGKILL the ones left after `timeout` s."""
    running = [p for p in procs if p.alive()]
    for p in running:
        p.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in running:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.signal(signal.SIGKILL)
            p.wait()
        # reap stragglers of the group (e.g. children of a shell)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)
