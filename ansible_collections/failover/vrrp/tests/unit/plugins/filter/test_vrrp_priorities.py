from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.failover.vrrp.plugins.filter.vrrp_priorities import (
    FilterModule,
    vrrp_priorities,
)


def test_registered():
    assert FilterModule().filters()["vrrp_priorities"] is vrrp_priorities


def test_first_host_highest_in_steps():
    assert vrrp_priorities(["r1", "r2", "r3"]) == {"r1": 200, "r2": 190, "r3": 180}


def test_order_of_result_follows_input():
    assert list(vrrp_priorities(["b", "a", "c"])) == ["b", "a", "c"]


def test_custom_range():
    assert vrrp_priorities(["a", "b"], top=100, step=1) == {"a": 100, "b": 99}


def test_empty_group():
    assert vrrp_priorities([]) == {}


def test_single_host():
    assert vrrp_priorities(["only"]) == {"only": 200}


def test_override_replaces_position():
    got = vrrp_priorities(["r1", "r2", "r3"], {"r3": 250})
    assert got == {"r1": 200, "r2": 190, "r3": 250}


def test_override_owner_255_allowed_explicitly():
    assert vrrp_priorities(["r1", "r2"], {"r2": 255})["r2"] == 255


def test_null_and_empty_overrides_are_ignored():
    got = vrrp_priorities(["r1", "r2"], {"r1": None, "r2": ""})
    assert got == {"r1": 200, "r2": 190}


def test_string_values_from_ini_inventory():
    assert vrrp_priorities(["r1", "r2"], {"r2": "230"}, top="150", step="5") == {
        "r1": 150,
        "r2": 230,
    }


def test_rotate_prefers_another_master():
    assert vrrp_priorities(["r1", "r2", "r3"], rotate=1) == {"r1": 180, "r2": 200, "r3": 190}
    assert vrrp_priorities(["r1", "r2", "r3"], rotate=3) == vrrp_priorities(["r1", "r2", "r3"])


def test_group_exactly_fills_range():
    hosts = [f"h{i}" for i in range(20)]
    got = vrrp_priorities(hosts)  # 200, 190, ... 10
    assert got["h0"] == 200
    assert got["h19"] == 10
    assert len(set(got.values())) == 20


def test_group_larger_than_range_is_a_clear_error():
    hosts = [f"h{i}" for i in range(21)]
    with pytest.raises(AnsibleFilterError, match=r"21 hosts cannot get distinct priorities"):
        vrrp_priorities(hosts)


def test_group_larger_than_full_range_step_one():
    hosts = [f"h{i}" for i in range(255)]
    with pytest.raises(AnsibleFilterError, match=r"room for 254"):
        vrrp_priorities(hosts, top=254, step=1)


def test_colliding_overrides_are_a_clear_error():
    with pytest.raises(AnsibleFilterError) as err:
        vrrp_priorities(["r1", "r2", "r3"], {"r1": 150, "r2": 150})
    msg = str(err.value)
    assert "priority 150: r1 (override), r2 (override)" in msg


def test_override_colliding_with_a_position_is_an_error():
    with pytest.raises(AnsibleFilterError, match=r"priority 190: r2 \(position\), r3 \(override\)"):
        vrrp_priorities(["r1", "r2", "r3"], {"r3": 190})


def test_override_for_unknown_host():
    with pytest.raises(AnsibleFilterError, match="override for 'ghost', which is not in the group"):
        vrrp_priorities(["r1"], {"ghost": 120})


@pytest.mark.parametrize("bad", [0, 256, -1, True, "high", 1.5])
def test_override_out_of_range_or_not_a_number(bad):
    with pytest.raises(AnsibleFilterError, match=r"override for r1"):
        vrrp_priorities(["r1"], {"r1": bad})


def test_duplicate_host():
    with pytest.raises(AnsibleFilterError, match=r"more than once: r1"):
        vrrp_priorities(["r1", "r2", "r1"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"top": 255}, "top must be between 1 and 254"),
        ({"top": 0}, "top must be between 1 and 254"),
        ({"step": 0}, "step must be at least 1"),
        ({"bottom": 0}, "bottom must be between 1 and top"),
        ({"bottom": 250}, "bottom must be between 1 and top"),
    ],
)
def test_bad_range(kwargs, match):
    with pytest.raises(AnsibleFilterError, match=match):
        vrrp_priorities(["r1"], **kwargs)


@pytest.mark.parametrize("bad", ["r1,r2", None, 5, {"r1": 1}])
def test_input_must_be_a_list(bad):
    with pytest.raises(AnsibleFilterError, match="must be a list of host names"):
        vrrp_priorities(bad)


def test_overrides_must_be_a_mapping():
    with pytest.raises(AnsibleFilterError, match="overrides must be a mapping"):
        vrrp_priorities(["r1"], ["r1"])
