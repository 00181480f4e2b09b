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


def test_an_eips_bandwidth_caps_its_traffic_both_ways_and_changes_live(dp, api, procs):
    import subprocess
    import threading

    from alibabacloud_vpc20160428 import models as m

    inet = f"{dp.prefix}inet"
    v = api.vpc("10.0.0.0/16")
    sg = api.group(v)
    api.authorize(sg, ip_protocol="TCP", port_range="5201/5201", source_cidr_ip="0.0.0.0/0")
    a = api.instance(api.vswitch(v, "10.0.1.0/24"), sg)
    body = api.vpcc.allocate_eip_address(m.AllocateEipAddressRequest(region_id=d.REGION, bandwidth="20")).body
    eip_id, eip = body.allocation_id, body.eip_address
    api.associate(eip_id, a)
    srv = subprocess.Popen(["ip", "netns", "exec", a, "iperf3", "-s", "-p", "5201"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.procs.append(srv)
    time.sleep(0.3)
    for cap in (20, 40):
        if cap != 20:
            api.vpcc.modify_eip_address_attribute(m.ModifyEipAddressAttributeRequest(
                region_id=d.REGION, allocation_id=eip_id, bandwidth=str(cap)))
            time.sleep(0.5)  # the agent has applied the new rate by now
        to_instance = d.iperf(inet, eip, reverse=False)
        from_instance = d.iperf(inet, eip, reverse=True)
        print(f"EIP at {cap} Mbit/s: in {to_instance:.1f}, out {from_instance:.1f}")
        for what, rate in (("to the instance", to_instance), ("from the instance", from_instance)):
            assert 0.8 * cap < rate < 1.2 * cap, f"{what}: {rate:.1f} Mbit/s against {cap}"
    # A change while a flow runs keeps the flow (the rate changes in place).
    result = {}
    t = threading.Thread(target=lambda: result.update(rate=d.iperf(inet, eip, reverse=True, seconds=4)))
    t.start()
    time.sleep(1.5)
    api.vpcc.modify_eip_address_attribute(m.ModifyEipAddressAttributeRequest(
        region_id=d.REGION, allocation_id=eip_id, bandwidth="10"))
    t.join()
    assert 10 < result["rate"] < 40, result
    # What the agent set reads back as set: its resyncs (every 2 s) find nothing to change.
    assert "data plane converged" in dp.log(), "the server logs its applies"
    settled = len(dp.log())
    time.sleep(2.5)
    assert "data plane converged" not in dp.log()[settled:], dp.log()[settled:]
    api.unassociate(eip_id, a)
