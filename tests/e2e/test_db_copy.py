"""`eni db copy --from DATA_DIR --to postgres://...`: a server's whole SQLite state moved into an
empty PostgreSQL database, which a server then serves exactly as the SQLite one did.

The source server always runs on SQLite (`EniServer(sqlite=True)`), also when the suite runs on
PostgreSQL (ENI_E2E_DATABASE_URL). Needs ENI_TEST_DATABASE_URL, an admin URL of a PostgreSQL
(scripts/test sets it): the copy goes into a database of its own, dropped at the end.
"""

from __future__ import annotations

import ipaddress
import sqlite3
import subprocess
import uuid

import requests
from alibabacloud_ecs20140526 import models as em
from alibabacloud_vpc20160428 import models as vm

import e2e_helpers as h
from conftest import Cloud, Resources

R = h.REGION


def db_copy(data_dir, url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [h.eni_bin(), "db", "copy", "--from", str(data_dir), "--to", url],
        capture_output=True, text=True, timeout=120, env=h._clean_env(None),
    )


def tags(cls, **kv):
    return [cls(key=k, value=v) for k, v in kv.items()]


class Account:
    """One account's SDK clients (and a Cloud for the waiting helpers) on one server."""

    def __init__(self, srv: h.EniServer, ak: str, secret: str):
        self.ak, self.secret = ak, secret
        self.ecs = h.ecs_client(srv.endpoint, ak, secret)
        self.vpc = h.vpc_client(srv.endpoint, ak, secret)
        self.cloud = Cloud(self.ecs, Resources(self.vpc))


def wait_eip(acct: Account, allocation_id: str, status: str):
    def get():
        (e,) = acct.vpc.describe_eip_addresses(
            vm.DescribeEipAddressesRequest(region_id=R, allocation_id=allocation_id)
        ).body.eip_addresses.eip_address
        return e.status

    h.wait_for(get, lambda s: s == status, what=f"{allocation_id} {status}")


def build_state(srv: h.EniServer, extra_key: dict) -> dict:
    """A state with a bit of everything, made through the official SDKs; the IDs to describe."""
    root = Account(srv, h.ROOT_AK, h.ROOT_SECRET)
    c = root.cloud
    v1 = c.vpc("10.0.0.0/16", vpc_name="main", description="the copied one", enable_ipv_6=True,
               tag=tags(vm.CreateVpcRequestTag, team="net", env="prod"))
    v2 = c.vpc("172.16.0.0/12", vpc_name="second")
    gone_vpc = c.vpc("192.168.0.0/16")
    root.vpc.delete_vpc(vm.DeleteVpcRequest(region_id=R, vpc_id=gone_vpc))
    vs_a = c.vswitch(v1, "10.0.1.0/24", v_switch_name="a", description="IPv6 too", ipv_6cidr_block=1,
                     tag=tags(vm.CreateVSwitchRequestTag, tier="web"))
    vs_b = c.vswitch(v1, "10.0.2.0/24", v_switch_name="b")
    vs_empty = c.vswitch(v1, "10.0.3.0/24", zone="cn-hangzhou-i", v_switch_name="emptied")
    vs_v2 = c.vswitch(v2, "172.16.1.0/24")

    g1 = c.group(v1, security_group_name="web", description="web servers",
                 tag=tags(em.CreateSecurityGroupRequestTag, role="web"))
    g2 = c.group(v1, security_group_name="db")
    g3 = c.group(v2, security_group_name="other")
    root.ecs.authorize_security_group(em.AuthorizeSecurityGroupRequest(
        region_id=R, security_group_id=g1, permissions=[
            em.AuthorizeSecurityGroupRequestPermissions(ip_protocol="TCP", port_range="22/22", source_cidr_ip="0.0.0.0/0",
                                                        description="ssh"),
            em.AuthorizeSecurityGroupRequestPermissions(ip_protocol="TCP", port_range="80/443", source_group_id=g2,
                                                        priority="5"),
            em.AuthorizeSecurityGroupRequestPermissions(ip_protocol="ICMPv6", port_range="-1/-1",
                                                        ipv_6source_cidr_ip="::/0", policy="Drop"),
        ]))
    root.ecs.authorize_security_group_egress(em.AuthorizeSecurityGroupEgressRequest(
        region_id=R, security_group_id=g1, permissions=[
            em.AuthorizeSecurityGroupEgressRequestPermissions(ip_protocol="UDP", port_range="53/53",
                                                              dest_cidr_ip="10.0.0.0/8", priority="10"),
        ]))
    root.ecs.modify_security_group_policy(
        em.ModifySecurityGroupPolicyRequest(region_id=R, security_group_id=g2, inner_access_policy="Drop"))

    (i1,) = c.run(vs_a, [g1], instance_name="web-1", host_name="web1",
                  tag=tags(em.RunInstancesRequestTag, app="shop"))
    (i2,) = c.run(vs_b, [g2], instance_name="db-1")
    root.ecs.stop_instance(em.StopInstanceRequest(instance_id=i2))
    c.wait_instance(i2, "Stopped")

    e1 = c.eni(vs_a, [g1, g2], network_interface_name="front", description="two groups",
               secondary_private_ip_address_count=2, ipv_6address_count=2,
               tags={"team": "net", "env": "prod"}).network_interface_id
    c.attach(e1, i1)
    token = uuid.uuid4().hex
    e2 = c.eni(vs_b, [g2], tags={"env": "dev"}, client_token=token).network_interface_id
    c.attach(e2, i1)
    c.detach(e2, i1)
    e3 = c.eni(vs_a, [g1], ipv_6prefix_count=1, ipv_4prefix_count=1, network_interface_name="prefixes").network_interface_id
    e4 = c.eni(vs_v2, [g3]).network_interface_id
    gone = c.eni(vs_empty, [g1]).network_interface_id
    c.delete_eni(gone)

    a = root.vpc.allocate_eip_address(vm.AllocateEipAddressRequest(
        region_id=R, name="to-eni", description="on front", bandwidth="10",
        tag=tags(vm.AllocateEipAddressRequestTag, env="prod"))).body.allocation_id
    b = root.vpc.allocate_eip_address(vm.AllocateEipAddressRequest(region_id=R, name="to-instance")).body.allocation_id
    free = root.vpc.allocate_eip_address(vm.AllocateEipAddressRequest(region_id=R)).body.allocation_id
    root.vpc.associate_eip_address(vm.AssociateEipAddressRequest(
        region_id=R, allocation_id=a, instance_id=e1, instance_type="NetworkInterface"))
    root.vpc.associate_eip_address(vm.AssociateEipAddressRequest(region_id=R, allocation_id=b, instance_id=i1))
    wait_eip(root, a, "InUse")
    wait_eip(root, b, "InUse")

    other = Account(srv, extra_key["AccessKeyId"], extra_key["AccessKeySecret"])
    ov = other.cloud.vpc("10.0.0.0/16", vpc_name="theirs")
    ovs = other.cloud.vswitch(ov, "10.0.1.0/24")
    og = other.cloud.group(ov)
    oe = other.cloud.eni(ovs, [og], tags={"owner": "them"}).network_interface_id
    return dict(
        root=root, other=other, token=token, vs_a=vs_a, vs_b=vs_b, vs_empty=vs_empty, v1=v1,
        groups=[g1, g2, g3], enis=[e1, e2, e3, e4], other_groups=[og], other_enis=[oe],
        eips=[a, b, free],
    )


def describe_calls(state: dict):
    """(name, key, action, version, params) of every Describe compared."""
    root = (h.ROOT_AK, h.ROOT_SECRET)
    other = (state["other"].ak, state["other"].secret)
    E, V = h.ECS_VERSION, h.VPC_VERSION
    calls = []
    for who, key, groups, enis in (("root", root, state["groups"], state["enis"]),
                                   ("other", other, state["other_groups"], state["other_enis"])):
        calls += [
            (f"{who} DescribeVpcs", key, "DescribeVpcs", V, {"RegionId": R, "PageSize": 50}),
            (f"{who} DescribeVSwitches", key, "DescribeVSwitches", V, {"RegionId": R, "PageSize": 50}),
            (f"{who} DescribeEipAddresses", key, "DescribeEipAddresses", V, {"RegionId": R, "PageSize": 50}),
            (f"{who} DescribeSecurityGroups", key, "DescribeSecurityGroups", E, {"RegionId": R, "PageSize": 50}),
            (f"{who} DescribeInstances", key, "DescribeInstances", E, {"RegionId": R, "MaxResults": 100}),
            (f"{who} DescribeNetworkInterfaces", key, "DescribeNetworkInterfaces", E, {"RegionId": R, "MaxResults": 500}),
        ]
        calls += [(f"{who} DescribeSecurityGroupAttribute {g}", key, "DescribeSecurityGroupAttribute", E,
                   {"RegionId": R, "SecurityGroupId": g, "Direction": "all"}) for g in groups]
        calls += [(f"{who} DescribeNetworkInterfaceAttribute {e}", key, "DescribeNetworkInterfaceAttribute", E,
                   {"RegionId": R, "NetworkInterfaceId": e}) for e in enis]
    # The filters DescribeNetworkInterfaces counts with eni_counts and eni_tags, and a first
    # page (its NextToken follows the creation order).
    for name, params in (
        ("page of 2", {"MaxResults": 2}),
        ("by vSwitch a", {"VSwitchId": state["vs_a"]}),
        ("by emptied vSwitch", {"VSwitchId": state["vs_empty"]}),
        ("by VPC", {"VpcId": state["v1"]}),
        ("by group", {"SecurityGroupId": state["groups"][1]}),
        ("by status", {"Status": "Available"}),
        ("by type", {"Type": "Secondary"}),
        ("by tag", {"Tag.1.Key": "env", "Tag.1.Value": "prod"}),
        ("by tag key", {"Tag.1.Key": "env"}),
        ("by name", {"NetworkInterfaceName": "front"}),
    ):
        calls.append((f"root DescribeNetworkInterfaces {name}", root, "DescribeNetworkInterfaces", E,
                      {"RegionId": R, **params}))
    calls.append(("root DescribeVSwitches of VPC", root, "DescribeVSwitches", V, {"RegionId": R, "VpcId": state["v1"]}))
    return calls


def describe_all(srv: h.EniServer, state: dict) -> dict:
    """Every Describe's JSON body, RequestId left out."""
    out = {}
    for name, (ak, secret), action, version, params in describe_calls(state):
        r = h.rpc_call(srv.url, action, version, ak, secret, params).send()
        assert r.status_code == 200, f"{name}: {r.status_code} {r.text}"
        body = r.json()
        body.pop("RequestId", None)
        out[name] = body
    return out


def addresses(bodies: dict) -> set[str]:
    """Every private IPv4 address the Describe bodies mention."""
    found = set()

    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, str):
            try:
                a = ipaddress.ip_address(x)
            except ValueError:
                return
            if a.version == 4 and a.is_private:
                found.add(x)

    walk(bodies)
    return found


def test_a_copy_serves_exactly_what_sqlite_did(tmp_path, database):
    data = tmp_path / "data"
    src = h.EniServer(data, sqlite=True).start()
    try:
        extra = src.create_account()
        state = build_state(src, extra)
        before = describe_all(src, state)
        # Settled: nothing moves between two looks.
        assert describe_all(src, state) == before
        # A request whose nonce the copy must keep.
        used = h.rpc_call(src.url, "DescribeRegions", h.ECS_VERSION, h.ROOT_AK, h.ROOT_SECRET)
        assert used.send().status_code == 200
    finally:
        rc = src.stop()
    assert rc == 0
    assert (data / "eni.db").is_file()

    out = db_copy(data, database)
    assert out.returncode == 0, out.stderr
    print(out.stdout)
    # The report: every table and its rows; never the URL.
    for table in ("accounts", "access_keys", "vpcs", "vswitches", "security_groups", "security_group_rules",
                  "enis", "eni_security_groups", "private_ips", "ipv6_addrs", "instances", "eips", "nonces",
                  "idempotency", "resource_counts", "eni_counts", "vswitch_ip_counts", "eni_tags", "counters"):
        assert any(line.split()[:1] == [table] for line in out.stdout.splitlines()), (table, out.stdout)
    assert database not in out.stdout + out.stderr
    assert "postgres://" not in out.stdout + out.stderr

    dst = h.EniServer(tmp_path / "pg", extra_args=["--database-url", database]).start()
    try:
        # The agents' token came along: the new server (with a data dir of its own) saved the
        # SQLite server's, and its agent API takes it.
        token = (data / "agent-token").read_text()
        assert (tmp_path / "pg" / "agent-token").read_text() == token
        desired = requests.get(f"http://{dst.endpoint}/internal/v1/hosts/local/desired",
                               headers={"Authorization": f"Bearer {token.strip()}"}, timeout=10)
        assert desired.status_code == 200, desired.text
        after = describe_all(dst, state)
        for name in before:
            assert after[name] == before[name], name
        # The nonce used on SQLite is used on PostgreSQL too.
        h.assert_error(h.RpcCall(dst.url, used.method, used.query, used.body).send(), "SignatureNonceUsed", 400)
        # The ClientToken of e2's create replays its answer instead of making another ENI.
        root = Account(dst, h.ROOT_AK, h.ROOT_SECRET)
        again = root.ecs.create_network_interface(em.CreateNetworkInterfaceRequest(
            region_id=R, v_switch_id=state["vs_b"], security_group_ids=[state["groups"][1]],
            tag=tags(em.CreateNetworkInterfaceRequestTag, env="dev"), client_token=state["token"])).body
        assert again.network_interface_id == state["enis"][1]
        # The extra account's key still works (its Describes above did too) and writes.
        other = Account(dst, extra["AccessKeyId"], extra["AccessKeySecret"])
        other.vpc.create_vpc(vm.CreateVpcRequest(region_id=R, cidr_block="10.8.0.0/16"))
        # A new ENI: a new ID, MAC and address, listed after every copied one.
        new = root.cloud.eni(state["vs_a"], [state["groups"][0]], secondary_private_ip_address_count=1)
        taken = addresses(before)
        assert new.private_ip_address not in taken
        listed = root.cloud.describe_enis(max_results=500).network_interface_sets.network_interface_set
        ids = [e.network_interface_id for e in listed]
        assert new.network_interface_id not in state["enis"]
        assert ids[-1] == new.network_interface_id and len(ids) == len(set(ids))
        (mine,) = [e for e in listed if e.network_interface_id == new.network_interface_id]
        assert mine.mac_address not in {e.mac_address for e in listed if e is not mine}
        assert not {p.private_ip_address for p in mine.private_ip_sets.private_ip_set} & taken
    finally:
        assert dst.stop() == 0

    # Into a database that now holds rows: refused, nothing changed.
    count = h.psql(database, "SELECT count(*) FROM enis")
    again = db_copy(data, database)
    assert again.returncode != 0
    assert "not empty" in again.stderr, again.stderr
    assert database not in again.stdout + again.stderr
    assert h.psql(database, "SELECT count(*) FROM enis") == count


def test_a_copy_carries_a_token_the_sqlite_database_never_held(tmp_path, database):
    # A data dir whose server last ran before the database kept the agents' token.
    data = tmp_path / "data"
    src = h.EniServer(data, sqlite=True).start()
    assert src.stop() == 0
    token = (data / "agent-token").read_text().strip()
    db = sqlite3.connect(data / "eni.db")
    db.execute("DELETE FROM settings")
    db.commit()
    db.close()
    out = db_copy(data, database)
    assert out.returncode == 0, out.stderr
    assert h.psql(database, "SELECT value FROM settings WHERE name = 'agent_token'") == token


def test_a_copy_refuses_a_running_server_a_missing_file_and_a_newer_schema(tmp_path, database):
    data = tmp_path / "data"
    src = h.EniServer(data, sqlite=True).start()
    try:
        busy = db_copy(data, database)
        assert busy.returncode != 0
        assert "in use" in busy.stderr, busy.stderr
    finally:
        assert src.stop() == 0
    missing = db_copy(tmp_path / "nowhere", database)
    assert missing.returncode != 0 and "eni.db not found" in missing.stderr, missing.stderr
    # A file a newer eni migrated further.
    db = sqlite3.connect(data / "eni.db")
    db.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)")
    db.commit()
    db.close()
    newer = db_copy(data, database)
    assert newer.returncode != 0 and "newer" in newer.stderr, newer.stderr
    # All were refused before the target was touched.
    assert h.psql(database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "0"
