"""EIP visible modes in the data plane (docs/eip-binding-modes.md, "On the host").

BINDED: the EIP is the NIC's address (`EIP/32`) in place of the secondary ENI's private
address, which no longer carries traffic; packets are not translated either way, so an echo
server in the instance sees the EIP as the address it was reached at, and the simulated
internet (`<prefix>inet`) sees the EIP as the source of what the instance sends from it.
MULTI_BINDED: every EIP on the NIC beside the private addresses, which still work. Security
groups apply to the EIP itself; an EIP's Bandwidth caps it; the EIPs move with the ENI; a
visible EIP unbinds only while its ENI is detached, after which the NIC carries its private
address again; ModifyEipForwardMode on a detached ENI's EIP changes what the NIC gets at its
next attach; bound to a detached ENI, a visible EIP is InUse at once (nothing to configure).
NAT mode is test_6's; here a NAT EIP only works beside a visible one.

The internet's side of the outgoing checks is `Procs.peer_echo` in `<prefix>inet` at
`d.INTERNET_ADDR`, which replies with the source address it saw. The internet namespace exists
while some EIP is bound: a test that unbinds keeps a NAT EIP bound elsewhere (or stops what
it runs there first).
"""

import os
import time

import pytest

if os.geteuid() != 0:
    pytest.skip("the data-plane suite needs root (network namespaces)", allow_module_level=True)

import dp_helpers as d  # noqa: E402

h = d.h


def open_to_the_internet(api, group: str):
    for proto, ports in (("UDP", f"{d.UDP_PORT}/{d.UDP_PORT}"), ("ICMP", "-1/-1")):
        api.authorize(group, ip_protocol=proto, port_range=ports, source_cidr_ip="0.0.0.0/0")


def settles(ns: str, target: str, open_: bool, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while (d.ask_one(ns, target, "probe", tries=1, timeout=0.2) is not None) != open_:
        assert time.monotonic() < deadline, f"{ns} -> {target}: still {'closed' if open_ else 'open'}"


def port_name(eni_id: str, instance_id: str) -> str:
    """The router's port of an ENI on an instance: `p` + 48 bits of FNV-1a over
    "ENI/INSTANCE" (crates/eni-agent/src/render.rs `port_name`)."""
    x = 0xCBF29CE484222325
    for b in f"{eni_id}/{instance_id}".encode():
        x = ((x ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"p{x & 0xFFFFFFFFFFFF:012x}"


def ipv4_of(ns: str, nic: str) -> list[tuple[str, int]]:
    """(address, prefix length) of each IPv4 address on `nic`, sorted."""
    entry = d.link(ns, nic)
    assert entry is not None, f"no {nic} in {ns}: {d.ip_json(ns, 'addr')}"
    return sorted((a["local"], a["prefixlen"]) for a in entry.get("addr_info", []) if a.get("family") == "inet")


def router_routes_to(router: str, ip: str) -> list[str]:
    """The devices the router routes `ip` (a /32) to, over every table."""
    return [r.get("dev") for r in d.routes(router, "table", "all") if r.get("dst") in (ip, f"{ip}/32")]


def wait_internet(inet: str):
    h.wait_for(lambda: inet in d.netns_list(), timeout=5.0, step=0.02, what=f"{inet} exists")


def two_instances(api):
    """A VPC whose group is open to the internet (UDP echo, ICMP), instance a in vSwitch
    10.0.1.0/24 and b in 10.0.2.0/24 (another zone): (the VPC, a's vSwitch, the group, a, b)."""
    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    sw_b = api.vswitch(v, "10.0.2.0/24", "cn-hangzhou-i")
    sg = api.group(v)
    open_to_the_internet(api, sg)
    return v, sw, sg, api.instance(sw, sg), api.instance(sw_b, sg)


def test_a_binded_eip_is_the_nics_address_untranslated_both_ways_and_its_groups_apply(dp, api, procs):
    inet = f"{dp.prefix}inet"
    v, sw, sg, a, b = two_instances(api)
    body = api.create_eni(sw, sg)
    eni, private = body.network_interface_id, body.private_ip_address
    eip_id, eip = api.eip()

    # Bound while detached: InUse, as BINDED, on the ENI's primary private IP.
    api.associate(eip_id, eni, mode="BINDED")
    e = api.eip_get(eip_id)
    assert (e.status, e.mode, e.instance_type, e.instance_id, e.private_ip_address) == \
        ("InUse", "BINDED", "NetworkInterface", eni, private), e
    api.attach(eni, a)
    n = api.device_index(eni)
    nic = f"eth{n}"

    # InUse means configured: the NIC holds EIP/32 and not the private address; everything
    # from the EIP goes through the vSwitch gateway, on-link, with a permanent neighbour.
    assert ipv4_of(a, nic) == [(eip, 32)]
    rules = d.ip_json(a, "rule", "show") or []
    assert any(r.get("src") == eip and str(r.get("table")) == str(1000 + n) for r in rules), rules
    gw = d.gateway_of("10.0.1.0/24")
    default = [r for r in d.routes(a, "table", str(1000 + n)) if r["dst"] == "default"]
    assert [(r.get("gateway"), r.get("dev"), "onlink" in r.get("flags", [])) for r in default] == [(gw, nic, True)], default
    neigh = [x for x in d.ip_json(a, "neigh", "show", "dev", nic) or [] if x.get("dst") == gw]
    assert neigh and "PERMANENT" in neigh[0].get("state", []), neigh
    # The router routes the EIP, not the private address, to the ENI's port.
    router = f"{dp.prefix}v-{v}"
    assert router_routes_to(router, eip) == [port_name(eni, a)], d.routes(router, "table", "all")
    assert router_routes_to(router, private) == [], d.routes(router, "table", "all")

    procs.echo(a, "A")
    procs.echo(b, "B")
    wait_internet(inet)
    procs.peer_echo(inet, "I")
    # From the internet the EIP answers, and the server saw the EIP itself (no DNAT); the
    # client's socket is connected to the EIP, so the reply came from it too (no SNAT).
    d.wait_reply(inet, eip, lambda r: r is not None, timeout=3.0, what=f"{inet} -> {eip}")
    assert d.ask_one(inet, eip, "from-the-internet") == f"A|{eip}|from-the-internet"
    assert d.ping(inet, eip) == 3
    # What the instance sends from the EIP reaches the internet as the EIP, and back.
    assert d.ask_one(a, d.INTERNET_ADDR, "from-the-eip", port=d.PEER_PORT, src=eip) == f"I|{eip}|from-the-eip"

    # The private address carries nothing any more (the group would let it: b reaches a).
    ip_a = api.ip_of(a)
    assert d.ask_one(b, ip_a, "b-to-a") == f"A|{ip_a}|b-to-a"
    assert d.ask_one(b, private, "b-to-private", tries=2) is None
    assert d.ping(b, private, count=1, timeout=0.3) == 0

    # The ENI's group applies to its EIP: without the UDP rule the EIP stops answering UDP
    # (ICMP still answers: it is still bound); with the rule back, it answers again.
    (udp_rule,) = [r for r in api.rules(sg) if r.ip_protocol == "UDP"]
    api.revoke(sg, udp_rule.security_group_rule_id)
    settles(inet, eip, open_=False)
    assert d.ping(inet, eip, count=1) == 1
    api.authorize(sg, ip_protocol="UDP", port_range=f"{d.UDP_PORT}/{d.UDP_PORT}", source_cidr_ip="0.0.0.0/0")
    settles(inet, eip, open_=True)
    assert d.ask_one(inet, eip, "restored") == f"A|{eip}|restored"


def test_a_binded_eip_unbinds_only_detached_and_the_nic_gets_its_private_address_back(dp, api, procs):
    """Also: a NAT EIP on the instance's primary ENI and a BINDED EIP on its secondary ENI
    work at the same time, each its own way (and the NAT one keeps the internet namespace)."""
    inet = f"{dp.prefix}inet"
    v, sw, sg, a, b = two_instances(api)
    ip_a = api.ip_of(a)
    body = api.create_eni(sw, sg)
    eni, private = body.network_interface_id, body.private_ip_address
    nat_id, nat = api.eip()
    vis_id, vis = api.eip()
    api.associate(nat_id, a)
    api.associate(vis_id, eni, mode="BINDED")
    api.attach(eni, a)
    nic = f"eth{api.device_index(eni)}"
    assert ipv4_of(a, nic) == [(vis, 32)]

    procs.echo(a, "A")
    wait_internet(inet)
    procs.peer_echo(inet, "I")
    d.wait_reply(inet, vis, lambda r: r is not None, timeout=3.0, what=f"{inet} -> {vis}")
    # In: NAT translates to eth0's address, BINDED reaches the EIP itself.
    assert d.ask(inet, [(nat, "to-nat"), (vis, "to-binded")]) == {
        (nat, "to-nat"): f"A|{ip_a}|to-nat", (vis, "to-binded"): f"A|{vis}|to-binded"}
    # Out: eth0's address leaves as the NAT EIP, the BINDED EIP as itself.
    assert d.ask_one(a, d.INTERNET_ADDR, "out-nat", port=d.PEER_PORT) == f"I|{nat}|out-nat"
    assert d.ask_one(a, d.INTERNET_ADDR, "out-binded", port=d.PEER_PORT, src=vis) == f"I|{vis}|out-binded"

    # Unbinding while the ENI is attached is refused, and changes nothing.
    h.expect_tea_error(lambda: api.unassociate(vis_id, eni, wait=False), "Eni.Attached", 400)
    assert api.eip_status(vis_id) == "InUse"
    assert d.ask_one(inet, vis, "still") == f"A|{vis}|still"

    # Detach, unbind, attach again, while b probes a's other address (eth0) every 2 ms.
    probe = d.Probe(procs, b, ip_a, interval_ms=2)
    time.sleep(0.3)
    api.detach(eni, a)
    api.unassociate(vis_id, eni)
    api.attach(eni, a)
    nic = f"eth{api.device_index(eni)}"
    # InUse: the NIC carries its private address again, and no EIP.
    assert [ip for ip, _ in ipv4_of(a, nic)] == [private]
    time.sleep(0.3)
    r = probe.stop()
    print(f"probe to eth0 while eth1 was rebound: {r}")
    assert r.sent > 200 and r.lost == 0, r

    assert d.ask_one(b, private, "private-again") == f"A|{private}|private-again"
    router = f"{dp.prefix}v-{v}"
    assert router_routes_to(router, private) == [port_name(eni, a)], d.routes(router, "table", "all")
    assert router_routes_to(router, vis) == [], d.routes(router, "table", "all")
    # The internet no longer routes the EIP anywhere (so nothing to ask: a UDP client's
    # connect() fails), and it does not answer.
    assert router_routes_to(inet, vis) == [], d.routes(inet)
    assert d.ping(inet, vis, count=2, timeout=0.3) == 0
    # The NAT EIP never noticed.
    assert d.ask_one(inet, nat, "nat-after") == f"A|{ip_a}|nat-after"
    assert d.ask_one(a, d.INTERNET_ADDR, "out-nat-after", port=d.PEER_PORT) == f"I|{nat}|out-nat-after"


def test_multi_binded_eips_sit_beside_the_private_addresses_move_with_the_eni_and_go_with_their_address(dp, api, procs):
    inet = f"{dp.prefix}inet"
    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    sw_b = api.vswitch(v, "10.0.2.0/24")  # the zone of sw: the ENI moves to b
    sg = api.group(v)
    open_to_the_internet(api, sg)
    a = api.instance(sw, sg)
    b = api.instance(sw_b, sg)
    body = api.create_eni(sw, sg)
    eni, primary = body.network_interface_id, body.private_ip_address
    secondaries = api.assign(eni, count=2)
    privates = [primary, *secondaries]
    (e1_id, e1), (e2_id, e2) = api.eip(), api.eip()
    api.associate(e1_id, eni, mode="MULTI_BINDED", private_ip=secondaries[0])
    # Without PrivateIpAddress: the first private IP without an EIP, the primary.
    api.associate(e2_id, eni, mode="MULTI_BINDED")
    got = {x: api.eip_get(x) for x in (e1_id, e2_id)}
    assert [(g.mode, g.private_ip_address) for g in got.values()] == \
        [("MULTI_BINDED", secondaries[0]), ("MULTI_BINDED", primary)], got
    api.attach(eni, a)
    nic = f"eth{api.device_index(eni)}"

    # Both EIPs on the NIC, as /32s, beside the three private addresses.
    held = ipv4_of(a, nic)
    assert sorted(ip for ip, _ in held) == sorted(privates + [e1, e2]), held
    assert {ip: plen for ip, plen in held if ip in (e1, e2)} == {e1: 32, e2: 32}, held
    router = f"{dp.prefix}v-{v}"
    port = port_name(eni, a)
    for ip in privates + [e1, e2]:
        assert router_routes_to(router, ip) == [port], (ip, d.routes(router, "table", "all"))

    procs.echo(a, "A")
    wait_internet(inet)
    peer = procs.peer_echo(inet, "I")
    d.wait_reply(inet, e1, lambda r: r is not None, timeout=3.0, what=f"{inet} -> {e1}")
    d.wait_reply(inet, e2, lambda r: r is not None, timeout=3.0, what=f"{inet} -> {e2}")
    # Each EIP from the internet, untranslated; each the source of what leaves from it.
    assert d.ask(inet, [(e, f"to-{e}") for e in (e1, e2)]) == {(e, f"to-{e}"): f"A|{e}|to-{e}" for e in (e1, e2)}
    for e in (e1, e2):
        assert d.ping(inet, e, count=2) == 2, e
        assert d.ask_one(a, d.INTERNET_ADDR, f"from-{e}", port=d.PEER_PORT, src=e) == f"I|{e}|from-{e}"
    # The private addresses still answer within the VPC.
    assert d.ask(b, [(p, f"to-{p}") for p in privates]) == {(p, f"to-{p}"): f"A|{p}|to-{p}" for p in privates}

    # The EIPs move with the ENI. (Nothing keeps the internet namespace while the ENI is
    # detached: stop the server there first.)
    peer.kill()
    peer.wait()
    procs.echo(b, "B")
    api.detach(eni, a)
    api.attach(eni, b)
    nic_b = f"eth{api.device_index(eni)}"
    held = ipv4_of(b, nic_b)
    assert sorted(ip for ip, _ in held) == sorted(privates + [e1, e2]), held
    for inst_nic in (d.ip_json(a, "addr", "show") or []):
        assert not {e1, e2} & set(d.link_ipv4(inst_nic)), inst_nic
    wait_internet(inet)
    for e in (e1, e2):
        d.wait_reply(inet, e, lambda r: d.tag_of(r) == "B", timeout=3.0, what=f"{inet} -> {e} answered by b")
    assert d.ask(inet, [(e, f"moved-{e}") for e in (e1, e2)]) == {
        (e, f"moved-{e}"): f"B|{e}|moved-{e}" for e in (e1, e2)}

    # Unassigning a private address on the attached ENI unbinds its EIP: both leave the NIC
    # and the internet; the other EIP stays.
    api.unassign(eni, [secondaries[0]])
    h.wait_for(lambda: api.eip_status(e1_id), lambda st: st == "Available", what=f"{e1_id} Available")
    h.wait_for(lambda: sorted(ip for ip, _ in ipv4_of(b, nic_b)),
               lambda got: got == sorted([primary, secondaries[1], e2]),
               timeout=3.0, step=0.02, what=f"{secondaries[0]} and {e1} gone from {nic_b}")
    h.wait_for(lambda: router_routes_to(inet, e1), lambda got: got == [], timeout=3.0, step=0.02,
               what=f"{e1} no longer routed by the internet")
    assert d.ping(inet, e1, count=1, timeout=0.3) == 0
    assert d.ask_one(inet, e2, "stays") == f"B|{e2}|stays"


def test_a_binded_eips_bandwidth_caps_its_traffic_both_ways(dp, api, procs):
    import subprocess

    inet = f"{dp.prefix}inet"
    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    sg = api.group(v)
    api.authorize(sg, ip_protocol="TCP", port_range="5201/5201", source_cidr_ip="0.0.0.0/0")
    a = api.instance(sw, sg)
    eni = api.create_eni(sw, sg).network_interface_id
    eip_id, eip = api.eip(bandwidth=20)
    api.associate(eip_id, eni, mode="BINDED")
    api.attach(eni, a)
    assert ipv4_of(a, f"eth{api.device_index(eni)}") == [(eip, 32)]
    srv = subprocess.Popen(["ip", "netns", "exec", a, "iperf3", "-s", "-p", "5201"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.procs.append(srv)
    wait_internet(inet)
    time.sleep(0.3)
    to_instance = d.iperf(inet, eip, reverse=False)
    from_instance = d.iperf(inet, eip, reverse=True)
    print(f"BINDED EIP at 20 Mbit/s: in {to_instance:.1f}, out {from_instance:.1f}")
    for what, rate in (("to the instance", to_instance), ("from the instance", from_instance)):
        assert 0.8 * 20 < rate < 1.2 * 20, f"{what}: {rate:.1f} Mbit/s against 20"


def test_modify_eip_forward_mode_on_a_detached_eni_changes_what_its_next_attach_puts_on_the_nic(dp, api, procs):
    inet = f"{dp.prefix}inet"
    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    sg = api.group(v)
    open_to_the_internet(api, sg)
    a = api.instance(sw, sg)
    keeper_id, keeper = api.eip()
    api.associate(keeper_id, a)  # keeps the internet namespace while the ENI is detached
    body = api.create_eni(sw, sg)
    eni, private = body.network_interface_id, body.private_ip_address
    eip_id, eip = api.eip()
    procs.echo(a, "A")
    wait_internet(inet)
    procs.peer_echo(inet, "I")

    def attached(seen_as: str):
        """Attach: the NIC holds `seen_as` alone (the EIP as a /32, or the private address);
        the internet reaches the EIP as `seen_as`; what leaves from `seen_as` reaches the
        internet as the EIP."""
        api.attach(eni, a)
        held = ipv4_of(a, f"eth{api.device_index(eni)}")
        assert [ip for ip, _ in held] == [seen_as], held
        if seen_as == eip:
            assert held == [(eip, 32)], held
        d.wait_reply(inet, eip, lambda r: r is not None, timeout=3.0, what=f"{inet} -> {eip}")
        tag = f"as-{seen_as}"
        assert d.ask_one(inet, eip, tag) == f"A|{seen_as}|{tag}"
        assert d.ask_one(a, d.INTERNET_ADDR, tag, port=d.PEER_PORT, src=seen_as) == f"I|{eip}|{tag}"

    # No Mode: the EIP's own, NAT.
    api.associate(eip_id, eni)
    assert api.eip_get(eip_id).mode == "NAT"
    attached(private)
    # Attached: the mode stays.
    h.expect_tea_error(lambda: api.forward_mode(eip_id, "BINDED"), "ENI.BindEcs", 400)
    assert api.eip_get(eip_id).mode == "NAT"

    api.detach(eni, a)
    api.forward_mode(eip_id, "BINDED")
    e = api.eip_get(eip_id)
    assert (e.status, e.mode, e.instance_id) == ("InUse", "BINDED", eni), e
    attached(eip)

    api.detach(eni, a)
    api.forward_mode(eip_id, "NAT")
    attached(private)
    # The keeper (NAT, on eth0) worked throughout.
    assert d.tag_of(d.ask_one(inet, keeper, "keeper")) == "A"


def test_a_visible_eip_on_a_detached_eni_is_in_use_at_once(dp, api, procs):
    """The spec: a visible-mode EIP binds a detached ENI, so there is nothing to configure
    yet: it is InUse at once (or after the transition delay), and this server's delay is 0.
    So the first DescribeEipAddresses after AssociateEipAddress reads InUse, in either mode."""
    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    sg = api.group(v)
    api.instance(sw, sg)
    for mode in ("BINDED", "MULTI_BINDED"):
        eni = api.create_eni(sw, sg).network_interface_id
        eip_id, _ = api.eip()
        api.associate(eip_id, eni, mode=mode, wait=False)
        assert api.eip_status(eip_id) == "InUse", mode
