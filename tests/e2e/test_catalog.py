"""Catalog: DescribeRegions, DescribeZones, DescribeInstanceTypes through the new ECS/VPC SDKs,
parsed by the SDK models."""

import pytest
from alibabacloud_ecs20140526 import models as ecs_m
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as vpc_m

import e2e_helpers as h

DOCUMENTED_ENI = {
    # type: (EniQuantity, EniPrivateIpAddressQuantity)
    "ecs.g6.large": (2, 6),
    "ecs.g6.xlarge": (3, 10),
    "ecs.g7.large": (3, 6),
    "ecs.g7.xlarge": (4, 15),
    "ecs.g7.2xlarge": (4, 15),
    "ecs.g7.4xlarge": (8, 30),
    "ecs.g7.32xlarge": (15, 30),
}


def test_describe_regions_ecs(ecs):
    resp = ecs.describe_regions(ecs_m.DescribeRegionsRequest())
    assert resp.status_code == 200
    body = resp.body
    assert isinstance(body.request_id, str) and body.request_id
    regions = {r.region_id: r for r in body.regions.region}
    assert set(regions) == {"cn-hangzhou", "cn-beijing"}
    hz = regions["cn-hangzhou"]
    assert hz.region_endpoint == "ecs.cn-hangzhou.aliyuncs.com"
    assert hz.status == "available"
    assert isinstance(hz.local_name, str) and hz.local_name


def test_describe_regions_vpc(vpc):
    resp = vpc.describe_regions(vpc_m.DescribeRegionsRequest())
    regions = {r.region_id: r for r in resp.body.regions.region}
    assert set(regions) == {"cn-hangzhou", "cn-beijing"}
    assert regions["cn-beijing"].region_endpoint == "vpc.cn-beijing.aliyuncs.com"


@pytest.mark.parametrize(
    "region,zones",
    [
        ("cn-hangzhou", ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"]),
        ("cn-beijing", ["cn-beijing-a", "cn-beijing-b"]),
    ],
)
def test_describe_zones_ecs(ecs, region, zones):
    resp = ecs.describe_zones(ecs_m.DescribeZonesRequest(region_id=region))
    got = resp.body.zones.zone
    assert sorted(z.zone_id for z in got) == zones
    for z in got:
        assert z.zone_type == "AvailabilityZone"
        assert "VSwitch" in z.available_resource_creation.resource_types
        assert "ecs.g7.large" in z.available_instance_types.instance_types


def test_describe_zones_vpc(vpc):
    resp = vpc.describe_zones(vpc_m.DescribeZonesRequest(region_id="cn-beijing"))
    assert sorted(z.zone_id for z in resp.body.zones.zone) == ["cn-beijing-a", "cn-beijing-b"]


def test_describe_zones_unknown_region(ecs):
    with pytest.raises(ClientException) as ei:
        ecs.describe_zones(ecs_m.DescribeZonesRequest(region_id="cn-nowhere"))
    code, status, message, data = h.tea_error(ei.value)
    assert (code, status) == ("InvalidRegionId.NotFound", 404)
    assert data["Code"] == "InvalidRegionId.NotFound"


def test_describe_instance_types_documented_figures(ecs):
    resp = ecs.describe_instance_types(
        ecs_m.DescribeInstanceTypesRequest(instance_types=list(DOCUMENTED_ENI))
    )
    types = resp.body.instance_types.instance_type
    assert sorted(t.instance_type_id for t in types) == sorted(DOCUMENTED_ENI)
    for t in types:
        assert (t.eni_quantity, t.eni_private_ip_address_quantity) == DOCUMENTED_ENI[t.instance_type_id], t.instance_type_id
        # JSON types as the SDK model declares them.
        for attr in (
            "eni_quantity",
            "eni_private_ip_address_quantity",
            "eni_ipv_6address_quantity",
            "eni_total_quantity",
            "cpu_core_count",
            "instance_bandwidth_rx",
            "instance_bandwidth_tx",
            "instance_pps_rx",
            "instance_pps_tx",
            "eri_quantity",
        ):
            v = getattr(t, attr)
            assert type(v) is int, f"{t.instance_type_id}.{attr} = {v!r}"
        assert type(t.eni_trunk_supported) is bool
        assert isinstance(t.memory_size, float)
        assert t.instance_type_family == t.instance_type_id.rsplit(".", 1)[0]
        assert [c.network_card_index for c in t.network_cards.network_card_info] == [0]
    g6 = next(t for t in types if t.instance_type_id == "ecs.g6.large")
    assert (g6.cpu_core_count, g6.memory_size) == (2, 8.0)
    # Filtered to a strict subset: only what was asked for.
    one = ecs.describe_instance_types(ecs_m.DescribeInstanceTypesRequest(instance_types=["ecs.g7.large"]))
    assert [t.instance_type_id for t in one.body.instance_types.instance_type] == ["ecs.g7.large"]
    assert one.body.next_token == ""


def test_describe_instance_types_paging(ecs):
    everything = ecs.describe_instance_types(ecs_m.DescribeInstanceTypesRequest()).body
    all_ids = [t.instance_type_id for t in everything.instance_types.instance_type]
    assert everything.next_token == ""
    assert set(DOCUMENTED_ENI) <= set(all_ids)
    assert len(all_ids) == len(set(all_ids))

    seen, token, pages = [], None, 0
    while True:
        body = ecs.describe_instance_types(
            ecs_m.DescribeInstanceTypesRequest(max_results=2, next_token=token)
        ).body
        page = [t.instance_type_id for t in body.instance_types.instance_type]
        assert 1 <= len(page) <= 2
        seen += page
        pages += 1
        assert pages <= len(all_ids), "NextToken paging does not terminate"
        if not body.next_token:
            break
        token = body.next_token
    assert len(seen) == len(set(seen)), f"a type was returned twice: {seen}"
    assert sorted(seen) == sorted(all_ids)
    assert pages == (len(all_ids) + 1) // 2
