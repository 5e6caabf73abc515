"""Two and three routers converge: one master holds the VIP, the client reaches it.

The highest priority wins; among equals, the greatest primary IP (RFC 3768 6.4.3).
"""

from __future__ import annotations

import pytest

from failover.lab import DEFAULT_VIP, Lab, wait_until
from failover.lab.nodes import Node, converged, group
from tests.support import MakeLab

pytestmark = pytest.mark.root
VRID = 51
TIMEOUT = 30


def case_id(v: object) -> str:
    return "-".join(map(str, v)) if isinstance(v, tuple) else str(v)


def converges_to(lab: Lab, nodes: list[Node], winner: str) -> None:
    """`winner` is the one master and the only VIP holder; the client reaches the VIP."""
    wait_until(
        lambda: (
            (m := converged(nodes, VRID)) is not None
            and m.host.name == winner
            and [h.name for h in lab.holders(DEFAULT_VIP)] == [winner]
        ),
        TIMEOUT,
        what=f"{winner} sole master and VIP holder",
    )
    pinger = lab.ping(DEFAULT_VIP.ip)
    wait_until(lambda: pinger.reachable(0.1), TIMEOUT, what="the client to reach the VIP")
    assert [h.name for h in lab.holders(DEFAULT_VIP)] == [winner]
    master_ip = str(lab.host(winner).ip)
    # After a split brain a backup may name another loser until the winner's next
    # advert: each loser's last advert (protocol/router.py, "another master").
    wait_until(
        lambda: [n.status()[0]["master_ip"] for n in nodes] == [master_ip] * len(nodes),
        TIMEOUT,
        what=f"every router to see {winner} as the master",
    )


@pytest.mark.parametrize(
    ("priorities", "winner"),
    [((150, 100), "r1"), ((100, 150), "r2"), ((150, 100, 50), "r1"), ((50, 100, 150), "r3")],
    ids=case_id,
)
def test_converge_to_the_highest_priority(
    make_lab: MakeLab, priorities: tuple[int, ...], winner: str
) -> None:
    lab = make_lab(routers=len(priorities))
    converges_to(lab, group(lab, priorities, VRID), winner)


@pytest.mark.parametrize(
    ("priorities", "winner"),
    [
        ((100, 100), "r2"),  # equal priorities: the greater primary IP (RFC 3768 6.4.3)
        ((100, 100, 100), "r3"),
        ((200, 100, 200), "r3"),  # a tie at the top, the lower one out of it
        ((150, 100, 50), "r1"),
    ],
    ids=case_id,
)
def test_split_brain_resolves_by_priority_then_ip(
    make_lab: MakeLab, priorities: tuple[int, ...], winner: str
) -> None:
    """Routers that cannot hear each other all become master; once they can, one stays.

    (At a plain start a tie goes to whoever times out first: a backup does not preempt
    an equal priority, RFC 3768 6.4.2; the primary-IP rule settles master vs master.)
    """
    lab = make_lab(routers=len(priorities))
    lab.add_loss(100, proto=112)  # no advert crosses the bridge
    nodes = group(lab, priorities, VRID)
    everyone = sorted(h.name for h in lab.routers)
    wait_until(
        lambda: (
            all(n.state(VRID) == "MASTER" for n in nodes)
            and sorted(h.name for h in lab.holders(DEFAULT_VIP)) == everyone
        ),
        TIMEOUT,
        what="every router master (split brain)",
    )
    lab.clear_loss()
    converges_to(lab, nodes, winner)
