"""Several hosts: three simulated hosts in two zones (scripts/simhosts.py), each a namespace
running its own `eni agent`, joined by a private underlay. Instances of one VPC on different
hosts talk over the VPC's VXLAN overlay; every check is a real packet between namespaces the
test made.
"""

import os
import time

import pytest

if os.geteuid() != 0:
    pytest.skip("the data-plane suite needs root (network namespaces)", allow_module_level=True)

import dp_helpers as d  # noqa: E402


@pytest.fixture
def procs(cluster):
    """Programs in namespaces, killed before the cluster goes (this module has no `dp`)."""
    p = d.Procs()
    yield p
    p.kill_all()


def vxlan(ns: str) -> dict | None:
    """`ip -d` details of the router's VXLAN device (VNI `id`, `local`, `learning`...)."""
    got = d.ip_json(ns, "-d", "link", "show", "dev", "vx")
    return got[0]["linkinfo"]["info_data"] if got else None


def host_of(c, instance_id: str) -> str:
    for x in c.listed():
        if instance_id in {i.instance_id for i in x.instances.instance}:
            return x.dedicated_host_name
    return ""


def test_instances_on_different_hosts_talk_over_the_overlay(cluster, procs):
    c, api = cluster, cluster.api
    v = api.vpc("10.0.0.0/16", ipv6=True)
    sw_h = api.vswitch(v, "10.0.1.0/24", "cn-hangzhou-h", ipv6_index=1)
    sw_i = api.vswitch(v, "10.0.2.0/24", "cn-hangzhou-i", ipv6_index=2)
    sg = api.group(v)
    api.authorize(sg, ip_protocol="ALL", port_range="-1/-1", source_cidr_ip="0.0.0.0/0")
    api.authorize(sg, ip_protocol="ALL", port_range="-1/-1", ipv_6source_cidr_ip="::/0")
    a = api.instance(sw_h, sg, host=c.host_id(1))
    b = api.instance(sw_h, sg, host=c.host_id(3))
    x = api.instance(sw_i, sg)  # zone i has one host: h2
    assert (host_of(c, a), host_of(c, b), host_of(c, x)) == ("h1", "h3", "h2")
    # Each host has a router for the VPC, with one VXLAN device: the VPC's VNI, its own
    # underlay address as the tunnels' source.
    vnis = set()
    for k in (1, 2, 3):
        info = vxlan(c.router(k, v))
        assert info is not None, d.ip_json(c.router(k, v), "link")
        assert info["local"] == c.hosts.address(k) and info["learning"] is False
        vnis.add(info["id"])
    assert len(vnis) == 1

    six = {}
    for inst in (a, b, x):
        (six[inst],) = api.assign_ipv6(api.primary_eni(inst).network_interface_id, 1)
        d.h.wait_for(lambda: d.link_ipv6(d.link(inst, "eth0")), lambda got: got == [(six[inst], 64)],
                     timeout=5.0, step=0.02, what=f"{six[inst]} on {inst}")
        procs.echo(inst, inst, v6=True)
    pairs = [(a, b), (b, a), (a, x), (x, b)]
    for src, dst in pairs:
        for target in (api.ip_of(dst), six[dst]):
            d.wait_reply(src, target, lambda r: r is not None, timeout=5.0, what=f"{src} -> {target}")
            for proto in ("udp", "tcp"):
                assert d.ask_one(src, target, "hi", proto=proto) == f"{dst}|{target}|hi", (src, target, proto)
            assert d.ping(src, target, count=2) == 2, (src, target)
    # A full-size datagram crosses too (1472 bytes of payload: 1500 on the wire, 1550 with
    # VXLAN on the underlay).
    big = "x" * 1472
    for proto in ("udp", "tcp"):
        assert d.ask_one(a, api.ip_of(b), big, proto=proto) == f"{b}|{api.ip_of(b)}|{big}", proto
    # What the agents set up (VXLAN devices, forwarding entries, onlink routes) reads back as
    # set: their resyncs (every 2 s) find nothing to change.
    settled = {k: len(c.agent_log(k)) for k in (1, 2, 3)}
    time.sleep(2.5)
    for k in (1, 2, 3):
        assert "data plane converged" not in c.agent_log(k)[settled[k]:], c.agent_log(k)[settled[k]:]


def test_overlapping_vpcs_on_the_same_hosts_never_meet(cluster, procs):
    c, api = cluster, cluster.api
    va, vb = api.vpc("10.0.0.0/16"), api.vpc("10.0.0.0/16")
    sw_a, sw_b = api.vswitch(va, "10.0.1.0/24"), api.vswitch(vb, "10.0.1.0/24")
    sg_a, sg_b = api.group(va), api.group(vb)
    for g in (sg_a, sg_b):
        api.authorize(g, ip_protocol="ALL", port_range="-1/-1", source_cidr_ip="0.0.0.0/0")
    # Each VPC has 10.0.1.10 on h1 and a client on h3.
    a_twin = api.instance(sw_a, sg_a, private_ip="10.0.1.10", host=c.host_id(1))
    b_twin = api.instance(sw_b, sg_b, private_ip="10.0.1.10", host=c.host_id(1))
    a_only = api.instance(sw_a, sg_a, private_ip="10.0.1.20", host=c.host_id(1))
    a_cli = api.instance(sw_a, sg_a, host=c.host_id(3))
    b_cli = api.instance(sw_b, sg_b, host=c.host_id(3))
    for inst, tag in ((a_twin, "A"), (b_twin, "B"), (a_only, "A-only")):
        procs.echo(inst, tag)
    d.wait_reply(a_cli, "10.0.1.10", lambda r: r is not None, timeout=5.0)
    d.wait_reply(b_cli, "10.0.1.10", lambda r: r is not None, timeout=5.0)
    for proto in ("udp", "tcp"):
        got = d.ask(a_cli, [("10.0.1.10", f"n{k}") for k in range(10)], proto=proto)
        assert {d.tag_of(r) for r in got.values()} == {"A"}, got
        got = d.ask(b_cli, [("10.0.1.10", f"n{k}") for k in range(10)], proto=proto)
        assert {d.tag_of(r) for r in got.values()} == {"B"}, got
        assert d.ask_one(b_cli, "10.0.1.20", proto=proto, tries=1) is None
    assert d.ping(b_cli, "10.0.1.20", count=1) == 0
    # Different VNIs on the same underlay.
    assert vxlan(c.router(1, va))["id"] != vxlan(c.router(1, vb))["id"]


def test_an_eni_moved_to_another_host_keeps_its_mac_and_addresses(cluster, procs):
    c, api = cluster, cluster.api
    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    sg = api.group(v)
    api.authorize(sg, ip_protocol="ALL", port_range="-1/-1", source_cidr_ip="0.0.0.0/0")
    on1 = api.instance(sw, sg, host=c.host_id(1))
    on3 = api.instance(sw, sg, host=c.host_id(3))
    client = api.instance(sw, sg, host=c.host_id(1))
    eni = api.create_eni(sw, sg, secondary=1)
    e = eni.network_interface_id
    ips = api.eni_ips(e)
    api.attach(e, on1)
    procs.echo(on1, "one")
    procs.echo(on3, "three")
    for ip_ in ips:
        d.wait_reply(client, ip_, lambda r: d.tag_of(r) == "one", timeout=5.0)
    # Detach from h1's instance, attach to h3's: same MAC, same addresses, now answered on h3.
    t0 = time.monotonic()
    api.detach(e, on1)
    api.attach(e, on3)
    for ip_ in ips:
        reply, _ = d.wait_reply(client, ip_, lambda r: d.tag_of(r) == "three", timeout=5.0)
    took = time.monotonic() - t0
    print(f"cross-host move, API detach+attach to first answer: {took * 1000:.0f} ms")
    n = api.device_index(e)
    nic = d.link(on3, f"eth{n}")
    assert nic["address"] == eni.mac_address
    assert sorted(d.link_ipv4(nic)) == sorted(ips)
    assert d.link(on1, f"eth{n}") is None
    for proto in ("udp", "tcp"):
        got = d.ask(client, [(ip_, f"p{k}") for ip_ in ips for k in range(3)], proto=proto)
        assert {d.tag_of(r) for r in got.values()} == {"three"}, got
