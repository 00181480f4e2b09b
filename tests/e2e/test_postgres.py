"""Several API servers on one PostgreSQL database (`eni serve --database-url`), driven with the
official SDKs and signed raw requests: any request may land on any server and must behave as
if there were one.

Needs ENI_TEST_DATABASE_URL, an admin URL of a PostgreSQL (scripts/test starts a throwaway
cluster and sets it, and ENI_TEST_PG_DIR for the outage test); each test gets a database of its
own, dropped at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from alibabacloud_ecs20140526 import models as em

import e2e_helpers as h
from conftest import Cloud, Resources

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def servers(tmp_path, database):
    """Starts `eni serve` processes on the test's database, each with a data dir of its own
    (and no ENI_AGENT_TOKEN: the servers share the database's); stops them at teardown.
    `servers.token` is the agent token the first server saved."""
    started: list[h.EniServer] = []

    def start(*args: str) -> h.EniServer:
        s = h.EniServer(
            tmp_path / f"server-{len(started)}",
            extra_args=["--database-url", database, *args],
        ).start()
        started.append(s)
        if len(started) == 1:
            start.token = agent_token(s)
        return s

    yield start
    for s in started:
        s.stop()


def agent_token(srv: h.EniServer) -> str:
    return (srv.data_dir / "agent-token").read_text().strip()


def clients(srv: h.EniServer):
    return h.ecs_client(srv.endpoint, h.ROOT_AK, h.ROOT_SECRET), h.vpc_client(srv.endpoint, h.ROOT_AK, h.ROOT_SECRET)


def network(srv: h.EniServer, cidr: str = "10.0.1.0/26"):
    ecs, vpc = clients(srv)
    cloud = Cloud(ecs, Resources(vpc))
    v = cloud.vpc("10.0.0.0/16")
    vsw = cloud.vswitch(v, cidr)
    sg = cloud.group(v)
    return cloud, v, vsw, sg


def test_two_servers_share_one_state_and_never_duplicate_an_address(servers):
    a, b = servers(), servers()
    cloud_a, _v, vsw, sg = network(a)
    cloud_b = Cloud(clients(b)[0], Resources(clients(b)[1]))
    made: dict[str, list] = {"a": [], "b": []}
    errors: list[Exception] = []

    def create(cloud: Cloud, key: str):
        try:
            for _ in range(20):
                made[key].append(cloud.eni(vsw, [sg]))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=create, args=(c, k)) for c, k in ((cloud_a, "a"), (cloud_b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    bodies = made["a"] + made["b"]
    ids = {e.network_interface_id for e in bodies}
    assert len(ids) == 40
    # Each ENI as the other server describes it: one address and one MAC each, all distinct.
    seen = cloud_b.describe_enis(v_switch_id=vsw, max_results=100).network_interface_sets.network_interface_set
    assert {e.network_interface_id for e in seen} == ids
    ips = [e.private_ip_address for e in seen]
    macs = [e.mac_address for e in seen]
    assert len(set(ips)) == 40 and len(set(macs)) == 40
    total = cloud_a.describe_enis(v_switch_id=vsw, max_results=10).total_count
    assert total == 40


def test_a_nonce_used_on_one_server_is_refused_on_the_other(servers):
    a, b = servers(), servers()
    for action, version, params in (
        ("DescribeRegions", h.ECS_VERSION, {}),
        ("CreateVpc", h.VPC_VERSION, {"RegionId": h.REGION, "CidrBlock": "10.9.0.0/16"}),
    ):
        call = h.rpc_call(a.url, action, version, h.ROOT_AK, h.ROOT_SECRET, params)
        assert call.send().status_code == 200
        replay = h.RpcCall(b.url, call.method, call.query, call.body)
        h.assert_error(replay.send(), "SignatureNonceUsed", 400)
    # The VPC was made once.
    _ecs, vpc = clients(b)
    from alibabacloud_vpc20160428 import models as vm

    vpcs = vpc.describe_vpcs(vm.DescribeVpcsRequest(region_id=h.REGION)).body.vpcs.vpc
    assert [v.cidr_block for v in vpcs].count("10.9.0.0/16") == 1


def test_a_client_token_replays_the_first_answer_on_the_other_server(servers):
    a, b = servers(), servers()
    _cloud, _v, vsw, sg = network(a)
    token = uuid.uuid4().hex
    req = em.CreateNetworkInterfaceRequest(region_id=h.REGION, v_switch_id=vsw, security_group_ids=[sg], client_token=token)
    first = clients(a)[0].create_network_interface(req).body
    again = clients(b)[0].create_network_interface(req).body
    assert again.network_interface_id == first.network_interface_id
    assert again.private_ip_address == first.private_ip_address


def test_every_server_takes_the_agent_token_the_first_one_stored(tmp_path, servers):
    a = servers()
    # A server whose data dir holds another token (from an earlier life) takes the database's.
    stale = tmp_path / "server-1"
    stale.mkdir(mode=0o700)
    (stale / "agent-token").write_text("stale-token\n")
    b = servers()
    assert agent_token(a) == agent_token(b) == servers.token
    assert len(servers.token) >= 32
    for srv in (a, b):
        url = f"http://{srv.endpoint}/internal/v1/hosts/local/desired"
        ok = requests.get(url, headers={"Authorization": f"Bearer {servers.token}"}, timeout=10)
        assert ok.status_code == 200, ok.text
        refused = requests.get(url, headers={"Authorization": "Bearer stale-token"}, timeout=10)
        assert refused.status_code in (401, 403), refused.status_code
    # A restart keeps it.
    a.stop()
    a.start()
    assert agent_token(a) == servers.token


def test_an_agent_polling_one_server_hears_of_a_write_through_the_other(servers):
    a, b = servers(), servers()
    cloud_a, _v, vsw, sg = network(a)
    url = f"http://{b.endpoint}/internal/v1/hosts/local/desired"
    auth = {"Authorization": f"Bearer {servers.token}"}
    gen = requests.get(url, headers=auth, timeout=10).json()["generation"]
    answer: dict = {}

    def poll():
        started = time.monotonic()
        r = requests.get(url, params={"since": gen, "wait_ms": 20_000}, headers=auth, timeout=30)
        answer.update(status=r.status_code, body=r.json(), took=time.monotonic() - started)

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.5)  # the poll is waiting on b
    cloud_a.eni(vsw, [sg])
    t.join()
    assert answer["status"] == 200
    assert answer["body"]["generation"] > gen
    # Woken by the write, not by the end of its wait.
    assert answer["took"] < 10, answer["took"]


def test_transitions_complete_whichever_server_settles_them(servers):
    """Asynchronous states (Pending, Attaching, Detaching) started through one server finish as
    seen through the other, with a real transition delay: every server settles due rows."""
    a, b = servers("--transition-delay-ms", "300"), servers("--transition-delay-ms", "300")
    cloud_a, _v, vsw, sg = network(a)
    cloud_b = Cloud(clients(b)[0], Resources(clients(b)[1]))
    inst = cloud_a.instance(vsw, [sg], wait=False)
    cloud_b.wait_instance(inst, "Running")
    eni = cloud_b.eni(vsw, [sg]).network_interface_id
    cloud_b.attach(eni, inst, wait=False)
    cloud_a.wait_eni(eni, "InUse")
    cloud_a.detach(eni, inst, wait=False)
    cloud_b.wait_eni(eni, "Available")
    assert cloud_a.eni_attr(eni).status == "Available"


def test_killing_one_server_mid_load_loses_nothing_acknowledged(servers):
    a, b = servers(), servers()
    cloud_a, _v, vsw, sg = network(a, "10.0.1.0/24")
    acknowledged: list[str] = []
    stop = threading.Event()

    def load():
        while not stop.is_set():
            try:
                acknowledged.append(cloud_a.eni(vsw, [sg]).network_interface_id)
            except Exception:  # noqa: BLE001 - the server was killed under it
                return

    t = threading.Thread(target=load)
    t.start()
    h.wait_for(lambda: len(acknowledged), lambda n: n >= 10, what="ten creates through a")
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    stop.set()
    t.join()
    cloud_b = Cloud(clients(b)[0], Resources(clients(b)[1]))
    seen = {e.network_interface_id for e in cloud_b.describe_enis(v_switch_id=vsw, max_results=500).network_interface_sets.network_interface_set}
    assert set(acknowledged) <= seen
    # b goes on serving.
    cloud_b.eni(vsw, [sg])


def test_a_database_restart_gives_503_then_the_servers_recover(servers):
    pg_dir = os.environ.get("ENI_TEST_PG_DIR")
    if not pg_dir:
        pytest.fail("ENI_TEST_PG_DIR must name the cluster of ENI_TEST_DATABASE_URL (scripts/test sets it)")
    a = servers()
    cloud, _v, vsw, sg = network(a)
    cloud.eni(vsw, [sg])
    subprocess.run([str(REPO / "scripts" / "pg-cluster"), "down", pg_dir], check=True, timeout=120)
    try:
        started = time.monotonic()
        for action, version, params in (
            ("DescribeNetworkInterfaces", h.ECS_VERSION, {"RegionId": h.REGION}),
            ("CreateNetworkInterface", h.ECS_VERSION, {"RegionId": h.REGION, "VSwitchId": vsw, "SecurityGroupId": sg}),
        ):
            r = h.rpc_call(a.url, action, version, h.ROOT_AK, h.ROOT_SECRET, params).send()
            h.assert_error(r, "ServiceUnavailable", 503)
        # Answered, not hung.
        assert time.monotonic() - started < 20
    finally:
        subprocess.run([str(REPO / "scripts" / "pg-cluster"), "up", pg_dir], check=True, timeout=120)
    # Back without a restart of the server; what was acknowledged before is there.
    h.wait_for(
        lambda: h.rpc_call(a.url, "DescribeNetworkInterfaces", h.ECS_VERSION, h.ROOT_AK, h.ROOT_SECRET,
                           {"RegionId": h.REGION, "VSwitchId": vsw}).send(),
        lambda r: r.status_code == 200,
        what="the server answering again",
    )
    cloud.eni(vsw, [sg])
    assert cloud.describe_enis(v_switch_id=vsw).total_count == 2
