"""The Prometheus endpoint (`metrics_listen`) scraped by the real thing: Debian's
`prometheus` server in the client's namespace, `promtool check metrics` on the page, and
a query after a failover that shows the transition (issue 12)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.parse
from typing import Any

import pytest

from failover.lab.lab import Lab
from failover.lab.nodes import Node, converged, router
from failover.lab.wait import wait_until
from tests.support import MakeLab, require

PORT = 9165
PASSWORD = "Zx9-q7Kp"  # must never appear in a scrape
VRID = 51
FETCH = (
    "import sys, urllib.request\n"
    "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())\n"
)


def fetch(lab: Lab, host: str, url: str) -> str:
    """GET `url` from inside `host`'s namespace."""
    return lab.run(host, [sys.executable, "-c", FETCH, url], timeout=30).stdout


def scrape(lab: Lab, node: Node) -> str:
    return fetch(lab, "client", f"http://{node.host.ip}:{PORT}/metrics")


def sample(page: str, metric: str, /, **labels: str) -> float | None:
    """The value of the one sample of `metric` whose labels include `labels`."""
    for line in page.splitlines():
        if line.startswith(metric + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.fixture
def pair(make_lab: MakeLab) -> tuple[Lab, Node, Node]:
    lab = make_lab(routers=2)
    nodes = []
    for host, priority in (("r1", 200), ("r2", 100)):
        vr = router(VRID, priority, auth_type="simple", auth_password=PASSWORD)
        listen = f"{lab.host(host).ip}:{PORT}"
        nodes.append(Node(lab, host, [vr], metrics_listen=listen).start())
    wait_until(lambda: converged(nodes, VRID) is nodes[0], 60, what="r1 master, r2 backup")
    return lab, nodes[0], nodes[1]


def test_the_page_passes_promtool_and_tells_the_state(pair: tuple[Lab, Node, Node]) -> None:
    require(shutil.which("promtool") is not None, "promtool (Debian's prometheus) is missing")
    lab, r1, r2 = pair
    page = scrape(lab, r1)
    lint = subprocess.run(["promtool", "check", "metrics"], input=page, capture_output=True,
                          text=True, timeout=30)  # fmt: skip
    assert lint.returncode == 0 and not lint.stdout.strip(), lint.stdout + lint.stderr
    labels = {"name": f"VR_{VRID}", "interface": "eth0", "vrid": str(VRID)}
    assert sample(page, "failover_vrrp_state", **labels) == 2  # MASTER
    assert sample(scrape(lab, r2), "failover_vrrp_state", **labels) == 1  # BACKUP
    assert sample(page, "failover_vrrp_transitions_total", **labels, to="MASTER") == 1
    assert sample(page, "failover_vrrp_effective_priority", **labels) == 200
    sent = sample(page, "failover_vrrp_advertisements_sent_total", **labels)
    assert sent is not None and sent >= 1
    garps = sample(page, "failover_vrrp_gratuitous_arps_sent_total", **labels)
    assert garps is not None and garps >= 1
    assert sample(page, "failover_reloads_total", result="ok") == 0
    assert PASSWORD not in page
    assert 'state="' not in page  # the state is a value, never a label
    assert fetch(lab, "client", f"http://{r1.host.ip}:{PORT}/").startswith("failover")


def test_prometheus_sees_the_failover(pair: tuple[Lab, Node, Node]) -> None:
    require(shutil.which("prometheus") is not None, "Debian's prometheus is missing")
    lab, r1, r2 = pair
    targets = [f"{n.host.ip}:{PORT}" for n in (r1, r2)]
    config = lab.path("prometheus.yml")
    config.write_text(json.dumps({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{"job_name": "failover", "static_configs": [{"targets": targets}]}],
    }))  # fmt: skip
    lab.start("client", ["prometheus", f"--config.file={config}",
                         f"--storage.tsdb.path={lab.path('tsdb')}",
                         "--web.listen-address=127.0.0.1:9090"])  # fmt: skip

    def query(expr: str) -> dict[str, float]:
        url = "http://127.0.0.1:9090/api/v1/query?query=" + urllib.parse.quote(expr)
        try:
            reply: Any = json.loads(fetch(lab, "client", url))
        except Exception:
            return {}  # not up yet
        return {r["metric"].get("instance", ""): float(r["value"][1])
                for r in reply["data"]["result"]}  # fmt: skip

    r1_at, r2_at = targets
    wait_until(lambda: query("failover_vrrp_state") == {r1_at: 2, r2_at: 1}, 90,
               what="prometheus scraping r1 MASTER, r2 BACKUP")  # fmt: skip
    r1.stop()  # SIGTERM: priority 0, r2 takes over after Skew_Time
    wait_until(lambda: r2.state(VRID) == "MASTER", 30, what="r2 master")
    wait_until(
        lambda: query('failover_vrrp_transitions_total{to="MASTER"}').get(r2_at) == 1, 60,
        what="prometheus: r2's transition to MASTER",
    )  # fmt: skip
    assert query("failover_vrrp_state").get(r2_at) == 2
    assert query("failover_vrrp_priority_zero_received_total").get(r2_at) == 1
    assert query('up{job="failover"}').get(r1_at) == 0  # stopped: the scrape fails
