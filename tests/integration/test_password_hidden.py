"""A simple-auth password (RFC 3768 5.3.10) never shows: not in the daemons' logs (debug
level), `failover status --json`, `failover events --json`, `failover check`, `reload`."""

from __future__ import annotations

import json
import subprocess
import threading
from typing import Any

import pytest

from failover.control import request
from failover.lab import DEFAULT_VIP, wait_until
from failover.lab.nodes import Node, converged, failover_argv, router
from tests.support import MakeLab

pytestmark = pytest.mark.root
VRID = 51
TIMEOUT = 30
SECRET, NEW_SECRET = "Pw4vrrp!", "Zq9#vrrp"


def auth(password: str) -> dict[str, Any]:
    return {"auth_type": "simple", "auth_password": password}


def test_the_password_is_in_no_output(make_lab: MakeLab) -> None:
    lab = make_lab(routers=2)
    r1 = Node(lab, "r1", [router(VRID, 150, **auth(SECRET))], log_level="debug").start()
    wait_until(lambda: r1.state(VRID) == "MASTER", TIMEOUT, what="r1 master")
    r2 = Node(lab, "r2", [router(VRID, 100, **auth(SECRET))], log_level="debug").start()
    wait_until(lambda: converged([r1, r2], VRID) is r1, TIMEOUT, what="r1 master, r2 backup")

    outputs: dict[str, str] = {}
    events = subprocess.Popen(
        failover_argv("events", "--json", "--control-socket", r2.socket_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    pump = threading.Thread(target=lambda: lines.extend(events.stdout or []), daemon=True)
    pump.start()

    def followed() -> bool:  # a reload that changes nothing, until the follower shows it
        request(r2.socket_path, {"command": "reload"}, timeout=TIMEOUT)
        return any('"kind": "reload"' in line for line in lines)

    try:
        wait_until(followed, TIMEOUT, what="`failover events` to follow r2")
        # a reload that changes the password: r2 now drops r1's adverts (auth mismatch)
        r2.config_path.write_text(json.dumps([router(VRID, 100, **auth(NEW_SECRET))]))
        done = subprocess.run(
            failover_argv("reload", "--control-socket", r2.socket_path),
            capture_output=True, text=True, timeout=TIMEOUT,
        )  # fmt: skip
        outputs["reload"] = done.stdout + done.stderr
        wait_until(lambda: r2.state(VRID) == "MASTER", TIMEOUT, what="r2 master (mismatch)")
        for node in (r1, r2):
            done = subprocess.run(
                failover_argv("status", "--json", "--control-socket", node.socket_path),
                capture_output=True, text=True, timeout=TIMEOUT,
            )  # fmt: skip
            outputs[f"status {node.host_name}"] = done.stdout + done.stderr
    finally:
        events.terminate()
        events.wait(TIMEOUT)
        pump.join(TIMEOUT)
        outputs["events"] = "".join(lines)
    done = subprocess.run(
        failover_argv("check", str(r1.config_path)), capture_output=True, text=True, timeout=TIMEOUT
    )
    outputs["check"] = done.stdout + done.stderr
    r1.stop()
    r2.stop()
    outputs["log r1"], outputs["log r2"] = r1.log(), r2.log()

    # the outputs are the real thing: they hold what the test provoked
    assert '"kind": "reload"' in outputs["events"] and '"new": "MASTER"' in outputs["events"]
    assert "auth_mismatch" in outputs["status r2"] and "MASTER" in outputs["status r2"]
    assert "authentication" in outputs["log r2"]  # the reload said what changed, not how
    assert "DEBUG" in outputs["log r1"] or "INFO" in outputs["log r1"]
    assert "auth=simple" in outputs["check"] and DEFAULT_VIP.ip.exploded in outputs["check"]
    for what, text in outputs.items():
        for secret in (SECRET, NEW_SECRET):
            assert secret not in text, f"the password is in {what}"
            assert secret.encode().hex() not in text, f"the password (hex) is in {what}"
