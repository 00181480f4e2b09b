"""Detaching an ENI cuts it off from its instance before the API says Available, and moving it
to another instance through the API (detach, wait Available, attach, wait InUse) loses traffic
only between the calls: under a 1 ms UDP probe, nothing is lost before the detach call or
after InUse, and nothing is answered by the old instance once the ENI is Available."""

import os
import re
import time

import pytest

if os.geteuid() != 0:
    pytest.skip("the data-plane suite needs root (network namespaces)", allow_module_level=True)

import dp_helpers as d  # noqa: E402

CUT_PORT = 7003


def nics_of(ns: str, mac: str) -> list[dict]:
    """The links of `ns` with MAC `mac`, as `ip -j addr` shows them."""
    return [l for l in d.ip_json(ns, "addr", "show") or [] if l.get("address") == mac]


def test_an_available_eni_is_cut_off_from_its_old_instance(dp, api, procs):
    """Detaching an ENI from an instance (a compromised one, say) cuts the instance off: the
    moment DescribeNetworkInterfaces says Available, the instance holds no NIC, address or
    rule of the ENI, nothing it sends from the ENI's address gets through (though it goes on
    sending from it, bound with IP_TRANSPARENT) and nothing sent to the address reaches it.
    Both flows carry their send times; none sent after Available may arrive."""
    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    sg = api.group(v)
    a = api.instance(sw, sg)
    peer = api.instance(sw, sg)
    eni = api.create_eni(sw, sg)
    eni_id, vip, mac = eni.network_interface_id, eni.private_ip_address, eni.mac_address
    api.attach(eni_id, a)
    peer_ip = api.ip_of(peer)

    at_a = d.Sink(procs, a, CUT_PORT)
    at_peer = d.Sink(procs, peer, CUT_PORT)
    out = d.Sender(procs, a, vip, peer_ip, CUT_PORT, interval_ms=1)
    inn = d.Sender(procs, peer, "-", vip, CUT_PORT, interval_ms=1)
    time.sleep(0.3)
    t_call = time.monotonic()
    api.detach(eni_id, a, wait=False)
    t_avail = d.wait_available(api, eni_id)
    # Read the instance at once: nothing of the ENI is left in it.
    left = nics_of(a, mac)
    addrs = [ip for l in d.ip_json(a, "addr", "show") or [] for ip in d.link_ipv4(l)]
    rules = d.ip("-n", a, "rule", "show").stdout
    time.sleep(0.5)
    out.stop()
    inn.stop()
    got_a, got_peer = at_a.stop(), at_peer.stop()

    from_vip = [d.sent_at(p) for _, src, _, p in got_peer if src == vip]
    to_vip = [d.sent_at(p) for _, src, dst, p in got_a if src == peer_ip and dst == vip]
    # While attached, both flows got through (or this test would prove nothing).
    assert any(s < t_call for s in from_vip), f"{peer} never heard from {vip}"
    assert any(s < t_call for s in to_vip), f"{a} never heard from {peer} at {vip}"

    def late(sent: list[float]) -> str:
        xs = sorted(s for s in sent if s > t_avail)
        return xs and f"{len(xs)} datagrams, sent {(xs[0] - t_avail) * 1e3:.1f} to {(xs[-1] - t_avail) * 1e3:.1f} ms after"

    problems = [
        left and f"{a} still holds the NIC: {[l['ifname'] for l in left]}",
        vip in addrs and f"{a} still holds {vip}",
        f"from {vip} " in rules and f"{a} still routes from {vip}: {rules}",
        late(from_vip) and f"{a} still reached {peer} from {vip}: {late(from_vip)}",
        late(to_vip) and f"{peer} still reached {a} at {vip}: {late(to_vip)}",
    ]
    problems = [p for p in problems if p]
    assert not problems, f"once {eni_id} read Available:\n" + "\n".join(problems)


def test_failover_detach_then_attach_elsewhere(dp, api, procs):
    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    sg = api.group(v)
    a = api.instance(sw, sg)
    b = api.instance(sw, sg)
    client = api.instance(sw, sg)
    eni = api.create_eni(sw, sg)
    eni_id, vip = eni.network_interface_id, eni.private_ip_address
    api.attach(eni_id, a)
    procs.echo(a, "A", tcp_port=None)
    procs.echo(b, "B", tcp_port=None)
    assert d.tag_of(d.ask_one(client, vip)) == "A"

    probe = d.Probe(procs, client, vip, interval_ms=1)
    time.sleep(0.3)
    t_call = time.monotonic()
    api.detach(eni_id, a, wait=False)
    t_avail = d.wait_available(api, eni_id)
    left = nics_of(a, eni.mac_address)
    attach_s = api.attach(eni_id, b)
    t_inuse = time.monotonic()
    time.sleep(0.5)
    r = probe.stop()
    print(f"failover: {r}; detach->Available {(t_avail - t_call) * 1e3:.0f} ms, "
          f"attach->InUse {attach_s * 1e3:.0f} ms")

    assert left == [], f"{a} still holds {eni_id}'s NIC once it is Available: {left}"
    d.check_move(r, t_call, t_avail, t_inuse)
    n = api.device_index(eni_id)
    nic = d.link(b, f"eth{n}")
    assert nic is not None and nic["address"] == eni.mac_address and d.link_ipv4(nic) == [vip]
    assert d.tag_of(d.ask_one(client, vip)) == "B"


def test_move_routes_the_new_nic_before_the_router_switches(dp, api, procs, tmp_path):
    """Make-before-break, in the kernel's own order: when the ENI moves to B, B's policy
    routing for the new NIC (table 1000+N default and subnet routes, `from <ip>` rule) must
    exist before the router's /32 route flips to B's port. Otherwise, in between, B drops the
    request (strict rp_filter) or answers through eth0, where the router's strict rp_filter
    drops the reply. One `ip monitor all-nsid` in the router sees the router's and the
    instances' events in one ordered stream (the `dev` names it prints for other namespaces'
    events are looked up in the router's and mean nothing; the events are matched without)."""
    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    sg = api.group(v)
    a = api.instance(sw, sg)
    b = api.instance(sw, sg)
    eni = api.create_eni(sw, sg)
    eni_id, vip = eni.network_interface_id, eni.private_ip_address
    api.attach(eni_id, a)
    router = f"{dp.prefix}v-{v}"
    ids = {}
    for line in d.ip("-n", router, "netns", "list-id").stdout.splitlines():
        m = re.match(r"nsid (\d+) \(iproute2 netns name: (\S+)\)", line)
        if m:
            ids[m.group(2)] = m.group(1)
    assert b in ids, ids
    log = tmp_path / "router-monitor.log"
    mon = procs.monitor(router, "all-nsid", "route", "rule", out=log)
    time.sleep(0.3)
    api.detach(eni_id, a)
    api.attach(eni_id, b)
    time.sleep(0.3)
    mon.kill()
    mon.wait()
    n = api.device_index(eni_id)
    table = 1000 + n
    events = [e for _, e in d.monitor_events(log)]
    in_b = f"[nsid {ids[b]}]"

    def first(what, pred):
        for i, e in enumerate(events):
            if pred(e):
                return i
        raise AssertionError(f"no event for {what} in:\n" + "\n".join(events))

    flip = first("the router's /32 route", lambda e: e.startswith(f"[nsid current]{vip} dev "))
    needed = {
        f"B's default route in table {table}": first(
            "default", lambda e: e.startswith(f"{in_b}default via 10.0.1.253 ") and f"table {table}" in e),
        f"B's subnet route in table {table}": first(
            "subnet", lambda e: e.startswith(f"{in_b}10.0.1.0/24 ") and f"table {table}" in e),
        f"B's rule from {vip}": first(
            "rule", lambda e: e.startswith(f"{in_b}{table}:") and f"from {vip} lookup {table}" in e),
    }
    late = {k: i for k, i in needed.items() if i > flip}
    assert not late, (
        f"the router switched {vip} to B (event {flip}) before {sorted(late)} (events {late}):\n"
        + "\n".join(f"{i:3} {e}" for i, e in enumerate(events)))


def test_deleting_an_instance_frees_its_eni_only_once_its_namespace_is_gone(dp, api, procs):
    """DeleteInstance keeps a secondary ENI (DeleteOnRelease off): it reads Available only
    once the instance's namespace, and the NIC in it, are gone; then it attaches elsewhere."""
    from alibabacloud_ecs20140526 import models as em

    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    sg = api.group(v)
    a = api.instance(sw, sg)
    b = api.instance(sw, sg)
    eni = api.create_eni(sw, sg)
    eni_id = eni.network_interface_id
    api.attach(eni_id, a)
    assert nics_of(a, eni.mac_address)

    api.ecs.delete_instance(em.DeleteInstanceRequest(instance_id=a, force=True))
    d.wait_available(api, eni_id)
    # At the answer that said Available: no namespace holds the NIC.
    assert a not in d.netns_list()
    holders = [ns for ns in d.netns_list() if dp.ours(ns) and nics_of(ns, eni.mac_address)]
    assert not holders, f"{eni_id} read Available while {holders} held its NIC"

    api.attach(eni_id, b)
    assert nics_of(b, eni.mac_address)
