from __future__ import annotations

from ansible_collections.failover.vrrp.plugins.module_utils.failover import (
    build_config,
    redact,
    render,
    router_json,
)


def test_router_json_maps_names_and_drops_none():
    got = router_json(
        {
            "vrid": 1,
            "interface": "e",
            "addresses": ["192.0.2.1/24"],
            "priority": None,
            "preempt": True,
            "preempt_delay": 2.0,
        }
    )
    assert got == {
        "vrid": 1,
        "interface_name": "e",
        "ip_addresses": ["192.0.2.1/24"],
        "preempt_mode": True,
        "preempt_delay": 2,
    }


def test_build_config_list_or_object():
    r = {"vrid": 1, "interface": "e", "addresses": ["192.0.2.1/24"]}
    assert isinstance(build_config([r], {}), list)
    doc = build_config([r], {"garp_repeat": 2, "control_socket": None})
    assert doc == {"virtual_routers": [router_json(r)], "garp_repeat": 2}
    doc = build_config([r], {"metrics_listen": "127.0.0.1:9165"})
    assert doc == {"virtual_routers": [router_json(r)], "metrics_listen": "127.0.0.1:9165"}
    unset = {"control_group": None, "realtime_priority": None, "nice": None}
    assert build_config([r], unset) == [router_json(r)]
    doc = build_config([r], dict(unset, nice=0))  # 0 is a value, not `unset`
    assert doc == {"virtual_routers": [router_json(r)], "nice": 0}


def test_redact_nested():
    doc = {"virtual_routers": [{"auth_password": "x", "vrid": 1}]}
    assert redact(doc)["virtual_routers"][0]["auth_password"] != "x"
    assert doc["virtual_routers"][0]["auth_password"] == "x"


def test_render_trailing_newline():
    assert render([]) == "[]\n"
