#!/usr/bin/env python3
"""What one change costs the agents: the whole desired state against the delta an agent gets.

    python3 bench/desired.py [--bin target/release/eni] [--vpcs 40] [--enis 250] [--big 0]
                             [--runs 20]

One `eni serve --dataplane agents` (SQLite, no data plane: only the internal API is measured)
and two registered hosts, h1 and h2, in zone cn-hangzhou-h. VPCs of `--enis` ENIs each (and one
instance, pinned with DedicatedHostId), the first half on h1, the rest on h2; with `--big N`,
one more VPC of N ENIs on h1. Measured from the client, on 127.0.0.1, for host h1 (each
`--runs` times; the change is AssignPrivateIpAddresses of one address to an ENI of the VPC):

* whole: `GET /internal/v1/hosts/h1/desired` (what every agent got on every change before the
  deltas, and what it gets on its first poll);
* delta, h1's VPC: `desired?delta=1&since=G` after a change in a VPC h1 serves;
* delta, h2's VPC: the same after a change in a VPC h1 does not serve (h1's agent then applies
  nothing);
* delta, the big VPC (with --big): a change in it (its section is sent whole);
* delta, nothing new: the answer to a poll that times out (the agent's resync).

Prints milliseconds (median, p90) and bytes of each answer, and each delta against the whole.
Standard library only (the lean client of bench/scale.py).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from leanclient import Conn, RpcSigner  # noqa: E402

ECS, VPC = "2014-05-26", "2016-04-28"
REGION, ZONE = "cn-hangzhou", "cn-hangzhou-h"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Server:
    def __init__(self, exe: str, data: Path, ak: str, secret: str):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENI_")}
        env.update(ENI_ROOT_ACCESS_KEY_ID=ak, ENI_ROOT_ACCESS_KEY_SECRET=secret, ENI_LOG="warn",
                   ENI_ENI_QUOTA="1000000", ENI_VPC_QUOTA="1000")
        self.proc = subprocess.Popen(
            [exe, "serve", "--dataplane", "agents", "--listen", "127.0.0.1:0", "--data-dir", str(data)],
            stdout=subprocess.PIPE, stderr=open(data.parent / "server.log", "ab"), env=env, text=True)
        for line in self.proc.stdout:
            if line.startswith("listening on "):
                self.port = int(line.rsplit(":", 1)[1])
                break
        else:
            raise SystemExit(f"the server did not start; see {data.parent}/server.log")
        self.token = (data / "agent-token").read_text().strip()

    def internal(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes, float]:
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        c.request(method, f"/internal/v1/hosts/{path}", body=data, headers=headers)
        r = c.getresponse()
        out = r.read()
        took = (time.perf_counter() - t0) * 1000
        c.close()
        return r.status, out, took

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Api:
    def __init__(self, port: int, ak: str, secret: str):
        self.conn, self.signer = Conn(port), RpcSigner(ak, secret)

    def call(self, action: str, params: dict, version: str = ECS) -> dict:
        params.setdefault("RegionId", REGION)
        path, body, headers = self.signer.encode(action, version, params)
        status, data = self.conn.post(path, body, headers)
        d = json.loads(data)
        if status != 200 or "Code" in d:
            raise SystemExit(f"{action}: HTTP {status} {d}")
        return d


def vpc_with_enis(api: Api, host_id: str, n: int, cidr: str = "10.0.0.0/16") -> tuple[str, list[str]]:
    vpc = api.call("CreateVpc", {"CidrBlock": cidr}, VPC)["VpcId"]
    vsw = api.call("CreateVSwitch", {"VpcId": vpc, "CidrBlock": cidr, "ZoneId": ZONE}, VPC)["VSwitchId"]
    sg = api.call("CreateSecurityGroup", {"VpcId": vpc})["SecurityGroupId"]
    api.call("RunInstances", {"InstanceType": "ecs.g7.large", "VSwitchId": vsw, "SecurityGroupId": sg,
                              "Amount": 1, "DedicatedHostId": host_id})
    enis = [api.call("CreateNetworkInterface", {"VSwitchId": vsw, "SecurityGroupId": sg})["NetworkInterfaceId"]
            for _ in range(n)]
    return vpc, enis


def stats(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, int(0.9 * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.environ.get("ENI_BIN", "target/release/eni"))
    ap.add_argument("--vpcs", type=int, default=40)
    ap.add_argument("--enis", type=int, default=250, help="ENIs per VPC")
    ap.add_argument("--big", type=int, default=0, help="ENIs of one more VPC on h1")
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    ak, secret = "bench" + secrets.token_hex(4), secrets.token_hex(16)
    tmp = Path(tempfile.mkdtemp(prefix="eni-bench-desired-"))
    (tmp / "data").mkdir()
    srv = Server(a.bin, tmp / "data", ak, secret)
    try:
        hosts = {}
        for h in ("h1", "h2"):
            st, body, _ = srv.internal("PUT", h, {"zone_id": ZONE, "underlay_address": "192.0.2.1",
                                                  "capacity_vcpus": 1_000_000})
            assert st == 200, body
            hosts[h] = json.loads(body)["DedicatedHostId"]
        api = Api(srv.port, ak, secret)
        t0 = time.monotonic()
        vpcs = []
        for v in range(a.vpcs):
            vpcs.append(vpc_with_enis(api, hosts["h1" if v < a.vpcs // 2 else "h2"], a.enis))
        big = vpc_with_enis(api, hosts["h1"], a.big, "172.16.0.0/16") if a.big else None
        total = a.vpcs * a.enis + a.big
        log(f"built {a.vpcs} VPCs of {a.enis} ENIs{f' and one of {a.big}' if a.big else ''} "
            f"({total} ENIs) in {time.monotonic() - t0:.1f} s")

        def generation() -> int:
            st, body, _ = srv.internal("GET", "h1/desired?delta=1&wait_ms=0&since=0")
            return json.loads(body)["generation"]

        results: dict[str, tuple[list[float], list[int]]] = {}

        def record(name: str, took: float, size: int) -> None:
            ms, sizes = results.setdefault(name, ([], []))
            ms.append(took)
            sizes.append(size)

        k = 0
        for r in range(a.runs):
            st, body, took = srv.internal("GET", "h1/desired?wait_ms=0")
            assert st == 200
            record("whole state", took, len(body))
            cases = [("delta, h1's VPC changed", vpcs[0][1]), ("delta, h2's VPC changed", vpcs[-1][1])]
            if big:
                cases.append(("delta, the big VPC changed", big[1]))
            for name, enis in cases:
                g = generation()
                api.call("AssignPrivateIpAddresses", {"NetworkInterfaceId": enis[k % len(enis)],
                                                      "SecondaryPrivateIpAddressCount": 1})
                k += 1
                st, body, took = srv.internal("GET", f"h1/desired?delta=1&wait_ms=0&since={g}")
                d = json.loads(body)
                assert st == 200 and not d["full"], body[:200]
                record(name, took, len(body))
            g = generation()
            st, body, took = srv.internal("GET", f"h1/desired?delta=1&wait_ms=0&since={g}")
            record("delta, nothing new", took, len(body))
        print(f"desired state of host h1: {a.vpcs} VPCs of {a.enis} ENIs (half on h1)"
              f"{f', one of {a.big} on h1' if a.big else ''}; {total} ENIs; {a.runs} runs")
        print(f"{'answer':<30} {'ms p50':>8} {'ms p90':>8} {'bytes':>11} {'x whole (ms)':>13} {'x whole (bytes)':>16}")
        whole_ms, whole_b = statistics.median(results["whole state"][0]), statistics.median(results["whole state"][1])
        for name, (ms, sizes) in results.items():
            p50, p90 = stats(ms)
            b = statistics.median(sizes)
            ratio = "" if name == "whole state" else f"{whole_ms / p50:.1f}x less"
            ratio_b = "" if name == "whole state" else f"{whole_b / b:.0f}x less"
            print(f"{name:<30} {p50:>8.2f} {p90:>8.2f} {int(b):>11,} {ratio:>13} {ratio_b:>16}")
    finally:
        srv.stop()
        subprocess.run(["rm", "-rf", str(tmp)])


if __name__ == "__main__":
    main()
