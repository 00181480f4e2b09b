"""Fixtures for the eni end-to-end suite.

One `eni serve` process runs for the whole session (root key from the environment, data dir in
a temp dir); tests talk to it through the official Alibaba Cloud Python SDKs, or by hand-made
signed HTTP requests where the SDKs cannot produce the request under test.

Binary: env ENI_BIN, default <repo>/target/debug/eni.
"""

from __future__ import annotations

import uuid

import pytest

import e2e_helpers as h


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = h.EniServer(tmp_path_factory.mktemp("eni-session") / "data").start()
    yield srv
    rc = srv.stop()
    assert rc == 0, f"eni serve exited with {rc} on SIGTERM"


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
