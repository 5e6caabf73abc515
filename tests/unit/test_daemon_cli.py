"""The `failover` command line without root: parsing, config errors, status errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from failover import cli
from failover.config import DEFAULT_CONFIG_PATH
from failover.daemon import logs
from failover.daemon.errors import ExitCode


def test_run_flags_and_defaults() -> None:
    args = cli.build_parser().parse_args(["run"])
    assert args.config == str(DEFAULT_CONFIG_PATH)
    assert args.control_socket is None and args.log_level == "info"
    args = cli.build_parser().parse_args(
        ["run", "--config", "f.json", "--control-socket", "/tmp/s", "--log-level", "DEBUG"]
    )
    assert (args.config, args.control_socket, args.log_level) == ("f.json", "/tmp/s", "debug")


def test_exit_codes_are_distinct() -> None:
    assert len({int(c) for c in ExitCode}) == len(ExitCode)
    assert ExitCode.OK.value == 0


def test_run_with_a_bad_config_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "configure_logging", lambda level, fmt="text": None)
    bad = tmp_path / "bad.json"
    bad.write_text('{"vrid": 0, "interface_name": "eth0", "ip_addresses": ["192.0.2.5/24"]}')
    assert cli.main(["run", "--config", str(bad)]) == ExitCode.CONFIG
    assert capsys.readouterr().err == (
        f"{bad}: invalid configuration:\n  vrid: must be at least 1 (got 0)\n"
    )


def test_status_without_a_daemon_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sock = tmp_path / "none.sock"
    assert cli.main(["status", "--control-socket", str(sock)]) == 1
    assert capsys.readouterr().err == (
        f"failover: no control socket at {sock}: is the failover daemon running?\n"
    )


def test_status_uses_the_configs_control_socket(tmp_path: Path) -> None:
    conf = tmp_path / "c.json"
    conf.write_text(
        '{"control_socket": "/tmp/x.sock", "virtual_routers": '
        '[{"vrid": 1, "interface_name": "eth0", "ip_addresses": ["192.0.2.5/24"]}]}'
    )
    args = cli.build_parser().parse_args(["status", "--config", str(conf)])
    assert cli.control_path(args) == "/tmp/x.sock"
    args = cli.build_parser().parse_args(["status", "--config", str(conf), "--control-socket", "s"])
    assert cli.control_path(args) == "s"
