"""Fixtures for the eni end-to-end suite.

One `eni serve` process runs for the whole session (root key from the environment, data dir in
a temp dir); tests talk to it through the official Alibaba Cloud Python SDKs, or by hand-made
signed HTTP requests where the SDKs cannot produce the request under test.

Binary: env ENI_BIN, default <repo>/target/debug/eni.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest

import e2e_helpers as h


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = h.EniServer(tmp_path_factory.mktemp("eni-session") / "data").start()
    yield srv
    rc = srv.stop()
    assert rc == 0, f"eni serve exited with {rc} on SIGTERM"


@pytest.fixture
def database():
    """A fresh, empty PostgreSQL database's URL on ENI_TEST_DATABASE_URL's server; dropped
    after the test."""
    admin = h.test_database_admin_url()
    name = f"eni_t_{uuid.uuid4().hex[:12]}"
    h.psql(admin, f"CREATE DATABASE {name}")
    yield h.with_db(admin, name)
    h.psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def endpoint(server) -> str:
    return server.endpoint


@pytest.fixture(scope="session")
def ecs(server):
    """New-SDK (ACS3-HMAC-SHA256) ECS 2014-05-26 client with the root key."""
    return h.ecs_client(server.endpoint, h.ROOT_AK, h.ROOT_SECRET)


@pytest.fixture(scope="session")
def vpc(server):
    """New-SDK (ACS3-HMAC-SHA256) VPC 2016-04-28 client with the root key."""
    return h.vpc_client(server.endpoint, h.ROOT_AK, h.ROOT_SECRET)


@pytest.fixture(scope="session")
def legacy(server):
    """Legacy aliyunsdkcore AcsClient (HMAC-SHA1) with the root key. Point each request at the
    server with `h.legacy_request(server.endpoint, ...)` (or set_endpoint + set_protocol_type)."""
    return h.legacy_client(h.ROOT_AK, h.ROOT_SECRET)


@pytest.fixture
def new_account(server):
    """Creates a second account with `eni account create` on the running server's data dir."""

    def make(name: str | None = None) -> dict:
        return server.create_account(name)

    return make


class Resources:
    """Creates VPCs / vSwitches through a new-SDK VPC client and deletes them at teardown
    (vSwitches first), ignoring those a test already deleted."""

    def __init__(self, client):
        self.client = client
        self.vpcs: list[str] = []
        self.vswitches: list[str] = []

    def vpc(self, **kw) -> str:
        from alibabacloud_vpc20160428 import models as m

        kw.setdefault("region_id", h.REGION)
        resp = self.client.create_vpc(m.CreateVpcRequest(**kw))
        self.vpcs.append(resp.body.vpc_id)
        return resp.body.vpc_id

    def vswitch(self, vpc_id: str, cidr_block: str, zone_id: str = "cn-hangzhou-h", **kw) -> str:
        from alibabacloud_vpc20160428 import models as m

        kw.setdefault("region_id", h.REGION)
        resp = self.client.create_vswitch(
            m.CreateVSwitchRequest(vpc_id=vpc_id, cidr_block=cidr_block, zone_id=zone_id, **kw)
        )
        self.vswitches.append(resp.body.v_switch_id)
        return resp.body.v_switch_id

    def track_vpc(self, vpc_id: str):
        self.vpcs.append(vpc_id)

    def cleanup(self):
        from alibabacloud_vpc20160428 import models as m

        for vsw in reversed(self.vswitches):
            try:
                self.client.delete_vswitch(m.DeleteVSwitchRequest(region_id=h.REGION, v_switch_id=vsw))
            except Exception as e:  # already deleted by the test
                if getattr(e, "code", None) != "InvalidVSwitchId.NotFound":
                    raise
        for v in reversed(self.vpcs):
            try:
                self.client.delete_vpc(m.DeleteVpcRequest(region_id=h.REGION, vpc_id=v))
            except Exception as e:
                if getattr(e, "code", None) != "InvalidVpcId.NotFound":
                    raise


@pytest.fixture
def res(vpc):
    r = Resources(vpc)
    yield r
    r.cleanup()


@pytest.fixture
def unique() -> str:
    """A name no other test uses."""
    return f"e2e-{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------- ECS side: groups, instances, ENIs


class Cloud:
    """ECS resources of one test — security groups, instances, secondary ENIs — on top of a
    `Resources` (VPCs, vSwitches), with the polling the asynchronous calls need.

    Teardown order: instances (DeleteInstance Force), then ENIs (detached first, deleted, and
    waited for until Describe no longer lists them), then groups; the `Resources` teardown
    then deletes the vSwitches and VPCs. Whatever a test already deleted is skipped."""

    def __init__(self, ecs, res: Resources):
        self.ecs = ecs
        self.res = res
        self.instances: list[str] = []
        self.enis: list[str] = []
        self.groups: list[str] = []

    # ---- networks

    def vpc(self, cidr: str = "10.0.0.0/16", **kw) -> str:
        return self.res.vpc(cidr_block=cidr, **kw)

    def vswitch(self, vpc_id: str, cidr: str, zone: str = "cn-hangzhou-h", **kw) -> str:
        return self.res.vswitch(vpc_id, cidr, zone_id=zone, **kw)

    def group(self, vpc_id: str, **kw) -> str:
        from alibabacloud_ecs20140526 import models as em

        kw.setdefault("region_id", h.REGION)
        sg = self.ecs.create_security_group(em.CreateSecurityGroupRequest(vpc_id=vpc_id, **kw)).body.security_group_id
        self.groups.append(sg)
        return sg

    # ---- ENIs

    def eni(self, vswitch_id: str, groups: list[str] | None = None, **kw):
        """CreateNetworkInterface with `SecurityGroupIds.N` = groups; returns the response body."""
        from alibabacloud_ecs20140526 import models as em

        kw.setdefault("region_id", h.REGION)
        if groups is not None:
            kw["security_group_ids"] = groups
        tags = kw.pop("tags", None)
        if tags:
            kw["tag"] = [em.CreateNetworkInterfaceRequestTag(key=k, value=v) for k, v in tags.items()]
        body = self.ecs.create_network_interface(em.CreateNetworkInterfaceRequest(v_switch_id=vswitch_id, **kw)).body
        if body.network_interface_id not in self.enis:
            self.enis.append(body.network_interface_id)
        return body

    def describe_enis(self, **kw):
        from alibabacloud_ecs20140526 import models as em

        kw.setdefault("region_id", h.REGION)
        return self.ecs.describe_network_interfaces(em.DescribeNetworkInterfacesRequest(**kw)).body

    def eni_get(self, eni_id: str):
        """The ENI's DescribeNetworkInterfaces entry, or None."""
        sets = self.describe_enis(network_interface_id=[eni_id]).network_interface_sets.network_interface_set
        assert len(sets) <= 1
        return sets[0] if sets else None

    def eni_attr(self, eni_id: str):
        from alibabacloud_ecs20140526 import models as em

        return self.ecs.describe_network_interface_attribute(
            em.DescribeNetworkInterfaceAttributeRequest(region_id=h.REGION, network_interface_id=eni_id)
        ).body

    def eni_status(self, eni_id: str) -> str | None:
        e = self.eni_get(eni_id)
        return e.status if e else None

    def wait_eni(self, eni_id: str, status: str):
        h.wait_for(lambda: self.eni_status(eni_id), lambda s: s == status, what=f"{eni_id} {status}")
        return self.eni_get(eni_id)

    def wait_enis_gone(self, eni_ids: list[str]):
        if not eni_ids:
            return
        h.wait_for(
            lambda: self.describe_enis(network_interface_id=list(eni_ids), max_results=100).network_interface_sets.network_interface_set,
            lambda sets: sets == [],
            what=f"{eni_ids} gone",
        )

    def attach(self, eni_id: str, instance_id: str, wait: bool = True):
        from alibabacloud_ecs20140526 import models as em

        resp = self.ecs.attach_network_interface(
            em.AttachNetworkInterfaceRequest(region_id=h.REGION, network_interface_id=eni_id, instance_id=instance_id)
        )
        if wait:
            self.wait_eni(eni_id, "InUse")
        return resp

    def detach(self, eni_id: str, instance_id: str, wait: bool = True):
        from alibabacloud_ecs20140526 import models as em

        resp = self.ecs.detach_network_interface(
            em.DetachNetworkInterfaceRequest(region_id=h.REGION, network_interface_id=eni_id, instance_id=instance_id)
        )
        if wait:
            self.wait_eni(eni_id, "Available")
        return resp

    def delete_eni(self, eni_id: str, wait: bool = True):
        from alibabacloud_ecs20140526 import models as em

        resp = self.ecs.delete_network_interface(
            em.DeleteNetworkInterfaceRequest(region_id=h.REGION, network_interface_id=eni_id)
        )
        if wait:
            self.wait_enis_gone([eni_id])
        return resp

    # ---- instances

    def run(self, vswitch_id: str | None, groups: list[str] | None, instance_type: str = "ecs.g7.large",
            amount: int = 1, wait: bool = True, **kw) -> list[str]:
        """RunInstances; waits until every new instance is Running unless `wait` is false."""
        from alibabacloud_ecs20140526 import models as em

        kw.setdefault("region_id", h.REGION)
        if vswitch_id is not None:
            kw["v_switch_id"] = vswitch_id
        if groups:
            kw["security_group_ids"] = groups
        body = self.ecs.run_instances(
            em.RunInstancesRequest(instance_type=instance_type, amount=amount, **kw)
        ).body
        ids = body.instance_id_sets.instance_id_set
        for i in ids:
            if i not in self.instances:
                self.instances.append(i)
        if wait:
            for i in ids:
                self.wait_instance(i, "Running")
        return ids

    def instance(self, vswitch_id: str | None, groups: list[str] | None, instance_type: str = "ecs.g7.large",
                 wait: bool = True, **kw) -> str:
        (i,) = self.run(vswitch_id, groups, instance_type, amount=1, wait=wait, **kw)
        return i

    def create_instance(self, vswitch_id: str | None, group: str | None, instance_type: str = "ecs.g7.large", **kw) -> str:
        """CreateInstance (lands Stopped)."""
        from alibabacloud_ecs20140526 import models as em

        kw.setdefault("region_id", h.REGION)
        if vswitch_id is not None:
            kw["v_switch_id"] = vswitch_id
        if group is not None:
            kw["security_group_id"] = group
        i = self.ecs.create_instance(em.CreateInstanceRequest(instance_type=instance_type, **kw)).body.instance_id
        self.instances.append(i)
        return i

    def describe_instances(self, **kw):
        from alibabacloud_ecs20140526 import models as em

        kw.setdefault("region_id", h.REGION)
        return self.ecs.describe_instances(em.DescribeInstancesRequest(**kw)).body

    def instance_get(self, instance_id: str):
        got = self.describe_instances(instance_ids=json.dumps([instance_id])).instances.instance
        assert len(got) <= 1
        return got[0] if got else None

    def instance_status(self, instance_id: str) -> str | None:
        i = self.instance_get(instance_id)
        return i.status if i else None

    def wait_instance(self, instance_id: str, status: str):
        h.wait_for(lambda: self.instance_status(instance_id), lambda s: s == status, what=f"{instance_id} {status}")

    def delete_instance(self, instance_id: str, force: bool = True):
        from alibabacloud_ecs20140526 import models as em

        return self.ecs.delete_instance(em.DeleteInstanceRequest(instance_id=instance_id, force=force))

    # ---- teardown

    def _strays(self):
        """Instances and secondary ENIs in this test's VPCs that it did not track (say, made by
        a call that should have failed), so that teardown can still delete the VPCs."""
        instances, enis = [], []
        for v in self.res.vpcs:
            token = None
            while True:
                body = self.describe_instances(vpc_id=v, max_results=100, **({"next_token": token} if token else {}))
                instances += [i.instance_id for i in body.instances.instance]
                token = body.next_token
                if not token:
                    break
            while True:
                body = self.describe_enis(vpc_id=v, type="Secondary", max_results=500, **({"next_token": token} if token else {}))
                enis += [e.network_interface_id for e in body.network_interface_sets.network_interface_set]
                token = body.next_token
                if not token:
                    break
        return [i for i in instances if i not in self.instances], [e for e in enis if e not in self.enis]

    def cleanup(self):
        from alibabacloud_ecs20140526 import models as em

        stray_instances, stray_enis = self._strays()
        self.instances += stray_instances
        self.enis += stray_enis
        for i in self.instances:
            try:
                self.delete_instance(i, force=True)
            except Exception as e:
                if getattr(e, "code", None) != "InvalidInstanceId.NotFound":
                    raise
        pending = []
        for eni_id in self.enis:
            e = self.eni_get(eni_id)
            if e is None:
                continue
            if e.status == "Attaching":
                e = self.wait_eni(eni_id, "InUse")
            if e.status == "InUse":
                self.detach(eni_id, e.instance_id, wait=False)
                e = self.wait_eni(eni_id, "Available")
            elif e.status == "Detaching":
                e = self.wait_eni(eni_id, "Available")
            if e.status == "Available":
                self.delete_eni(eni_id, wait=False)
            pending.append(eni_id)
        for chunk in range(0, len(pending), 100):
            self.wait_enis_gone(pending[chunk:chunk + 100])
        for sg in self.groups:
            try:
                self.ecs.delete_security_group(em.DeleteSecurityGroupRequest(region_id=h.REGION, security_group_id=sg))
            except Exception as e:
                if getattr(e, "code", None) != "InvalidSecurityGroupId.NotFound":
                    raise


@pytest.fixture
def cloud(ecs, res):
    c = Cloud(ecs, res)
    yield c
    c.cleanup()


@pytest.fixture
def eips(vpc):
    """`h.Eips` of one test, released at teardown. Request it before `cloud` so that the ENIs
    (and the visible-mode bindings they hold) are gone first."""
    e = h.Eips(vpc)
    yield e
    e.cleanup()


@pytest.fixture
def extra_server(tmp_path):
    """Starts more `eni serve` processes with extra flags (e.g. ["--eni-quota", "2"]) on fresh
    data dirs; stops them at teardown. Returns (server, ecs client, vpc client, Cloud)."""
    started = []

    def start(*args: str):
        s = h.EniServer(tmp_path / f"data-{len(started)}", extra_args=list(args)).start()
        started.append(s)
        ecs = h.ecs_client(s.endpoint, h.ROOT_AK, h.ROOT_SECRET)
        vpc = h.vpc_client(s.endpoint, h.ROOT_AK, h.ROOT_SECRET)
        return s, ecs, vpc, Cloud(ecs, Resources(vpc))

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def net(cloud) -> SimpleNamespace:
    """A VPC 10.0.0.0/16 with vSwitches a (10.0.1.0/24) and b (10.0.2.0/24) in cn-hangzhou-h,
    vsw_i (10.0.3.0/24) in cn-hangzhou-i, and two security groups g1, g2."""
    v = cloud.vpc("10.0.0.0/16")
    return SimpleNamespace(
        vpc=v,
        vsw_a=cloud.vswitch(v, "10.0.1.0/24"),
        vsw_b=cloud.vswitch(v, "10.0.2.0/24"),
        vsw_i=cloud.vswitch(v, "10.0.3.0/24", zone="cn-hangzhou-i"),
        g1=cloud.group(v),
        g2=cloud.group(v),
    )
