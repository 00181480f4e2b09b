"""ModifyNetworkInterfaceAttribute: name, description, the security-group set (replaced, not
merged) and DeleteOnRelease."""

from alibabacloud_ecs20140526 import models as em

import e2e_helpers as h

R = h.REGION
err = h.expect_tea_error


def modify(ecs, eni_id, **kw):
    return lambda: ecs.modify_network_interface_attribute(
        em.ModifyNetworkInterfaceAttributeRequest(region_id=R, network_interface_id=eni_id, **kw)
    )


def groups(a):
    return sorted(a.security_group_ids.security_group_id)


def test_modify_attributes(ecs, cloud, net, unique):
    g3 = cloud.group(net.vpc)
    created = cloud.eni(net.vsw_a, [net.g1], network_interface_name="before", description="old text")
    eni_id = created.network_interface_id

    resp = modify(ecs, eni_id, network_interface_name=unique, description="new text")()
    assert resp.status_code == 200 and resp.body.request_id
    a = cloud.eni_attr(eni_id)
    assert (a.network_interface_name, a.description) == (unique, "new text")
    assert groups(a) == [net.g1] and a.delete_on_release is False

    modify(ecs, eni_id, security_group_id=[net.g2, g3])()
    assert groups(cloud.eni_attr(eni_id)) == sorted([net.g2, g3])  # g1 is gone: replaced
    modify(ecs, eni_id, security_group_id=[net.g1])()
    assert groups(cloud.eni_attr(eni_id)) == [net.g1]

    modify(ecs, eni_id, delete_on_release=True)()
    a = cloud.eni_attr(eni_id)
    assert a.delete_on_release is True
    # Fields not sent are kept.
    assert (a.network_interface_name, a.description, groups(a)) == (unique, "new text", [net.g1])
    modify(ecs, eni_id, delete_on_release=False)()
    assert cloud.eni_get(eni_id).delete_on_release is False

    # The name is searchable under its new value only.
    assert [e.network_interface_id for e in
            cloud.describe_enis(network_interface_name=unique).network_interface_sets.network_interface_set] == [eni_id]
    assert cloud.describe_enis(vpc_id=net.vpc, network_interface_name="before").network_interface_sets.network_interface_set == []


def test_modify_while_attached_and_primary(ecs, cloud, net):
    inst = cloud.instance(net.vsw_a, [net.g1])
    eni_id = cloud.eni(net.vsw_b, [net.g1]).network_interface_id
    cloud.attach(eni_id, inst)
    modify(ecs, eni_id, security_group_id=[net.g2], description="attached")()
    a = cloud.eni_attr(eni_id)
    assert (groups(a), a.description, a.status) == ([net.g2], "attached", "InUse")
    # The primary ENI's groups can change too, and the instance shows them.
    (p,) = cloud.describe_enis(instance_id=inst, type="Primary").network_interface_sets.network_interface_set
    modify(ecs, p.network_interface_id, security_group_id=[net.g1, net.g2])()
    assert sorted(cloud.instance_get(inst).security_group_ids.security_group_id) == sorted([net.g1, net.g2])


def test_modify_refusals(ecs, cloud, net):
    eni_id = cloud.eni(net.vsw_a, [net.g1]).network_interface_id
    other = cloud.vpc("10.9.0.0/16")
    foreign = cloud.group(other)
    err(modify(ecs, eni_id, security_group_id=[foreign]), "InvalidOperation.VpcMismatch", 403)
    err(modify(ecs, eni_id, security_group_id=["sg-doesnotexist000000000"]), "InvalidSecurityGroupId.NotFound", 404)
    six = [net.g1, net.g2] + [cloud.group(net.vpc) for _ in range(4)]
    err(modify(ecs, eni_id, security_group_id=six), "JoinedGroupLimitExceed", 400)
    err(modify(ecs, "eni-doesnotexist000000000", description="xx"), "InvalidEniId.NotFound", 404)
    err(modify(ecs, eni_id, network_interface_name="x"), "InvalidParameter", 400)  # 2 to 128 characters
    err(modify(ecs, eni_id, description="http://example"), "InvalidParameter", 400)
    a = cloud.eni_attr(eni_id)
    assert groups(a) == [net.g1] and a.network_interface_name == "" and a.description == ""
    modify(ecs, eni_id, security_group_id=six[:5])()
    assert groups(cloud.eni_attr(eni_id)) == sorted(six[:5])
    # Not while Deleting.
    cloud.delete_eni(eni_id, wait=False)
    err(modify(ecs, eni_id, description="late"), "InvalidOperation.InvalidEniState", 400)
