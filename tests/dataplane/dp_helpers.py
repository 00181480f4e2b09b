"""Helpers of the data-plane suite: an `eni serve --dataplane linux` server with its own prefix
and state dir, a thin SDK layer (VPCs, instances, ENIs), `ip -n NS -j ...` readers, and the
traffic programs of netprog.py run inside instance namespaces.

The SDK-side plumbing (starting `eni serve`, SDK clients, polling) is the e2e suite's
(tests/e2e/e2e_helpers.py), imported as is.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

import e2e_helpers as h  # noqa: E402

NETPROG = str(HERE / "netprog.py")
REGION = h.REGION
UDP_PORT = 7001
TCP_PORT = 7002
PEER_PORT = 7003  # `Procs.peer_echo`: replies name the sender
# The simulated internet's address on its link to every VPC router (the routers' default
# gateway): a destination on the internet for what instances send out.
INTERNET_ADDR = "100.64.0.1"


# ---------------------------------------------------------------- kernel views


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=20)


def ip_json(ns: str, *args: str):
    """`ip -n NS -j ARGS` parsed; None if the namespace is gone."""
    out = ip("-n", ns, "-j", *args, check=False)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout or "[]")


def netns_list() -> list[str]:
    out = ip("-j", "netns", "list").stdout.strip()
    return [n["name"] for n in json.loads(out)] if out else []


def link(ns: str, name: str):
    """The `ip -j addr` entry of link `name` in `ns` (flags, address, addr_info), or None."""
    for l in ip_json(ns, "addr", "show") or []:
        if l.get("ifname") == name:
            return l
    return None


def link_ipv6(entry) -> list[tuple[str, int]]:
    """The global IPv6 addresses of a link, with their prefix lengths."""
    return [(a["local"], a["prefixlen"]) for a in (entry or {}).get("addr_info", [])
            if a.get("family") == "inet6" and a.get("scope") == "global"]


def link_ipv4(entry) -> list[str]:
    return [a["local"] for a in (entry or {}).get("addr_info", []) if a.get("family") == "inet"]


def is_up(ns: str, name: str) -> bool:
    for l in ip_json(ns, "link", "show") or []:
        if l.get("ifname") == name:
            return "UP" in l.get("flags", [])
    return False


def routes(ns: str, *extra: str) -> list[dict]:
    return ip_json(ns, "route", "show", *extra) or []


def monitor_events(path: Path) -> list[tuple[float, str]]:
    """(seconds since the epoch, event text) of each event an `ip -ts monitor` wrote."""
    out = []
    for line in path.read_text().splitlines():
        m = re.match(r"\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\] (.*)", line)
        if m:
            t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").timestamp()
            out.append((t, m.group(2)))
    return out


def gateway_of(cidr: str) -> str:
    """The vSwitch gateway: the block's last-but-two address."""
    return str(ipaddress.ip_network(cidr)[-3])


# ---------------------------------------------------------------- processes in namespaces


class Procs:
    """Long-running programs (echo servers, probes) inside namespaces; every one is killed, by
    its own pid, at teardown."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def spawn(self, ns: str, *args: str, stdin=subprocess.DEVNULL) -> subprocess.Popen:
        p = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, NETPROG, *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs.append(p)
        line = _readline(p, 10.0)
        if line.strip() != "ready":
            err = p.stderr.read() if p.poll() is not None else ""
            raise RuntimeError(f"{args[0]} in {ns} did not start: {line!r} {err}")
        return p

    def monitor(self, ns: str, *objects: str, out: Path) -> subprocess.Popen:
        """`ip -n NS -ts monitor OBJECTS` writing to `out`, until teardown (or kill)."""
        f = open(out, "w")
        p = subprocess.Popen(["ip", "-n", ns, "-ts", "monitor", *objects], stdout=f,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        f.close()
        self.procs.append(p)
        return p

    def echo(self, ns: str, tag: str, udp_port: int = UDP_PORT, tcp_port: int | None = TCP_PORT,
             v6: bool = False):
        """UDP (and TCP) echo servers in `ns` replying b"TAG|<local ip>|<request>"; with `v6`,
        IPv6 ones too, on the same ports."""
        self.spawn(ns, "udp-echo", str(udp_port), tag)
        if tcp_port is not None:
            self.spawn(ns, "tcp-echo", str(tcp_port), tag)
        if v6:
            self.spawn(ns, "udp6-echo", str(udp_port), tag)
            if tcp_port is not None:
                self.spawn(ns, "tcp6-echo", str(tcp_port), tag)

    def peer_echo(self, ns: str, tag: str, port: int = PEER_PORT) -> subprocess.Popen:
        """A UDP echo server in `ns` replying b"TAG|<sender ip>|<request>": the source address
        the request arrived with (e.g. in the internet namespace: whether it was translated)."""
        return self.spawn(ns, "udp-peer-echo", str(port), tag)

    def watch_metadata(self, ns: str, path: str, needle: str, token: str | None = None,
                       timeout: float = 10.0, check: str | None = None) -> subprocess.Popen:
        """A poller in `ns` that GETs `path` every 2 ms until a 200 answer holds `needle` (or,
        with "!x", no longer holds x), and then looks whether the kernel holds `check`
        ("mac:MAC", "ip:ADDR"); read its result with `watched`/`watched_check`."""
        headers = {"X-aliyun-ecs-metadata-token": token} if token else {}
        extra = [check] if check else []
        return self.spawn(ns, "http-watch", path, json.dumps(headers), needle, str(timeout), *extra)

    def kill_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for f in (p.stdout, p.stderr, p.stdin):
                if f:
                    f.close()
        self.procs.clear()


def _readline(p: subprocess.Popen, timeout: float) -> str:
    box: list[str] = []
    t = threading.Thread(target=lambda: box.append(p.stdout.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return box[0] if box else ""


def ask(ns: str, targets: list[tuple[str, str]], proto: str = "udp", port: int | None = None,
        timeout: float = 0.3, tries: int = 2, src: str | None = None) -> dict[tuple[str, str], str | None]:
    """From namespace `ns`, sends each (ip, payload) to the echo server; returns
    {(ip, payload): reply or None}. A reply is "TAG|<address reached>|payload". With `src`,
    the requests leave from that address of `ns` (bound before sending)."""
    port = port or (UDP_PORT if proto == "udp" else TCP_PORT)
    spec = {"proto": proto, "timeout": timeout, "tries": tries,
            "targets": [[t, port, payload] for t, payload in targets]}
    if src:
        spec["src"] = src
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, NETPROG, "ask", json.dumps(spec)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"ask in {ns} failed: {out.stderr}"
    return dict(zip([tuple(t) for t in targets], json.loads(out.stdout)))


def ping(ns: str, target: str, count: int = 3, timeout: float = 1.0) -> int:
    """ICMP echo requests from `ns` to `target` (ICMPv6 for IPv6): how many were answered."""
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, NETPROG, "ping", target, str(count),
                          str(timeout)], capture_output=True, text=True, timeout=count * timeout + 10)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip())


def iperf(client_ns: str, server_ip: str, reverse: bool, seconds: int = 2, port: int = 5201) -> float:
    """Mbit/s iperf3 received (TCP) from `client_ns` to `server_ip` (`reverse`: the server
    sends)."""
    args = ["ip", "netns", "exec", client_ns, "iperf3", "-J", "-c", server_ip, "-p", str(port), "-t", str(seconds)]
    out = subprocess.run(args + (["-R"] if reverse else []), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    return json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"] / 1e6


def imds(ns: str, *requests: dict | str, timeout: float = 2.0) -> list[dict]:
    """HTTP requests to the metadata service (100.100.100.200:80) from inside `ns`, one
    connection each: a path (a plain GET) or {"method", "path", "headers", "src"}. Returns
    [{"status", "body"}] in order."""
    reqs = [{"path": r} if isinstance(r, str) else r for r in requests]
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, NETPROG, "http",
                          json.dumps({"requests": reqs, "timeout": timeout})],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"http in {ns} failed: {out.stderr}"
    return json.loads(out.stdout)


def imds_get(ns: str, path: str, token: str | None = None) -> tuple[int | None, str]:
    headers = {"X-aliyun-ecs-metadata-token": token} if token else {}
    (r,) = imds(ns, {"path": path, "headers": headers})
    return r["status"], r["body"]


def imds_token(ns: str, ttl: int = 21600) -> str:
    (r,) = imds(ns, {"method": "PUT", "path": "/latest/api/token",
                     "headers": {"X-aliyun-ecs-metadata-token-ttl-seconds": str(ttl)}})
    assert r["status"] == 200, r
    return r["body"]


def watched_check(p: subprocess.Popen, timeout: float = 15.0) -> tuple[float | None, bool | None]:
    """When a `watch_metadata` poller saw what it waited for (CLOCK_MONOTONIC, or None), and
    whether the kernel then held its check."""
    line = _readline(p, timeout)
    if not line:
        return None, None
    got = json.loads(line)
    return got["seen"], got["check"]


def watched(p: subprocess.Popen, timeout: float = 15.0) -> float | None:
    return watched_check(p, timeout)[0]


def ask_one(ns: str, target: str, payload: str = "hello", proto: str = "udp", **kw) -> str | None:
    return ask(ns, [(target, payload)], proto=proto, **kw)[(target, payload)]


def tag_of(reply: str | None) -> str | None:
    return reply.split("|", 1)[0] if reply else None


def wait_reply(ns: str, target: str, pred, *, proto: str = "udp", timeout: float = 5.0, what: str = ""):
    """Asks until pred(reply) holds; returns (reply, seconds waited)."""
    t0 = time.monotonic()
    v = h.wait_for(lambda: ask_one(ns, target, f"w{time.monotonic_ns()}", proto=proto, timeout=0.2, tries=1),
                   pred, timeout=timeout, step=0.02, what=what or f"{proto} {ns} -> {target}")
    return v, time.monotonic() - t0


def wait_available(api, eni_id: str) -> float:
    """Polls DescribeNetworkInterfaces until the ENI reads Available; returns the monotonic
    time that answer arrived."""
    deadline = time.monotonic() + 10
    while True:
        status = api.eni_get(eni_id).status
        t = time.monotonic()
        if status == "Available":
            return t
        assert t < deadline, f"{eni_id} still {status}"
        time.sleep(0.002)


def check_move(r: "ProbeResult", t_call: float, t_avail: float, t_inuse: float) -> None:
    """An ENI moved from A to B through the API (detach call at `t_call`, Available seen at
    `t_avail`, InUse seen at `t_inuse`) under probe `r`: replies switched once from A to B, A
    answered nothing sent after Available, and nothing was lost outside the calls. (A probe
    leaves when due or, if the prober fell behind, later: the 50 ms allow for that.)"""
    assert r.sent > 500, r
    assert r.runs == ["A", "B"], f"replies should switch once from A to B: {r}"
    last_a = max(s for s, tag in r.by_seq.items() if tag == "A")
    assert r.due(last_a) < t_avail, f"A answered a probe sent {(r.due(last_a) - t_avail) * 1e3:.1f} ms after Available"
    early = [s for s in r.lost_seqs if r.due(s) < t_call - 0.05]
    late = [s for s in r.lost_seqs if r.due(s) > t_inuse]
    assert not early, f"probes lost before the detach call: {early} ({r})"
    assert not late, f"probes lost after InUse: {[round((r.due(s) - t_inuse) * 1e3, 1) for s in late]} ms ({r})"


class Probe:
    """A UDP probe from `ns` to target:port every `interval_ms`, until stop()."""

    def __init__(self, procs: Procs, ns: str, target: str, interval_ms: float, port: int = UDP_PORT):
        self.p = procs.spawn(ns, "probe", target, str(port), str(interval_ms), stdin=subprocess.PIPE)
        self.target = target
        self.interval_ms = interval_ms

    def stop(self) -> "ProbeResult":
        return ProbeResult(_stop_json(self.p), self.target, self.interval_ms / 1e3)


class Sender:
    """`netprog send` in `ns`: a UDP datagram to target:port every `interval_ms`, stamped with
    its send time, from address `src` ("-": routing's choice; else bound with
    IP_TRANSPARENT, so it keeps being used after the namespace loses it), until stop()."""

    def __init__(self, procs: Procs, ns: str, src: str, target: str, port: int, interval_ms: float):
        self.p = procs.spawn(ns, "send", src, target, str(port), str(interval_ms), stdin=subprocess.PIPE)

    def stop(self) -> dict:
        return _stop_json(self.p)


class Sink:
    """`netprog sink` in `ns`: records every UDP datagram reaching port `port` until stop(),
    which returns them as (t_recv, source, destination, payload)."""

    def __init__(self, procs: Procs, ns: str, port: int):
        self.p = procs.spawn(ns, "sink", str(port), stdin=subprocess.PIPE)

    def stop(self) -> list[tuple[float, str, str, str]]:
        return [tuple(x) for x in _stop_json(self.p)]


def sent_at(payload: str) -> float | None:
    """The CLOCK_MONOTONIC send time a `Sender` datagram carries."""
    return float(payload[5:]) if payload.startswith("sent=") else None


def _stop_json(p: subprocess.Popen):
    p.stdin.write("stop\n")
    p.stdin.flush()
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


class ProbeResult:
    def __init__(self, raw: dict, target: str, interval: float):
        self.sent: int = raw["sent"]
        self.elapsed: float = raw["elapsed"]
        self.interval = interval
        # CLOCK_MONOTONIC; probe n left at start + n * interval or (if the prober fell behind)
        # a little later.
        self.start: float = raw["start"]
        by_seq: dict[int, str] = {}
        for seq, tag, src in raw["replies"]:
            if src == target:
                by_seq.setdefault(seq, tag)
        self.by_seq = by_seq
        self.lost_seqs = [s for s in range(self.sent) if s not in by_seq]
        self.lost = len(self.lost_seqs)
        # Tag of each answered probe, in send order, with runs collapsed: e.g. ["A", "B"];
        # spans: the same runs as (tag, first seq, last seq).
        spans: list[list] = []
        for s in sorted(by_seq):
            if spans and spans[-1][0] == by_seq[s]:
                spans[-1][2] = s
            else:
                spans.append([by_seq[s], s, s])
        self.spans = [tuple(x) for x in spans]
        self.runs = [x[0] for x in spans]

    def due(self, seq: int) -> float:
        """When probe `seq` was due to leave (it left then or, if the prober fell behind, later)."""
        return self.start + seq * self.interval

    def gaps(self) -> list[tuple[int, int]]:
        """Runs of consecutive lost sequence numbers as (first, length)."""
        out: list[tuple[int, int]] = []
        for s in self.lost_seqs:
            if out and out[-1][0] + out[-1][1] == s:
                out[-1] = (out[-1][0], out[-1][1] + 1)
            else:
                out.append((s, 1))
        return out

    def __repr__(self):
        return f"ProbeResult(sent={self.sent}, lost={self.lost}, gaps={self.gaps()[:10]}, spans={self.spans})"


# ---------------------------------------------------------------- the server


class DataplaneServer:
    """`eni serve --dataplane linux` with its own prefix, state dir and data dir; records every
    instance created through it so teardown can check that none is left behind."""

    def __init__(self, base: Path, prefix: str, extra_args: list[str] | None = None):
        self.base = base
        self.prefix = prefix
        self.state_dir = base / "dp-state"
        self.data_dir = base / "data"
        self.extra_args = extra_args or []
        self.instances: set[str] = set()
        self.srv: h.EniServer | None = None
        self.ecs = self.vpc = None
        self.api: Api | None = None

    def args(self) -> list[str]:
        return ["--dataplane", "linux", "--dataplane-prefix", self.prefix,
                "--dataplane-state-dir", str(self.state_dir), *self.extra_args]

    def start(self) -> "DataplaneServer":
        self.srv = h.EniServer(self.data_dir, extra_args=self.args())
        # e2e_helpers pins ENI_LOG=warn; the data-plane tests read the agent's info lines
        # ("data plane converged ... ops=N"), so start with ENI_LOG=info (EDP_LOG overrides).
        clean_env = getattr(h, "_clean_env", None)
        if clean_env is None:  # e2e_helpers changed: run with its defaults
            self.srv.start()
        else:
            def env(root_key):
                e = clean_env(root_key)
                e["ENI_LOG"] = os.environ.get("EDP_LOG", "info")
                return e

            h._clean_env = env
            try:
                self.srv.start()
            finally:
                h._clean_env = clean_env
        self.ecs = h.ecs_client(self.srv.endpoint, h.ROOT_AK, h.ROOT_SECRET)
        self.vpc = h.vpc_client(self.srv.endpoint, h.ROOT_AK, h.ROOT_SECRET)
        if self.api is None:
            self.api = Api(self)
        return self

    def stop(self) -> int | None:
        rc = self.srv.stop() if self.srv else None
        self.srv = None
        return rc

    def restart(self) -> "DataplaneServer":
        rc = self.stop()
        assert rc == 0, f"eni serve exited with {rc} on SIGTERM"
        return self.start()

    def log(self) -> str:
        p = self.data_dir.parent / f"{self.data_dir.name}.stderr.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def purge(self) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENI_")}
        return subprocess.run(
            [h.eni_bin(), "dataplane", "purge", "--dataplane-prefix", self.prefix,
             "--dataplane-state-dir", str(self.state_dir)],
            capture_output=True, text=True, env=env, timeout=60,
        )

    def ours(self, ns: str) -> bool:
        return ns.startswith(self.prefix) or ns in self.instances


class Api:
    """The SDK calls the tests make, with the waits a data plane needs: an instance is ready
    once it is Running *and* its namespace has eth0 up with its address."""

    def __init__(self, server: DataplaneServer):
        self.s = server

    @property
    def ecs(self):
        return self.s.ecs

    @property
    def vpcc(self):
        return self.s.vpc

    # ---- networks

    def vpc(self, cidr: str = "10.0.0.0/16", ipv6: bool = False) -> str:
        from alibabacloud_vpc20160428 import models as m

        kw = {"enable_ipv_6": True} if ipv6 else {}
        return self.vpcc.create_vpc(m.CreateVpcRequest(region_id=REGION, cidr_block=cidr, **kw)).body.vpc_id

    def vswitch(self, vpc_id: str, cidr: str, zone: str = "cn-hangzhou-h", ipv6_index: int | None = None) -> str:
        """With `ipv6_index`, the vSwitch gets that /64 of its VPC's IPv6 /56."""
        from alibabacloud_vpc20160428 import models as m

        kw = {"ipv_6cidr_block": ipv6_index} if ipv6_index is not None else {}
        return self.vpcc.create_vswitch(
            m.CreateVSwitchRequest(region_id=REGION, vpc_id=vpc_id, cidr_block=cidr, zone_id=zone, **kw)
        ).body.v_switch_id

    def group(self, vpc_id: str) -> str:
        from alibabacloud_ecs20140526 import models as em

        return self.ecs.create_security_group(
            em.CreateSecurityGroupRequest(region_id=REGION, vpc_id=vpc_id)).body.security_group_id

    def authorize(self, group: str, egress: bool = False, **perm) -> None:
        """One rule: AuthorizeSecurityGroup (or ...Egress) with Permissions.1 = `perm`
        (SDK field names: ip_protocol, port_range, source_cidr_ip, source_group_id, policy,
        priority, dest_cidr_ip, dest_group_id, ...)."""
        from alibabacloud_ecs20140526 import models as em

        if egress:
            self.ecs.authorize_security_group_egress(em.AuthorizeSecurityGroupEgressRequest(
                region_id=REGION, security_group_id=group,
                permissions=[em.AuthorizeSecurityGroupEgressRequestPermissions(**perm)]))
        else:
            self.ecs.authorize_security_group(em.AuthorizeSecurityGroupRequest(
                region_id=REGION, security_group_id=group,
                permissions=[em.AuthorizeSecurityGroupRequestPermissions(**perm)]))

    def rules(self, group: str) -> list:
        from alibabacloud_ecs20140526 import models as em

        body = self.ecs.describe_security_group_attribute(em.DescribeSecurityGroupAttributeRequest(
            region_id=REGION, security_group_id=group)).body
        return list(body.permissions.permission or [])

    def revoke(self, group: str, rule_id: str) -> None:
        from alibabacloud_ecs20140526 import models as em

        self.ecs.revoke_security_group(em.RevokeSecurityGroupRequest(
            region_id=REGION, security_group_id=group, security_group_rule_id=[rule_id]))

    def inner_policy(self, group: str, policy: str) -> None:
        from alibabacloud_ecs20140526 import models as em

        self.ecs.modify_security_group_policy(em.ModifySecurityGroupPolicyRequest(
            region_id=REGION, security_group_id=group, inner_access_policy=policy))

    # ---- EIPs

    def eip(self, bandwidth: int | None = None) -> tuple[str, str]:
        """AllocateEipAddress (with `bandwidth`, that many Mbit/s): (AllocationId, EipAddress)."""
        from alibabacloud_vpc20160428 import models as m

        kw = {"bandwidth": str(bandwidth)} if bandwidth is not None else {}
        body = self.vpcc.allocate_eip_address(m.AllocateEipAddressRequest(region_id=REGION, **kw)).body
        return body.allocation_id, body.eip_address

    def eip_get(self, allocation_id: str):
        """DescribeEipAddresses' entry of one EIP (status, mode, instance_id, private_ip_address...)."""
        from alibabacloud_vpc20160428 import models as m

        (e,) = self.vpcc.describe_eip_addresses(m.DescribeEipAddressesRequest(
            region_id=REGION, allocation_id=allocation_id)).body.eip_addresses.eip_address
        return e

    def eip_status(self, allocation_id: str) -> str:
        return self.eip_get(allocation_id).status

    def associate(self, allocation_id: str, instance_id: str, mode: str | None = None,
                  private_ip: str | None = None, wait: bool = True):
        """AssociateEipAddress (an `i-…` or an `eni-…`; `mode` NAT, BINDED or MULTI_BINDED and
        `private_ip` as given, else not sent), then (with `wait`) waits until InUse."""
        from alibabacloud_vpc20160428 import models as m

        kind = "NetworkInterface" if instance_id.startswith("eni-") else "EcsInstance"
        kw = {}
        if mode is not None:
            kw["mode"] = mode
        if private_ip is not None:
            kw["private_ip_address"] = private_ip
        self.vpcc.associate_eip_address(m.AssociateEipAddressRequest(
            region_id=REGION, allocation_id=allocation_id, instance_id=instance_id, instance_type=kind, **kw))
        if wait:
            h.wait_for(lambda: self.eip_status(allocation_id), lambda st: st == "InUse",
                       what=f"{allocation_id} InUse")

    def unassociate(self, allocation_id: str, instance_id: str, wait: bool = True):
        from alibabacloud_vpc20160428 import models as m

        kind = "NetworkInterface" if instance_id.startswith("eni-") else "EcsInstance"
        self.vpcc.unassociate_eip_address(m.UnassociateEipAddressRequest(
            region_id=REGION, allocation_id=allocation_id, instance_id=instance_id, instance_type=kind))
        if wait:
            h.wait_for(lambda: self.eip_status(allocation_id), lambda st: st == "Available",
                       what=f"{allocation_id} Available")

    def forward_mode(self, allocation_id: str, mode: str):
        """ModifyEipForwardMode (synchronous): `InstanceId` is the EIP's allocation ID."""
        from alibabacloud_vpc20160428 import models as m

        self.vpcc.modify_eip_forward_mode(m.ModifyEipForwardModeRequest(
            region_id=REGION, instance_id=allocation_id, mode=mode))

    # ---- instances

    def instance(self, vswitch_id: str, group: str, private_ip: str | None = None, ready: bool = True,
                 instance_type: str = "ecs.g7.large", host: str | None = None) -> str:
        """With `host` (a DedicatedHostId), pinned to that host."""
        from alibabacloud_ecs20140526 import models as em

        kw = {"private_ip_address": private_ip} if private_ip else {}
        if host:
            kw["dedicated_host_id"] = host
        (i,) = self.ecs.run_instances(em.RunInstancesRequest(
            region_id=REGION, instance_type=instance_type, amount=1, v_switch_id=vswitch_id,
            security_group_id=group, **kw)).body.instance_id_sets.instance_id_set
        self.s.instances.add(i)
        if ready:
            self.wait_instance(i, "Running")
            self.wait_nic(i, "eth0", [self.primary_eni(i).private_ip_address])
            # The default route comes in the agent's next netlink request after the address:
            # Running says nothing of the guest's network, so wait for both.
            h.wait_for(lambda: [r for r in routes(i) if r["dst"] == "default"], bool,
                       timeout=10.0, step=0.02, what=f"{i} default route")
        return i

    def instance_get(self, instance_id: str):
        from alibabacloud_ecs20140526 import models as em

        got = self.ecs.describe_instances(em.DescribeInstancesRequest(
            region_id=REGION, instance_ids=json.dumps([instance_id]))).body.instances.instance
        return got[0] if got else None

    def wait_instance(self, instance_id: str, status: str):
        h.wait_for(lambda: getattr(self.instance_get(instance_id), "status", None),
                   lambda s: s == status, what=f"{instance_id} {status}")

    def stop_instance(self, instance_id: str):
        from alibabacloud_ecs20140526 import models as em

        self.ecs.stop_instance(em.StopInstanceRequest(instance_id=instance_id))
        self.wait_instance(instance_id, "Stopped")

    def start_instance(self, instance_id: str):
        from alibabacloud_ecs20140526 import models as em

        self.ecs.start_instance(em.StartInstanceRequest(instance_id=instance_id))
        self.wait_instance(instance_id, "Running")

    def ip_of(self, instance_id: str) -> str:
        return self.primary_eni(instance_id).private_ip_address

    # ---- ENIs

    def enis(self, **kw):
        from alibabacloud_ecs20140526 import models as em

        return self.ecs.describe_network_interfaces(em.DescribeNetworkInterfacesRequest(
            region_id=REGION, **kw)).body.network_interface_sets.network_interface_set

    def primary_eni(self, instance_id: str):
        (e,) = self.enis(instance_id=instance_id, type="Primary")
        return e

    def eni_get(self, eni_id: str):
        got = self.enis(network_interface_id=[eni_id])
        return got[0] if got else None

    def eni_ips(self, eni_id: str) -> list[str]:
        """Primary first."""
        e = self.eni_get(eni_id)
        sets = sorted(e.private_ip_sets.private_ip_set, key=lambda p: not p.primary)
        return [p.private_ip_address for p in sets]

    def create_eni(self, vswitch_id: str, group: str, secondary: int = 0):
        from alibabacloud_ecs20140526 import models as em

        kw = {"secondary_private_ip_address_count": secondary} if secondary else {}
        return self.ecs.create_network_interface(em.CreateNetworkInterfaceRequest(
            region_id=REGION, v_switch_id=vswitch_id, security_group_ids=[group], **kw)).body

    def wait_eni(self, eni_id: str, status: str, timeout: float = 10.0, step: float = 0.05):
        return h.wait_for(lambda: self.eni_get(eni_id), lambda e: e is not None and e.status == status,
                          timeout=timeout, step=step, what=f"{eni_id} {status}")

    def attach(self, eni_id: str, instance_id: str, wait: bool = True) -> float:
        """AttachNetworkInterface; with `wait`, returns seconds from the call to InUse as the
        SDK sees it (polled every 10 ms)."""
        from alibabacloud_ecs20140526 import models as em

        t0 = time.monotonic()
        self.ecs.attach_network_interface(em.AttachNetworkInterfaceRequest(
            region_id=REGION, network_interface_id=eni_id, instance_id=instance_id))
        if wait:
            self.wait_eni(eni_id, "InUse", step=0.01)
        return time.monotonic() - t0

    def detach(self, eni_id: str, instance_id: str, wait: bool = True) -> float:
        from alibabacloud_ecs20140526 import models as em

        t0 = time.monotonic()
        self.ecs.detach_network_interface(em.DetachNetworkInterfaceRequest(
            region_id=REGION, network_interface_id=eni_id, instance_id=instance_id))
        if wait:
            self.wait_eni(eni_id, "Available", step=0.01)
        return time.monotonic() - t0

    def device_index(self, eni_id: str) -> int:
        return self.eni_get(eni_id).attachment.device_index

    def assign(self, eni_id: str, ips: list[str] | None = None, count: int | None = None) -> list[str]:
        from alibabacloud_ecs20140526 import models as em

        kw = {"private_ip_address": ips} if ips else {"secondary_private_ip_address_count": count}
        body = self.ecs.assign_private_ip_addresses(em.AssignPrivateIpAddressesRequest(
            region_id=REGION, network_interface_id=eni_id, **kw)).body
        return list(body.assigned_private_ip_addresses_set.private_ip_set.private_ip_address)

    def assign_prefix(self, eni_id: str) -> str:
        """AssignPrivateIpAddresses with Ipv4PrefixCount=1: the /28 the ENI got."""
        from alibabacloud_ecs20140526 import models as em

        body = self.ecs.assign_private_ip_addresses(em.AssignPrivateIpAddressesRequest(
            region_id=REGION, network_interface_id=eni_id, ipv_4prefix_count=1)).body
        (prefix,) = body.assigned_private_ip_addresses_set.ipv_4prefix_set.ipv_4prefixes
        return prefix

    def unassign(self, eni_id: str, ips: list[str]):
        from alibabacloud_ecs20140526 import models as em

        self.ecs.unassign_private_ip_addresses(em.UnassignPrivateIpAddressesRequest(
            region_id=REGION, network_interface_id=eni_id, private_ip_address=ips))

    def eni_ipv6(self, eni_id: str) -> list[str]:
        e = self.eni_get(eni_id)
        sets = e.ipv_6sets.ipv_6set if e.ipv_6sets and e.ipv_6sets.ipv_6set else []
        return [x.ipv_6address for x in sets]

    def assign_ipv6(self, eni_id: str, count: int) -> list[str]:
        from alibabacloud_ecs20140526 import models as em

        body = self.ecs.assign_ipv_6addresses(em.AssignIpv6AddressesRequest(
            region_id=REGION, network_interface_id=eni_id, ipv_6address_count=count)).body
        return list(body.ipv_6sets.ipv_6address)

    def unassign_ipv6(self, eni_id: str, ips: list[str]):
        from alibabacloud_ecs20140526 import models as em

        self.ecs.unassign_ipv_6addresses(em.UnassignIpv6AddressesRequest(
            region_id=REGION, network_interface_id=eni_id, ipv_6address=ips))

    # ---- kernel side

    def wait_nic(self, ns: str, nic: str, ips: list[str], timeout: float = 10.0):
        """Waits until `nic` in `ns` is UP and holds exactly `ips` (IPv4)."""
        return h.wait_for(lambda: link(ns, nic),
                          lambda l: l is not None and "UP" in l.get("flags", []) and sorted(link_ipv4(l)) == sorted(ips),
                          timeout=timeout, step=0.02, what=f"{ns} {nic} up with {ips}")


def unique_prefix(n: int) -> str:
    """A namespace prefix no other run uses: edp<pid>n<n>-."""
    p = f"edp{os.getpid()}n{n}-"
    assert re.fullmatch(r"[a-z0-9-]+", p)
    return p
