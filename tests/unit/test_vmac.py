"""The vmac helpers that need no kernel: MAC (RFC 5798 7.3), names, the sysctl plan."""

from __future__ import annotations

import socket
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from failover.runtime import vmac
from failover.runtime.vmac import (
    eui64_link_local,
    parse_vmac_name,
    restore_sysctls,
    vmac_mac,
    vmac_name,
    wanted_sysctls,
)

V4, V6 = socket.AF_INET, socket.AF_INET6


def test_the_mac_is_rfc_5798_7_3s() -> None:
    assert vmac_mac(51, V4) == bytes.fromhex("00005e000133")
    assert vmac_mac(1, V6) == bytes.fromhex("00005e000201")
    assert vmac_mac(255, V4)[-1] == 0xFF


@pytest.mark.parametrize(("vrid", "family"), [(0, V4), (256, V4), (1, socket.AF_PACKET)])
def test_out_of_range_is_refused(vrid: int, family: int) -> None:
    with pytest.raises(ValueError):
        vmac_mac(vrid, family)
    with pytest.raises(ValueError):
        vmac_name("eth0", vrid, family)


def test_a_short_parent_is_kept_whole_with_the_vrid_as_in_the_mac() -> None:
    assert vmac_name("eth0", 51, V4) == "fo433.eth0"
    assert vmac_name("eth0", 51, V6) == "fo633.eth0"
    assert vmac_name("eth0.100", 255, V4) == "fo4ff.eth0.100"
    assert vmac_name("enp0s31f6", 1, V4) == "fo401.enp0s31f6"


@pytest.mark.parametrize("parent", ["eth0", "enp0s31f6", "enp0s31f6.1000", "x" * 15, "a~b"])
@pytest.mark.parametrize("family", [V4, V6])
def test_names_fit_ifnamsiz_and_parse_back(parent: str, family: int) -> None:
    for vrid in (1, 51, 255):
        name = vmac_name(parent, vrid, family)
        assert len(name) <= 15
        assert parse_vmac_name(name) == (vrid, family)


def test_names_are_unique_per_parent_vrid_and_family() -> None:
    parents = ["eth0", "eth1", "eth0.100", "eth0.101", "bond0.1000", "bond0.1001", "a~b"]
    parents += [f"enp{i}s0f1np1" for i in range(50)]
    names = [vmac_name(p, v, f) for p in parents for v in (1, 2, 255) for f in (V4, V6)]
    assert len(set(names)) == len(names)


def test_a_hashed_name_never_equals_a_kept_one() -> None:
    long = vmac_name("enp0s31f6.1000", 7, V4)
    assert "~" in long and long.startswith("fo407.enp~")
    assert "~" in vmac_name("a~b", 7, V4)  # a kept name has no "~"


@pytest.mark.parametrize("parent", ["", "x" * 16, "a b", "a/b", "a:b"])
def test_bad_parent_names_are_refused(parent: str) -> None:
    with pytest.raises(ValueError):
        vmac_name(parent, 1, V4)


@pytest.mark.parametrize("name", ["eth0", "fo400.eth0", "fo533.eth0", "fo4g1.eth0", "fo433eth0"])
def test_other_names_are_not_vmacs(name: str) -> None:
    assert parse_vmac_name(name) is None


def test_eui64_link_local() -> None:
    assert eui64_link_local(bytes.fromhex("525400123456")) == IPv6Address("fe80::5054:ff:fe12:3456")


def test_sysctl_plan_touches_only_the_vmac_and_its_parent() -> None:
    for family in (V4, V6):
        for path, _ in wanted_sysctls("fo433.eth0", "eth0", family):
            assert path.parent.name in ("fo433.eth0", "eth0")
    v6 = dict((p.name, v) for p, v in wanted_sysctls("fo633.eth0", "eth0", V6))
    assert v6["addr_gen_mode"] == "1"  # none: no EUI-64 address shared by every router
    v4 = {(p.parent.name, p.name): v for p, v in wanted_sysctls("fo433.eth0", "eth0", V4)}
    assert v4[("fo433.eth0", "arp_ignore")] == "1"
    assert v4[("fo433.eth0", "rp_filter")] == "0"
    assert v4[("fo433.eth0", "disable_ipv6")] == "1"
    assert v4[("eth0", "arp_ignore")] == "1"
    assert v4[("eth0", "arp_announce")] == "2"


def test_apply_and_restore_on_a_fake_proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vmac, "SYSCTL_ROOT", tmp_path)
    plan = wanted_sysctls("fo433.eth0", "eth0", V4)
    for path, _ in plan:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("0\n")
    (tmp_path / "ipv4/conf/all").mkdir(parents=True)
    (tmp_path / "ipv4/conf/all/rp_filter").write_text("0\n")
    changes = vmac.apply_sysctls("fo433.eth0", "eth0", V4)
    assert {c.path for c in changes} == {p for p, v in plan if v != "0"}
    assert all(p.read_text().strip() == v for p, v in plan)
    assert vmac.apply_sysctls("fo433.eth0", "eth0", V4) == []  # idempotent
    arp_ignore = tmp_path / "ipv4/conf/eth0/arp_ignore"
    arp_ignore.write_text("2")  # someone else changed it since: theirs stays
    restored = restore_sysctls(changes)
    assert arp_ignore not in {c.path for c in restored}
    assert arp_ignore.read_text() == "2"
    assert all(c.path.read_text().strip() == "0" for c in restored)


def test_a_nonzero_all_rp_filter_moves_onto_each_interface(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """keepalived's clear_rp_filter: effective values unchanged, the vmac's 0 holds."""
    monkeypatch.setattr(vmac, "SYSCTL_ROOT", tmp_path)
    before = {"all": "1", "default": "0", "lo": "2", "eth0": "0", "fo433.eth0": "0"}
    for ifname, value in before.items():
        (tmp_path / "ipv4/conf" / ifname).mkdir(parents=True)
        (tmp_path / "ipv4/conf" / ifname / "rp_filter").write_text(value + "\n")
    for path, _ in wanted_sysctls("fo433.eth0", "eth0", V4):
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text("0\n")

    def rp_filter() -> dict[str, str]:
        return {i: (tmp_path / "ipv4/conf" / i / "rp_filter").read_text().strip() for i in before}

    changes = vmac.apply_sysctls("fo433.eth0", "eth0", V4)
    after = {"all": "0", "default": "1", "lo": "2", "eth0": "1", "fo433.eth0": "0"}
    assert rp_filter() == after
    for i in ("default", "lo", "eth0"):  # what the kernel applies, max(all, own), is kept
        assert max(int(after[i]), int(after["all"])) == max(int(before[i]), int(before["all"]))
    vmac_rp_filter = tmp_path / "ipv4/conf/fo433.eth0/rp_filter"
    assert vmac_rp_filter not in {c.path for c in changes}  # never raised on the way
    restore_sysctls(changes)
    assert rp_filter() == before
