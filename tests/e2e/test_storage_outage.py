"""A full disk (issue 8, item 5): reads keep working, writes answer 503 ServiceUnavailable (a
storage outage, not an internal error), nothing acknowledged is lost, nonces used during the
outage stay used, and writes work again as soon as there is room.

The data dir lives on a small tmpfs of the test's own, filled with a file: mounting needs root,
which CI has."""

from __future__ import annotations

import os
import subprocess

import pytest
from alibabacloud_vpc20160428 import models as vpc_m

import e2e_helpers as h

R = h.REGION

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root (CI runs as root)")


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], check=True)
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path) -> None:
    """Writes `path` until the file system is full. Unbuffered: a buffered file would keep the
    part of its last block that did not fit and fail again when closed, depending on how much
    room the database left (a multiple of the block or not)."""
    with open(path, "wb", buffering=0) as f:
        block = b"\0" * 65536
        try:
            while True:
                f.write(block)
        except OSError:
            pass


def rpc(srv, action, version, params, **kw):
    return h.rpc_call(srv.url, action, version, h.ROOT_AK, h.ROOT_SECRET, params, **kw)


@pytest.mark.skipif(
    h.on_postgres(),
    reason="fills the disk under the SQLite data dir; on PostgreSQL the outage test is "
    "test_postgres.py's database restart",
)
def test_a_full_disk_keeps_reads_and_refuses_writes_with_503(small_disk):
    srv = h.EniServer(small_disk / "data").start()
    try:
        vpc = h.vpc_client(srv.endpoint, h.ROOT_AK, h.ROOT_SECRET)
        kept = vpc.create_vpc(vpc_m.CreateVpcRequest(region_id=R, cidr_block="10.1.0.0/16")).body.vpc_id

        filler = small_disk / "filler"
        fill(filler)

        # Reads: answered, and they see what was acknowledged before.
        listed = vpc.describe_vpcs(vpc_m.DescribeVpcsRequest(region_id=R)).body.vpcs.vpc
        assert [v.vpc_id for v in listed] == [kept]
        read = rpc(srv, "DescribeVpcs", h.VPC_VERSION, {"RegionId": R})
        assert read.send().status_code == 200
        # A nonce used while the store cannot record it is still single-use.
        h.assert_error(read.send(), "SignatureNonceUsed", 400)

        # Writes: a storage outage, 503, retryable.
        for _ in range(3):
            r = rpc(srv, "CreateVpc", h.VPC_VERSION, {"RegionId": R, "CidrBlock": "10.2.0.0/16"}).send()
            body = h.assert_error(r, "ServiceUnavailable", 503)
            assert body["RequestId"]

        # Room again: writes work at once, nothing was lost, the outage's nonce stays used.
        filler.unlink()
        made = vpc.create_vpc(vpc_m.CreateVpcRequest(region_id=R, cidr_block="10.3.0.0/16")).body.vpc_id
        ids = {v.vpc_id for v in vpc.describe_vpcs(vpc_m.DescribeVpcsRequest(region_id=R)).body.vpcs.vpc}
        assert ids == {kept, made}
        h.assert_error(read.send(), "SignatureNonceUsed", 400)
    finally:
        assert srv.stop() == 0
