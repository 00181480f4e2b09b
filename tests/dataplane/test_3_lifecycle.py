"""Instance lifecycle, drift repair and a server restart, as the kernel sees them."""

import os
import re
import time

import pytest

if os.geteuid() != 0:
    pytest.skip("the data-plane suite needs root (network namespaces)", allow_module_level=True)

import dp_helpers as d  # noqa: E402


def pair(api):
    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    sg = api.group(v)
    return sw, sg, api.instance(sw, sg), api.instance(sw, sg)


def test_stopped_instance_has_its_nics_down(dp, api, procs):
    sw, sg, server, client = pair(api)
    eni = api.create_eni(sw, sg)
    api.attach(eni.network_interface_id, server)
    nic = f"eth{api.device_index(eni.network_interface_id)}"
    ip, eni_ip = api.ip_of(server), eni.private_ip_address
    procs.echo(server, "S")
    assert d.tag_of(d.ask_one(client, ip)) == "S"
    assert d.tag_of(d.ask_one(client, eni_ip)) == "S"

    api.stop_instance(server)
    for n in ("eth0", nic):
        d.h.wait_for(lambda: d.is_up(server, n), lambda up: not up, timeout=3.0, step=0.02,
                     what=f"{server} {n} down")
    links = {l["ifname"]: l for l in d.ip_json(server, "link", "show")}
    assert "UP" not in links["eth0"]["flags"], links["eth0"]
    assert "UP" not in links[nic]["flags"], links[nic]
    for proto in ("udp", "tcp"):
        for target in (ip, eni_ip):
            assert d.ask_one(client, target, "while-stopped", proto=proto, tries=1, timeout=0.3) is None, (proto, target)

    api.start_instance(server)
    api.wait_nic(server, "eth0", [ip], timeout=3.0)
    api.wait_nic(server, nic, [eni_ip], timeout=3.0)
    for proto in ("udp", "tcp"):
        for target in (ip, eni_ip):
            reply, _ = d.wait_reply(client, target, lambda r: r is not None, proto=proto, timeout=3.0)
            assert reply.startswith(f"S|{target}|"), (proto, target)
    # The default route is back too (the client's replies go through it).
    assert [r.get("gateway") for r in d.routes(server) if r["dst"] == "default"] == ["10.0.1.253"]


@pytest.mark.parametrize("drift", ["link", "address"])
def test_drift_is_repaired(dp, api, procs, drift):
    sw, sg, server, client = pair(api)
    eni = api.create_eni(sw, sg, secondary=1)
    api.attach(eni.network_interface_id, server)
    n = api.device_index(eni.network_interface_id)
    nic = f"eth{n}"
    ips = api.eni_ips(eni.network_interface_id)
    procs.echo(server, "S")
    assert {d.tag_of(r) for r in d.ask(client, [(i, "x") for i in ips]).values()} == {"S"}

    if drift == "link":
        d.ip("-n", server, "link", "del", nic)
        assert d.link(server, nic) is None
    else:
        d.ip("-n", server, "addr", "del", f"{ips[1]}/24", "dev", nic)
        assert ips[1] not in d.link_ipv4(d.link(server, nic))
    assert d.ask_one(client, ips[1], "broken", tries=1, timeout=0.2) is None

    t0 = time.monotonic()
    api.wait_nic(server, nic, ips, timeout=3.5)
    took = time.monotonic() - t0
    print(f"drift ({drift}) repaired in {took * 1000:.0f} ms")
    assert d.link(server, nic)["address"] == eni.mac_address
    for proto in ("udp", "tcp"):
        got, _ = d.wait_reply(client, ips[1], lambda r: r is not None, proto=proto, timeout=1.0)
        assert got.startswith(f"S|{ips[1]}|")
        assert d.tag_of(d.ask_one(client, ips[0], proto=proto)) == "S"


def test_restart_loses_no_traffic(dp, api, procs):
    sw, sg, server, client = pair(api)
    eni = api.create_eni(sw, sg, secondary=1)
    api.attach(eni.network_interface_id, server)
    ip = api.ip_of(server)
    procs.echo(server, "S", tcp_port=None)
    assert d.tag_of(d.ask_one(client, ip)) == "S"
    links_before = {ns: d.ip_json(ns, "link", "show") for ns in (server, client)}
    # Settle: let at least one resync pass after the last change.
    time.sleep(0.5)

    probe = d.Probe(procs, client, ip, interval_ms=2)
    time.sleep(0.3)
    log_mark = len(dp.log())
    dp.restart()
    # The restarted agent's first rounds (and one resync period) while probing.
    api.wait_eni(eni.network_interface_id, "InUse")
    time.sleep(2.5)
    r = probe.stop()
    print(f"restart: {r}")
    assert r.sent > 1000, r
    assert r.lost == 0, f"probes lost across the restart: {r}"
    assert r.runs == ["S"]
    # The kernel objects are the very same (no link re-created: same ifindex, MAC, flags).
    keep = ("ifindex", "ifname", "address", "flags", "link_netnsid")
    for ns, before in links_before.items():
        after = d.ip_json(ns, "link", "show")
        assert [{k: l.get(k) for k in keep} for l in after] == [{k: l.get(k) for k in keep} for l in before], ns
    # The restarted agent found the kernel as it wants it: it planned (and logged) no op.
    # (What the old process logged while stopping is not the restarted agent's business.)
    after_log = dp.log()[log_mark:]
    assert "data-plane agent running" in after_log, after_log
    restarted = after_log[after_log.rindex("eni API server ready"):]
    assert not re.search(r"data plane converged|agent round failed", restarted), restarted


def test_a_signal_right_after_start_stops_the_server_and_its_agent(tmp_path):
    """SIGTERM as soon as the server is ready stops it with 0 and does not hang: the agent
    learns of the shutdown however early it comes."""
    from conftest import finish, make_server

    for i in range(3):
        server = make_server(tmp_path / f"s{i}")
        try:
            server.start()
            rc = server.stop()
            assert rc == 0, f"run {i}: eni serve exited with {rc}"
        finally:
            finish(server)
