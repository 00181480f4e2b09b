"""The instance metadata service: http://100.100.100.200/ from inside instance namespaces,
served by the agent in each VPC router, answering each instance its own data.

Real HTTP from inside the instances: the paths and formats Terway reads, hardened mode
(tokens), the options ModifyInstanceMetadataOptions sets, isolation between instances, bad
requests, and the metadata following attach, assign, unassign and detach as Terway waits for
them (the Terway flow: find the NIC by the MAC the metadata gives, configure its policy table
from the metadata's gateway, send traffic through it).
"""

import json
import os
import subprocess
import sys
import time

import pytest

if os.geteuid() != 0:
    pytest.skip("the data-plane suite needs root (network namespaces)", allow_module_level=True)

import dp_helpers as d  # noqa: E402

MD = "/latest/meta-data"


def test_the_terway_flow(dp, api, procs):
    vpc = api.vpc("10.0.0.0/16")
    vsw = api.vswitch(vpc, "10.0.1.0/24")
    sg = api.group(vpc)
    api.authorize(sg, ip_protocol="UDP", port_range="1/65535", source_cidr_ip="10.0.0.0/16")
    a = api.instance(vsw, sg)
    b = api.instance(vsw, sg)
    # Terway starts by reading who it is, with a token (hardened mode).
    token = d.imds_token(a)
    get = lambda path: d.imds_get(a, path, token)  # noqa: E731
    assert get(f"{MD}/instance-id") == (200, a)
    inst = api.instance_get(a)
    assert get(f"{MD}/instance/instance-type") == (200, inst.instance_type)
    primary = api.primary_eni(a)
    assert get(f"{MD}/mac") == (200, primary.mac_address.lower())
    assert get(f"{MD}/vswitch-id") == (200, vsw)
    assert get(f"{MD}/zone-id") == (200, inst.zone_id)
    assert get(f"{MD}/region-id") == (200, d.REGION)

    # CreateNetworkInterface + AttachNetworkInterface; then poll until the metadata lists the
    # MAC and every address of the create response.
    created = api.create_eni(vsw, sg, secondary=1)
    eni, mac = created.network_interface_id, created.mac_address.lower()
    want = [created.private_ip_address] + [
        p.private_ip_address for p in created.private_ip_sets.private_ip_set if not p.primary]
    assert len(want) == 2
    watcher = procs.watch_metadata(a, f"{MD}/network/interfaces/macs/", mac, token, check=f"mac:{mac}")
    t0 = time.monotonic()
    api.attach(eni, a, wait=False)
    seen, nic_there = d.watched_check(watcher)
    assert seen is not None, "the MAC never appeared in the metadata"
    assert nic_there, "the metadata listed the MAC before the NIC was in the instance"
    lag = seen - t0
    assert lag < 1.0, f"the metadata took {lag:.3f}s to show the attached NIC"
    # By then the NIC is in the instance (never before): find it by that MAC with netlink.
    links = d.ip_json(a, "link", "show")
    (nic,) = [x for x in links if x.get("address") == mac]
    status, body = get(f"{MD}/network/interfaces/macs/{mac}/private-ipv4s")
    assert status == 200 and sorted(json.loads(body)) == sorted(want) and json.loads(body)[0] == want[0]
    assert get(f"{MD}/network/interfaces/macs/{mac}/network-interface-id") == (200, eni)
    assert get(f"{MD}/network/interfaces/macs/{mac}/primary-ip-address") == (200, want[0])
    assert get(f"{MD}/network/interfaces/macs/{mac}/vswitch-cidr-block") == (200, "10.0.1.0/24")
    assert get(f"{MD}/network/interfaces/macs/{mac}/netmask") == (200, "255.255.255.0")
    status, gateway = get(f"{MD}/network/interfaces/macs/{mac}/gateway")
    assert (status, gateway) == (200, d.gateway_of("10.0.1.0/24"))
    assert get(f"{MD}/network/interfaces/macs/{mac}/ipv6s")[0] == 404
    api.wait_eni(eni, "InUse")

    # Terway's own policy table, 1000 + ifindex, through the metadata's gateway; then traffic
    # from the secondary address leaves by that NIC and reaches b.
    table = str(1000 + nic["ifindex"])
    d.ip("-n", a, "route", "replace", "default", "via", gateway, "dev", nic["ifname"], "table", table)
    d.ip("-n", a, "rule", "add", "from", want[1], "lookup", table, "pref", "500")
    sink = d.Sink(procs, b, 9100)
    sender = d.Sender(procs, a, want[1], api.ip_of(b), 9100, 20)
    time.sleep(0.5)
    sender.stop()
    got = sink.stop()
    assert got and {src for _, src, _, _ in got} == {want[1]}, got
    d.ip("-n", a, "rule", "del", "from", want[1], "lookup", table, "pref", "500", check=False)

    # AssignPrivateIpAddresses: the new address shows within Terway's 10 s (here, 1 s).
    watcher = procs.watch_metadata(a, f"{MD}/network/interfaces/macs/{mac}/private-ipv4s", "10.0.1.", token)
    d.watched(watcher)
    t0 = time.monotonic()
    (added,) = api.assign(eni, count=1)
    watcher = procs.watch_metadata(a, f"{MD}/network/interfaces/macs/{mac}/private-ipv4s", f'"{added}"', token,
                                   check=f"ip:{added}")
    seen, held = d.watched_check(watcher)
    assert seen is not None and seen - t0 < 1.0
    assert held, "the metadata showed an address before the NIC had it"
    # UnassignPrivateIpAddresses: gone again (from the metadata first, then the kernel).
    watcher = procs.watch_metadata(a, f"{MD}/network/interfaces/macs/{mac}/private-ipv4s", f'!"{added}"', token)
    t0 = time.monotonic()
    api.unassign(eni, [added])
    seen = d.watched(watcher)
    assert seen is not None and seen - t0 < 1.0
    d.h.wait_for(lambda: added in d.link_ipv4(d.link(a, nic["ifname"])), lambda held: not held, timeout=5,
                 step=0.02, what=f"{added} gone from {nic['ifname']}")

    # DetachNetworkInterface: the MAC leaves the listing (no later than the NIC leaves).
    watcher = procs.watch_metadata(a, f"{MD}/network/interfaces/macs/", f"!{mac}", token)
    t0 = time.monotonic()
    api.detach(eni, a, wait=False)
    seen = d.watched(watcher)
    assert seen is not None and seen - t0 < 1.0
    assert get(f"{MD}/network/interfaces/macs/{mac}/network-interface-id")[0] == 404
    api.wait_eni(eni, "Available")
    assert not [x for x in d.ip_json(a, "link", "show") if x.get("address") == mac]
    from alibabacloud_ecs20140526 import models as em

    api.ecs.delete_network_interface(em.DeleteNetworkInterfaceRequest(region_id=d.REGION, network_interface_id=eni))


def raw_http(ns: str, payloads: list[bytes], timeout: float = 3.0) -> list[bytes]:
    """Sends each payload on its own connection to 100.100.100.200:80 from `ns`; returns
    what came back on each (until close or timeout)."""
    prog = (
        "import socket,sys,json\n"
        "out=[]\n"
        "for p in json.loads(sys.argv[1]):\n"
        "    s=socket.create_connection(('100.100.100.200',80),timeout=%s)\n"
        "    s.sendall(bytes.fromhex(p))\n"
        "    data=b''\n"
        "    try:\n"
        "        while True:\n"
        "            c=s.recv(65536)\n"
        "            if not c: break\n"
        "            data+=c\n"
        "    except OSError: pass\n"
        "    out.append(data.hex())\n"
        "print(json.dumps(out))\n" % timeout
    )
    r = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", prog,
                        json.dumps([p.hex() for p in payloads])], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [bytes.fromhex(x) for x in json.loads(r.stdout)]


def test_paths_tokens_options_and_isolation(dp, api, procs):
    import base64

    from alibabacloud_ecs20140526 import models as em

    vpc = api.vpc("10.0.0.0/16")
    vsw = api.vswitch(vpc, "10.0.1.0/24")
    sg = api.group(vpc)
    user_data = "#!/bin/sh\necho from eni\n"
    (a,) = api.ecs.run_instances(em.RunInstancesRequest(
        region_id=d.REGION, instance_type="ecs.g7.large", amount=1, v_switch_id=vsw, security_group_id=sg,
        host_name="web-a", user_data=base64.b64encode(user_data.encode()).decode(),
        http_tokens="optional")).body.instance_id_sets.instance_id_set
    dp.instances.add(a)
    api.wait_instance(a, "Running")
    api.wait_nic(a, "eth0", [api.ip_of(a)])
    b = api.instance(vsw, sg)
    eip_id, eip = api.eip()
    api.associate(eip_id, a)

    def plain(ns, path):
        return d.imds_get(ns, path)

    d.h.wait_for(lambda: plain(a, f"{MD}/eipv4"), lambda r: r == (200, eip), what="eipv4")
    assert plain(a, f"{MD}/hostname") == (200, "web-a")
    assert plain(a, f"{MD}/private-ipv4") == (200, api.ip_of(a))
    assert plain(a, "/latest/user-data") == (200, user_data)
    assert plain(b, "/latest/user-data")[0] == 404
    status, listing = plain(a, f"{MD}/")
    assert status == 200 and not listing.endswith("\n")
    assert {"instance-id", "mac", "network/", "eipv4", "vpc-id", "vswitch-id"} <= set(listing.split("\n"))
    status, doc = plain(a, "/latest/dynamic/instance-identity/document")
    assert status == 200 and json.loads(doc)["instance-id"] == a
    # Each instance sees only its own data.
    assert plain(b, f"{MD}/instance-id") == (200, b)
    assert plain(b, f"{MD}/eipv4")[0] == 404
    mac_a = api.primary_eni(a).mac_address.lower()
    assert plain(b, f"{MD}/network/interfaces/macs/{mac_a}/network-interface-id")[0] == 404
    assert plain(a, f"{MD}/no-such-path")[0] == 404

    # Hardened mode.
    token = d.imds_token(a, ttl=60)
    assert d.imds_get(a, f"{MD}/instance-id", token) == (200, a)
    assert d.imds_get(b, f"{MD}/instance-id", token)[0] == 401, "a's token from b"
    assert d.imds_get(a, f"{MD}/instance-id", "not-a-token")[0] == 401
    bad = d.imds(a, {"method": "PUT", "path": "/latest/api/token",
                     "headers": {"X-aliyun-ecs-metadata-token-ttl-seconds": "0"}},
                 {"method": "PUT", "path": "/latest/api/token",
                  "headers": {"X-aliyun-ecs-metadata-token-ttl-seconds": "21601"}},
                 {"method": "PUT", "path": "/latest/api/token"},
                 {"method": "POST", "path": f"{MD}/instance-id"},
                 {"method": "DELETE", "path": "/latest/api/token"})
    assert [r["status"] for r in bad] == [400, 400, 400, 405, 405]

    # ModifyInstanceMetadataOptions: required tokens, then a disabled endpoint, each within 1 s.
    def options(**kw):
        api.ecs.modify_instance_metadata_options(em.ModifyInstanceMetadataOptionsRequest(
            region_id=d.REGION, instance_id=a, **kw))

    options(http_tokens="required", http_endpoint="enabled")
    t0 = time.monotonic()
    d.h.wait_for(lambda: plain(a, f"{MD}/instance-id")[0], lambda s: s == 401, timeout=5, step=0.02,
                 what="plain requests refused")
    assert time.monotonic() - t0 < 1.5
    assert d.imds_get(a, f"{MD}/instance-id", token) == (200, a)
    assert plain(b, f"{MD}/instance-id") == (200, b), "b keeps its own options"
    got = api.ecs.describe_instances(em.DescribeInstancesRequest(
        region_id=d.REGION, instance_ids=json.dumps([a]))).body.instances.instance[0].metadata_options
    assert (got.http_tokens, got.http_endpoint) == ("required", "enabled")
    options(http_endpoint="disabled")
    d.h.wait_for(lambda: d.imds_get(a, f"{MD}/instance-id", token)[0], lambda s: s == 403, timeout=5,
                 step=0.02, what="endpoint disabled")
    options(http_endpoint="enabled", http_tokens="optional")
    d.h.wait_for(lambda: plain(a, f"{MD}/instance-id"), lambda r: r == (200, a), timeout=5, step=0.02,
                 what="plain requests again")

    # Malformed HTTP gets a 400 or a close, never a crash; a client that sends nothing does
    # not hold up another instance's answers.
    replies = raw_http(a, [b"\x00\x01garbage\r\n\r\n", b"GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\n\r\n"])
    assert not replies[0] or replies[0].startswith(b"HTTP/1.1 400"), replies[0][:80]
    assert replies[1].startswith(b"HTTP/1.1 200") and replies[1].endswith(a.encode())
    stall = subprocess.Popen(["ip", "netns", "exec", b, sys.executable, "-c",
                              "import socket,time\n"
                              "ss=[]\n"
                              "for _ in range(40):\n"
                              "    try: ss.append(socket.create_connection(('100.100.100.200',80),timeout=2))\n"
                              "    except OSError: pass\n"
                              "print('ready',flush=True)\n"
                              "time.sleep(30)\n"], stdout=subprocess.PIPE, text=True)
    procs.procs.append(stall)
    assert stall.stdout.readline().strip() == "ready"
    t0 = time.monotonic()
    assert plain(a, f"{MD}/instance-id") == (200, a)
    assert time.monotonic() - t0 < 1.0
