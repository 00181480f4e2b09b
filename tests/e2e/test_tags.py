"""TagResources, UntagResources / UnTagResources and ListTagResources, in ECS's spelling
(instance, eni, securitygroup) and the VPC API's (VPC, VSWITCH, EIP): what Terraform sends to
change tags and what it reads on every alicloud_ecs_network_interface refresh; the Describe
calls show and filter by the same tags."""

from alibabacloud_ecs20140526 import models as em
from alibabacloud_vpc20160428 import models as vm

import e2e_helpers as h

R = h.REGION


def ecs_tags(pairs):
    return [em.TagResourcesRequestTag(key=k, value=v) for k, v in pairs]


def listed(ecs, kind, ids=None, tags=None, token=None):
    req = em.ListTagResourcesRequest(region_id=R, resource_type=kind, resource_id=ids, next_token=token,
                                     tag=[em.ListTagResourcesRequestTag(key=k, value=v) for k, v in (tags or [])] or None)
    body = ecs.list_tag_resources(req).body
    return [(t.resource_id, t.resource_type, t.tag_key, t.tag_value) for t in body.tag_resources.tag_resource], body.next_token


def test_eni_tags_as_terraform_changes_and_reads_them(ecs, cloud, unique):
    vpc_id = cloud.vpc("10.56.0.0/16")
    vsw = cloud.vswitch(vpc_id, "10.56.1.0/24")
    sg = cloud.group(vpc_id)
    eni = cloud.eni(vsw, [sg]).network_interface_id
    ecs.tag_resources(em.TagResourcesRequest(region_id=R, resource_type="eni", resource_id=[eni],
                                             tag=ecs_tags([("team", unique), ("env", "test")])))
    rows, token = listed(ecs, "eni", ids=[eni])
    assert sorted(rows) == sorted([(eni, "eni", "team", unique), (eni, "eni", "env", "test")]) and token == ""
    # DescribeNetworkInterfaces filters and shows the same tags.
    found = ecs.describe_network_interfaces(em.DescribeNetworkInterfacesRequest(
        region_id=R, tag=[em.DescribeNetworkInterfacesRequestTag(key="team", value=unique)])).body
    assert [n.network_interface_id for n in found.network_interface_sets.network_interface_set] == [eni]
    # A key it has takes the new value; UntagResources removes by key, then all.
    ecs.tag_resources(em.TagResourcesRequest(region_id=R, resource_type="eni", resource_id=[eni],
                                             tag=ecs_tags([("env", "prod")])))
    assert (eni, "eni", "env", "prod") in listed(ecs, "eni", ids=[eni])[0]
    ecs.untag_resources(em.UntagResourcesRequest(region_id=R, resource_type="eni", resource_id=[eni], tag_key=["env"]))
    assert listed(ecs, "eni", ids=[eni])[0] == [(eni, "eni", "team", unique)]
    # Found by tag alone.
    assert listed(ecs, "eni", tags=[("team", unique)])[0] == [(eni, "eni", "team", unique)]
    ecs.untag_resources(em.UntagResourcesRequest(region_id=R, resource_type="eni", resource_id=[eni], all=True))
    assert listed(ecs, "eni", ids=[eni])[0] == []
    # Bad input: an unknown resource (nothing changes), an unknown type, too many tags.
    h.expect_tea_error(lambda: ecs.tag_resources(em.TagResourcesRequest(
        region_id=R, resource_type="eni", resource_id=[eni, "eni-bp1doesnotexist0000"], tag=ecs_tags([("a", "b")]))),
        "InvalidResourceId.NotFound", 404)
    assert listed(ecs, "eni", ids=[eni])[0] == []
    h.expect_tea_error(lambda: ecs.tag_resources(em.TagResourcesRequest(
        region_id=R, resource_type="toaster", resource_id=[eni], tag=ecs_tags([("a", "b")]))),
        "InvalidResourceType.NotFound", 404)
    ecs.tag_resources(em.TagResourcesRequest(region_id=R, resource_type="eni", resource_id=[eni],
                                             tag=ecs_tags([(f"k{i}", "v") for i in range(15)])))
    h.expect_tea_error(lambda: ecs.tag_resources(em.TagResourcesRequest(
        region_id=R, resource_type="eni", resource_id=[eni], tag=ecs_tags([(f"x{i}", "v") for i in range(6)]))),
        "QuotaExceed.Tags", 403)
    assert len(listed(ecs, "eni", ids=[eni])[0]) == 15


def test_instance_and_group_tags_show_in_their_describe_calls(ecs, cloud, unique):
    vpc_id = cloud.vpc("10.57.0.0/16")
    vsw = cloud.vswitch(vpc_id, "10.57.1.0/24")
    sg = cloud.group(vpc_id)
    inst = cloud.instance(vsw, [sg])
    ecs.tag_resources(em.TagResourcesRequest(region_id=R, resource_type="instance", resource_id=[inst],
                                             tag=ecs_tags([("owner", unique)])))
    ecs.tag_resources(em.TagResourcesRequest(region_id=R, resource_type="securitygroup", resource_id=[sg],
                                             tag=ecs_tags([("owner", unique)])))
    i = cloud.instance_get(inst)
    assert [(t.tag_key, t.tag_value) for t in i.tags.tag] == [("owner", unique)]
    (g,) = ecs.describe_security_groups(em.DescribeSecurityGroupsRequest(
        region_id=R, security_group_id=sg)).body.security_groups.security_group
    assert [(t.tag_key, t.tag_value) for t in g.tags.tag] == [("owner", unique)]
    assert listed(ecs, "instance", tags=[("owner", unique)])[0] == [(inst, "instance", "owner", unique)]


def test_vpc_spelling_for_vpcs_vswitches_and_eips(vpc, res, unique):
    vpc_id = res.vpc(cidr_block="10.58.0.0/16")
    vsw = res.vswitch(vpc_id, "10.58.1.0/24")
    tag = [vm.TagResourcesRequestTag(key="stack", value=unique)]
    vpc.tag_resources(vm.TagResourcesRequest(region_id=R, resource_type="VPC", resource_id=[vpc_id], tag=tag))
    vpc.tag_resources(vm.TagResourcesRequest(region_id=R, resource_type="VSWITCH", resource_id=[vsw], tag=tag))
    got = vpc.list_tag_resources(vm.ListTagResourcesRequest(region_id=R, resource_type="VPC", resource_id=[vpc_id])).body
    assert [(t.resource_id, t.resource_type, t.tag_key, t.tag_value) for t in got.tag_resources.tag_resource] == \
        [(vpc_id, "VPC", "stack", unique)]
    (v,) = vpc.describe_vpcs(vm.DescribeVpcsRequest(region_id=R, vpc_id=vpc_id)).body.vpcs.vpc
    assert [(t.key, t.value) for t in v.tags.tag] == [("stack", unique)]
    vpc.un_tag_resources(vm.UnTagResourcesRequest(region_id=R, resource_type="VSWITCH", resource_id=[vsw],
                                                  tag_key=["stack"]))
    got = vpc.list_tag_resources(vm.ListTagResourcesRequest(region_id=R, resource_type="VSWITCH", resource_id=[vsw])).body
    assert got.tag_resources.tag_resource == []
    eip = vpc.allocate_eip_address(vm.AllocateEipAddressRequest(region_id=R)).body.allocation_id
    try:
        vpc.tag_resources(vm.TagResourcesRequest(region_id=R, resource_type="EIP", resource_id=[eip], tag=tag))
        (e,) = vpc.describe_eip_addresses(vm.DescribeEipAddressesRequest(
            region_id=R, allocation_id=eip)).body.eip_addresses.eip_address
        assert [(t.key, t.value) for t in e.tags.tag] == [("stack", unique)]
    finally:
        vpc.release_eip_address(vm.ReleaseEipAddressRequest(region_id=R, allocation_id=eip))
    h.expect_tea_error(lambda: vpc.list_tag_resources(vm.ListTagResourcesRequest(region_id=R, resource_type="VPC")),
                       "MissingParameter", 400)


def test_describe_tags_of_one_resource(ecs, cloud, unique):
    vpc_id = cloud.vpc("10.59.0.0/16")
    sg = cloud.group(vpc_id)
    ecs.tag_resources(em.TagResourcesRequest(region_id=R, resource_type="securitygroup", resource_id=[sg],
                                             tag=ecs_tags([("owner", unique), ("env", "ci")])))
    body = ecs.describe_tags(em.DescribeTagsRequest(region_id=R, resource_type="securitygroup", resource_id=sg)).body
    got = sorted((t.tag_key, t.tag_value, t.resource_type_count.securitygroup) for t in body.tags.tag)
    assert got == [("env", "ci", 1), ("owner", unique, 1)] and body.total_count == 2
    narrowed = ecs.describe_tags(em.DescribeTagsRequest(region_id=R, resource_type="securitygroup", resource_id=sg,
                                                        tag=[em.DescribeTagsRequestTag(key="env")])).body
    assert [t.tag_key for t in narrowed.tags.tag] == ["env"]
    # Terraform's alicloud_images asks for each image's tags: there are none.
    image = ecs.describe_tags(em.DescribeTagsRequest(region_id=R, resource_type="image",
                                                     resource_id="aliyun_3_x64_20G_alibase_20240101.vhd")).body
    assert image.tags.tag == [] and image.total_count == 0


def test_modify_security_group_rule_description(ecs, cloud):
    vpc_id = cloud.vpc("10.61.0.0/16")
    sg = cloud.group(vpc_id)
    rule = dict(ip_protocol="tcp", port_range="443/443", source_cidr_ip="10.0.0.0/8", policy="accept",
                priority="1", nic_type="intranet")
    ecs.authorize_security_group(em.AuthorizeSecurityGroupRequest(
        region_id=R, security_group_id=sg, permissions=[em.AuthorizeSecurityGroupRequestPermissions(
            description="before", **rule)]))
    # Terraform's update: the permission names the rule, Description is the new one.
    ecs.modify_security_group_rule(em.ModifySecurityGroupRuleRequest(
        region_id=R, security_group_id=sg, description="after", **rule))

    def perms():
        return ecs.describe_security_group_attribute(em.DescribeSecurityGroupAttributeRequest(
            region_id=R, security_group_id=sg)).body.permissions.permission

    (p,) = perms()
    assert (p.description, p.port_range) == ("after", "443/443")
    # By rule ID.
    ecs.modify_security_group_rule(em.ModifySecurityGroupRuleRequest(
        region_id=R, security_group_id=sg, security_group_rule_id=p.security_group_rule_id, description="by id"))
    assert perms()[0].description == "by id"
    # By rule ID any field changes, checked as AuthorizeSecurityGroup checks it; the rule
    # keeps its ID. The remote side is replaced as one (a CIDR by a group here).
    ecs.modify_security_group_rule(em.ModifySecurityGroupRuleRequest(
        region_id=R, security_group_id=sg, security_group_rule_id=p.security_group_rule_id,
        port_range="8443/8444", priority="5"))
    (q,) = perms()
    assert (q.security_group_rule_id, q.port_range, q.priority, q.source_cidr_ip, q.description) == \
        (p.security_group_rule_id, "8443/8444", "5", "10.0.0.0/8", "by id")
    other = cloud.group(vpc_id)
    ecs.modify_security_group_rule(em.ModifySecurityGroupRuleRequest(
        region_id=R, security_group_id=sg, security_group_rule_id=p.security_group_rule_id, source_group_id=other))
    (q,) = perms()
    assert (q.source_group_id, q.source_cidr_ip) == (other, "")
    h.expect_tea_error(lambda: ecs.modify_security_group_rule(em.ModifySecurityGroupRuleRequest(
        region_id=R, security_group_id=sg, security_group_rule_id=p.security_group_rule_id, port_range="0/99999")),
        "InvalidPortRange.Malformed", 400)
    # Made the same as another rule: refused, nothing changed.
    ecs.authorize_security_group(em.AuthorizeSecurityGroupRequest(
        region_id=R, security_group_id=sg, permissions=[em.AuthorizeSecurityGroupRequestPermissions(
            ip_protocol="tcp", port_range="22/22", source_cidr_ip="10.0.0.0/8", policy="accept", priority="1")]))
    h.expect_tea_error(lambda: ecs.modify_security_group_rule(em.ModifySecurityGroupRuleRequest(
        region_id=R, security_group_id=sg, security_group_rule_id=p.security_group_rule_id,
        port_range="22/22", priority="1", source_cidr_ip="10.0.0.0/8")), "InvalidParam.DuplicatePermissions", 400)
    assert sorted(x.port_range for x in perms()) == ["22/22", "8443/8444"]
    # A rule with no description changes by ID too; another protocol takes its own ports.
    ecs.authorize_security_group(em.AuthorizeSecurityGroupRequest(
        region_id=R, security_group_id=sg, permissions=[em.AuthorizeSecurityGroupRequestPermissions(
            ip_protocol="udp", port_range="53/53", source_cidr_ip="192.168.0.0/16", policy="accept", priority="2")]))
    (bare,) = [x for x in perms() if x.port_range == "53/53"]
    ecs.modify_security_group_rule(em.ModifySecurityGroupRuleRequest(
        region_id=R, security_group_id=sg, security_group_rule_id=bare.security_group_rule_id, ip_protocol="ALL"))
    (bare,) = [x for x in perms() if x.security_group_rule_id == bare.security_group_rule_id]
    assert (bare.ip_protocol, bare.port_range, bare.description) == ("ALL", "-1/-1", "")
    # No such rule.
    h.expect_tea_error(lambda: ecs.modify_security_group_rule(em.ModifySecurityGroupRuleRequest(
        region_id=R, security_group_id=sg, description="x", **{**rule, "port_range": "80/80"})),
        "InvalidSecurityGroupRuleId.NotFound", 404)


def test_join_resource_group(ecs, cloud):
    vpc_id = cloud.vpc("10.66.0.0/16")
    sg = cloud.group(vpc_id)
    rg = "rg-acfmzjoinedbyterraform"
    ecs.join_resource_group(em.JoinResourceGroupRequest(region_id=R, resource_type="securitygroup",
                                                        resource_id=sg, resource_group_id=rg))
    (g,) = ecs.describe_security_groups(em.DescribeSecurityGroupsRequest(
        region_id=R, security_group_id=sg)).body.security_groups.security_group
    assert g.resource_group_id == rg
    h.expect_tea_error(lambda: ecs.join_resource_group(em.JoinResourceGroupRequest(
        region_id=R, resource_type="securitygroup", resource_id="sg-bp1doesnotexist0000", resource_group_id=rg)),
        "InvalidResourceId.NotFound", 404)
    h.expect_tea_error(lambda: ecs.join_resource_group(em.JoinResourceGroupRequest(
        region_id=R, resource_type="securitygroup", resource_id=sg, resource_group_id="not a group")),
        "InvalidParameter", 400)


def test_system_disk_labels_as_terraform_sets_them(server, legacy, ecs, cloud, unique):
    """alicloud_instance's system_disk_name/description (RunInstances, then ModifyDiskAttribute
    without RegionId) and volume_tags (DescribeDisks InstanceId, then old-SDK TagResources
    ResourceType=disk), each read back through DescribeDisks as the refresh does."""
    import json

    vpc_id = cloud.vpc("10.64.0.0/16")
    vsw = cloud.vswitch(vpc_id, "10.64.1.0/24")
    sg = cloud.group(vpc_id)
    inst = cloud.instance(vsw, [sg], system_disk=em.RunInstancesRequestSystemDisk(
        disk_name="rootdisk", description="the root"))

    def disk():
        (d,) = ecs.describe_disks(em.DescribeDisksRequest(region_id=R, instance_id=inst, disk_type="system")).body.disks.disk
        return d

    d = disk()
    assert (d.disk_name, d.description, d.tags.tag) == ("rootdisk", "the root", [])
    old = lambda action, **kw: json.loads(legacy.do_action_with_exception(  # noqa: E731
        h.legacy_request(server.endpoint, action, version=h.ECS_VERSION, **kw)))
    old("ModifyDiskAttribute", DiskId=d.disk_id, DiskName=unique, Description="renamed")
    old("TagResources", RegionId=R, ResourceType="disk", **{"ResourceId.1": d.disk_id, "Tag.1.Key": "vol",
                                                           "Tag.1.Value": unique})
    d = disk()
    assert (d.disk_name, d.description) == (unique, "renamed")
    assert [(t.tag_key, t.tag_value) for t in d.tags.tag] == [("vol", unique)]
    rows, token = listed(ecs, "disk", ids=[d.disk_id])
    assert rows == [(d.disk_id, "disk", "vol", unique)] and token == ""
    # Found by tag alone (a page of the account's disks at a time, filtered: follow the token).
    found, token = listed(ecs, "disk", tags=[("vol", unique)])
    while token:
        more, token = listed(ecs, "disk", tags=[("vol", unique)], token=token)
        found += more
    assert found == [(d.disk_id, "disk", "vol", unique)]
    # The instance's own tags are apart from its disk's.
    assert listed(ecs, "instance", ids=[inst])[0] == []
    tags = ecs.describe_tags(em.DescribeTagsRequest(region_id=R, resource_type="disk", resource_id=d.disk_id)).body
    assert [(t.tag_key, t.resource_type_count.disk) for t in tags.tags.tag] == [("vol", 1)]
    ecs.untag_resources(em.UntagResourcesRequest(region_id=R, resource_type="disk", resource_id=[d.disk_id],
                                                 tag_key=["vol"]))
    assert disk().tags.tag == []
    # Bad input.
    h.expect_tea_error(lambda: ecs.modify_disk_attribute(em.ModifyDiskAttributeRequest(
        disk_id="d-bp1doesnotexist00000", disk_name="abc")), "InvalidDiskId.NotFound", 404)
    h.expect_tea_error(lambda: ecs.modify_disk_attribute(em.ModifyDiskAttributeRequest(
        disk_id=d.disk_id, disk_name="1bad")), "InvalidDiskName.Malformed", 400)
    h.expect_tea_error(lambda: ecs.modify_disk_attribute(em.ModifyDiskAttributeRequest(
        disk_id=d.disk_id, delete_with_instance=False)), "InvalidParameter", 400)
    h.expect_tea_error(lambda: ecs.tag_resources(em.TagResourcesRequest(
        region_id=R, resource_type="disk", resource_id=["d-bp1doesnotexist00000"], tag=ecs_tags([("a", "b")]))),
        "InvalidResourceId.NotFound", 404)
    h.expect_tea_error(lambda: cloud.instance(vsw, [sg], system_disk=em.RunInstancesRequestSystemDisk(
        disk_name="http://x")), "InvalidDiskName.Malformed", 400)
    assert disk().disk_name == unique


def test_route_table_labels(vpc, res, unique):
    """alicloud_vpc's system_route_table_name/description (ModifyRouteTableAttributes) and the
    route table's tags (VPC spelling, ROUTETABLE), read back through DescribeRouteTableList."""
    vpc_id = res.vpc(cidr_block="10.65.0.0/16")

    def table(**kw):
        body = vpc.describe_route_table_list(vm.DescribeRouteTableListRequest(region_id=R, vpc_id=vpc_id, **kw)).body
        return body.router_table_list.router_table_list_type

    (t,) = table()
    assert (t.route_table_name, t.description, t.tags.tag) == ("", "", [])
    vpc.modify_route_table_attributes(vm.ModifyRouteTableAttributesRequest(
        region_id=R, route_table_id=t.route_table_id, route_table_name=unique, description="main table"))
    vpc.tag_resources(vm.TagResourcesRequest(region_id=R, resource_type="ROUTETABLE", resource_id=[t.route_table_id],
                                             tag=[vm.TagResourcesRequestTag(key="rt", value=unique)]))
    (t,) = table()
    assert (t.route_table_name, t.description) == (unique, "main table")
    assert [(x.key, x.value) for x in t.tags.tag] == [("rt", unique)]
    assert len(table(route_table_name=unique)) == 1 and table(route_table_name="other") == []
    got = vpc.list_tag_resources(vm.ListTagResourcesRequest(
        region_id=R, resource_type="ROUTETABLE", tag=[vm.ListTagResourcesRequestTag(key="rt", value=unique)])).body
    assert [(x.resource_id, x.resource_type) for x in got.tag_resources.tag_resource] == [(t.route_table_id, "ROUTETABLE")]
    # The VPC's own name and tags are apart.
    (v,) = vpc.describe_vpcs(vm.DescribeVpcsRequest(region_id=R, vpc_id=vpc_id)).body.vpcs.vpc
    assert v.tags.tag == [] and v.vpc_name != unique
    h.expect_tea_error(lambda: vpc.modify_route_table_attributes(vm.ModifyRouteTableAttributesRequest(
        region_id=R, route_table_id="vtb-bp1doesnotexist0000", route_table_name="x")),
        "InvalidRouteTableId.NotFound", 404)
    h.expect_tea_error(lambda: vpc.modify_route_table_attributes(vm.ModifyRouteTableAttributesRequest(
        region_id=R, route_table_id=t.route_table_id, route_propagation_enable=False)), "InvalidParameter", 400)
