#!/usr/bin/env python3
"""Several hosts: what crossing the VXLAN overlay costs, against the same job on one host.

    python3 bench/hosts.py [--runs N] [--bin PATH]

One `eni serve --dataplane agents` and three simulated hosts (scripts/simhosts.py: each a
namespace running its own `eni agent`, on a private underlay), all in zone cn-hangzhou-h.
Instances are pinned with DedicatedHostId. Measured, each on one host and across hosts:

* attach-to-traffic: an ENI attached to instance T on h1, probed (UDP, every 0.2 ms) by a
  client on h1 (same host) or h2 (its traffic crosses hosts); from the attach call to the
  first echo. Both hosts' agents act: h1 builds the NIC, h2 routes the address to h1.
* failover: the ENI moved through the API (detach, poll until Available, attach elsewhere,
  poll until InUse) under a 10 ms probe: A, B and the client all on h1, or A on h1, B on h3
  and the client on h2; probes lost and the longest gap.
* each agent's own step during the cross-host moves: planning and applying (`apply_us` of its
  "data plane converged" log line), per host.
* TCP throughput (iperf3, 2 s, one stream) between two ecs.g7.32xlarge instances (64 Gbit/s
  caps): on one host, and from h1 to h3 through VXLAN.

Needs root, iproute2, nftables, iperf3 and a release build. Everything is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "scripts"))
import eniapi  # noqa: E402
import simhosts  # noqa: E402
from dataplane import (  # noqa: E402
    FAILOVER_PROBE_US, TAIL_S, Ctx, Prober, host_info, log, ms, pause, stats, wait_instances)

ATTACH_GOAL_MS = 10.0
STEP_GOAL_MS = 5.0


class AgentsServer(eniapi.EniServer):
    """`eni serve --dataplane agents`: no data plane of its own."""

    def serve_args(self) -> list[str]:
        return ["--dataplane", "agents", "--transition-delay-ms", "0"]

    def purge(self) -> str:
        return ""


def host_ids(api: eniapi.Api) -> dict[str, str]:
    r = api.ecs("DescribeDedicatedHosts")
    return {h["DedicatedHostName"]: h["DedicatedHostId"] for h in r["DedicatedHosts"]["DedicatedHost"]
            if h["Status"] == "Available"}


def bench_attach(ctx: Ctx, api: eniapi.Api, ids: dict, runs: int, warmup: int) -> dict:
    vpc = api.create_vpc("10.0.0.0/16")
    vsw_a, vsw_b = api.create_vswitch(vpc, "10.0.1.0/24"), api.create_vswitch(vpc, "10.0.2.0/24")
    group = api.create_group(vpc)
    target = api.run_instance(vsw_a, group, host=ids["h1"])
    clients = {"same host": api.run_instance(vsw_b, group, host=ids["h1"]),
               "across hosts": api.run_instance(vsw_b, group, host=ids["h2"])}
    wait_instances(api, [target, *clients.values()])
    eni = api.create_eni(vsw_a, group, "10.0.1.100")
    ctx.echo(target, "T")
    out = {}
    for label, client in clients.items():
        prober = Prober(ctx, client)
        times, inuse = [], []
        for i in range(warmup + runs):
            pause()
            e = prober.arm("10.0.1.100")
            t0 = time.monotonic()
            api.attach(eni, target)
            t_inuse = api.wait_eni(eni, "InUse")
            echo = prober.first_echo(e, 5)
            pause()
            api.detach(eni, target)
            api.wait_eni(eni, "Available")
            if i >= warmup and echo is not None:
                times.append(ms(echo["t_recv"] - t0))
                inuse.append(ms(t_inuse - t0))
        log(f"  attach-to-traffic, {label}: {' '.join(f'{x:.1f}' for x in times)} ms")
        out[label] = {"traffic": times, "inuse": inuse}
    return out


def bench_failover(ctx: Ctx, api: eniapi.Api, hosts: simhosts.Hosts, ids: dict, runs: int, warmup: int) -> dict:
    out = {}
    for label, (ha, hb, hc) in (("same host", ("h1", "h1", "h1")), ("across hosts", ("h1", "h3", "h2"))):
        vpc = api.create_vpc("10.0.0.0/16")
        vsw_a, vsw_b = api.create_vswitch(vpc, "10.0.1.0/24"), api.create_vswitch(vpc, "10.0.2.0/24")
        group = api.create_group(vpc)
        a, b = api.run_instance(vsw_a, group, host=ids[ha]), api.run_instance(vsw_a, group, host=ids[hb])
        client = api.run_instance(vsw_b, group, host=ids[hc])
        wait_instances(api, [a, b, client])
        eni = api.create_eni(vsw_a, group, "10.0.1.100")
        name = {a: "A", b: "B"}
        ctx.echo(a, "A")
        ctx.echo(b, "B")
        prober = Prober(ctx, client)
        api.attach(eni, a)
        api.wait_eni(eni, "InUse")
        if prober.reach("10.0.1.100") != "A":
            raise RuntimeError(f"{label}: the ENI does not answer from A")
        logs_at = {k: hosts.agent_log(k).stat().st_size for k in (1, 2, 3)}
        cur, res = a, {"lost": [], "gap": [], "move": []}
        for i in range(warmup + runs):
            other = b if cur == a else a
            e = prober.stream("10.0.1.100")
            time.sleep(0.2)
            pause()
            t0 = time.monotonic()
            api.detach(eni, cur)
            api.wait_eni(eni, "Available")
            api.attach(eni, other)
            t_inuse = api.wait_eni(eni, "InUse")
            time.sleep(TAIL_S)
            s = prober.summary(e)
            who = [w for w, _, _ in s["answered_by"]]
            if not who or who[-1] != name[other]:
                raise RuntimeError(f"{label}: after the move to {name[other]} the ENI is answered by {who}")
            if i >= warmup:
                res["lost"].append(s["lost"])
                res["gap"].append(s["max_gap_ms"])
                res["move"].append(ms(t_inuse - t0))
            cur = other
        # Each agent's steps while the moves ran.
        steps = {}
        for k in (1, 2, 3):
            with open(hosts.agent_log(k), "rb") as f:
                f.seek(logs_at[k])
                text = f.read().decode(errors="replace")
            steps[f"h{k}"] = [int(x) / 1000 for x in re.findall(r"apply_us=(\d+)", text)]
        res["steps"] = steps
        log(f"  failover, {label}: lost {res['lost']}")
        out[label] = res
    return out


def iperf(client_ns: str, server_ip: str) -> float:
    out = subprocess.run(["ip", "netns", "exec", client_ns, "iperf3", "-J", "-c", server_ip, "-t", "2"],
                         capture_output=True, text=True, timeout=60)
    if out.returncode:
        raise RuntimeError(f"iperf3 from {client_ns}: {out.stdout[-500:]} {out.stderr}")
    return json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9


def bench_throughput(ctx: Ctx, api: eniapi.Api, ids: dict, runs: int) -> dict:
    vpc = api.create_vpc("10.0.0.0/16")
    vsw = api.create_vswitch(vpc, "10.0.1.0/24")
    group = api.create_group(vpc)
    big = "ecs.g7.32xlarge"
    server = api.run_instance(vsw, group, host=ids["h1"], instance_type=big)
    clients = {"same host": api.run_instance(vsw, group, host=ids["h1"], instance_type=big),
               "across hosts": api.run_instance(vsw, group, host=ids["h3"], instance_type=big)}
    ips = wait_instances(api, [server, *clients.values()])
    ctx.bg(["ip", "netns", "exec", server, "iperf3", "-s"], "iperf3 server")
    time.sleep(0.3)
    out = {}
    for label, client in clients.items():
        out[label] = [iperf(client, ips[server]) for _ in range(runs)]
        log(f"  iperf3, {label}: {' '.join(f'{x:.2f}' for x in out[label])} Gbit/s")
    return out


def report(att: dict, fo: dict, tp: dict) -> str:
    lines = [f"{'measurement':52} {'unit':>7} {'median':>8} {'p90':>8} {'min':>8} {'max':>8} {'runs':>5}  {'across/same':>11}"]
    lines.append("-" * len(lines[0]))

    def row(label, xs, unit, same=None):
        s = stats(xs)
        if s is None:
            lines.append(f"{label:52} {unit:>7} {'(no data)':>8}")
            return
        ratio = ""
        if same:
            m = statistics.median(same)
            ratio = f"{statistics.median(xs) / m:.2f}x" if m else "n/a"
        lines.append(f"{label:52} {unit:>7} {s['median']:8.2f} {s['p90']:8.2f} {s['min']:8.2f} {s['max']:8.2f} "
                     f"{s['runs']:5d}  {ratio:>11}")

    lines.append("[attach -> traffic: client on the ENI's host, or on another]")
    row("same host", att["same host"]["traffic"], "ms")
    row("across hosts", att["across hosts"]["traffic"], "ms", att["same host"]["traffic"])
    lines.append(f"[failover under a {FAILOVER_PROBE_US / 1000:g} ms probe: detach, poll Available, attach, poll InUse]")
    for what, unit in (("lost", "probes"), ("gap", "ms"), ("move", "ms")):
        row(f"same host: {what}", fo["same host"][what], unit)
        row(f"across hosts: {what}", fo["across hosts"][what], unit, fo["same host"][what])
    lines.append("[each agent's own step (plan + apply) during the cross-host moves]")
    for h, xs in fo["across hosts"]["steps"].items():
        row(f"{h} ({'A' if h == 'h1' else 'B' if h == 'h3' else 'client'})", xs, "ms")
    lines.append("[TCP throughput, iperf3 2 s, one stream, between ecs.g7.32xlarge instances]")
    row("same host", tp["same host"], "Gbit/s")
    row("across hosts (VXLAN)", tp["across hosts"], "Gbit/s", tp["same host"])
    lines.append("")
    med = statistics.median(att["across hosts"]["traffic"])
    lines.append(f"goal: cross-host attach-to-traffic p50 < {ATTACH_GOAL_MS:g} ms: "
                 f"{'MET' if med < ATTACH_GOAL_MS else 'NOT MET'} ({med:.2f} ms)")
    same, across = statistics.median(fo["same host"]["gap"]), statistics.median(fo["across hosts"]["gap"])
    lines.append(f"goal: cross-host move gap no worse than the same-host move (median): "
                 f"{'MET' if across <= same * 1.1 + FAILOVER_PROBE_US / 1000 else 'NOT MET'} "
                 f"({across:.1f} vs {same:.1f} ms)")
    steps = [x for xs in fo["across hosts"]["steps"].values() for x in xs]
    worst = max(steps) if steps else float("nan")
    p90 = stats(steps)["p90"] if steps else float("nan")
    lines.append(f"goal: each agent's step < {STEP_GOAL_MS:g} ms: "
                 f"{'MET' if steps and p90 < STEP_GOAL_MS else 'NOT MET'} (p90 {p90:.2f} ms, max {worst:.2f} ms)")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10, help="timed runs per measurement (default 10)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--bin", default=os.environ.get("ENI_BIN") or str(HERE.parent / "target" / "release" / "eni"))
    ap.add_argument("--keep", action="store_true", help="keep the work dir (logs) afterwards")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    if not os.access(args.bin, os.X_OK):
        print(f"no eni binary at {args.bin}; cargo build --release -p eni, or --bin", file=sys.stderr)
        return 2
    tag = "ebh" + secrets.token_hex(2)
    workdir = Path(tempfile.mkdtemp(prefix=f"{tag}-", dir="/tmp"))
    ctx = Ctx(workdir, args.bin, "info")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    hosts = None
    rc = 0
    try:
        srv = AgentsServer(args.bin, workdir, f"{tag}-", "info")
        ctx.servers.append(srv)
        srv.start()
        hosts = simhosts.Hosts(f"{tag}-", workdir / "hosts", args.bin, ("127.0.0.1", srv.port),
                               srv.data_dir / "agent-token", count=3, zones=[eniapi.ZONE],
                               relay_port=srv.port)
        hosts.up()
        api = eniapi.Api(srv)
        deadline = time.monotonic() + 20
        while len(ids := host_ids(api)) < 3:
            if time.monotonic() > deadline:
                raise RuntimeError(f"hosts not Available: {ids}")
            time.sleep(0.1)
        log(f"tag {tag}, work dir {workdir}, {args.runs} runs (+{args.warmup} warm-up) each")
        att = bench_attach(ctx, api, ids, args.runs, args.warmup)
        fo = bench_failover(ctx, api, hosts, ids, args.runs, args.warmup)
        tp = bench_throughput(ctx, api, ids, max(3, args.runs // 3))
        print(host_info())
        print(f"command: python3 bench/hosts.py --runs {args.runs}")
        print(report(att, fo, tp))
    except BaseException as e:
        log(f"FAILED: {type(e).__name__}: {e}")
        rc = 1
    finally:
        problems = ctx.close()
        if hosts is not None:
            problems += hosts.down()
        for p in problems:
            log(f"cleanup: {p}")
        if args.keep or rc:
            log(f"work dir kept: {workdir}")
        else:
            subprocess.run(["rm", "-rf", str(workdir)])
    return rc


if __name__ == "__main__":
    sys.exit(main())
