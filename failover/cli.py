"""The `failover` command line: run, check, status, events, reload, teardown, supervise, lab.

Exit codes: `run` as documented in `failover.daemon.errors` (0 clean stop, 3 bad config,
4 interface problem, 5 already running, 6 socket refused); `check` 0 valid, 1 invalid;
`status` 0, or 1 when no daemon answers; `events` 0 when the daemon stops, 1 when no daemon
answers, 130 on Ctrl-C; `reload` 0 applied, 1 refused (invalid config,
missing interface: nothing changed), 6 no daemon answers on the control socket;
`teardown` 0, 3 bad config, 5 a daemon is still running (stop it: it removes its own
VIPs), 6 netlink refused (not root); `supervise` 0 done, 1 failed (start: no answer, the
log's tail; reload: refused, the daemon's errors), 2 usage.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from ipaddress import ip_address
from typing import TYPE_CHECKING

from failover.config import (
    DEFAULT_CONFIG_PATH,
    DEFAULT_CONTROL_SOCKET,
    Config,
    ConfigError,
    load,
)
from failover.daemon.errors import ExitCode
from failover.protocol.packet import IPAddress
from failover.protocol.settings import CheckConfig, RouterConfig
from failover.v3_config import self_peers

if TYPE_CHECKING:
    from failover.control import Json

# `check` runs on every host (Ansible's `validate:`, systemd's ExecStartPre=): it must not
# pay for the runtime. Commands that talk to a daemon or the kernel import it themselves.

LOG_LEVELS = ("debug", "info", "warning", "error")


def describe_router(r: RouterConfig) -> str:
    """One-line summary of a configured virtual router."""
    addrs = ",".join(str(a) for a in r.addresses)
    preempt = "on" if r.preempt_mode else "off"
    if r.preempt_mode and r.preempt_delay:
        preempt += f" (delay {r.preempt_delay:g}s)"
    auth = "simple" if r.auth_type else "none"
    track = ",".join(f"{t.check}:{t.weight}" for t in r.track)
    return (
        f"{r.name}: vrid={r.vrid} interface={r.interface} priority={r.priority}"
        f"{' (owner)' if r.priority == 255 else ''} interval={r.advert_interval:g}s"
        f" preempt={preempt} auth={auth} addresses={addrs}"
        + (f" track={track}" if track else "")
        + (f" notify={r.notify[0]}" if r.notify else "")
        + (f" version={r.version}" if r.version != 2 else "")
        + (" checksum=rfc9568" if not r.checksum_ipv4_pseudo_header else "")
        + (f" unicast={','.join(map(str, r.unicast_peers))}" if r.unicast_peers else "")
        + (f" from={r.unicast_source}" if r.unicast_source else "")
        + (" vmac" if r.use_vmac else "")
    )


def describe_check(c: CheckConfig) -> str:
    """One-line summary of a configured health check."""
    what = {
        "exec": " ".join(c.command) + (f" (as {c.user})" if c.user else ""),
        "tcp": f"{c.host}:{c.port}",
        "http": f"{c.url} expect {c.expect_status[0]}-{c.expect_status[1]}",
        "file": c.path,
        "interface": f"{c.interface} up with carrier",
    }[c.kind]
    polled = "" if c.kind == "interface" else f" every {c.interval:g}s timeout {c.timeout:g}s"
    return f"check {c.name}: {c.kind} {what}{polled} rise {c.rise} fall {c.fall}"


def load_or_report(path: str) -> Config | None:
    """The config, or None after printing every error to stderr."""
    try:
        return load(path)
    except ConfigError as err:
        print(f"{path}: invalid configuration:", file=sys.stderr)
        for line in err.errors:
            print(f"  {line}", file=sys.stderr)
        return None


def control_path(args: argparse.Namespace) -> str:
    """--control-socket, else the config's `control_socket`, else the default."""
    if args.control_socket:
        return str(args.control_socket)
    try:
        return load(args.config).settings.control_socket
    except ConfigError:
        return DEFAULT_CONTROL_SOCKET


def local_addresses() -> set[IPAddress]:
    """This host's addresses (`ip -json addr`; none if `ip` is missing: then a peer list
    naming the host itself is caught by the daemon, which knows its interfaces)."""
    try:
        out = subprocess.run(
            ["ip", "-json", "addr", "show"], capture_output=True, text=True, timeout=10
        ).stdout
        links = json.loads(out or "[]")
    except (OSError, ValueError, subprocess.SubprocessError):
        return set()
    return {ip_address(a["local"]) for link in links for a in link.get("addr_info", [])
            if "local" in a}  # fmt: skip


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a config file: errors and exit 1, or one line per router and exit 0."""
    config = load_or_report(args.config)
    if config is None:
        return 1
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if any(r.unicast_peers for r in config.routers):
        mistakes = self_peers(config.routers, local_addresses())
        if mistakes:
            print(f"{args.config}: invalid on this host:", file=sys.stderr)
            for line in mistakes:
                print(f"  {line}", file=sys.stderr)
            return 1
    for r in config.routers:
        print(describe_router(r))
    for c in config.checks:
        print(describe_check(c))
    for g in config.sync_groups:
        print(f"sync group {g.name}: {', '.join(g.routers)}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the daemon in the foreground until SIGTERM/SIGINT."""
    from failover.daemon import service
    from failover.daemon.logs import configure_logging

    configure_logging(args.log_level, args.log_format)
    config = load_or_report(args.config)
    if config is None:
        return ExitCode.CONFIG
    for warning in config.warnings:
        logging.getLogger("failover").warning("config: %s", warning)
    return service.run(
        config,
        args.control_socket or config.settings.control_socket,
        os.path.abspath(args.config),  # what SIGHUP re-reads, wherever the daemon runs
    )


def cmd_status(args: argparse.Namespace) -> int:
    """Ask the running daemon for its routers' state."""
    from failover import control

    try:
        reply = control.request(control_path(args), {"command": "status"})
    except control.ControlError as err:
        print(f"failover: {err}", file=sys.stderr)
        return 1
    if not reply.get("ok"):
        print(f"failover: {reply.get('error', 'the daemon refused')}", file=sys.stderr)
        return 1
    print(json.dumps(reply, indent=2) if args.json else control.format_status(reply))
    return 0


def format_reload(reply: Json) -> str:
    """The `failover reload` summary: the file, then one line per kind of change."""
    lines = [f"reloaded {reply.get('config', 'the config')}"]
    for kind in ("added", "removed", "changed", "unchanged"):
        names = reply.get(kind) or []
        lines.append(f"{kind}: {', '.join(map(str, names)) if names else '-'}")
    return "\n".join(lines)


def cmd_reload(args: argparse.Namespace) -> int:
    """Ask the running daemon to re-read its config file and apply it without a flap."""
    from failover import control

    try:
        reply = control.request(
            control_path(args), {"command": control.RELOAD}, control.RELOAD_TIMEOUT
        )
    except control.ControlError as err:
        print(f"failover: {err}", file=sys.stderr)
        return ExitCode.SYSTEM
    if not reply.get("ok"):
        print(f"failover: {control.format_refusal(reply)}", file=sys.stderr)
        return 1
    for warning in reply.get("warnings") or []:
        print(f"warning: {warning}", file=sys.stderr)
    print(format_reload(reply))
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    """Follow the running daemon's events, one line each, until it stops or Ctrl-C."""
    from failover import control

    try:
        for event in control.follow(control_path(args)):
            line = json.dumps(event) if args.json else control.format_event(event)
            print(line, flush=True)
    except control.ControlError as err:
        print(f"failover: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def cmd_teardown(args: argparse.Namespace) -> int:
    """Remove the configured VIPs from their interfaces (after a crash)."""
    import asyncio

    from failover import control
    from failover.daemon.addresses import teardown
    from failover.daemon.kernel import system_kernel

    async def remove_all(config: Config) -> list[str]:
        async with system_kernel() as kernel:
            return await teardown(config, kernel.netlink, kernel.vmacs)

    config = load_or_report(args.config)
    if config is None:
        return ExitCode.CONFIG
    path = args.control_socket or config.settings.control_socket
    live, pid = control.probe(path)
    if live:
        who = f" (pid {pid})" if pid else ""
        print(
            f"failover: error: a failover daemon{who} is running on {path}; stop it "
            "instead (on SIGTERM it gives up mastership and removes its VIPs)",
            file=sys.stderr,
        )
        return ExitCode.ALREADY_RUNNING
    try:
        lines = asyncio.run(remove_all(config))
    except OSError as err:
        print(f"failover: error: teardown failed: {err} (it needs root)", file=sys.stderr)
        return ExitCode.SYSTEM
    print("\n".join(lines) if lines else "no configured virtual address or vmac was present")
    return 0


def add_lab_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`failover lab`: owned by failover/lab/ (`failover.lab.cli.add_parser(subparsers)`).

    The lab's parser sets `func` (args -> exit code) like the other subcommands. The
    CLI works without it: a missing failover.lab.cli is skipped, any other error raises.
    """
    try:
        lab_cli = importlib.import_module("failover.lab.cli")
    except ModuleNotFoundError as err:
        if err.name in {"failover.lab", "failover.lab.cli"}:
            return
        raise
    lab_cli.add_parser(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="failover", description="VRRPv2 (RFC 3768) daemon")
    sub = parser.add_subparsers(dest="command", required=True)
    config_help = f"config file (default {DEFAULT_CONFIG_PATH})"
    socket_help = f"control socket (default: the config's, else {DEFAULT_CONTROL_SOCKET})"

    run = sub.add_parser("run", help="run the daemon in the foreground")
    run.add_argument("--config", default=str(DEFAULT_CONFIG_PATH), help=config_help)
    run.add_argument("--control-socket", metavar="PATH", help=socket_help)
    run.add_argument(
        "--log-level", type=str.lower, choices=LOG_LEVELS, default="info", help="default info"
    )
    run.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text: a line per event, key=value fields after the message (default); "
        "json: one JSON object per line",
    )
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="validate a config file")
    check.add_argument("config", nargs="?", default=str(DEFAULT_CONFIG_PATH))
    check.set_defaults(func=cmd_check)

    status = sub.add_parser("status", help="show the running daemon's virtual routers")
    status.add_argument("--control-socket", metavar="PATH", help=socket_help)
    status.add_argument("--config", default=str(DEFAULT_CONFIG_PATH), help=config_help)
    status.add_argument("--json", action="store_true", help="print the reply as JSON")
    status.set_defaults(func=cmd_status)

    events = sub.add_parser(
        "events",
        help="follow the running daemon's events (state, priority, check, reload changes)",
        description="One line per event as it happens; with --json one JSON object per "
        "line, each with a `seq` number from one counter, so a gap means missed events.",
    )
    events.add_argument("--control-socket", metavar="PATH", help=socket_help)
    events.add_argument("--config", default=str(DEFAULT_CONFIG_PATH), help=config_help)
    events.add_argument("--json", action="store_true", help="print each event as JSON")
    events.set_defaults(func=cmd_events)

    reload = sub.add_parser(
        "reload",
        help="apply the running daemon's config file again, without a flap (as SIGHUP)",
        description="Ask the running daemon to re-read the config file it was started "
        "with and apply it in place: kept virtual routers keep their state, removed ones "
        "stop (a master hands over), added ones start. An invalid file changes nothing. "
        "SIGHUP to the daemon does the same.",
    )
    reload.add_argument("--control-socket", metavar="PATH", help=socket_help)
    reload.add_argument(
        "--config",
        metavar="FILE",
        default=str(DEFAULT_CONFIG_PATH),
        help=f"{config_help}; only read to find the control socket",
    )
    reload.set_defaults(func=cmd_reload)

    teardown = sub.add_parser("teardown", help="remove the configured VIPs (after a crash)")
    teardown.add_argument("--config", default=str(DEFAULT_CONFIG_PATH), help=config_help)
    teardown.add_argument("--control-socket", metavar="PATH", help=socket_help)
    teardown.set_defaults(func=cmd_teardown)

    # -- `failover lab`: added by failover/lab/cli.py (another module's subcommand) --
    add_lab_parser(sub)
    # -- `failover supervise`: failover/supervise.py (light: no asyncio, no pyroute2) --
    from failover import supervise

    supervise.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
