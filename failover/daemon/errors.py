"""Exit codes of `failover run` and the errors start-up and reload raise.

Standard library only: the CLI imports this without the runtime (pyroute2, asyncio).

    0  clean shutdown on SIGTERM/SIGINT (masters sent priority 0, VIPs removed)
    1  unexpected internal error (a bug: the traceback is on stderr)
    2  usage error (bad command-line arguments)
    3  invalid or unreadable config file
    4  interface problem: an interface is missing or has no IPv4 address
    5  another daemon already runs on the same control socket
    6  the system refused a socket: raw/AF_PACKET (not root?) or the control socket
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    CONFIG = 3
    INTERFACE = 4
    ALREADY_RUNNING = 5
    SYSTEM = 6


class StartupError(Exception):
    """The daemon cannot start; each message is one line for stderr."""

    def __init__(self, code: ExitCode, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.code = code
        self.messages = messages


class ReloadRefused(Exception):
    """A config cannot be applied and nothing changed: `error` says why, `details` list
    each problem, `code` is the exit code the same problem has at start-up."""

    def __init__(
        self, error: str, details: list[str] | None = None, code: ExitCode = ExitCode.CONFIG
    ) -> None:
        super().__init__(error)
        self.error = error
        self.details = details or []
        self.code = code
