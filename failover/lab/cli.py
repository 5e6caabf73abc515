"""`failover lab`: watch a failover live in network namespaces (root)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _routers(value: str) -> int:
    n = int(value)
    if not 2 <= n <= 3:
        raise argparse.ArgumentTypeError("must be 2 or 3")
    return n


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `lab` command to the `failover` parser's subcommands."""
    lab = subparsers.add_parser(
        "lab",
        help="show a failover live in network namespaces (root)",
        description="Build a LAN in network namespaces (a bridge, router namespaces, a "
        "client), run a failover daemon per router, cut the master off the LAN and show "
        "the backup take over and the client's outage; then heal and tear down.",
    )
    lab.add_argument("--routers", type=_routers, default=2, help="2 or 3 routers (default 2)")
    lab.add_argument(
        "--keep", action="store_true", help="keep the lab up for exploration until Ctrl-C"
    )
    lab.add_argument(
        "--ipv6",
        action="store_true",
        help="VRRPv3 over IPv6 (2001:db8::/32 inside the namespaces) instead of VRRPv2/IPv4",
    )
    lab.set_defaults(func=cmd_lab)
    return lab  # type: ignore[no-any-return]


def cmd_lab(args: argparse.Namespace) -> int:
    """Run the walk-through; Ctrl-C at any point tears everything down."""
    from failover.lab.netns import unavailable

    reason = unavailable()
    if reason:
        print(f"failover lab: {reason}; run it as root", file=sys.stderr)
        return 2
    from failover.lab.demo import run_demo

    try:
        return run_demo(args.routers, args.keep, args.ipv6)
    except KeyboardInterrupt:
        print("\nfailover lab: interrupted; the lab is torn down", file=sys.stderr)
        return 130
