"""The `failover` command line: run, check, status, teardown, lab."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from failover.config import DEFAULT_CONFIG_PATH, Config, ConfigError, RouterConfig, load


def describe_router(r: RouterConfig) -> str:
    """One-line summary of a configured virtual router."""
    addrs = ",".join(str(a) for a in r.addresses)
    preempt = "on" if r.preempt_mode else "off"
    if r.preempt_mode and r.preempt_delay:
        preempt += f" (delay {r.preempt_delay:g}s)"
    auth = "simple" if r.auth_type else "none"
    return (
        f"{r.name}: vrid={r.vrid} interface={r.interface} priority={r.priority}"
        f"{' (owner)' if r.priority == 255 else ''} interval={r.advert_interval}s"
        f" preempt={preempt} auth={auth} addresses={addrs}"
    )


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a config file: errors and exit 1, or one line per router and exit 0."""
    try:
        config: Config = load(args.config)
    except ConfigError as err:
        print(f"{args.config}: invalid configuration:", file=sys.stderr)
        for line in err.errors:
            print(f"  {line}", file=sys.stderr)
        return 1
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for r in config.routers:
        print(describe_router(r))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="failover", description="VRRPv2 (RFC 3768) daemon")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate a config file")
    check.add_argument("config", nargs="?", default=str(DEFAULT_CONFIG_PATH))
    check.set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
