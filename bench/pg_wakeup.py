"""How soon an agent long-polling one API server hears of a write made through another, both on
one PostgreSQL database.

    python3 bench/pg_wakeup.py --bin target/release/eni --database-url postgres://postgres@127.0.0.1:5432/postgres

Creates a database on the admin URL's server (dropped at the end), starts two `eni serve` on it
(A and B, one agent token), and `--runs` times: a thread long-polls B's
`/internal/v1/hosts/local/desired` with `since` = the current generation, the main thread then
creates an ENI through A (a signed CreateNetworkInterface) and notes when A's answer arrived;
the figure is the time from A's answer to B's answer, with the generation B answered checked
to be newer. B learns of A's commit from PostgreSQL's NOTIFY (no polling of the database), so
this is the cross-server wake-up the agents see. Prints the median, p90 and max in ms.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from leanclient import Conn, RpcSigner  # noqa: E402
from scale import psql, with_db  # noqa: E402

ECS = "2014-05-26"
VPC = "2016-04-28"
REGION = "cn-hangzhou"


def start(binary: str, data_dir: Path, url: str, env: dict) -> tuple[subprocess.Popen, int]:
    p = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir),
                          "--database-url", url, "--transition-delay-ms", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    for line in p.stdout:
        if line.startswith("listening on "):
            return p, int(line.strip().rsplit(":", 1)[1])
    raise SystemExit("eni serve did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="target/release/eni")
    ap.add_argument("--database-url", required=True, help="an admin URL of a PostgreSQL")
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    db = f"eni_wakeup_{secrets.token_hex(6)}"
    psql(args.database_url, f"CREATE DATABASE {db}")
    url = with_db(args.database_url, db)
    token = secrets.token_hex(24)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENI_")}
    env.update(ENI_LOG="warn", ENI_ROOT_ACCESS_KEY_ID="bench", ENI_ROOT_ACCESS_KEY_SECRET="bench-secret",
               ENI_AGENT_TOKEN=token)
    procs = []
    try:
        with tempfile.TemporaryDirectory(prefix="eni-wakeup-") as tmp:
            a, port_a = start(args.bin, Path(tmp) / "a", url, env)
            procs.append(a)
            b, port_b = start(args.bin, Path(tmp) / "b", url, env)
            procs.append(b)
            conn, signer = Conn(port_a), RpcSigner("bench", "bench-secret")

            def call(action: str, version: str, **params) -> dict:
                status, body = conn.post(*signer.encode(action, version, {"RegionId": REGION, **params}))
                if status != 200:
                    raise SystemExit(f"{action}: {status} {body[:300]!r}")
                return json.loads(body)

            vpc = call("CreateVpc", VPC, CidrBlock="10.0.0.0/8")["VpcId"]
            vsw = call("CreateVSwitch", VPC, VpcId=vpc, ZoneId="cn-hangzhou-h", CidrBlock="10.1.0.0/16")["VSwitchId"]
            sg = call("CreateSecurityGroup", ECS, VpcId=vpc)["SecurityGroupId"]
            desired = f"http://127.0.0.1:{port_b}/internal/v1/hosts/local/desired"

            def get(query: str = "") -> dict:
                req = urllib.request.Request(desired + query, headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(req, timeout=30) as r:
                    return json.loads(r.read())

            gaps = []
            for _ in range(args.runs):
                gen = get()["generation"]
                heard: dict = {}

                def poll():
                    heard["body"] = get(f"?since={gen}&wait_ms=20000")
                    heard["at"] = time.monotonic()

                t = threading.Thread(target=poll)
                t.start()
                time.sleep(0.05)  # the poll is waiting on B
                call("CreateNetworkInterface", ECS, VSwitchId=vsw, SecurityGroupId=sg)
                acked = time.monotonic()
                t.join()
                if heard["body"]["generation"] <= gen:
                    raise SystemExit("B answered without the change")
                gaps.append(max(0.0, heard["at"] - acked) * 1e3)
            gaps.sort()
            print(f"write through A acknowledged -> B's long poll answered, {args.runs} runs: "
                  f"median {statistics.median(gaps):.1f} ms, p90 {gaps[int(0.9 * len(gaps))]:.1f} ms, "
                  f"max {gaps[-1]:.1f} ms")
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        psql(args.database_url, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


if __name__ == "__main__":
    main()
