"""Moving an ENI between instances through the API, under a 1 ms UDP probe: detach (Available),
then attach elsewhere (InUse). The old NIC lingers (--linger-ms, default 2000) until the ENI is
attached elsewhere, so traffic moves make-before-break."""

import os
import re
import time

import pytest

if os.geteuid() != 0:
    pytest.skip("the data-plane suite needs root (network namespaces)", allow_module_level=True)

import dp_helpers as d  # noqa: E402

MAX_LOSS = 20


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
    detach_s = api.detach(eni_id, a)
    attach_s = api.attach(eni_id, b)
    time.sleep(0.5)
    r = probe.stop()
    print(f"failover: {r}; detach->Available {detach_s * 1000:.0f} ms, attach->InUse {attach_s * 1000:.0f} ms")

    assert r.sent > 500, r
    assert r.runs == ["A", "B"], f"replies should switch once from A to B: {r}"
    assert r.lost <= MAX_LOSS, f"{r.lost} probes lost across the move (max {MAX_LOSS}): {r}"
    # After the move the ENI's NIC is in B and gone from A (the linger ended with the attach).
    n = api.device_index(eni_id)
    nic = d.link(b, f"eth{n}")
    assert nic is not None and nic["address"] == eni.mac_address and d.link_ipv4(nic) == [vip]
    d.h.wait_for(lambda: [l["ifname"] for l in d.ip_json(a, "link", "show") or [] if l.get("address") == eni.mac_address],
                 lambda names: names == [], timeout=3.0, what=f"{eni_id}'s NIC gone from {a}")
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
