"""The global `realtime_priority` (SCHED_RR) and `nice` keys: ranges, defaults, wording,
and a reload that changes them (applied at start-up only: it says so and keeps them)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from failover.config import ConfigError, parse

from .harness import Harness, router

ROUTER: dict[str, Any] = {"vrid": 1, "interface_name": "eth0", "ip_addresses": ["192.0.2.10/24"]}


def errors(**top: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse({"virtual_routers": [ROUTER], **top})
    return info.value.errors


def test_neither_is_set_unless_asked() -> None:
    for data in ([ROUTER], {"virtual_routers": [ROUTER]}):
        settings = parse(data).settings
        assert (settings.realtime_priority, settings.nice) == (None, None)


@pytest.mark.parametrize(("priority", "nice"), [(1, -20), (99, 19), (10, 0)])
def test_the_ends_of_both_ranges_are_accepted(priority: int, nice: int) -> None:
    settings = parse({"virtual_routers": [ROUTER], "realtime_priority": priority, "nice": nice})
    assert (settings.settings.realtime_priority, settings.settings.nice) == (priority, nice)


def test_out_of_range_values_are_named_with_the_range() -> None:
    assert sorted(errors(realtime_priority=0, nice=20)) == [
        "nice: must be at most 19 (got 20)",
        "realtime_priority: must be at least 1 (got 0)",
    ]
    assert sorted(errors(realtime_priority=100, nice=-21)) == [
        "nice: must be at least -20 (got -21)",
        "realtime_priority: must be at most 99 (got 100)",
    ]


@pytest.mark.parametrize("value", ["10", 1.5, True, None])
def test_only_whole_numbers(value: Any) -> None:
    (error,) = errors(realtime_priority=value)
    assert error.startswith("realtime_priority: must be a whole number")


def test_a_reload_that_changes_them_warns_and_keeps_the_applied_ones(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router(51)]) as h:
            h.write(router(51), realtime_priority=20, nice=5)
            reply = await h.d.reload()
            assert reply["ok"] is True and reply["unchanged"] == ["VR_51"]
            assert reply["warnings"] == [
                "realtime_priority 20 is ignored until a restart; it stays unset",
                "nice 5 is ignored until a restart; it stays unset",
            ]
            settings = h.d.model.config.settings
            assert (settings.realtime_priority, settings.nice) == (None, None)

    asyncio.run(main())
