"""Server CPU per CreateNetworkInterface, as an account grows.

    python3 bench/create_cpu.py --bin target/release/eni --enis 1000
    python3 bench/create_cpu.py --bin target/release/eni --enis 50000 --measure 2000

Starts `eni serve` on a fresh data dir (transitions instant, the ENI quota out of the way),
creates `--enis` ENIs one after another with RPC-signed requests over one kept-alive
connection (a new /16 vSwitch every 60,000 ENIs), and reports the server process's CPU time
(user + system, from /proc, its background threads included) per create over the last
`--measure` of them, with the sequential rate. Each create is durable when it is answered (the
commit is in the WAL). `--runs N` repeats the whole thing on fresh servers and reports each run
and the median.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from e2e_helpers import pct, rpc_common, rpc_signature  # noqa: E402

ECS = "2014-05-26"
VPC = "2016-04-28"
REGION = "cn-hangzhou"
PER_VSWITCH = 60_000


def run(binary: str, enis: int, measure: int) -> tuple[float, float]:
    """One fresh server: (server CPU µs per create, creates per second) over the last `measure`."""
    with tempfile.TemporaryDirectory(prefix="eni-create-cpu-") as tmp:
        env = dict(
            os.environ,
            ENI_ROOT_ACCESS_KEY_ID="bench",
            ENI_ROOT_ACCESS_KEY_SECRET="bench-secret",
            ENI_LOG="warn",
        )
        server = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", f"{tmp}/data",
             "--transition-delay-ms", "0", "--eni-quota", "100000000"],
            stdout=subprocess.PIPE, env=env, text=True,
        )
        try:
            addr = None
            for line in server.stdout:
                if line.startswith("listening on "):
                    addr = line.split()[-1]
                    break
            if addr is None:
                raise RuntimeError("the server did not start")
            host, port = addr.rsplit(":", 1)
            conn = http.client.HTTPConnection(host, int(port))

            def call(action: str, version: str, params: dict) -> dict:
                q = rpc_common(action, version, "bench")
                q.update({k: str(v) for k, v in params.items()})
                q["Signature"] = rpc_signature("POST", q, "bench-secret")
                conn.request("POST", "/?" + "&".join(f"{pct(k)}={pct(v)}" for k, v in q.items()))
                r = conn.getresponse()
                body = r.read()
                if r.status != 200:
                    raise RuntimeError(f"{action}: {r.status} {body[:300]!r}")
                return json.loads(body)

            vpc = call("CreateVpc", VPC, {"RegionId": REGION, "CidrBlock": "10.0.0.0/8"})["VpcId"]
            sg = call("CreateSecurityGroup", ECS, {"RegionId": REGION, "VpcId": vpc})["SecurityGroupId"]
            vswitches: list[str] = []

            def vswitch(i: int) -> str:
                while len(vswitches) <= i // PER_VSWITCH:
                    vswitches.append(call("CreateVSwitch", VPC, {
                        "RegionId": REGION, "VpcId": vpc, "ZoneId": "cn-hangzhou-h",
                        "CidrBlock": f"10.{len(vswitches) + 1}.0.0/16",
                    })["VSwitchId"])
                return vswitches[i // PER_VSWITCH]

            def create(i: int) -> None:
                call("CreateNetworkInterface", ECS,
                     {"RegionId": REGION, "VSwitchId": vswitch(i), "SecurityGroupId": sg})

            def cpu() -> float:
                fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

            first = max(enis - measure, 0)
            for i in range(first):
                create(i)
            vswitch(enis)  # any new vSwitch is made before the clock starts
            c0, t0 = cpu(), time.monotonic()
            for i in range(first, enis):
                create(i)
            c1, t1 = cpu(), time.monotonic()
            n = enis - first
            return (c1 - c0) / n * 1e6, n / (t1 - t0)
        finally:
            server.terminate()
            server.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="the eni binary (a release build)")
    ap.add_argument("--enis", type=int, default=1000, help="ENIs in the account at the end")
    ap.add_argument("--measure", type=int, default=1000, help="the last creates, measured")
    ap.add_argument("--runs", type=int, default=1, help="fresh servers, for a median")
    a = ap.parse_args()
    results = []
    for _ in range(a.runs):
        us, rate = run(a.bin, a.enis, min(a.measure, a.enis))
        results.append(us)
        print(f"{a.enis} ENIs: {us:.0f} us server CPU per create over the last "
              f"{min(a.measure, a.enis)}, {rate:.0f} creates/s sequential", flush=True)
    if a.runs > 1:
        print(f"median {statistics.median(results):.0f} us")


if __name__ == "__main__":
    main()
