"""The state machine's allowed transitions: one table (`TRANSITIONS`), checked on every change.

A random walk of every input the core accepts, in any order, must only ever produce
transitions the table allows (the check raises otherwise); and the check itself must
refuse what the table does not list.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failover.protocol.packet import Advertisement
from failover.protocol.router import (
    TRANSITIONS,
    Action,
    IllegalTransition,
    State,
    StateChanged,
    VirtualRouter,
)
from failover.protocol.settings import Track
from failover.protocol.tracking import CheckStatus

from .builders import router_config

# A weight-0 check (FAULT while failing) and a weighted one on the same check name.
TRACK = (Track("svc", 0), Track("svc", -50))

INPUTS = (
    "start",
    "stop",
    "expire",
    "link_down",
    "link_up",
    "check_fails",
    "check_passes",
    "advert",
    "reconfigure",
)

# One input: (name, time since the previous one, advert priority, advert from a greater
# primary address, reconfigured priority); test_syncgroup.py walks its members with it.
STEP = st.tuples(
    st.sampled_from(INPUTS),
    st.floats(0.0, 5.0),
    st.integers(0, 255),
    st.booleans(),
    st.sampled_from((1, 100, 200, 255)),
)


def test_every_state_has_a_row_and_no_state_goes_to_itself() -> None:
    assert set(TRANSITIONS) == set(State)
    for old, targets in TRANSITIONS.items():
        assert old not in targets and targets <= set(State)


@pytest.mark.parametrize(
    ("old", "new"),
    [(old, new) for old in State for new in State if new not in TRANSITIONS[old]],
)
def test_a_transition_the_table_does_not_list_raises(old: State, new: State) -> None:
    router = VirtualRouter(router_config(), IPv4Address("192.0.2.1"))
    router.state = old
    with pytest.raises(IllegalTransition, match=f"{old} -> {new}"):
        router._enter(new, 0.0, "test", None)


def feed(
    router: VirtualRouter,
    name: str,
    now: float,
    advert: Advertisement,
    source: IPv4Address,
    new_priority: int,
) -> list[Action]:
    """One input of the core, by name."""
    match name:
        case "start":
            return router.start(now)
        case "stop":
            return router.stop(now)
        case "expire":
            return router.expire(router.next_deadline() or now)
        case "link_down":
            return router.track(now, link_up=False)
        case "link_up":
            return router.track(now, link_up=True)
        case "check_fails":
            return router.track(now, {"svc": CheckStatus(False)})
        case "check_passes":
            return router.track(now, {"svc": CheckStatus(True)})
        case "advert":
            return router.receive(advert, source, now)
        case _:
            config = replace(router.config, priority=new_priority, track=TRACK)
            return router.reconfigure(config, now)


@settings(max_examples=300, deadline=None)
@given(
    owner=st.booleans(),
    steps=st.lists(STEP, max_size=40),
)
def test_any_input_sequence_only_takes_allowed_transitions(
    owner: bool, steps: list[tuple[str, float, int, bool, int]]
) -> None:
    config = router_config(priority=255 if owner else 100, track=TRACK)
    router = VirtualRouter(config, IPv4Address("192.0.2.10"))
    now = 0.0
    for name, dt, priority, greater, new_priority in steps:
        now += dt
        before = router.state
        source = IPv4Address("192.0.2.20" if greater else "192.0.2.5")
        advert = Advertisement(config.vrid, priority, tuple(a.ip for a in config.addresses))
        actions = feed(router, name, now, advert, source, new_priority)
        changes = [a for a in actions if isinstance(a, StateChanged)]
        state = before
        for change in changes:
            assert change.old is state and change.new in TRANSITIONS[change.old]
            state = change.new
        assert router.state is state
