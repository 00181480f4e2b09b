"""Security groups in the data plane: rules set through the official SDK decide, with real
packets between namespaces, what reaches an instance and what leaves it.

The semantics checked are Alibaba's for a basic group: unmatched inbound traffic is dropped,
unmatched outbound allowed, members of one group reach each other while its InnerAccessPolicy
is Accept, rules apply by priority (1 first) with a drop before an accept of the same
priority, and replies of an allowed flow always pass.
"""

import os
import time

import pytest

if os.geteuid() != 0:
    pytest.skip("the data-plane suite needs root (network namespaces)", allow_module_level=True)

import dp_helpers as d  # noqa: E402

UDP, TCP = d.UDP_PORT, d.TCP_PORT


def settles(ns: str, target: str, proto: str, open_: bool, timeout: float = 5.0):
    """Waits until `target` answers (open_) or stops answering (not open_) from `ns`: the agent
    applies a rule change a moment after the API call returns."""
    deadline = time.monotonic() + timeout
    while True:
        got = d.ask_one(ns, target, f"probe-{time.monotonic()}", proto=proto, tries=1, timeout=0.2)
        if (got is not None) == open_:
            return
        assert time.monotonic() < deadline, f"{ns} -> {target} {proto}: still {'closed' if open_ else 'open'}"


def test_rules_decide_what_reaches_an_instance(dp, api, procs):
    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    sw_c = api.vswitch(v, "10.0.2.0/24", "cn-hangzhou-i")
    web, clients = api.group(v), api.group(v)
    server = api.instance(sw, web)
    client = api.instance(sw_c, clients)
    sip, cip = api.ip_of(server), api.ip_of(client)
    procs.echo(server, "S")
    procs.echo(client, "C")

    # Another group and nothing authorized: inbound is dropped both ways (ICMP too), while
    # each side may still send (egress allowed) — it just gets nothing back.
    for proto in ("udp", "tcp"):
        assert d.ask_one(client, sip, "blocked", proto=proto, tries=1) is None, proto
        assert d.ask_one(server, cip, "blocked", proto=proto, tries=1) is None, proto
    assert d.ping(client, sip, count=1) == 0

    # TCP to the echo port from the clients' vSwitch: open, and only that.
    api.authorize(web, ip_protocol="TCP", port_range=f"{TCP}/{TCP}", source_cidr_ip="10.0.2.0/24")
    settles(client, sip, "tcp", open_=True)
    assert d.ask_one(client, sip, "udp-still-closed", tries=1) is None
    # Stateful: the server's replies pass the client's own (empty) ingress rules.
    assert d.ask_one(client, sip, "hi", proto="tcp") == f"S|{sip}|hi"

    # UDP from the members of the clients' group, and ICMP from anywhere.
    api.authorize(web, ip_protocol="UDP", port_range=f"{UDP}/{UDP}", source_group_id=clients)
    api.authorize(web, ip_protocol="ICMP", port_range="-1/-1", source_cidr_ip="0.0.0.0/0")
    settles(client, sip, "udp", open_=True)
    assert d.ping(client, sip) == 3

    # A drop of the same priority wins over the accept; revoking it opens the port again.
    api.authorize(web, ip_protocol="TCP", port_range="1/65535", source_cidr_ip="0.0.0.0/0",
                  policy="drop", priority="1")
    settles(client, sip, "tcp", open_=False)
    (drop,) = [r for r in api.rules(web) if r.policy == "Drop"]
    api.revoke(web, drop.security_group_rule_id)
    settles(client, sip, "tcp", open_=True)

    # Egress: the clients' group may not send UDP to the server (an accept of priority 2 does
    # not outweigh a drop of priority 1).
    api.authorize(clients, egress=True, ip_protocol="UDP", port_range=f"{UDP}/{UDP}",
                  dest_cidr_ip=f"{sip}/32", policy="drop", priority="1")
    api.authorize(clients, egress=True, ip_protocol="ALL", port_range="-1/-1",
                  dest_cidr_ip="0.0.0.0/0", priority="2")
    settles(client, sip, "udp", open_=False)
    assert d.ask_one(client, sip, "tcp-unaffected", proto="tcp") == f"S|{sip}|tcp-unaffected"


def test_members_of_a_group_reach_each_other_while_its_policy_accepts(dp, api, procs):
    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    sg = api.group(v)
    a, b = api.instance(sw, sg), api.instance(sw, sg)
    procs.echo(b, "B")
    ip_b = api.ip_of(b)
    for proto in ("udp", "tcp"):
        assert d.ask_one(a, ip_b, "same-group", proto=proto) == f"B|{ip_b}|same-group", proto

    api.inner_policy(sg, "Drop")
    settles(a, ip_b, "udp", open_=False)
    assert d.ask_one(a, ip_b, "tcp", proto="tcp", tries=1) is None
    # A rule still lets members in (a group cannot name itself: the vSwitch's block).
    api.authorize(sg, ip_protocol="TCP", port_range=f"{TCP}/{TCP}", source_cidr_ip="10.0.1.0/24")
    settles(a, ip_b, "tcp", open_=True)
    api.inner_policy(sg, "Accept")
    settles(a, ip_b, "udp", open_=True)
    # With Accept, rules are ignored between members: even a drop of everything.
    api.authorize(sg, ip_protocol="ALL", port_range="-1/-1", source_cidr_ip="0.0.0.0/0",
                  policy="drop", priority="1")
    api.authorize(sg, egress=True, ip_protocol="ALL", port_range="-1/-1", dest_cidr_ip="0.0.0.0/0",
                  policy="drop", priority="1")
    time.sleep(1.0)  # the agent has long applied the new rules by now
    assert d.ask_one(a, ip_b, "members-first", proto="tcp") == f"B|{ip_b}|members-first"
    assert d.ask_one(a, ip_b, "members-first") == f"B|{ip_b}|members-first"


def test_addresses_of_an_eni_prefix_are_guarded_like_its_ips(dp, api, procs):
    v = api.vpc("10.0.0.0/16")
    sw, sw_c = api.vswitch(v, "10.0.1.0/24"), api.vswitch(v, "10.0.2.0/24", "cn-hangzhou-i")
    web, clients = api.group(v), api.group(v)
    server, client = api.instance(sw, web), api.instance(sw_c, clients)
    prefix = api.assign_prefix(api.primary_eni(server).network_interface_id)
    # The instance's own use of its /28 (as a container runtime would): one address on eth0.
    net = prefix.split("/")[0].rsplit(".", 1)
    inside = f"{net[0]}.{int(net[1]) + 3}"
    d.ip("-n", server, "addr", "add", f"{inside}/32", "dev", "eth0")
    procs.echo(server, "S")
    # Routed to the ENI, but the group lets nothing in yet.
    assert d.ask_one(client, inside, "blocked", proto="tcp", tries=1) is None
    api.authorize(web, ip_protocol="TCP", port_range=f"{TCP}/{TCP}", source_cidr_ip="10.0.2.0/24")
    settles(client, inside, "tcp", open_=True)
    assert d.ask_one(client, inside, "in-prefix", proto="tcp") == f"S|{inside}|in-prefix"
    assert d.ask_one(client, inside, "udp-closed", tries=1) is None
    # The agent's resync (every 2 s) leaves the guest's address alone: it is in the ENI's prefix.
    time.sleep(2.5)
    addrs = [a["local"] for a in d.link(server, "eth0")["addr_info"] if a.get("family") == "inet"]
    assert inside in addrs, addrs
    assert d.ask_one(client, inside, "still", proto="tcp") == f"S|{inside}|still"


def test_joining_and_leaving_a_group_changes_what_reaches_an_instance(dp, api, procs):
    """Terraform's alicloud_instance `security_groups` update (JoinSecurityGroup and
    LeaveSecurityGroup, old SDK) and ModifyInstanceAttribute's SecurityGroupIds.N: the rules of
    the groups the instance is in now decide, within moments of the call."""
    import json

    from alibabacloud_ecs20140526 import models as em

    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    sw_c = api.vswitch(v, "10.0.2.0/24", "cn-hangzhou-i")
    closed, udp_open, clients = api.group(v), api.group(v), api.group(v)
    api.authorize(udp_open, ip_protocol="UDP", port_range=f"{UDP}/{UDP}", source_cidr_ip="10.0.2.0/24")
    server = api.instance(sw, closed)
    client = api.instance(sw_c, clients)
    procs.echo(server, "S")
    ip = api.ip_of(server)
    assert d.ask_one(client, ip, "before", tries=1) is None

    def call(action, **kw):
        req = d.h.legacy_request(dp.srv.endpoint, action, version=d.h.ECS_VERSION, RegionId=d.REGION, **kw)
        return json.loads(d.h.legacy_client(d.h.ROOT_AK, d.h.ROOT_SECRET).do_action_with_exception(req))

    call("JoinSecurityGroup", InstanceId=server, SecurityGroupId=udp_open)
    settles(client, ip, "udp", open_=True)
    call("LeaveSecurityGroup", InstanceId=server, SecurityGroupId=udp_open)
    settles(client, ip, "udp", open_=False)
    api.ecs.modify_instance_attribute(em.ModifyInstanceAttributeRequest(
        instance_id=server, security_group_ids=[udp_open]))
    settles(client, ip, "udp", open_=True)
