"""The control protocol's contract: the daemon's server and the Ansible collection's client.

The collection keeps its own copy of the client (modules run on the target, without the
daemon's package). These tests serve replies built from `failover.control`'s schema with
the real `ControlServer` and read them with the collection's client, its `vrrp_info`
module and `failover reload`, so the copies cannot drift apart unnoticed.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import (
    Any,
    ClassVar,
    Literal,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

import pytest
from ansible.module_utils.common.yaml import yaml_load
from ansible.module_utils.testing import patch_module_args

from ansible_collections.failover.vrrp.plugins.filter import (
    vrrp_convergence,
    vrrp_host_routers,
    vrrp_settled,
)
from ansible_collections.failover.vrrp.plugins.module_utils import failover as client
from ansible_collections.failover.vrrp.plugins.modules import vrrp_info
from failover import cli, config, control
from failover.control import ControlServer, RouterStatus, StateName, bind_socket
from failover.protocol.router import State
from tests.control_replies import (
    problems,
    refused,
    reload_reply,
    router_status,
    status_reply,
)

R1 = router_status()  # r1: MASTER of VR_1, primary 192.0.2.11
R2 = router_status(
    state="BACKUP",
    priority=190,
    primary_ip="192.0.2.12",
    master_priority=200,
    adverts_sent=0,
    adverts_received=12,
)


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    # unix socket paths are limited to 107 bytes: pytest's tmp_path can be longer
    with tempfile.TemporaryDirectory(prefix="fo-contract-") as d:
        yield Path(d)


Handlers = Mapping[str, control.Handler]


def serving(servers: Mapping[str, Handlers], client_call: Callable[[], Any]) -> Any:
    """Run a real ControlServer at each path, with its handlers, while `client_call` runs
    in a thread; its result."""

    async def main() -> Any:
        running = [ControlServer(bind_socket(p), h) for p, h in servers.items()]
        for s in running:
            await s.start()
        try:
            return await asyncio.to_thread(client_call)
        finally:
            for s in running:
                await s.close()

    return asyncio.run(main())


def run_vrrp_info(capsys: pytest.CaptureFixture[str], **params: Any) -> dict[str, Any]:
    """vrrp_info's main() as Ansible runs it: its JSON result on stdout, then exit."""
    capsys.readouterr()
    with patch_module_args(params), pytest.raises(SystemExit):
        vrrp_info.main()
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


# -- the same constants on both sides --------------------------------------------------


def test_the_collection_speaks_the_daemons_protocol() -> None:
    assert client.DEFAULT_CONTROL_SOCKET == config.DEFAULT_CONTROL_SOCKET
    assert client.CLIENT_TIMEOUT == control.CLIENT_TIMEOUT
    assert (client.STATUS, client.RELOAD) == (control.STATUS, control.RELOAD)
    assert client.STATES == get_args(StateName) == tuple(s.value for s in State)


def test_the_daemon_role_names_routers_as_the_daemon_does() -> None:
    router = {"vrid": 52, "interface_name": "eth0", "ip_addresses": ["192.0.2.253/24"]}
    assert config.parse([router]).routers[0].name == vrrp_host_routers.default_name(router)


def test_the_keys_the_collection_reads_are_in_the_schema() -> None:
    assert set(client.ROUTER_STATUS_KEYS) <= RouterStatus.__required_keys__


# -- vrrp_info's documented return values are the daemon's status schema ----------------

DOC_TYPES = {str: "str", int: "int", float: "float", bool: "bool", list: "list", dict: "dict"}


def documented(schema: Any, doc: Mapping[str, Any], where: str) -> list[str]:
    """Every way a RETURN `contains` block differs from a TypedDict: keys, types, nesting."""
    hints = get_type_hints(schema)
    out = [f"{where}: {k} undocumented" for k in sorted(hints.keys() - doc.keys())]
    out += [f"{where}: {k} not in {schema.__name__}" for k in sorted(doc.keys() - hints.keys())]
    for key in sorted(hints.keys() & doc.keys()):
        hint = hints[key]
        args = [a for a in get_args(hint) if a is not type(None)]
        if get_origin(hint) in (Union, types.UnionType) and len(args) == 1:
            hint = args[0]  # `int | None`: documented as int, "or null" in words
        base = get_origin(hint) or hint
        if get_origin(hint) is Literal:
            base = type(get_args(hint)[0])
        want = DOC_TYPES.get(base, "raw")
        if doc[key].get("type") != want:
            out.append(f"{where}.{key}: documented {doc[key].get('type')}, schema {want}")
        inner = get_args(hint)[0] if base is list and get_args(hint) else None
        if inner is not None and is_typeddict(inner):
            out += documented(inner, doc[key].get("contains") or {}, f"{where}.{key}")
    return out


def test_vrrp_info_documents_every_field_of_the_status_schema() -> None:
    ret = yaml_load(vrrp_info.RETURN)
    reply_keys = set(get_type_hints(control.StatusReply)) - {"ok"}
    assert reply_keys <= ret.keys()
    assert documented(RouterStatus, ret["routers"]["contains"], "routers") == []
    assert documented(control.InterfaceStatus, ret["interfaces"]["contains"], "interfaces") == []
    assert set(client.ROUTER_STATUS_KEYS) == set(ret["routers"]["contains"])


def test_vrrp_info_samples_are_what_the_daemon_sends() -> None:
    ret = yaml_load(vrrp_info.RETURN)
    sample = {
        "ok": True,
        "pid": ret["pid"]["sample"],
        "routers": ret["routers"]["sample"],
        "interfaces": ret["interfaces"]["sample"],
    }
    assert problems(control.StatusReply, sample) == []
    assert any(r["tracks"] for r in sample["routers"])  # TrackStatus checked too


def test_the_contract_check_sees_a_drift() -> None:
    doc = yaml_load(vrrp_info.RETURN)["routers"]["contains"]
    doc.pop("send_errors")
    doc["vip"] = {"type": "str"}
    doc["tracks"]["contains"]["weight"]["type"] = "str"
    assert documented(RouterStatus, doc, "routers") == [
        "routers: send_errors undocumented",
        "routers: vip not in RouterStatus",
        "routers.tracks.weight: documented str, schema int",
    ]


class Recording(dict[str, Any]):
    """A router status that notes which keys are read."""

    read: ClassVar[set[str]] = set()

    def get(self, key: str, default: Any = None) -> Any:
        Recording.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        Recording.read.add(key)
        return super().__getitem__(key)


def test_the_filters_read_only_what_vrrp_info_returns() -> None:
    Recording.read = set()
    fleet = {
        "r1": {"running": True, "routers": [Recording(R1)], "local_addresses": []},
        "r2": {"running": True, "routers": [Recording(R2)], "local_addresses": []},
    }
    vrrp_convergence.vrrp_convergence(fleet, preferred=True)
    for host in fleet.values():
        vrrp_settled.vrrp_settled(host, ["192.0.2.11"], preferred=True)
    assert Recording.read >= {"name", "interface", "vrid", "state", "master_priority"}
    assert Recording.read <= set(client.ROUTER_STATUS_KEYS)


def test_the_builder_refuses_what_the_daemon_never_emits() -> None:
    with pytest.raises(ValueError, match="'backup' is not one of"):
        router_status(state="backup")
    with pytest.raises(ValueError, match="unknown key 'vip'"):
        router_status(vip="192.0.2.254")
    assert problems(control.StatusReply, {"ok": True, "pid": 1, "routers": [R1]}) == [
        "reply: missing 'interfaces'"
    ]


# -- the real server, the collection's client ------------------------------------------


def test_vrrp_info_reads_the_servers_status_unchanged(
    socket_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(socket_dir / "c.sock")
    reply = status_reply([R1, router_status(name="VR_2", vrid=52, state="INITIALIZE")])
    result = serving(
        {path: {control.STATUS: lambda _req: reply}},
        lambda: run_vrrp_info(capsys, control_socket=path),
    )
    assert result["running"] is True and not result.get("failed")
    assert result["pid"] == reply["pid"]
    assert result["routers"] == reply["routers"]
    assert result["interfaces"] == reply["interfaces"]
    assert result["masters"] == ["VR_1"]


def test_two_hosts_status_converges_through_the_filter(
    socket_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = {"r1": str(socket_dir / "r1.sock"), "r2": str(socket_dir / "r2.sock")}
    r1, r2 = status_reply([R1]), status_reply([R2], pid=4343)
    fleet = serving(
        {
            paths["r1"]: {control.STATUS: lambda _req: r1},
            paths["r2"]: {control.STATUS: lambda _req: r2},
        },
        lambda: {h: run_vrrp_info(capsys, control_socket=p) for h, p in paths.items()},
    )
    fleet["r1"]["local_addresses"] = ["192.0.2.11/24", "192.0.2.254/24"]
    fleet["r2"]["local_addresses"] = ["192.0.2.12/24"]
    verdict = vrrp_convergence.vrrp_convergence(fleet, preferred=True)
    assert verdict["problems"] == []
    assert verdict["converged"] is True


def test_a_refused_request_reaches_the_client_with_every_error(socket_dir: Path) -> None:
    path = str(socket_dir / "c.sock")
    errors = ["eth9: no such interface (used by VR_9)", "virtual_routers[1].vrid: 300"]

    def reload(_req: control.Json) -> control.ErrorReply:
        return refused("/etc/failover/vrrp-config.json: invalid configuration", errors)

    def ask() -> str:
        with pytest.raises(client.ControlError) as err:
            client.control_request(path, {"command": client.RELOAD})
        return str(err.value)

    message = serving({path: {control.RELOAD: reload}}, ask)
    assert message.splitlines() == [
        "the daemon refused 'reload': /etc/failover/vrrp-config.json: invalid configuration",
        *(f"  {e}" for e in errors),
    ]


def test_an_unknown_command_is_an_error_reply_the_client_reports(socket_dir: Path) -> None:
    path = str(socket_dir / "c.sock")

    def ask() -> str:
        with pytest.raises(client.ControlError) as err:
            client.control_request(path, {"command": "fly"})
        return str(err.value)

    message = serving({path: {control.STATUS: lambda _req: status_reply([])}}, ask)
    assert message == "the daemon refused 'fly': unknown command 'fly' (known: status)"


# -- `failover reload`, what the daemon role's reload handler runs -----------------------


@pytest.mark.parametrize(
    ("reply", "code", "out", "err"),
    [
        (
            reload_reply(changed=["VR_1"], unchanged=["VR_2"], warnings=["config: shared VIP"]),
            0,
            ["reloaded /etc/failover/vrrp-config.json", "added: -", "removed: -",
             "changed: VR_1", "unchanged: VR_2"],
            ["warning: config: shared VIP"],
        ),
        (
            refused("reload refused", ["eth9: no such interface (used by VR_9)"]),
            1,
            [],
            ["failover: reload refused, nothing changed: reload refused",
             "  eth9: no such interface (used by VR_9)"],
        ),
    ],
    ids=["applied", "refused"],
)  # fmt: skip
def test_failover_reload_prints_the_daemons_verdict(
    socket_dir: Path,
    capsys: pytest.CaptureFixture[str],
    reply: control.Reply,
    code: int,
    out: list[str],
    err: list[str],
) -> None:
    path = str(socket_dir / "c.sock")
    got = serving(
        {path: {control.RELOAD: lambda _req: reply}},
        lambda: cli.main(["reload", "--control-socket", path]),
    )
    printed = capsys.readouterr()
    assert (got, printed.out.splitlines(), printed.err.splitlines()) == (code, out, err)
