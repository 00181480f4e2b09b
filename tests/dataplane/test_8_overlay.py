"""Several hosts: three simulated hosts in two zones (scripts/simhosts.py), each a namespace
running its own `eni agent`, joined by a private underlay. Instances of one VPC on different
hosts talk over the VPC's VXLAN overlay; every check is a real packet between namespaces the
test made.
"""

import os
import subprocess
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


def open_network(api):
    """A VPC with one vSwitch (10.0.1.0/24, cn-hangzhou-h) and a group open to all IPv4."""
    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    sg = api.group(v)
    api.authorize(sg, ip_protocol="ALL", port_range="-1/-1", source_cidr_ip="0.0.0.0/0")
    return v, sw, sg


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
    # Each host's agent serves the metadata of its own instances, IPv6 included.
    for inst in (a, b, x):
        assert d.imds_get(inst, "/latest/meta-data/instance-id") == (200, inst)
        mac = api.primary_eni(inst).mac_address.lower()
        got = d.imds_get(inst, f"/latest/meta-data/network/interfaces/macs/{mac}/ipv6s")
        assert got == (200, f"[{six[inst]}]"), (inst, got)
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
    v, sw, sg = open_network(api)
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


def answered(ns: str, target: str, proto: str = "udp") -> bool:
    """One ask; no route yet (the agent has not converged) counts as no answer."""
    try:
        return d.ask_one(ns, target, "probe", proto=proto, tries=1, timeout=0.2) is not None
    except AssertionError:
        return False


def settles(ns: str, target: str, open_: bool, proto: str = "udp", timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while answered(ns, target, proto) != open_:
        assert time.monotonic() < deadline, f"{ns} -> {target} ({proto}): still {'closed' if open_ else 'open'}"


def test_security_groups_hold_across_hosts(cluster, procs):
    c, api = cluster, cluster.api
    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    web, clients, others = api.group(v), api.group(v), api.group(v)
    server = api.instance(sw, web, host=c.host_id(1))
    client = api.instance(sw, clients, host=c.host_id(3))
    stranger = api.instance(sw, others, host=c.host_id(3))
    sip = api.ip_of(server)
    procs.echo(server, "S")
    # Nothing authorized: the server's ingress drops everything, from any host.
    for proto in ("udp", "tcp"):
        assert d.ask_one(client, sip, proto=proto, tries=1) is None, proto
    # A rule naming the clients' group matches its member on another host, and no one else.
    api.authorize(web, ip_protocol="UDP", port_range=f"{d.UDP_PORT}/{d.UDP_PORT}", source_group_id=clients)
    settles(client, sip, open_=True)
    assert d.ask_one(stranger, sip, tries=1) is None
    assert d.ask_one(client, sip, proto="tcp", tries=1) is None

    # InnerAccessPolicy: members of one group on different hosts reach each other with no
    # rule while it is Accept, and not once it is Drop.
    inner = api.group(v)
    p = api.instance(sw, inner, host=c.host_id(1))
    q = api.instance(sw, inner, host=c.host_id(3))
    procs.echo(q, "Q")
    api.inner_policy(inner, "Accept")
    settles(p, api.ip_of(q), open_=True)
    api.inner_policy(inner, "Drop")
    settles(p, api.ip_of(q), open_=False)


def test_eips_answer_from_every_hosts_internet(cluster, procs):
    c, api = cluster, cluster.api
    v = api.vpc("10.0.0.0/16")
    sw_h, sw_i = api.vswitch(v, "10.0.1.0/24"), api.vswitch(v, "10.0.2.0/24", "cn-hangzhou-i")
    sg = api.group(v)
    for proto, ports in (("UDP", f"{d.UDP_PORT}/{d.UDP_PORT}"), ("ICMP", "-1/-1")):
        api.authorize(sg, ip_protocol=proto, port_range=ports, source_cidr_ip="0.0.0.0/0")
    a = api.instance(sw_h, sg, host=c.host_id(1))
    b = api.instance(sw_h, sg, host=c.host_id(3))
    x = api.instance(sw_i, sg)  # on h2, no EIP
    procs.echo(a, "A", tcp_port=None)
    procs.echo(b, "B", tcp_port=None)
    (ea_id, ea), (eb_id, eb) = api.eip(), api.eip()
    api.associate(ea_id, a)
    api.associate(eb_id, b)
    # The NAT is on the instance's host only.
    def natted(k):
        out = d.ip("netns", "exec", c.router(k, v), "nft", "list", "map", "inet", "eni_sg", "eip_dnat", check=False)
        return out.stdout if out.returncode == 0 else ""
    assert ea in natted(1) and eb not in natted(1)
    assert eb in natted(3) and ea not in natted(3)
    assert natted(2) == ""
    # Every host's internet reaches both EIPs (h2 NATs none): one internet.
    for k in (1, 2, 3):
        inet = f"{c.hosts.agent_prefix(k)}inet"
        settles(inet, eb, open_=True)
        for eip, tag, ip_ in ((ea, "A", api.ip_of(a)), (eb, "B", api.ip_of(b))):
            assert d.ask_one(inet, eip, f"from-h{k}") == f"{tag}|{ip_}|from-h{k}", (k, eip)
            assert d.ping(inet, eip, count=1) == 1, (k, eip)
    # a, on h1, reaches b's EIP on h3: it leaves as its own EIP from h1 and comes back.
    settles(a, eb, open_=True)
    assert d.tag_of(d.ask_one(a, eb, "a-to-b")) == "B"
    # x has no EIP: it does not get out.
    assert d.ask_one(x, eb, tries=1) is None
    # Unassociated: gone from every host's internet.
    api.unassociate(eb_id, b)
    for k in (1, 2, 3):
        settles(f"{c.hosts.agent_prefix(k)}inet", eb, open_=False)


def test_failover_to_another_host_under_a_probe(cluster, procs):
    """An ENI moved through the API from an instance on h1 to one on h3 (detach, wait
    Available, attach, wait InUse), under a 1 ms UDP probe from a client on h2, in another
    zone's vSwitch: the replies switch once from A to B, nothing is lost before the detach call
    or after InUse, and A answers nothing sent after Available."""
    c, api = cluster, cluster.api
    v = api.vpc("10.0.0.0/16")
    sw_h, sw_i = api.vswitch(v, "10.0.1.0/24"), api.vswitch(v, "10.0.2.0/24", "cn-hangzhou-i")
    sg = api.group(v)
    api.authorize(sg, ip_protocol="ALL", port_range="-1/-1", source_cidr_ip="0.0.0.0/0")
    a = api.instance(sw_h, sg, host=c.host_id(1))
    b = api.instance(sw_h, sg, host=c.host_id(3))
    client = api.instance(sw_i, sg)
    assert host_of(c, client) == "h2"
    eni = api.create_eni(sw_h, sg)
    eni_id, vip = eni.network_interface_id, eni.private_ip_address
    api.attach(eni_id, a)
    procs.echo(a, "A", tcp_port=None)
    procs.echo(b, "B", tcp_port=None)
    d.wait_reply(client, vip, lambda r: d.tag_of(r) == "A", timeout=5.0)

    probe = d.Probe(procs, client, vip, interval_ms=1)
    time.sleep(0.3)
    t_call = time.monotonic()
    api.detach(eni_id, a, wait=False)
    t_avail = d.wait_available(api, eni_id)
    attach_s = api.attach(eni_id, b)
    t_inuse = time.monotonic()
    time.sleep(0.5)
    r = probe.stop()
    lost = r.gaps()
    gap_ms = sum(n for _, n in lost) * r.interval * 1e3
    print(f"cross-host failover: {r}; lost {gap_ms:.0f} ms of probes; detach->Available "
          f"{(t_avail - t_call) * 1e3:.0f} ms, attach->InUse {attach_s * 1e3:.0f} ms")
    d.check_move(r, t_call, t_avail, t_inuse)


def test_a_killed_agent_leaves_its_instances_forwarding_and_its_host_under_assessment(cluster, procs):
    """`kill -9` of h1's agent: the kernel state stays, so h1's instances keep talking to other
    hosts; h1 turns UnderAssessment once silent (2 s here); calls about other hosts' instances
    go on; the agent's restart loses no probe and completes what waited for it."""
    c, api = cluster, cluster.api
    v, sw, sg = open_network(api)
    a = api.instance(sw, sg, host=c.host_id(1))
    b = api.instance(sw, sg, host=c.host_id(3))
    ip_a = api.ip_of(a)
    procs.echo(a, "A", tcp_port=None)
    d.wait_reply(b, ip_a, lambda r: d.tag_of(r) == "A", timeout=5.0)
    probe = d.Probe(procs, b, ip_a, interval_ms=1)
    time.sleep(0.2)

    c.hosts.kill_agent(1)
    status = lambda k: next(x.status for x in c.listed() if x.dedicated_host_name == f"h{k}")  # noqa: E731
    d.h.wait_for(lambda: status(1), lambda s: s == "UnderAssessment", timeout=10.0, what="h1 UnderAssessment")
    assert status(3) == "Available"
    # Another host's instance: an ENI attaches as ever (its agent reports).
    other = api.create_eni(sw, sg).network_interface_id
    took = api.attach(other, b)
    assert took < 2.0, f"attach on h3 took {took:.1f} s with h1's agent down"
    # h1's instance: nothing configures it while its agent is away; it waits, Attaching.
    mine = api.create_eni(sw, sg).network_interface_id
    api.attach(mine, a, wait=False)
    time.sleep(0.5)
    assert api.eni_get(mine).status == "Attaching"

    c.hosts.start_agent(1)
    api.wait_eni(mine, "InUse", timeout=10.0)
    d.h.wait_for(lambda: status(1), lambda s: s == "Available", timeout=10.0, what="h1 Available again")
    time.sleep(0.3)
    r = probe.stop()
    print(f"agent kill -9 and restart under a 1 ms probe: {r}")
    assert r.sent > 1000, r
    assert r.lost == 0, f"probes lost while h1's agent was killed and restarted: {r}"
    assert r.runs == ["A"], r


def iperf(client_ns: str, server_ip: str, reverse: bool, port: int = 5201) -> float:
    """Mbit/s iperf3 received over 2 s (TCP) from `client_ns` to `server_ip` (`reverse`: the
    server sends)."""
    import json

    args = ["ip", "netns", "exec", client_ns, "iperf3", "-J", "-c", server_ip, "-p", str(port), "-t", "2"]
    out = subprocess.run(args + (["-R"] if reverse else []), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    return json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"] / 1e6


def test_an_instance_cap_holds_across_hosts(cluster, procs):
    """ecs.t6-c1m2.large is capped at 100 Mbit/s each way (102 400 kbit/s): on h3, talking to
    an uncapped instance on h1 through the overlay, it gets its cap and no more."""
    c, api = cluster, cluster.api
    v, sw, sg = open_network(api)
    server = api.instance(sw, sg, host=c.host_id(1))
    small = api.instance(sw, sg, host=c.host_id(3), instance_type="ecs.t6-c1m2.large")
    srv = subprocess.Popen(["ip", "netns", "exec", server, "iperf3", "-s", "-p", "5201"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.procs.append(srv)
    time.sleep(0.3)
    cap = 102_400 / 1000
    up = iperf(small, api.ip_of(server), reverse=False)
    down = iperf(small, api.ip_of(server), reverse=True)
    print(f"t6 on h3 <-> g7 on h1 over the overlay: upload {up:.1f}, download {down:.1f} Mbit/s (cap {cap:.1f})")
    for what, rate in (("upload", up), ("download", down)):
        assert 0.5 * cap < rate < 1.1 * cap, f"{what}: {rate:.1f} Mbit/s against a cap of {cap:.1f}"


def test_instances_are_placed_on_their_zones_hosts(cluster, procs):
    """Unpinned instances spread over the hosts of their vSwitch's zone (h1 and h3 in
    cn-hangzhou-h, h2 alone in cn-hangzhou-i) and each runs where it was placed; a pin to a host
    of another zone is refused and makes nothing. (A full zone: tests/e2e/test_dedicated_hosts.)"""
    from alibabacloud_ecs20140526 import models as em
    from Tea.exceptions import TeaException

    c, api = cluster, cluster.api
    v = api.vpc("10.0.0.0/16")
    sw_h, sw_i = api.vswitch(v, "10.0.1.0/24"), api.vswitch(v, "10.0.2.0/24", "cn-hangzhou-i")
    sg = api.group(v)
    in_h = [api.instance(sw_h, sg) for _ in range(4)]
    in_i = api.instance(sw_i, sg)
    placed = [host_of(c, i) for i in in_h]
    assert sorted(placed) == ["h1", "h1", "h3", "h3"], placed
    assert host_of(c, in_i) == "h2"
    # Each instance's NIC is where its host's agent put it: in that agent's router's VPC.
    for inst, host in zip(in_h, placed):
        k = int(host[1:])
        router = c.router(k, v)
        port_routes = d.ip_json(router, "route", "show") or []
        # Its port is there, not the overlay.
        assert any(r["dst"] == api.ip_of(inst) and r.get("dev") != "vx" for r in port_routes), (inst, host, port_routes)
    before = len(api.ecs.describe_instances(em.DescribeInstancesRequest(region_id=d.REGION)).body.instances.instance)
    with pytest.raises(TeaException) as e:
        api.instance(sw_h, sg, host=c.host_id(2))
    assert e.value.code == "ResourcesNotInSameZone", e.value
    after = len(api.ecs.describe_instances(em.DescribeInstancesRequest(region_id=d.REGION)).body.instances.instance)
    assert after == before


@pytest.mark.hosts(mtu=1450, underlay_mtu=1500)
def test_agents_given_a_smaller_mtu_fit_vxlan_in_a_1500_byte_underlay(cluster, procs):
    """`eni agent --mtu 1450` over an underlay of 1500: every link it makes is 1450, so the
    largest packet an instance sends (1450 bytes) fits the underlay with VXLAN's 50."""
    c, api = cluster, cluster.api
    v, sw, sg = open_network(api)
    a = api.instance(sw, sg, host=c.host_id(1))
    b = api.instance(sw, sg, host=c.host_id(3))
    assert d.link(a, "eth0")["mtu"] == 1450
    assert d.ip_json(c.router(1, v), "link", "show", "dev", "vx")[0]["mtu"] == 1450
    procs.echo(b, "B")
    # 1422 bytes of payload: 1450 with the headers (the echo's reply is larger and is
    # fragmented by the instance, which is its business).
    big = "y" * 1422
    for proto in ("udp", "tcp"):
        assert d.ask_one(a, api.ip_of(b), big, proto=proto) == f"B|{api.ip_of(b)}|{big}", proto
