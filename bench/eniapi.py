"""A lean client for the benchmark: one `eni serve` process and RPC (HMAC-SHA1) calls over a
kept-alive HTTP connection, so a timed call costs one loopback round trip and no connection
setup. The signer is the e2e suite's (tests/e2e/e2e_helpers.py)."""

from __future__ import annotations

import http.client
import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from e2e_helpers import pct, rpc_common, rpc_signature  # noqa: E402

ECS = "2014-05-26"
VPC = "2016-04-28"
REGION = "cn-hangzhou"
ZONE = "cn-hangzhou-h"


class ApiError(RuntimeError):
    pass


class EniServer:
    """`eni serve --dataplane linux` on 127.0.0.1:0 with its own data dir, prefix and state dir."""

    def __init__(self, binary: str, workdir: Path, prefix: str, log_level: str):
        self.binary = binary
        self.prefix = prefix
        self.data_dir = workdir / f"{prefix}data"
        self.state_dir = workdir / f"{prefix}state"
        self.log_path = workdir / f"{prefix}server.log"
        self.log_level = log_level
        self.ak = "LTAIbench" + secrets.token_hex(8)
        self.secret = secrets.token_hex(16)
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None

    def dataplane_args(self) -> list[str]:
        return ["--dataplane-prefix", self.prefix, "--dataplane-state-dir", str(self.state_dir)]

    def serve_args(self) -> list[str]:
        """How this server runs its data plane."""
        return ["--dataplane", "linux", "--transition-delay-ms", "0", *self.dataplane_args()]

    def start(self) -> "EniServer":
        args = [self.binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir),
                *self.serve_args()]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENI_")}
        env.update(ENI_LOG=self.log_level, ENI_ROOT_ACCESS_KEY_ID=self.ak, ENI_ROOT_ACCESS_KEY_SECRET=self.secret)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL,
                                     env=env, text=True)
        lines: queue.Queue = queue.Queue()

        def pump():
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + 20
        while True:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError("eni serve printed no 'listening on' line in 20 s")
            if line is None:
                raise RuntimeError(f"eni serve exited with {self.proc.wait()}; see {self.log_path}")
            if line.startswith("listening on "):
                self.port = int(line.strip().rsplit(":", 1)[1])
                return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def purge(self) -> str:
        """`eni dataplane purge` for this server's prefix and state dir."""
        r = subprocess.run([self.binary, "dataplane", "purge", *self.dataplane_args()],
                           capture_output=True, text=True, timeout=120,
                           env={k: v for k, v in os.environ.items() if not k.startswith("ENI_")})
        return (r.stdout + r.stderr).strip()


class Api:
    """Signed RPC calls on one kept-alive connection."""

    def __init__(self, server: EniServer):
        self.server = server
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)

    def call(self, action: str, version: str, **params) -> dict:
        q = rpc_common(action, version, self.server.ak)
        q.update({k: str(v) for k, v in params.items()})
        q["Signature"] = rpc_signature("POST", q, self.server.secret)
        path = "/?" + "&".join(f"{pct(k)}={pct(v)}" for k, v in q.items())
        for attempt in range(2):
            try:
                self.conn.request("POST", path, body=b"", headers={"Content-Length": "0"})
                resp = self.conn.getresponse()
                body = resp.read()
                break
            except (http.client.HTTPException, ConnectionError):
                if attempt:
                    raise
                self.conn.close()  # the server closed the kept-alive connection: reconnect once
                self.conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        data = json.loads(body or b"{}")
        if resp.status != 200 or "Code" in data:
            raise ApiError(f"{action}: HTTP {resp.status} {data}")
        return data

    def ecs(self, action: str, **params) -> dict:
        params.setdefault("RegionId", REGION)
        return self.call(action, ECS, **params)

    def vpc(self, action: str, **params) -> dict:
        params.setdefault("RegionId", REGION)
        return self.call(action, VPC, **params)

    # ---- resources

    def create_vpc(self, cidr: str) -> str:
        return self.vpc("CreateVpc", CidrBlock=cidr)["VpcId"]

    def create_vswitch(self, vpc_id: str, cidr: str) -> str:
        return self.vpc("CreateVSwitch", VpcId=vpc_id, CidrBlock=cidr, ZoneId=ZONE)["VSwitchId"]

    def create_group(self, vpc_id: str) -> str:
        return self.ecs("CreateSecurityGroup", VpcId=vpc_id)["SecurityGroupId"]

    def run_instance(self, vswitch_id: str, group: str, ip: str | None = None, host: str | None = None,
                     instance_type: str = "ecs.g7.large") -> str:
        """With `host` (a DedicatedHostId), on that host."""
        extra = {"PrivateIpAddress": ip} if ip else {}
        if host:
            extra["DedicatedHostId"] = host
        r = self.ecs("RunInstances", InstanceType=instance_type, VSwitchId=vswitch_id,
                     SecurityGroupId=group, Amount=1, **extra)
        return r["InstanceIdSets"]["InstanceIdSet"][0]

    def create_eni(self, vswitch_id: str, group: str, ip: str) -> str:
        return self.ecs("CreateNetworkInterface", VSwitchId=vswitch_id, SecurityGroupId=group,
                        PrimaryIpAddress=ip)["NetworkInterfaceId"]

    def eni_status(self, eni_id: str) -> str:
        return self.ecs("DescribeNetworkInterfaceAttribute", NetworkInterfaceId=eni_id)["Status"]

    def attach(self, eni_id: str, instance_id: str) -> dict:
        return self.ecs("AttachNetworkInterface", NetworkInterfaceId=eni_id, InstanceId=instance_id)

    def detach(self, eni_id: str, instance_id: str) -> dict:
        return self.ecs("DetachNetworkInterface", NetworkInterfaceId=eni_id, InstanceId=instance_id)

    def wait_eni(self, eni_id: str, status: str, timeout: float = 10.0, step: float = 0.001) -> float:
        """Polls until the ENI shows `status`; returns the monotonic time it was first seen."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.eni_status(eni_id)
            t = time.monotonic()
            if got == status:
                return t
            if t > deadline:
                raise TimeoutError(f"{eni_id} still {got} after {timeout}s (want {status})")
            time.sleep(step)

    def primary_eni(self, instance_id: str) -> tuple[str, str, str]:
        """(ENI id, status, primary IP) of an instance's primary ENI."""
        r = self.ecs("DescribeNetworkInterfaces", InstanceId=instance_id, Type="Primary")
        (e,) = r["NetworkInterfaceSets"]["NetworkInterfaceSet"]
        return e["NetworkInterfaceId"], e["Status"], e["PrivateIpAddress"]
