"""EIPs in the data plane: NAT between the simulated internet and an ENI's private address.

The simulated internet is the namespace `<prefix>inet`. An EIP associated with an instance
(or ENI) answers there, translated to the private address, and what that address starts
towards the internet leaves as the EIP; addresses without an EIP cannot reach the internet.
Traffic from the internet still passes the ENI's security groups.
"""

import os
import time

import pytest

if os.geteuid() != 0:
    pytest.skip("the data-plane suite needs root (network namespaces)", allow_module_level=True)

import dp_helpers as d  # noqa: E402


def settles(ns: str, target: str, open_: bool, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while (d.ask_one(ns, target, "probe", tries=1, timeout=0.2) is not None) != open_:
        assert time.monotonic() < deadline, f"{ns} -> {target}: still {'closed' if open_ else 'open'}"


def open_to_the_internet(api, group: str):
    for proto, ports in (("UDP", f"{d.UDP_PORT}/{d.UDP_PORT}"), ("ICMP", "-1/-1")):
        api.authorize(group, ip_protocol=proto, port_range=ports, source_cidr_ip="0.0.0.0/0")


def test_an_eip_reaches_its_instance_from_the_internet_and_back(dp, api, procs):
    inet = f"{dp.prefix}inet"
    va, vb = api.vpc("10.0.0.0/16"), api.vpc("10.0.0.0/16")  # overlapping: NAT keeps them apart
    sg_a, sg_b = api.group(va), api.group(vb)
    a = api.instance(api.vswitch(va, "10.0.1.0/24"), sg_a)
    a2 = api.instance(api.vswitch(va, "10.0.2.0/24", "cn-hangzhou-i"), sg_a)
    b = api.instance(api.vswitch(vb, "10.0.1.0/24"), sg_b)
    for g in (sg_a, sg_b):
        open_to_the_internet(api, g)
    procs.echo(a, "A")
    procs.echo(b, "B")
    ip_a = api.ip_of(a)

    eip_a_id, eip_a = api.eip()
    eip_b_id, eip_b = api.eip()
    api.associate(eip_a_id, a)
    # Once InUse, the internet reaches the instance at its EIP (the echo server sees its
    # private address: the router translated it).
    settles(inet, eip_a, open_=True)
    assert d.ask_one(inet, eip_a, "from-the-internet") == f"A|{ip_a}|from-the-internet"
    assert d.ping(inet, eip_a) == 3

    # Another VPC's instance through its own EIP: a's traffic leaves as eip_a (SNAT) and
    # comes back; a2, in a's VPC but without an EIP, does not get out.
    api.associate(eip_b_id, b)
    settles(a, eip_b, open_=True)
    assert d.tag_of(d.ask_one(a, eip_b, "a-to-b")) == "B"
    assert d.ask_one(a2, eip_b, "no-eip", tries=1) is None

    # The security group still decides: without the UDP rule the EIP stops answering UDP.
    (udp_rule,) = [r for r in api.rules(sg_a) if r.ip_protocol == "UDP"]
    api.revoke(sg_a, udp_rule.security_group_rule_id)
    settles(inet, eip_a, open_=False)
    assert d.ping(inet, eip_a, count=1) == 1

    # Unassociated: the EIP leads nowhere.
    api.unassociate(eip_a_id, a)
    deadline = time.monotonic() + 5
    while d.ping(inet, eip_a, count=1, timeout=0.3) != 0:
        assert time.monotonic() < deadline, "the EIP still answers after UnassociateEipAddress"
