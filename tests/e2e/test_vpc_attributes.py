"""DescribeVpcAttribute, DescribeVSwitchAttributes and DescribeRouteTableList through the official
VPC SDK, as Terraform's alicloud_vpc and alicloud_vswitch and Ansible's footmark call them: the
create waiter (Status Available), the refresh (read twice), and the delete waiter (a 404)."""

from alibabacloud_vpc20160428 import models as m

import e2e_helpers as h

R = h.REGION


def vpc_attribute(vpc, vpc_id):
    return vpc.describe_vpc_attribute(m.DescribeVpcAttributeRequest(region_id=R, vpc_id=vpc_id)).body


def vswitch_attributes(vpc, vsw_id):
    return vpc.describe_vswitch_attributes(m.DescribeVSwitchAttributesRequest(region_id=R, v_switch_id=vsw_id)).body


def route_tables(vpc, **kw):
    kw.setdefault("region_id", R)
    return vpc.describe_route_table_list(m.DescribeRouteTableListRequest(**kw)).body


def test_vpc_attribute_as_terraform_reads_it(vpc, res, unique):
    created = vpc.create_vpc(m.CreateVpcRequest(region_id=R, cidr_block="10.20.0.0/16", vpc_name=unique,
                                                description="tf vpc")).body
    res.track_vpc(created.vpc_id)
    # The create waiter, then a refresh twice: the same answer each time.
    first = vpc_attribute(vpc, created.vpc_id)
    assert first.status == "Available"
    again = vpc_attribute(vpc, created.vpc_id)
    assert first.to_map() | {"RequestId": ""} == again.to_map() | {"RequestId": ""}
    assert first.vpc_id == created.vpc_id
    assert first.vpc_name == unique and first.description == "tf vpc"
    assert first.cidr_block == "10.20.0.0/16"
    assert first.region_id == R
    assert first.vrouter_id == created.vrouter_id
    assert first.resource_group_id == created.resource_group_id
    assert first.is_default is False and first.enabled_ipv_6 is False and first.classic_link_enabled is False
    assert first.ipv_6cidr_block == "" and first.ipv_6cidr_blocks.ipv_6cidr_block == []
    assert first.user_cidrs.user_cidr == [] and first.secondary_cidr_blocks.secondary_cidr_block == []
    assert first.v_switch_ids.v_switch_id == []
    assert first.tags.tag == []
    assert first.dns_hostname_status == "DISABLED"
    assert isinstance(first.owner_id, int) and first.creation_time.endswith("Z")

    vsw = res.vswitch(created.vpc_id, "10.20.1.0/24")
    assert vpc_attribute(vpc, created.vpc_id).v_switch_ids.v_switch_id == [vsw]


def test_the_system_route_table_of_every_vpc(vpc, res):
    a = vpc.create_vpc(m.CreateVpcRequest(region_id=R, cidr_block="10.21.0.0/16")).body
    res.track_vpc(a.vpc_id)
    b = res.vpc(cidr_block="10.22.0.0/16")
    vsw = res.vswitch(a.vpc_id, "10.21.1.0/24")
    # Terraform, right after CreateVpc: the System table of this VPC.
    got = route_tables(vpc, vpc_id=a.vpc_id)
    assert got.total_count == 1
    (t,) = got.router_table_list.router_table_list_type
    assert (t.vpc_id, t.route_table_id, t.router_id) == (a.vpc_id, a.route_table_id, a.vrouter_id)
    assert t.route_table_type == "System" and t.router_type == "VRouter" and t.status == "Available"
    assert t.v_switch_ids.v_switch_id == [vsw]
    assert t.resource_group_id == a.resource_group_id
    assert t.route_table_name == "" and t.tags.tag == []
    # Filters: by table, by router, by type; and paging over the account's VPCs.
    assert [x.vpc_id for x in route_tables(vpc, route_table_id=a.route_table_id).router_table_list.router_table_list_type] == [a.vpc_id]
    assert [x.vpc_id for x in route_tables(vpc, router_id=a.vrouter_id).router_table_list.router_table_list_type] == [a.vpc_id]
    assert route_tables(vpc, vpc_id=a.vpc_id, route_table_type="Custom").total_count == 0
    mine = {a.vpc_id, b}
    listed = route_tables(vpc, page_size=50).router_table_list.router_table_list_type
    assert mine <= {x.vpc_id for x in listed}
    one = route_tables(vpc, page_size=1, page_number=1)
    assert one.page_size == 1 and len(one.router_table_list.router_table_list_type) == 1
    assert one.total_count >= 2
    # A VPC that is gone has no table.
    assert route_tables(vpc, vpc_id="vpc-bp1doesnotexist000000").total_count == 0


def test_vswitch_attributes_as_terraform_reads_them(vpc, res, unique):
    vpc_id = res.vpc(cidr_block="10.23.0.0/16")
    vsw = res.vswitch(vpc_id, "10.23.4.0/24", v_switch_name=unique, description="tf vsw")
    got = vswitch_attributes(vpc, vsw)
    assert got.v_switch_id == vsw and got.status == "Available"
    assert (got.vpc_id, got.cidr_block, got.zone_id) == (vpc_id, "10.23.4.0/24", "cn-hangzhou-h")
    assert got.v_switch_name == unique and got.description == "tf vsw"
    assert got.available_ip_address_count == 252
    assert got.is_default is False and got.ipv_6cidr_block == ""
    assert got.route_table.route_table_type == "System"
    (table,) = route_tables(vpc, vpc_id=vpc_id).router_table_list.router_table_list_type
    assert got.route_table.route_table_id == table.route_table_id
    assert got.tags.tag == []


def test_deleted_vpc_and_vswitch_answer_404(vpc, res):
    vpc_id = res.vpc(cidr_block="10.24.0.0/16")
    vsw = res.vswitch(vpc_id, "10.24.1.0/24")
    vpc.delete_vswitch(m.DeleteVSwitchRequest(region_id=R, v_switch_id=vsw))
    # Terraform's delete waiters: gone is a 404.
    h.expect_tea_error(lambda: vswitch_attributes(vpc, vsw), "InvalidVSwitchId.NotFound", 404)
    vpc.delete_vpc(m.DeleteVpcRequest(region_id=R, vpc_id=vpc_id))
    h.expect_tea_error(lambda: vpc_attribute(vpc, vpc_id), "InvalidVpcId.NotFound", 404)
    h.expect_tea_error(lambda: vpc_attribute(vpc, "not-a-vpc"), "InvalidVpcId.NotFound", 404)
    h.expect_tea_error(
        lambda: vpc.describe_vpc_attribute(m.DescribeVpcAttributeRequest(region_id=R)), "MissingParameter", 400
    )


def test_footmark_style_legacy_calls(server, legacy, res):
    """The legacy SDK (what footmark sends): DescribeVpcAttribute and DescribeVSwitchAttributes."""
    import json

    vpc_id = res.vpc(cidr_block="10.25.0.0/16")
    vsw = res.vswitch(vpc_id, "10.25.1.0/24")
    got = json.loads(legacy.do_action_with_exception(
        h.legacy_request(server.endpoint, "DescribeVpcAttribute", VpcId=vpc_id, RegionId=R)))
    assert got["VpcId"] == vpc_id and got["Status"] == "Available"
    got = json.loads(legacy.do_action_with_exception(
        h.legacy_request(server.endpoint, "DescribeVSwitchAttributes", VSwitchId=vsw, RegionId=R)))
    assert got["VSwitchId"] == vsw and got["VpcId"] == vpc_id


def test_modify_vpc_and_vswitch_attributes(vpc, res, unique):
    vpc_id = res.vpc(cidr_block="10.26.0.0/16", vpc_name="before", description="old")
    vsw = res.vswitch(vpc_id, "10.26.1.0/24", v_switch_name="before", description="old")
    # Terraform's update: the name and description, then the Available waiter.
    vpc.modify_vpc_attribute(m.ModifyVpcAttributeRequest(region_id=R, vpc_id=vpc_id, vpc_name=unique,
                                                         description="new"))
    got = vpc_attribute(vpc, vpc_id)
    assert (got.vpc_name, got.description, got.status) == (unique, "new", "Available")
    # A parameter not given stays as it was.
    vpc.modify_vpc_attribute(m.ModifyVpcAttributeRequest(region_id=R, vpc_id=vpc_id, description="newer"))
    got = vpc_attribute(vpc, vpc_id)
    assert (got.vpc_name, got.description) == (unique, "newer")
    vpc.modify_vswitch_attribute(m.ModifyVSwitchAttributeRequest(region_id=R, v_switch_id=vsw, v_switch_name=unique,
                                                                 description="vsw new"))
    got = vswitch_attributes(vpc, vsw)
    assert (got.v_switch_name, got.description, got.status) == (unique, "vsw new", "Available")
    assert got.cidr_block == "10.26.1.0/24"
    # Bad input is refused with Alibaba's codes; what is not served is refused, not ignored.
    h.expect_tea_error(lambda: vpc.modify_vpc_attribute(
        m.ModifyVpcAttributeRequest(region_id=R, vpc_id=vpc_id, vpc_name="http://x")), "InvalidVpcName.Malformed", 400)
    h.expect_tea_error(lambda: vpc.modify_vpc_attribute(
        m.ModifyVpcAttributeRequest(region_id=R, vpc_id=vpc_id, cidr_block="10.0.0.0/8")), "InvalidParameter", 400)
    h.expect_tea_error(lambda: vpc.modify_vpc_attribute(
        m.ModifyVpcAttributeRequest(region_id=R, vpc_id="vpc-bp1doesnotexist000000", vpc_name="x")),
        "InvalidVpcId.NotFound", 404)
    h.expect_tea_error(lambda: vpc.modify_vswitch_attribute(
        m.ModifyVSwitchAttributeRequest(region_id=R, v_switch_id="vsw-bp1doesnotexist00000", v_switch_name="x")),
        "InvalidVSwitchId.NotFound", 404)
    assert vpc_attribute(vpc, vpc_id).vpc_name == unique
