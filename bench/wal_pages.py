"""Which B-trees, and how many pages, one CreateNetworkInterface writes to SQLite's WAL.

    python3 bench/wal_pages.py --bin target/release/eni [--before 1000] [--creates 50]

Starts `eni serve` on a fresh data dir, creates `--before` ENIs (so the B-trees have some
depth), waits for the store's checkpointer, creates `--creates` more, and kills the server
(SIGKILL, so the WAL stays as the last commits left it). It then reads the WAL's frames of the
current generation (the salt in its header), maps each page to its table or index with SQLite's
`dbstat` on a copy of the data dir, and prints the pages per create by B-tree. Every page in the
list is written whole to the WAL at each commit: with `cargo bench -p eni-store-sqlite --bench
wal_floor` (the CPU of a bare durable commit by the number of B-trees it changes) it gives the
floor under a create's server CPU.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from leanclient import Conn, RpcSigner  # noqa: E402

ECS = "2014-05-26"
VPC = "2016-04-28"
REGION = "cn-hangzhou"


def wal_frames(path: Path) -> tuple[list[int], int]:
    """(page numbers of the current generation's frames, commits among them)."""
    wal = path.read_bytes()
    _magic, _version, page_size, _seq, salt1, salt2, _c1, _c2 = struct.unpack(">8I", wal[:32])
    pages, commits, off = [], 0, 32
    while off + 24 + page_size <= len(wal):
        page, commit_size, s1, s2 = struct.unpack(">4I", wal[off:off + 16])
        if (s1, s2) != (salt1, salt2):
            break
        pages.append(page)
        commits += commit_size != 0
        off += 24 + page_size
    return pages, commits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="target/release/eni")
    ap.add_argument("--before", type=int, default=1000)
    ap.add_argument("--creates", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="eni-wal-pages-") as tmp:
        data = Path(tmp) / "data"
        env = dict(os.environ, ENI_ROOT_ACCESS_KEY_ID="bench", ENI_ROOT_ACCESS_KEY_SECRET="bench-secret",
                   ENI_LOG="warn")
        server = subprocess.Popen(
            [args.bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data),
             "--transition-delay-ms", "0", "--eni-quota", "100000000"],
            stdout=subprocess.PIPE, env=env, text=True)
        try:
            port = None
            for line in server.stdout:
                if line.startswith("listening on "):
                    port = int(line.strip().rsplit(":", 1)[1])
                    break
            if port is None:
                raise SystemExit("the server did not start")
            conn, signer = Conn(port), RpcSigner("bench", "bench-secret")

            def call(action: str, version: str, **params) -> dict:
                status, body = conn.post(*signer.encode(action, version, {"RegionId": REGION, **params}))
                if status != 200:
                    raise SystemExit(f"{action}: {status} {body[:300]!r}")
                return json.loads(body)

            vpc = call("CreateVpc", VPC, CidrBlock="10.0.0.0/8")["VpcId"]
            vsw = call("CreateVSwitch", VPC, VpcId=vpc, ZoneId="cn-hangzhou-h", CidrBlock="10.1.0.0/16")["VSwitchId"]
            sg = call("CreateSecurityGroup", ECS, VpcId=vpc)["SecurityGroupId"]

            def create() -> None:
                call("CreateNetworkInterface", ECS, VSwitchId=vsw, SecurityGroupId=sg)

            for _ in range(args.before):
                create()
            time.sleep(1.5)  # the checkpointer copies the WAL back; the next commit restarts it
            for _ in range(args.creates):
                create()
        finally:
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
        pages, commits = wal_frames(data / "eni.db-wal")
        if commits == 0:
            raise SystemExit("no commit in the WAL")
        copy = Path(tmp) / "copy"
        shutil.copytree(data, copy)
        names = dict(sqlite3.connect(copy / "eni.db").execute("SELECT pageno, name FROM dbstat"))
        by_tree = collections.Counter(names.get(p, f"page {p} (free)") for p in pages)
        print(f"{commits} creates after {args.before:,} ENIs: {len(pages) / commits:.1f} WAL pages per create, "
              f"in {len(by_tree)} B-trees")
        print(f"{'pages/create':>12}  B-tree")
        for name, n in by_tree.most_common():
            print(f"{n / commits:>12.2f}  {name}")


if __name__ == "__main__":
    main()
