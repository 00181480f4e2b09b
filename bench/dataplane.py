#!/usr/bin/env python3
"""Data-plane benchmark: eni's attach-to-traffic and failover against the Debian
containernetworking-plugins (host-device, bridge) doing the same jobs.

    python3 bench/dataplane.py [--runs N] [--bin PATH]

Needs root, iproute2 and (for the reference) `apt-get install containernetworking-plugins`.
See bench/README.md for what is measured and how. Everything it creates carries a unique name
(`eb<hex>...`) and is removed at the end, also on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import eniapi  # noqa: E402
from proctrace import ProcTracer  # noqa: E402

ECHO = str(HERE / "echo.py")
IMDS = str(HERE / "imds.py")
PROBER = str(HERE / "prober.py")
PORT = 7777
CNI_DIR = "/usr/lib/cni"
ATTACH_PROBE_US = 200  # attach-to-traffic probe interval
FAILOVER_PROBE_US = 10000  # failover probe interval (the issue states failover losses at 10 ms)
QUIET_S = 0.03  # how long a target must stay silent before an attach is timed
TAIL_S = 0.3  # probing after a failover completes
PAUSE_MAX_S = 0.25  # random pause before each timed request
STEP_GOAL_MS = 5.0  # every namespace step of an apply (--trace)
FAILOVER_GOAL = 6  # median probes lost at FAILOVER_PROBE_US, API round trips included
STEP_THREAD = "eni-step"  # the agent's thread for one namespace step of an apply
LINK_DEL_THREAD = "eni-link-del"  # its helper thread that awaits a link delete's answer


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(*cmd: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    r = subprocess.run(list(cmd), capture_output=True, text=True, input=input)
    if check and r.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


# ---------------------------------------------------------------- background processes


class Bg:
    """A line-oriented child process (echo server, prober)."""

    def __init__(self, argv: list[str], name: str):
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, prefix: "str | tuple[str, ...]", timeout: float) -> str | None:
        """The next line starting with `prefix` (or one of them; others are dropped); None on
        timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                err = self.proc.stderr.read() if self.proc.poll() is not None else ""
                raise RuntimeError(f"{self.name} exited: {err.strip()}")
            if line.startswith(prefix):
                return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Prober:
    """prober.py in a namespace; see its docstring for the protocol."""

    def __init__(self, ctx: "Ctx", ns: str):
        self.bg = ctx.bg(["ip", "netns", "exec", ns, sys.executable, PROBER], f"prober in {ns}")
        if self.bg.expect("ready", 10) is None:
            raise RuntimeError(f"prober in {ns} did not start")
        self.epoch = 0

    def _start(self, mode: str, ip: str, interval_us: int) -> int:
        self.epoch += 1
        self.bg.send(f"{mode} {self.epoch} {ip} {PORT} {interval_us}")
        if self.bg.expect(f"started {self.epoch}", 5) is None:
            raise RuntimeError("prober did not start a run")
        return self.epoch

    def arm(self, ip: str, interval_us: int = ATTACH_PROBE_US) -> int:
        """Probes `ip` until the first answer; makes sure nothing answers for QUIET_S first
        (retrying for a while: a NIC being removed may still answer)."""
        for _ in range(100):
            e = self._start("first", ip, interval_us)
            if self.bg.expect(f"echo {e} ", QUIET_S) is None:
                return e
            time.sleep(0.05)
        raise RuntimeError(f"{ip} keeps answering; cannot time an attach")

    def first_echo(self, epoch: int, timeout: float) -> dict | None:
        """{t_recv, t_sent, who} of the first answer of run `epoch`, or None (run stopped)."""
        line = self.bg.expect(f"echo {epoch} ", timeout)
        if line is None:
            self.bg.send("stop")
            line = self.bg.expect((f"none {epoch}", f"echo {epoch} "), 2)
            if line is None or line.startswith("none"):
                return None
        _, _, _, t_sent, t_recv, who, _ = line.split()
        return {"t_sent": float(t_sent), "t_recv": float(t_recv), "who": who}

    def reach(self, ip: str, timeout: float = 5.0) -> str | None:
        """Who answers at `ip` (None: nobody within `timeout`)."""
        e = self._start("first", ip, 1000)
        got = self.first_echo(e, timeout)
        return got and got["who"]

    def stream(self, ip: str, interval_us: int = FAILOVER_PROBE_US) -> int:
        return self._start("stream", ip, interval_us)

    def summary(self, epoch: int) -> dict:
        self.bg.send("stop")
        line = self.bg.expect("summary ", 10)
        if line is None:
            raise RuntimeError("prober gave no summary")
        s = json.loads(line[len("summary "):])
        assert s["epoch"] == epoch, s
        return s


# ---------------------------------------------------------------- cleanup context


class Ctx:
    """Everything the benchmark created, removed by name in `close()`."""

    def __init__(self, workdir: Path, binary: str, log_level: str):
        self.workdir = workdir
        self.binary = binary
        self.log_level = log_level
        self.procs: list[Bg] = []
        self.servers: list[eniapi.EniServer] = []
        self.namespaces: list[str] = []

    def bg(self, argv: list[str], name: str) -> Bg:
        b = Bg(argv, name)
        self.procs.append(b)
        return b

    def echo(self, ns: str, name: str) -> Bg:
        b = self.bg(["ip", "netns", "exec", ns, sys.executable, ECHO, name, str(PORT)], f"echo in {ns}")
        if b.expect("ready", 10) is None:
            raise RuntimeError(f"echo server in {ns} did not start")
        return b

    def server(self, prefix: str) -> eniapi.EniServer:
        s = eniapi.EniServer(self.binary, self.workdir, prefix, self.log_level)
        self.servers.append(s)
        return s.start()

    def netns(self, name: str) -> str:
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def close(self) -> list[str]:
        problems = []
        for p in self.procs:
            try:
                p.stop()
            except Exception as e:  # keep cleaning
                problems.append(f"stopping {p.name}: {e}")
        for s in self.servers:
            try:
                s.stop()
                out = s.purge()
                log(f"purge {s.prefix}: {out.splitlines()[-1] if out else ''}")
            except Exception as e:
                problems.append(f"purging {s.prefix}: {e}")
        for ns in self.namespaces:
            r = sh("ip", "netns", "del", ns, check=False)
            if r.returncode and "No such file" not in r.stderr:
                problems.append(f"ip netns del {ns}: {r.stderr.strip()}")
        return problems


# ---------------------------------------------------------------- statistics and the table


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def stats(xs: list[float]) -> dict | None:
    if not xs:
        return None
    return {"median": statistics.median(xs), "p90": pct(xs, 0.9), "min": min(xs), "max": max(xs), "runs": len(xs)}


def ms(t: float) -> float:
    return t * 1e3


def pause() -> None:
    """Waits a random 0-250 ms, so that requests reach the agent at random points of its
    cycle (a long poll, a resync every 2 s) instead of at the same point every run."""
    time.sleep(random.uniform(0, PAUSE_MAX_S))


# ---------------------------------------------------------------- eni


def wait_instances(api: eniapi.Api, instances: list[str], timeout: float = 15) -> dict[str, str]:
    """Waits until every instance's primary ENI is InUse (its namespace is configured);
    returns instance → primary IP."""
    ips = {}
    deadline = time.monotonic() + timeout
    for i in instances:
        while True:
            _, status, ip = api.primary_eni(i)
            if status == "InUse" and os.path.exists(f"/run/netns/{i}"):
                ips[i] = ip
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"instance {i}: primary ENI still {status}")
            time.sleep(0.02)
    return ips


def eni_network(api: eniapi.Api, n_targets: int):
    """A VPC with vSwitch a (10.0.1.0/24: targets and the ENI) and b (10.0.2.0/24: the
    client, so probes cross the VPC router and never wait on the client's own ARP)."""
    vpc = api.create_vpc("10.0.0.0/16")
    vsw_a = api.create_vswitch(vpc, "10.0.1.0/24")
    vsw_b = api.create_vswitch(vpc, "10.0.2.0/24")
    group = api.create_group(vpc)
    targets = [api.run_instance(vsw_a, group) for _ in range(n_targets)]
    client = api.run_instance(vsw_b, group)
    ips = wait_instances(api, targets + [client])
    eni = api.create_eni(vsw_a, group, "10.0.1.100")
    return targets, client, eni, "10.0.1.100", ips


def bench_eni_attach(ctx: Ctx, tag: str, runs: int, warmup: int, trace: bool) -> dict:
    log("eni attach-to-traffic: starting eni serve")
    srv = ctx.server(f"{tag}a-")
    api = eniapi.Api(srv)
    (target,), client, eni, eni_ip, ips = eni_network(api, 1)
    ctx.echo(target, "T")
    prober = Prober(ctx, client)
    if prober.reach(ips[target]) != "T":
        raise RuntimeError(f"client {client} cannot reach instance {target} at {ips[target]}")
    out = {k: [] for k in ("call", "inuse", "traffic", "traffic_sent", "detach_call", "available")}
    failures = 0
    for i in range(warmup + runs):
        pause()
        e = prober.arm(eni_ip)
        t0 = time.monotonic()
        api.attach(eni, target)
        t_call = time.monotonic()
        t_inuse = api.wait_eni(eni, "InUse")
        echo = prober.first_echo(e, 5)
        pause()
        t1 = time.monotonic()
        api.detach(eni, target)
        t_dcall = time.monotonic()
        t_avail = api.wait_eni(eni, "Available")
        if i < warmup:
            continue
        if echo is None:
            failures += 1
            log(f"  run {i - warmup + 1}: no echo within 5 s")
            continue
        out["call"].append(ms(t_call - t0))
        out["inuse"].append(ms(t_inuse - t0))
        out["traffic"].append(ms(echo["t_recv"] - t0))
        out["traffic_sent"].append(ms(echo["t_sent"] - t0))
        out["detach_call"].append(ms(t_dcall - t1))
        out["available"].append(ms(t_avail - t1))
    log(f"  attach-to-traffic runs: {out['traffic'] and ' '.join(f'{x:.1f}' for x in out['traffic'])} ms")
    out["failures"] = failures
    if trace:
        out["trace"] = trace_attach(ctx, srv, api, prober, eni, target, client, eni_ip, runs)
    out["server_log"] = str(srv.log_path)
    return out


def trace_attach(ctx: Ctx, srv: eniapi.EniServer, api: eniapi.Api, prober: Prober, eni: str, target: str,
                 client: str, eni_ip: str, runs: int) -> dict:
    """Attach and detach runs again, this time recording through the kernel's proc connector
    (no cost to the server) every thread the server creates and every process it starts, set
    against the attach call, InUse and the first echo, and the detach call and Available. The
    agent applies a plan in short-lived threads named STEP_THREAD, one per namespace step; it
    starts no process on the way. A link delete's step ends once the link is gone; a helper
    thread named LINK_DEL_THREAD awaits the kernel's answer, which comes after an RCU barrier."""
    try:
        tracer = ProcTracer(srv.proc.pid)
    except OSError as e:
        log(f"  --trace: no proc connector ({e}); skipped")
        return {}
    rows = []
    try:
        time.sleep(0.2)
        for _ in range(runs):
            pause()
            e = prober.arm(eni_ip)
            t0 = time.monotonic()
            api.attach(eni, target)
            t_call = time.monotonic()
            t_inuse = api.wait_eni(eni, "InUse")
            echo = prober.first_echo(e, 5)
            pause()
            t1 = time.monotonic()
            api.detach(eni, target)
            t_dcall = time.monotonic()
            t_avail = api.wait_eni(eni, "Available")
            time.sleep(0.05)  # let the last exits arrive
            t_echo = echo and echo["t_recv"]
            # What ran on the way to the first echo (or InUse, if that came first); later
            # threads (the report's, the next round's) are no part of it.
            t_end = min(t_inuse, t_echo) if t_echo else t_inuse
            steps = [s for s in tracer.thread_spans(t0, t_inuse, STEP_THREAD) if s[0] <= t_end]
            ps = [p for p in tracer.between(t0, t_inuse) if p[0] <= t_end]
            th = tracer.threads_between(t0, t_inuse)
            dsteps = tracer.thread_spans(t1, t_avail, STEP_THREAD)
            dps = tracer.between(t1, t_avail)
            helpers = tracer.thread_spans(t1, t_avail + 0.05, LINK_DEL_THREAD)
            if not steps or not dsteps:
                continue
            first, last_end = steps[0][0], max(s[1] for s in steps)
            dfirst, dlast_end = dsteps[0][0], max(s[1] for s in dsteps)
            names = {target: "target", client: "client"}
            rows.append({
                "api_call": ms(t_call - t0),
                "until_first_thread": ms(th[0] - t0) if th else None,
                "steps": len(steps),
                "step_busy": sum(ms(s[1] - s[0]) for s in steps),
                "longest_step": max(ms(s[1] - s[0]) for s in steps),
                "first_step_to_last_exit": ms(last_end - first),
                "last_exit_to_inuse": ms(t_inuse - last_end),
                "procs": len(ps),
                "inuse": ms(t_inuse - t0),
                "traffic": ms(t_echo - t0) if t_echo else None,
                "traffic_after_last_exit": ms(t_echo - last_end) if t_echo else None,
                "detach_call": ms(t_dcall - t1),
                "detach_until_first_step": ms(dfirst - t1),
                "detach_steps": len(dsteps),
                "detach_longest_step": max(ms(s[1] - s[0]) for s in dsteps),
                "detach_first_step_to_last_exit": ms(dlast_end - dfirst),
                "detach_last_exit_to_available": ms(t_avail - dlast_end),
                "detach_procs": len(dps),
                "available": ms(t_avail - t1),
                "link_del_answer": max(ms(h[1] - h[0]) for h in helpers) if helpers else None,
                "detail": [f"{ms(s[0] - t0):7.2f} +{ms(s[1] - s[0]):5.2f}  step thread" for s in steps]
                + [f"{ms(p[0] - t0):7.2f} +{ms(p[1] - p[0]):5.2f}  {short_ns(p[3], srv.prefix, names)}: {p[2]}"
                   for p in ps],
                "detach_detail": [f"{ms(s[0] - t1):7.2f} +{ms(s[1] - s[0]):5.2f}  step thread" for s in dsteps]
                + [f"{ms(h[0] - t1):7.2f} +{ms(h[1] - h[0]):5.2f}  {LINK_DEL_THREAD} (awaits the kernel's answer)"
                   for h in helpers]
                + [f"{ms(p[0] - t1):7.2f} +{ms(p[1] - p[0]):5.2f}  {short_ns(p[3], srv.prefix, names)}: {p[2]}"
                   for p in dps],
            })
    finally:
        tracer.close()
    return {"runs": rows}


def short_ns(ns: str, prefix: str, names: dict[str, str]) -> str:
    """The VPC router namespace as `router`, known instances by role, others as they are."""
    if ns.startswith(prefix + "v-"):
        return "router"
    return names.get(ns, ns)


def trace_report(tr: dict) -> str:
    rows = tr.get("runs") or []
    if not rows:
        return "trace: no data"

    def med(k):
        xs = [r[k] for r in rows if r.get(k) is not None]
        return statistics.median(xs) if xs else float("nan")

    def rng(k):
        xs = [r[k] for r in rows if r.get(k) is not None]
        return f"[{min(xs):6.2f} - {max(xs):6.2f}]" if xs else ""

    def line(label, k, note=""):
        return f"  {label:56}{med(k):8.2f} {rng(k)}{'  ' + note if note else ''}"

    per_op = [r[k] for r in rows for k in ("longest_step", "detach_longest_step")]
    longest = max(per_op)
    over = sum(1 for x in per_op if x >= STEP_GOAL_MS)
    met = "MET" if not over else f"NOT MET in {over} of {len(per_op)}"
    lines = [
        f"where eni's attach and detach time goes ({len(rows)} more runs, traced through the proc connector;",
        "ms from just before the request, median [min - max]):",
        "attach:",
        line("AttachNetworkInterface HTTP round trip", "api_call"),
        line("-> the agent's first new thread (reconcile starts)", "until_first_thread",
             "long-poll wake-up + fetch + render + plan"),
        line("first namespace step start -> last step exit", "first_step_to_last_exit",
             f"{med('steps'):.0f} threads, {med('step_busy'):.2f} ms summed"),
        line("longest namespace step", "longest_step"),
        line("last step exit -> first echo", "traffic_after_last_exit"),
        line("last step exit -> InUse seen (1 ms poll)", "last_exit_to_inuse"),
        line("first echo", "traffic"),
        line("InUse", "inuse"),
        f"  {'child processes started on the way':56}{med('procs'):8.0f}",
        "detach:",
        line("DetachNetworkInterface HTTP round trip", "detach_call"),
        line("-> the agent's first namespace step", "detach_until_first_step"),
        line("first namespace step start -> last step exit", "detach_first_step_to_last_exit",
             f"{med('detach_steps'):.0f} threads"),
        line("longest namespace step", "detach_longest_step", "(the NIC is gone when it ends)"),
        line("last step exit -> Available seen (1 ms poll)", "detach_last_exit_to_available"),
        line("Available", "available"),
        line(f"the link delete's answer, awaited by {LINK_DEL_THREAD}", "link_del_answer",
             "(the kernel's RCU barrier, off the path)"),
        f"  {'child processes started on the way':56}{med('detach_procs'):8.0f}",
        f"goal: every namespace step < {STEP_GOAL_MS:.0f} ms: {met} (longest step of each attach and detach: "
        f"median {statistics.median(per_op):.2f} ms, max {longest:.2f} ms)",
        "threads (and processes) of the median run (start ms from the request, +duration ms):",
    ]
    mid = sorted(rows, key=lambda r: r["inuse"])[len(rows) // 2]
    lines += ["  attach:"] + [f"    {x}" for x in mid["detail"]]
    lines += ["  detach:"] + [f"    {x}" for x in mid["detach_detail"]]
    return "\n".join(lines)


def bench_eni_failover(ctx: Ctx, tag: str, runs: int, warmup: int, trace: bool) -> dict:
    log("eni failover: starting eni serve")
    srv = ctx.server(f"{tag}f-")
    api = eniapi.Api(srv)
    (a, b), client, eni, eni_ip, _ = eni_network(api, 2)
    name = {a: "A", b: "B"}
    ctx.echo(a, "A")
    ctx.echo(b, "B")
    prober = Prober(ctx, client)
    api.attach(eni, a)
    api.wait_eni(eni, "InUse")
    if prober.reach(eni_ip) != "A":
        raise RuntimeError("the ENI does not answer from instance A")
    cur = a
    out = {k: [] for k in ("lost", "gap", "move", "detach", "attach")}
    out["runs"] = []
    tracer = ProcTracer(srv.proc.pid) if trace else None
    for i in range(warmup + runs):
        other = b if cur == a else a
        e = prober.stream(eni_ip)
        time.sleep(0.2)
        pause()
        t0 = time.monotonic()
        api.detach(eni, cur)
        t_avail = api.wait_eni(eni, "Available")
        t_att = time.monotonic()
        api.attach(eni, other)
        t_inuse = api.wait_eni(eni, "InUse")
        time.sleep(TAIL_S)
        s = prober.summary(e)
        who = [w for w, _, _ in s["answered_by"]]
        if tracer and i >= warmup and s["lost"]:
            time.sleep(0.05)  # let the last exits arrive
            ps = tracer.between(t0, t_inuse)
            steps = tracer.thread_spans(t0, t_inuse, STEP_THREAD)
            out.setdefault("traced_losses", []).append({
                "dir": f"{name[cur]}->{name[other]}",
                "lost_at": [round(ms(t - t0), 2) for t in s["lost_sent_at"]],
                "marks": f"Available seen {ms(t_avail - t0):.2f}, attach request {ms(t_att - t0):.2f}, "
                         f"InUse seen {ms(t_inuse - t0):.2f}",
                "procs": [f"{ms(t - t0):7.2f} +{ms(e - t):5.2f}  step thread" for t, e in steps]
                + [f"{ms(p[0] - t0):7.2f} +{ms(p[1] - p[0]):5.2f}  "
                   f"{short_ns(p[3], srv.prefix, {a: 'A', b: 'B', client: 'client'})}: {p[2]}"
                   for p in ps],
            })
        if i >= warmup:
            out["lost"].append(s["lost"])
            out["gap"].append(s["max_gap_ms"])
            out["move"].append(ms(t_inuse - t0))
            out["detach"].append(ms(t_avail - t0))
            out["attach"].append(ms(t_inuse - t_avail))
            out["runs"].append({"dir": f"{name[cur]}->{name[other]}", "lost": s["lost"], "gap_ms": s["max_gap_ms"],
                                "answered_by": who, "sent": s["sent"]})
        if not who or who[-1] != name[other]:
            raise RuntimeError(f"after the move to {name[other]} the ENI is answered by {who}")
        cur = other
        time.sleep(0.05)
    if tracer:
        tracer.close()
    log(f"  failover lost probes per run: {out['lost']}")
    out["server_log"] = str(srv.log_path)
    return out


# ---------------------------------------------------------------- CNI reference


class Cni:
    """Runs a Debian CNI plugin the way dataplane-proto/cni_bench.py does: `ip netns exec
    HOST /usr/lib/cni/TYPE` with the config on stdin and the CNI_* environment."""

    def __init__(self, host_ns: str):
        self.host_ns = host_ns

    def __call__(self, cmd: str, conf: dict, netns: str, ifname: str, cid: str) -> float:
        env = dict(os.environ, CNI_COMMAND=cmd, CNI_CONTAINERID=cid, CNI_NETNS=f"/run/netns/{netns}",
                   CNI_IFNAME=ifname, CNI_PATH=CNI_DIR)
        t0 = time.monotonic()
        r = subprocess.run(["ip", "netns", "exec", self.host_ns, f"{CNI_DIR}/{conf['type']}"],
                           input=json.dumps(conf).encode(), env=env, capture_output=True)
        dt = time.monotonic() - t0
        if r.returncode:
            raise RuntimeError(f"CNI {conf['type']} {cmd} failed: {r.stdout[:400]!r} {r.stderr[:400]!r}")
        return dt


def cni_confs(tag: str, workdir: Path, hd_dev: str) -> dict:
    return {
        "host-device": {
            "cniVersion": "0.4.0", "name": f"{tag}hd", "type": "host-device", "device": hd_dev,
            "ipam": {"type": "static", "addresses": [{"address": "10.1.1.40/24", "gateway": "10.1.1.253"}]},
        },
        "bridge": {
            "cniVersion": "0.4.0", "name": f"{tag}br", "type": "bridge", "bridge": f"{tag}br", "isGateway": True,
            "args": {"cni": {"mac": BRIDGE_MAC}},
            "ipam": {"type": "host-local", "dataDir": str(workdir / "cni-ipam"),
                     "ranges": [[{"subnet": "10.77.0.0/24", "rangeStart": "10.77.0.10",
                                  "rangeEnd": "10.77.0.10", "gateway": "10.77.0.1"}]]},
        },
    }


CNI_IP = {"host-device": "10.1.1.40", "bridge": "10.77.0.10"}
BRIDGE_MAC = "02:eb:00:00:00:10"  # the container end's MAC, pinned (args.cni.mac) like an ENI's


def bench_cni(ctx: Ctx, tag: str, runs: int, warmup: int) -> dict:
    log("CNI reference: host-device and bridge")
    host = ctx.netns(f"{tag}-cnih")
    cont = ctx.netns(f"{tag}-cnic")
    ns_a = ctx.netns(f"{tag}-cnia")
    ns_b = ctx.netns(f"{tag}-cnib")
    for ns, nm in ((cont, "C"), (ns_a, "A"), (ns_b, "B")):
        ctx.echo(ns, nm)
    # host-device moves an existing device: a veth whose peer stays in the host namespace,
    # addressed as the gateway, with a permanent neighbour for the container address (the
    # device keeps its MAC across moves), as eni's router holds one per ENI address.
    hd_dev, hd_peer = f"{tag}hd", f"{tag}hp"
    sh("ip", "-n", host, "link", "add", hd_dev, "type", "veth", "peer", "name", hd_peer)
    mac = json.loads(sh("ip", "-n", host, "-j", "link", "show", "dev", hd_dev).stdout)[0]["address"]
    sh("ip", "-n", host, "-batch", "-", input=(
        f"address add 10.1.1.253/24 dev {hd_peer}\nlink set dev {hd_peer} up\n"
        f"neigh replace 10.1.1.40 lladdr {mac} dev {hd_peer} nud permanent\n"))
    confs = cni_confs(tag, ctx.workdir, hd_dev)
    cni = Cni(host)
    prober = Prober(ctx, host)
    out: dict = {"wrapper": []}
    for _ in range(runs):
        t0 = time.monotonic()
        sh("ip", "netns", "exec", host, "true")
        out["wrapper"].append(ms(time.monotonic() - t0))

    for plugin, ifname in (("host-device", "eth1"), ("bridge", "eth2")):
        conf, ip = confs[plugin], CNI_IP[plugin]
        res = {"add": [], "del": [], "traffic": [], "failures": 0}
        cni("ADD", conf, cont, ifname, f"{tag}c")  # creates the bridge
        cni("DEL", conf, cont, ifname, f"{tag}c")
        if plugin == "bridge":
            sh("ip", "-n", host, "neigh", "replace", ip, "lladdr", BRIDGE_MAC, "dev", conf["bridge"], "nud", "permanent")
        for i in range(warmup + runs):
            e = prober.arm(ip) if i >= warmup else None
            t0 = time.monotonic()
            t_add = cni("ADD", conf, cont, ifname, f"{tag}c{i}")
            echo = prober.first_echo(e, 3) if e else None
            t_del = cni("DEL", conf, cont, ifname, f"{tag}c{i}")
            if i < warmup:
                continue
            res["add"].append(ms(t_add))
            res["del"].append(ms(t_del))
            if echo is None:
                res["failures"] += 1
                log(f"  {plugin} run {i - warmup + 1}: no echo within 3 s")
            else:
                res["traffic"].append(ms(echo["t_recv"] - t0))
        log(f"  {plugin} ADD-to-traffic runs: {' '.join(f'{x:.1f}' for x in res['traffic'])} ms")

        # Failover the CNI way: DEL from the container holding the interface, ADD into the
        # other (these plugins have no make-before-break), with the same 1 ms probe.
        fo = {"lost": [], "gap": [], "move": []}
        cur, other = ns_a, ns_b
        cni("ADD", conf, cur, ifname, f"{tag}{cur[-1]}")
        if prober.reach(ip) != "A":
            raise RuntimeError(f"{plugin}: container A does not answer at {ip}")
        for i in range(warmup + runs):
            e = prober.stream(ip)
            time.sleep(0.2)
            t0 = time.monotonic()
            cni("DEL", conf, cur, ifname, f"{tag}{cur[-1]}")
            cni("ADD", conf, other, ifname, f"{tag}{other[-1]}")
            t1 = time.monotonic()
            time.sleep(TAIL_S)
            s = prober.summary(e)
            if i >= warmup:
                fo["lost"].append(s["lost"])
                fo["gap"].append(s["max_gap_ms"])
                fo["move"].append(ms(t1 - t0))
            cur, other = other, cur
        cni("DEL", conf, cur, ifname, f"{tag}{cur[-1]}")
        log(f"  {plugin} failover lost probes per run: {fo['lost']}")
        res["failover"] = fo
        out[plugin] = res
    return out


# ---------------------------------------------------------------- report


def eip_status(api: eniapi.Api, allocation_id: str) -> str:
    r = api.vpc("DescribeEipAddresses", AllocationId=allocation_id)
    return r["EipAddresses"]["EipAddress"][0]["Status"]


def wait_eip(api: eniapi.Api, allocation_id: str, status: str, timeout: float = 10.0) -> float:
    """Polls every 1 ms until the EIP shows `status`; the monotonic time it was first seen."""
    deadline = time.monotonic() + timeout
    while True:
        t = time.monotonic()
        if eip_status(api, allocation_id) == status:
            return t
        if t > deadline:
            raise TimeoutError(f"{allocation_id} not {status} after {timeout}s")
        time.sleep(0.001)


def eip_setup(ctx: Ctx, prefix: str, what: str):
    """A server (`prefix`) with a VPC whose group lets the probe's UDP in from anywhere, a
    target instance running the echo server, and a keeper instance holding a NAT EIP
    throughout (so the internet namespace, which exists while some EIP is bound, stays).
    Returns (srv, api, vsw, group, target)."""
    log(f"{what}: starting eni serve")
    srv = ctx.server(prefix)
    api = eniapi.Api(srv)
    vpc = api.create_vpc("10.0.0.0/16")
    vsw = api.create_vswitch(vpc, "10.0.1.0/24")
    group = api.create_group(vpc)
    api.ecs("AuthorizeSecurityGroup", SecurityGroupId=group, IpProtocol="UDP",
            PortRange=f"{PORT}/{PORT}", SourceCidrIp="0.0.0.0/0")
    target, keeper = api.run_instance(vsw, group), api.run_instance(vsw, group)
    wait_instances(api, [target, keeper])
    ctx.echo(target, "T")
    kept = api.vpc("AllocateEipAddress")["AllocationId"]
    api.vpc("AssociateEipAddress", AllocationId=kept, InstanceId=keeper)
    wait_eip(api, kept, "InUse")
    return srv, api, vsw, group, target


def bench_eip(ctx: Ctx, tag: str, runs: int, warmup: int) -> dict:
    """Associate-to-traffic of an EIP in NAT mode: a prober in the simulated internet
    (`<prefix>inet`) sends to the EIP every 0.2 ms; each run times from just before
    AssociateEipAddress to the first echo from the instance, and to InUse; then
    UnassociateEipAddress to Available. (Another instance keeps an EIP throughout, so the
    internet namespace, which exists while some EIP is bound, stays.)"""
    srv, api, vsw, group, target = eip_setup(ctx, f"{tag}e-", "EIP associate-to-traffic (NAT)")
    eip = api.vpc("AllocateEipAddress")
    eip_id, ip = eip["AllocationId"], eip["EipAddress"]
    prober = Prober(ctx, f"{srv.prefix}inet")
    out = {k: [] for k in ("call", "inuse", "traffic", "available")}
    failures = 0
    for i in range(warmup + runs):
        pause()
        e = prober.arm(ip)
        t0 = time.monotonic()
        api.vpc("AssociateEipAddress", AllocationId=eip_id, InstanceId=target)
        t_call = time.monotonic()
        t_inuse = wait_eip(api, eip_id, "InUse")
        echo = prober.first_echo(e, 5)
        pause()
        t1 = time.monotonic()
        api.vpc("UnassociateEipAddress", AllocationId=eip_id, InstanceId=target)
        t_avail = wait_eip(api, eip_id, "Available")
        if i < warmup:
            continue
        if echo is None:
            failures += 1
            continue
        out["call"].append(ms(t_call - t0))
        out["inuse"].append(ms(t_inuse - t0))
        out["traffic"].append(ms(echo["t_recv"] - t0))
        out["available"].append(ms(t_avail - t1))
    out["failures"] = failures
    log(f"  EIP associate-to-traffic runs: {' '.join(f'{x:.1f}' for x in out['traffic'])} ms")
    return out


VISIBLE_MODES = ("BINDED", "MULTI_BINDED")


def bench_eip_visible(ctx: Ctx, tag: str, runs: int, warmup: int) -> dict:
    """The EIP visible modes, per mode: a secondary ENI of the target instance holds an EIP
    while detached, and a prober in the simulated internet (`<prefix>inet`) sends to the EIP
    every 0.2 ms. Each run: AssociateEipAddress (Mode, InstanceType NetworkInterface) with the
    ENI detached, timed to InUse; AttachNetworkInterface, timed to InUse and to the first echo
    at the EIP (the guest's NIC carries the EIP itself); then DetachNetworkInterface to
    Available and UnassociateEipAddress to Available. BINDED takes the ENI's primary private
    IP (its only one); MULTI_BINDED the ENI's secondary private IP, so the NIC carries the EIP
    beside both private addresses. Another instance keeps a NAT EIP throughout, so the
    internet namespace stays."""
    srv, api, vsw, group, target = eip_setup(ctx, f"{tag}d-", "EIP visible modes, attach-to-traffic")
    prober = Prober(ctx, f"{srv.prefix}inet")
    enis = {"BINDED": api.create_eni(vsw, group, "10.0.1.100"),
            "MULTI_BINDED": api.create_eni(vsw, group, "10.0.1.101")}
    api.ecs("AssignPrivateIpAddresses", NetworkInterfaceId=enis["MULTI_BINDED"], **{"PrivateIpAddress.1": "10.0.1.102"})
    bind_to = {"BINDED": {}, "MULTI_BINDED": {"PrivateIpAddress": "10.0.1.102"}}
    out = {}
    for mode in VISIBLE_MODES:
        eni = enis[mode]
        eip = api.vpc("AllocateEipAddress")
        eip_id, ip = eip["AllocationId"], eip["EipAddress"]
        res = {k: [] for k in ("associate_call", "associate", "call", "inuse", "traffic", "available", "unassociate")}
        failures = 0
        for i in range(warmup + runs):
            pause()
            t0 = time.monotonic()
            api.vpc("AssociateEipAddress", AllocationId=eip_id, InstanceId=eni, InstanceType="NetworkInterface",
                    Mode=mode, **bind_to[mode])
            t_acall = time.monotonic()
            t_ainuse = wait_eip(api, eip_id, "InUse")
            pause()
            e = prober.arm(ip)
            t1 = time.monotonic()
            api.attach(eni, target)
            t_call = time.monotonic()
            t_inuse = api.wait_eni(eni, "InUse")
            echo = prober.first_echo(e, 5)
            pause()
            t2 = time.monotonic()
            api.detach(eni, target)
            t_avail = api.wait_eni(eni, "Available")
            t3 = time.monotonic()
            api.vpc("UnassociateEipAddress", AllocationId=eip_id, InstanceId=eni, InstanceType="NetworkInterface")
            t_unassoc = wait_eip(api, eip_id, "Available")
            if i < warmup:
                continue
            res["associate_call"].append(ms(t_acall - t0))
            res["associate"].append(ms(t_ainuse - t0))
            res["call"].append(ms(t_call - t1))
            res["inuse"].append(ms(t_inuse - t1))
            res["available"].append(ms(t_avail - t2))
            res["unassociate"].append(ms(t_unassoc - t3))
            if echo is None:
                failures += 1
                log(f"  {mode} run {i - warmup + 1}: no echo within 5 s")
                continue
            res["traffic"].append(ms(echo["t_recv"] - t1))
        res["failures"] = failures
        log(f"  {mode} attach-to-traffic runs: {' '.join(f'{x:.1f}' for x in res['traffic'])} ms")
        out[mode] = res
    out["server_log"] = str(srv.log_path)
    return out


def bench_metadata(ctx: Ctx, tag: str, runs: int, warmup: int) -> dict:
    """The metadata service from inside an instance: GET latency (a new connection each, as
    Terway's client makes), and how long after the API call the metadata shows an attached
    NIC's MAC, an assigned address, an unassigned one gone and a detached NIC gone (a client
    polling back to back in the instance)."""
    log("metadata service: starting eni serve")
    srv = ctx.server(f"{tag}m-")
    api = eniapi.Api(srv)
    vpc = api.create_vpc("10.0.0.0/16")
    vsw = api.create_vswitch(vpc, "10.0.1.0/24")
    group = api.create_group(vpc)
    inst = api.run_instance(vsw, group)
    wait_instances(api, [inst])
    eni = api.create_eni(vsw, group, "10.0.1.100")
    mac = api.ecs("DescribeNetworkInterfaceAttribute", NetworkInterfaceId=eni)["MacAddress"].lower()
    client = ctx.bg(["ip", "netns", "exec", inst, sys.executable, IMDS], f"imds client in {inst}")
    if client.expect("ready", 10) is None:
        raise RuntimeError("metadata client did not start")
    client.send(f"get {100 * warmup + 1} /latest/meta-data/instance-id")
    if client.expect("got ", 30) is None:
        raise RuntimeError("metadata GETs did not finish")
    client.send(f"get {100 * runs} /latest/meta-data/instance-id")
    line = client.expect("got ", 60)
    if line is None:
        raise RuntimeError("metadata GETs did not finish")
    out = {"get": json.loads(line[4:]), "attach": [], "assign": [], "unassign": [], "detach": []}
    macs = "/latest/meta-data/network/interfaces/macs/"
    ips = f"{macs}{mac}/private-ipv4s"
    n = 0

    def lag(path: str, needle: str, act) -> float | None:
        nonlocal n
        n += 1
        client.send(f"watch {n} {path} {needle}")
        time.sleep(0.05)  # the client is polling by now
        t0 = time.monotonic()
        act()
        got = client.expect(f"seen {n} ", 15)
        seen = got and got.split()[2]
        return ms(float(seen) - t0) if seen and seen != "none" else None

    for i in range(warmup + runs):
        pause()
        a = lag(macs, mac, lambda: api.attach(eni, inst))
        api.wait_eni(eni, "InUse")
        pause()
        ip = f"10.0.1.{150 + i % 50}"
        b = lag(ips, f'"{ip}"', lambda: api.ecs("AssignPrivateIpAddresses", NetworkInterfaceId=eni,
                                                 **{"PrivateIpAddress.1": ip}))
        pause()
        c = lag(ips, f'!"{ip}"', lambda: api.ecs("UnassignPrivateIpAddresses", NetworkInterfaceId=eni,
                                                  **{"PrivateIpAddress.1": ip}))
        pause()
        e = lag(macs, f"!{mac}", lambda: api.detach(eni, inst))
        api.wait_eni(eni, "Available")
        if i < warmup:
            continue
        for k, v in (("attach", a), ("assign", b), ("unassign", c), ("detach", e)):
            if v is not None:
                out[k].append(v)
    log(f"  metadata attach lag runs: {' '.join(f'{x:.1f}' for x in out['attach'])} ms")
    return out


def report(res: dict) -> str:
    a, f, c = res["eni_attach"], res["eni_failover"], res.get("cni")
    hd = c and c["host-device"]
    br = c and c["bridge"]
    rows = []  # (label, values, unit, bridge values for the ratio, host-device values for the ratio)

    def row(label, xs, unit="ms", vs_br=None, vs_hd=None):
        rows.append((label, xs, unit, vs_br, vs_hd))

    def sec(title):
        rows.append((title, None, None, None, None))

    sec("attach")
    row("eni  AttachNetworkInterface call (HTTP)", a["call"])
    row("eni  attach -> InUse (API, polled)", a["inuse"], vs_br=br and br["add"], vs_hd=hd and hd["add"])
    row("eni  attach -> traffic (first echo)", a["traffic"], vs_br=br and br["traffic"], vs_hd=hd and hd["traffic"])
    if c:
        row("cni  host-device ADD (static IPAM)", hd["add"])
        row("cni  host-device ADD -> traffic", hd["traffic"])
        row("cni  bridge ADD (host-local IPAM)", br["add"])
        row("cni  bridge ADD -> traffic", br["traffic"])
    sec("detach")
    row("eni  DetachNetworkInterface call (HTTP)", a["detach_call"])
    row("eni  detach -> Available (API, polled)", a["available"], vs_br=br and br["del"], vs_hd=hd and hd["del"])
    if c:
        row("cni  host-device DEL", hd["del"])
        row("cni  bridge DEL", br["del"])
    sec(f"failover ({FAILOVER_PROBE_US / 1000:g} ms UDP probe; eni: detach, poll until Available, attach, poll until InUse)")
    row("eni  probes lost (detach, attach elsewhere)", f["lost"], "probes",
        vs_br=br and br["failover"]["lost"], vs_hd=hd and hd["failover"]["lost"])
    row("eni  longest gap", f["gap"], vs_br=br and br["failover"]["gap"], vs_hd=hd and hd["failover"]["gap"])
    row("eni  detach call -> Available", f["detach"])
    row("eni  Available -> attach call -> InUse elsewhere", f["attach"])
    row("eni  move: detach call -> InUse elsewhere", f["move"],
        vs_br=br and br["failover"]["move"], vs_hd=hd and hd["failover"]["move"])
    ep = res.get("eip")
    if ep:
        sec("EIP (NAT mode; UDP probe every 0.2 ms from the simulated internet)")
        row("AssociateEipAddress call (HTTP)", ep["call"])
        row("associate -> InUse (API, polled)", ep["inuse"])
        row("associate -> traffic (first echo)", ep["traffic"])
        row("unassociate -> Available (API, polled)", ep["available"])
    vis = res.get("eip_visible")
    for mode in VISIBLE_MODES if vis else ():
        v = vis[mode]
        sec(f"EIP, {mode} mode (a secondary ENI holding the EIP while detached; UDP probe every 0.2 ms "
            "from the simulated internet)")
        row("AssociateEipAddress call (HTTP)", v["associate_call"])
        row("associate (ENI detached) -> InUse (polled)", v["associate"])
        row("AttachNetworkInterface call (HTTP)", v["call"])
        row("attach -> InUse (API, polled)", v["inuse"])
        row("attach -> traffic (first echo at the EIP)", v["traffic"])
        row("detach -> Available (API, polled)", v["available"])
        row("unassociate -> Available (API, polled)", v["unassociate"])
    m = res.get("metadata")
    if m:
        sec("metadata service (from inside an instance; a new connection per GET)")
        row("GET /latest/meta-data/instance-id", m["get"])
        row("AttachNetworkInterface call -> MAC listed", m["attach"])
        row("AssignPrivateIpAddresses call -> address listed", m["assign"])
        row("UnassignPrivateIpAddresses call -> address gone", m["unassign"])
        row("DetachNetworkInterface call -> MAC gone", m["detach"])
    if c:
        row("cni  host-device probes lost (DEL, ADD)", hd["failover"]["lost"], "probes")
        row("cni  host-device longest gap", hd["failover"]["gap"])
        row("cni  host-device move: DEL + ADD", hd["failover"]["move"])
        row("cni  bridge probes lost (DEL, ADD)", br["failover"]["lost"], "probes")
        row("cni  bridge longest gap", br["failover"]["gap"])
        row("cni  bridge move: DEL + ADD", br["failover"]["move"])
        sec("reference")
        row("`ip netns exec NS true` (in every CNI figure)", c["wrapper"])

    def ratio(xs, ys):
        if not xs or not ys:
            return ""
        m = statistics.median(ys)
        return f"{statistics.median(xs) / m:.2f}x" if m else "n/a"

    head = f"{'operation':46} {'unit':>6} {'median':>8} {'p90':>8} {'min':>8} {'max':>8} {'runs':>5}  {'eni/bridge':>10} {'eni/host-dev':>12}"
    lines = [head, "-" * len(head)]
    for label, xs, unit, vb, vh in rows:
        if xs is None:
            lines.append(f"[{label}]")
            continue
        s = stats(xs)
        if s is None:
            lines.append(f"{label:46} {unit:>6} {'(no data)':>8}")
            continue
        lines.append(f"{label:46} {unit:>6} {s['median']:8.2f} {s['p90']:8.2f} {s['min']:8.2f} {s['max']:8.2f} "
                     f"{s['runs']:5d}  {ratio(xs, vb):>10} {ratio(xs, vh):>12}")
    lines.append("")
    med = statistics.median(a["traffic"]) if a["traffic"] else float("nan")
    met = "MET" if a["traffic"] and med < 5.0 else "NOT MET"
    lines.append(f"goal: attach-to-traffic < 5 ms median: {met} ({med:.2f} ms)")
    if m and m["get"]:
        p99 = pct(m["get"], 0.99)
        lines.append(f"metadata GET: p50 {statistics.median(m['get']):.2f} ms, p99 {p99:.2f} ms "
                     f"({len(m['get'])} requests)")
        worst = max(m["attach"] + m["assign"] + m["unassign"] + m["detach"], default=float("nan"))
        lines.append(f"goal: the metadata follows attach, assign, unassign and detach within 1 s: "
                     f"{'MET' if worst < 1000 else 'NOT MET'} (worst {worst:.1f} ms)")
    lost = statistics.median(f["lost"]) if f["lost"] else float("nan")
    lines.append(f"goal: failover loses <= {FAILOVER_GOAL} probes at {FAILOVER_PROBE_US / 1000:g} ms, API round trips "
                 f"included (median): {'MET' if lost <= FAILOVER_GOAL else 'NOT MET'} ({lost:g})")
    if a["failures"]:
        lines.append(f"note: {a['failures']} eni attach run(s) saw no echo within 5 s (left out above)")
    if ep and ep["failures"]:
        lines.append(f"note: {ep['failures']} EIP associate run(s) saw no echo within 5 s (left out above)")
    for mode in VISIBLE_MODES if vis else ():
        if vis[mode]["failures"]:
            lines.append(f"note: {vis[mode]['failures']} EIP {mode} attach run(s) saw no echo within 5 s "
                         "(left out above)")
    if c:
        for p in ("host-device", "bridge"):
            if c[p]["failures"]:
                lines.append(f"note: {c[p]['failures']} {p} run(s) saw no echo within 3 s (left out above)")
    return "\n".join(lines)


def host_info() -> str:
    cpus = os.cpu_count()
    kernel = os.uname().release
    ipv = sh("ip", "-V", check=False).stdout.strip()
    cni = sh("dpkg-query", "-W", "-f", "${Version}", "containernetworking-plugins", check=False).stdout.strip()
    load = open("/proc/loadavg").read().split()[:3]
    return (f"host: {cpus} CPU, kernel {kernel}, {ipv}, containernetworking-plugins {cni or 'not installed'}; "
            f"load average {' '.join(load)} (anything else running skews every figure)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10, help="timed runs per measurement (default 10)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs before each measurement (default 1)")
    ap.add_argument("--bin", default=os.environ.get("ENI_BIN") or str(HERE.parent / "target" / "release" / "eni"),
                    help="the eni binary (default $ENI_BIN or target/release/eni)")
    ap.add_argument("--log-level", default="info",
                    help="ENI_LOG for the servers, e.g. 'debug,hyper=info' (logs kept with --keep)")
    ap.add_argument("--no-cni", action="store_true", help="skip the CNI reference")
    ap.add_argument("--no-metadata", action="store_true", help="skip the metadata-service figures")
    ap.add_argument("--no-eip", action="store_true",
                    help="skip the EIP figures (NAT associate-to-traffic and the visible modes' attach-to-traffic)")
    ap.add_argument("--trace", action="store_true",
                    help="after the attach runs, repeat them while recording the server's threads and "
                         "child processes (proc connector) and print where the attach-to-traffic time goes")
    ap.add_argument("--json", help="also write the raw figures to this file")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (server logs) afterwards")
    args = ap.parse_args()

    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    if not os.access(args.bin, os.X_OK):
        print(f"no eni binary at {args.bin}; build it with `cargo build --release -p eni` or pass --bin",
              file=sys.stderr)
        return 2
    want_cni = not args.no_cni
    if want_cni and not all(os.access(f"{CNI_DIR}/{p}", os.X_OK) for p in ("host-device", "bridge", "static", "host-local")):
        print(f"no CNI plugins in {CNI_DIR}: `apt-get install containernetworking-plugins`, or pass --no-cni",
              file=sys.stderr)
        return 2

    tag = "eb" + secrets.token_hex(3)
    workdir = Path(tempfile.mkdtemp(prefix=f"{tag}-", dir="/tmp"))
    ctx = Ctx(workdir, args.bin, args.log_level)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    res: dict = {}
    rc = 0
    t_start = time.monotonic()
    try:
        log(f"tag {tag}, work dir {workdir}, {args.runs} runs (+{args.warmup} warm-up) each")
        res["eni_attach"] = bench_eni_attach(ctx, tag, args.runs, args.warmup, args.trace)
        res["eni_failover"] = bench_eni_failover(ctx, tag, args.runs, args.warmup, args.trace)
        if not args.no_eip:
            res["eip"] = bench_eip(ctx, tag, args.runs, args.warmup)
            res["eip_visible"] = bench_eip_visible(ctx, tag, args.runs, args.warmup)
        if not args.no_metadata:
            res["metadata"] = bench_metadata(ctx, tag, args.runs, args.warmup)
        if want_cni:
            res["cni"] = bench_cni(ctx, tag, args.runs, args.warmup)
    except BaseException as e:
        log(f"FAILED: {type(e).__name__}: {e}")
        rc = e.code if isinstance(e, SystemExit) and isinstance(e.code, int) else 1 if isinstance(e, Exception) else 130
    finally:
        for p in ctx.close():
            log(f"cleanup: {p}")
        if args.keep or rc:
            log(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if rc:
        return rc
    version = sh(args.bin, "--version", check=False).stdout.strip()
    print(f"eni data-plane benchmark: {version} ({args.bin}), {args.runs} runs each")
    print(host_info())
    print(f"attach-to-traffic: UDP probe every {ATTACH_PROBE_US} us from an instance in another vSwitch "
          f"(CNI: from the host namespace); failover: probe every {FAILOVER_PROBE_US} us, until {TAIL_S * 1e3:.0f} ms "
          f"after InUse; requests after a random 0-{PAUSE_MAX_S * 1e3:.0f} ms pause; took {time.monotonic() - t_start:.0f} s")
    print()
    print(report(res))
    if args.trace and res["eni_attach"].get("trace"):
        print()
        print(trace_report(res["eni_attach"]["trace"]))
    if args.trace:
        losses = res["eni_failover"].get("traced_losses") or []
        print()
        print(f"failover runs that lost probes: {len(losses)}; the first {min(3, len(losses))} "
              "(ms from the DetachNetworkInterface request):")
        for r in losses[:3]:
            print(f"  {r['dir']}: probes lost were sent at {r['lost_at']}; {r['marks']}; "
                  "the server's threads and processes:")
            for p in r["procs"]:
                print(f"    {p}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
