"""Scale benchmark (issue 9): how eni's control plane behaves as one account grows to 100k ENIs.

Starts its own `eni serve` on 127.0.0.1:0 (temp data dir, `--transition-delay-ms 0`, large
quotas), builds the state of the issue in one account and region (a VPC, 40 /16 vSwitches over
three zones, security groups, 300 instances of ecs.g7.32xlarge, then ENIs, with names, tags,
resource groups, secondary IPs, some attached, and EIPs at one per ten ENIs) and, at each
checkpoint (by default 1k, 10k and 100k ENIs), measures:

- writes, from `--clients` processes over kept-alive connections: CreateNetworkInterface,
  AssignPrivateIpAddresses, AttachNetworkInterface: rate, p50/p99 latency, and server CPU per op
  (utime + stime of the server from /proc/<pid>/stat over the phase, divided by the ops);
- reads, one request at a time: p50/p99 of DescribeNetworkInterfaces by each documented filter
  and some combinations (a page of at most 100), and of the other Describe calls with a filter;
- the time to page every ENI with MaxResults=500 and NextToken (checking each comes once);
- the server's RSS (/proc/<pid>/status) and database size (eni.db + eni.db-wal).

It prints a table per checkpoint, the ratio of each figure at the top checkpoint to the first,
and the issue's targets as MET / NOT MET. `--peer moto` runs the same workload in EC2 terms
against moto_server (installed from PyPI into a venv if it is not on PATH) up to 10k ENIs and
prints both side by side.

The client is lean (bench/leanclient.py): requests signed by hand, one kept-alive connection per
client process, JSON parsed only where an answer is needed. Everything is bounded: the whole run
(`--max-seconds`), each growth or write phase (`--phase-seconds`), each read series
(`--read-seconds`) and the paging (`--page-seconds`); when the server is too slow to reach the
next checkpoint in time, the run measures what it reached and reports it.

    python3 bench/scale.py --bin target/release/eni --to 100000
    python3 bench/scale.py --to 10000 --peer moto
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from leanclient import (Conn, Ec2Query, RpcSigner, cpu_between, cpu_snapshot, proc_cpu_seconds,  # noqa: E402
                        proc_rss_mib)

REPO = Path(__file__).resolve().parents[1]
ECS = "2014-05-26"
VPC = "2016-04-28"
REGION = "cn-hangzhou"
ZONES = ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"]
N_VSWITCHES = 40
N_GROUPS = 5
N_INSTANCES = 300
INSTANCE_TYPE = "ecs.g7.32xlarge"  # 15 ENIs (primary included), 30 IPv4 per ENI
ENIS_PER_INSTANCE = 14  # secondary ENIs an instance can hold
GROWTH_ATTACH_CAP = 10  # of those, taken while growing; the rest is for the measured batches
RESOURCE_GROUP = "rg-scalebench01"


class OpError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The workload, in abstract terms (both dialects translate it)


def eni_spec(i: int) -> dict:
    """The i-th ENI the benchmark creates: spread over vSwitches and groups, a name on every
    second, tags on every third (a broad `team` and a unique `pod`), a resource group on every
    fifth, two secondary IPs on every tenth, two groups on every seventh."""
    sgs = [i % N_GROUPS]
    if i % 7 == 3:
        sgs.append((i + 1) % N_GROUPS)
    return {
        "vsw": i % N_VSWITCHES,
        "sgs": sgs,
        "name": f"bench-eni-{i}" if i % 2 == 0 else None,
        "desc": "scale bench" if i % 4 == 1 else None,
        "tags": [("team", f"team{(i // 3) % 10}"), ("pod", f"pod-{i}")] if i % 3 == 0 else [],
        "rg": RESOURCE_GROUP if i % 5 == 0 else None,
        "sec": 2 if i % 10 == 0 else 0,
    }


def vsw_zone(v: int) -> int:
    return v % len(ZONES)


# ---------------------------------------------------------------------------------------------
# Dialects: how each server is spoken to (picklable: they travel to the client processes)


class EniDialect:
    name = "eni"

    def __init__(self, ak: str, secret: str):
        self.ak, self.secret = ak, secret
        self.vpc = ""
        self.vsws: list[str] = []
        self.sgs: list[str] = []
        self.insts: list[str] = []

    def signer(self) -> RpcSigner:
        s = getattr(self, "_signer", None)
        if s is None:
            s = self._signer = RpcSigner(self.ak, self.secret)
        return s

    def __getstate__(self):
        d = dict(self.__dict__)
        d.pop("_signer", None)
        return d

    def call(self, conn: Conn, action: str, params: dict, version: str = ECS) -> bytes:
        params.setdefault("RegionId", REGION)
        path, body, headers = self.signer().encode(action, version, params)
        status, data = conn.post(path, body, headers)
        if status != 200 or data.startswith(b'{"Code"') or b'"Code":' in data[:200]:
            try:
                code = json.loads(data).get("Code", "?")
            except ValueError:
                code = data[:80]
            raise OpError(f"{action}: HTTP {status} {code}")
        return data

    # setup

    def setup(self, conn: Conn) -> None:
        self.vpc = json.loads(self.call(conn, "CreateVpc", {"CidrBlock": "10.0.0.0/8"}, VPC))["VpcId"]
        for v in range(N_VSWITCHES):
            r = self.call(conn, "CreateVSwitch", {"VpcId": self.vpc, "CidrBlock": f"10.{v}.0.0/16",
                                                 "ZoneId": ZONES[vsw_zone(v)]}, VPC)
            self.vsws.append(json.loads(r)["VSwitchId"])
        for g in range(N_GROUPS):
            r = self.call(conn, "CreateSecurityGroup", {"VpcId": self.vpc, "SecurityGroupName": f"bench-sg-{g}"})
            self.sgs.append(json.loads(r)["SecurityGroupId"])
        for v in range(10):  # 30 instances in each of vSwitches 0..9
            r = self.call(conn, "RunInstances", {"InstanceType": INSTANCE_TYPE, "VSwitchId": self.vsws[v],
                                                 "SecurityGroupId": self.sgs[0], "Amount": 30,
                                                 "InstanceName": f"bench-vm-{v}"})
            self.insts += json.loads(r)["InstanceIdSets"]["InstanceIdSet"]

    def inst_zone(self, k: int) -> int:
        return vsw_zone(k // 30)

    # writes

    def create(self, conn: Conn, spec: dict) -> tuple[str, list[str]]:
        p = {"VSwitchId": self.vsws[spec["vsw"]]}
        if len(spec["sgs"]) == 1:
            p["SecurityGroupId"] = self.sgs[spec["sgs"][0]]
        else:
            for n, g in enumerate(spec["sgs"], 1):
                p[f"SecurityGroupIds.{n}"] = self.sgs[g]
        if spec["name"]:
            p["NetworkInterfaceName"] = spec["name"]
        if spec["desc"]:
            p["Description"] = spec["desc"]
        for n, (k, v) in enumerate(spec["tags"], 1):
            p[f"Tag.{n}.Key"], p[f"Tag.{n}.Value"] = k, v
        if spec["rg"]:
            p["ResourceGroupId"] = spec["rg"]
        if spec["sec"]:
            p["SecondaryPrivateIpAddressCount"] = spec["sec"]
        d = json.loads(self.call(conn, "CreateNetworkInterface", p))
        ips = [s["PrivateIpAddress"] for s in d.get("PrivateIpSets", {}).get("PrivateIpSet", [])]
        if not ips:
            ips = [d["PrivateIpAddress"]]
        return d["NetworkInterfaceId"], ips

    def assign(self, conn: Conn, eni: str, n: int) -> list[str]:
        d = json.loads(self.call(conn, "AssignPrivateIpAddresses",
                                 {"NetworkInterfaceId": eni, "SecondaryPrivateIpAddressCount": n}))
        return d["AssignedPrivateIpAddressesSet"]["PrivateIpSet"]["PrivateIpAddress"]

    def attach(self, conn: Conn, eni: str, inst: int, devidx: int) -> None:
        self.call(conn, "AttachNetworkInterface", {"NetworkInterfaceId": eni, "InstanceId": self.insts[inst]})

    def allocate_eip(self, conn: Conn) -> tuple[str, str]:
        d = json.loads(self.call(conn, "AllocateEipAddress", {}, VPC))
        return d["AllocationId"], d["EipAddress"]

    # reads

    def eni_query(self, f: dict) -> tuple[str, dict, str] | None:
        p: dict = {"MaxResults": f.get("max", 100)}
        for n, e in enumerate(f.get("ids", []), 1):
            p[f"NetworkInterfaceId.{n}"] = e
        if "vpc" in f:
            p["VpcId"] = self.vpc
        if "vsw" in f:
            p["VSwitchId"] = self.vsws[f["vsw"]]
        if "inst" in f:
            p["InstanceId"] = self.insts[f["inst"]]
        if "type" in f:
            p["Type"] = f["type"]
        if "status" in f:
            p["Status"] = f["status"]
        if "name" in f:
            p["NetworkInterfaceName"] = f["name"]
        if "sg" in f:
            p["SecurityGroupId"] = self.sgs[f["sg"]]
        for n, ip in enumerate(f.get("ips", []), 1):
            p[f"PrivateIpAddress.{n}"] = ip
        if "primary_ip" in f:
            p["PrimaryIpAddress"] = f["primary_ip"]
        for n, (k, v) in enumerate(f.get("tags", []), 1):
            p[f"Tag.{n}.Key"], p[f"Tag.{n}.Value"] = k, v
        if "rg" in f:
            p["ResourceGroupId"] = f["rg"]
        if "token" in f:
            p["NextToken"] = f["token"]
        return "DescribeNetworkInterfaces", p, ECS

    def other_query(self, what: str, arg) -> tuple[str, dict, str] | None:
        if what == "instances":
            return "DescribeInstances", {"VSwitchId": self.vsws[arg], "PageSize": 100}, ECS
        if what == "vswitches":
            return "DescribeVSwitches", {"VSwitchId": self.vsws[arg]}, VPC
        if what == "vpcs":
            return "DescribeVpcs", {"VpcId": self.vpc}, VPC
        if what == "groups":
            return "DescribeSecurityGroups", {"SecurityGroupId": self.sgs[arg]}, ECS
        if what == "eips":
            return "DescribeEipAddresses", {"EipAddress": arg, "PageSize": 100}, VPC
        if what == "eni_attr":
            return "DescribeNetworkInterfaceAttribute", {"NetworkInterfaceId": arg}, ECS
        return None

    ROWS = {
        "DescribeNetworkInterfaces": ("NetworkInterfaceSets", "NetworkInterfaceSet"),
        "DescribeInstances": ("Instances", "Instance"),
        "DescribeVSwitches": ("VSwitches", "VSwitch"),
        "DescribeVpcs": ("Vpcs", "Vpc"),
        "DescribeSecurityGroups": ("SecurityGroups", "SecurityGroup"),
        "DescribeEipAddresses": ("EipAddresses", "EipAddress"),
    }

    def send(self, conn: Conn, q: tuple[str, dict, str]) -> bytes:
        action, params, version = q
        return self.call(conn, action, dict(params), version)

    def rows(self, q: tuple[str, dict, str], body: bytes) -> int:
        if q[0] not in self.ROWS:
            return 1
        a, b = self.ROWS[q[0]]
        return len(json.loads(body)[a][b])

    def page_all(self, conn: Conn, deadline: float) -> tuple[list[str], int, bool]:
        """Every ENI of the region, 500 a page: (ids, pages, complete)."""
        ids: list[str] = []
        token = None
        pages = 0
        while True:
            f = {"max": 500}
            if token:
                f["token"] = token
            # IDs and the token by pattern, as for moto: the figure is the server's paging,
            # not Python's JSON parser (json.loads of a 1 MB page costs the client ~8 ms).
            r = self.send(conn, self.eni_query(f))
            pages += 1
            ids += [x.decode() for x in _ENI_ID.findall(r)]
            m = _NEXT_TOKEN.search(r)
            token = m.group(1).decode() if m else None
            if not token:
                return ids, pages, True
            if time.monotonic() > deadline:
                return ids, pages, False


# An ENI's own ID (its attachment and security groups carry other keys).
_ENI_ID = re.compile(rb'"NetworkInterfaceId":"(eni-[0-9a-z]+)"')
_NEXT_TOKEN = re.compile(rb'"NextToken":"([^"]+)"')
_ID = re.compile(rb"<networkInterfaceId>(eni-[0-9a-f]+)</networkInterfaceId>")
_IP = re.compile(rb"<privateIpAddress>([0-9.]+)</privateIpAddress>")


class MotoDialect:
    """The same workload in EC2 terms for moto_server. A /16 VPC is EC2's largest, so the 40
    subnets are /22s; moto picks ENI addresses at random and checks no limit anyway."""

    name = "moto"

    def __init__(self):
        self.q = Ec2Query()
        self.vpc = ""
        self.vsws: list[str] = []
        self.sgs: list[str] = []
        self.insts: list[str] = []

    def call(self, conn: Conn, action: str, params: dict) -> bytes:
        path, body, headers = self.q.encode(action, params)
        status, data = conn.post(path, body, headers)
        if status != 200:
            m = re.search(rb"<Code>([^<]+)</Code>", data)
            raise OpError(f"{action}: HTTP {status} {m.group(1).decode() if m else data[:80]}")
        return data

    @staticmethod
    def _one(pat: bytes, data: bytes) -> str:
        return re.search(pat, data).group(1).decode()

    def setup(self, conn: Conn) -> None:
        self.vpc = self._one(rb"<vpcId>(vpc-\w+)</vpcId>", self.call(conn, "CreateVpc", {"CidrBlock": "10.0.0.0/16"}))
        azs = ["us-east-1a", "us-east-1b", "us-east-1c"]
        for v in range(N_VSWITCHES):
            r = self.call(conn, "CreateSubnet", {"VpcId": self.vpc, "CidrBlock": f"10.0.{v * 4}.0/22",
                                                 "AvailabilityZone": azs[vsw_zone(v)]})
            self.vsws.append(self._one(rb"<subnetId>(subnet-\w+)</subnetId>", r))
        for g in range(N_GROUPS):
            r = self.call(conn, "CreateSecurityGroup", {"VpcId": self.vpc, "GroupName": f"bench-sg-{g}",
                                                        "GroupDescription": "scale bench"})
            self.sgs.append(self._one(rb"<groupId>(sg-\w+)</groupId>", r))
        ami = self._one(rb"<imageId>(ami-\w+)</imageId>", self.call(conn, "DescribeImages", {}))
        for v in range(10):
            r = self.call(conn, "RunInstances", {"ImageId": ami, "MinCount": 30, "MaxCount": 30,
                                                 "InstanceType": "m5.24xlarge", "SubnetId": self.vsws[v],
                                                 "SecurityGroupId.1": self.sgs[0]})
            got = re.findall(rb"<instanceId>(i-\w+)</instanceId>", r)
            self.insts += list(dict.fromkeys(x.decode() for x in got))

    def inst_zone(self, k: int) -> int:
        return vsw_zone(k // 30)

    def create(self, conn: Conn, spec: dict) -> tuple[str, list[str]]:
        p = {"SubnetId": self.vsws[spec["vsw"]]}
        for n, g in enumerate(spec["sgs"], 1):
            p[f"SecurityGroupId.{n}"] = self.sgs[g]
        if spec["desc"]:
            p["Description"] = spec["desc"]
        tags = list(spec["tags"])
        if spec["name"]:
            tags.insert(0, ("Name", spec["name"]))
        if tags:
            p["TagSpecification.1.ResourceType"] = "network-interface"
            for n, (k, v) in enumerate(tags, 1):
                p[f"TagSpecification.1.Tag.{n}.Key"], p[f"TagSpecification.1.Tag.{n}.Value"] = k, v
        if spec["sec"]:
            p["SecondaryPrivateIpAddressCount"] = spec["sec"]
        r = self.call(conn, "CreateNetworkInterface", p)
        ips = [x.decode() for x in _IP.findall(r)]
        return _ID.search(r).group(1).decode(), list(dict.fromkeys(ips))

    def assign(self, conn: Conn, eni: str, n: int) -> list[str]:
        r = self.call(conn, "AssignPrivateIpAddresses", {"NetworkInterfaceId": eni, "SecondaryPrivateIpAddressCount": n})
        return [x.decode() for x in _IP.findall(r)]

    def attach(self, conn: Conn, eni: str, inst: int, devidx: int) -> None:
        self.call(conn, "AttachNetworkInterface", {"NetworkInterfaceId": eni, "InstanceId": self.insts[inst],
                                                   "DeviceIndex": devidx})

    def allocate_eip(self, conn: Conn) -> tuple[str, str]:
        r = self.call(conn, "AllocateAddress", {"Domain": "vpc"})
        return self._one(rb"<allocationId>([^<]+)<", r), self._one(rb"<publicIp>([^<]+)<", r)

    def eni_query(self, f: dict) -> tuple[str, dict, str] | None:
        if "rg" in f:
            return None  # EC2 has no resource groups on ENIs
        p: dict = {"MaxResults": f.get("max", 100)}  # moto ignores it and answers every match
        filters: list[tuple[str, list[str]]] = []
        for n, e in enumerate(f.get("ids", []), 1):
            p[f"NetworkInterfaceId.{n}"] = e
        if "vpc" in f:
            filters.append(("vpc-id", [self.vpc]))
        if "vsw" in f:
            filters.append(("subnet-id", [self.vsws[f["vsw"]]]))
        if "inst" in f:
            filters.append(("attachment.instance-id", [self.insts[f["inst"]]]))
        if "type" in f:
            filters.append(("interface-type", ["interface"]))  # EC2 has no primary/secondary type
        if "status" in f:
            filters.append(("status", [{"Available": "available", "InUse": "in-use"}[f["status"]]]))
        if "name" in f:
            filters.append(("tag:Name", [f["name"]]))
        if "sg" in f:
            filters.append(("group-id", [self.sgs[f["sg"]]]))
        if "ips" in f:
            filters.append(("addresses.private-ip-address", list(f["ips"])))
        if "primary_ip" in f:
            filters.append(("private-ip-address", [f["primary_ip"]]))
        for k, v in f.get("tags", []):
            filters.append((f"tag:{k}", [v]))
        for n, (name, values) in enumerate(filters, 1):
            p[f"Filter.{n}.Name"] = name
            for m, v in enumerate(values, 1):
                p[f"Filter.{n}.Value.{m}"] = v
        if "token" in f:
            p["NextToken"] = f["token"]
        return "DescribeNetworkInterfaces", p, ""

    def other_query(self, what: str, arg) -> tuple[str, dict, str] | None:
        if what == "instances":
            return "DescribeInstances", {"Filter.1.Name": "subnet-id", "Filter.1.Value.1": self.vsws[arg]}, ""
        if what == "vswitches":
            return "DescribeSubnets", {"SubnetId.1": self.vsws[arg]}, ""
        if what == "vpcs":
            return "DescribeVpcs", {"VpcId.1": self.vpc}, ""
        if what == "groups":
            return "DescribeSecurityGroups", {"GroupId.1": self.sgs[arg]}, ""
        if what == "eips":
            return "DescribeAddresses", {"PublicIp.1": arg}, ""
        return None

    ROWS = {
        "DescribeNetworkInterfaces": rb"<networkInterfaceId>",
        "DescribeInstances": rb"<instanceState>",
        "DescribeSubnets": rb"<subnetId>",
        "DescribeVpcs": rb"<isDefault>",
        "DescribeSecurityGroups": rb"<groupName>",
        "DescribeAddresses": rb"<publicIp>",
    }

    def send(self, conn: Conn, q: tuple[str, dict, str]) -> bytes:
        return self.call(conn, q[0], dict(q[1]))

    def rows(self, q: tuple[str, dict, str], body: bytes) -> int:
        return body.count(self.ROWS.get(q[0], b"<requestId>"))

    def page_all(self, conn: Conn, deadline: float) -> tuple[list[str], int, bool]:
        ids: list[str] = []
        token = None
        pages = 0
        while True:
            f = {"max": 500}
            if token:
                f["token"] = token
            r = self.send(conn, self.eni_query(f))
            pages += 1
            ids += [x.decode() for x in _ID.findall(r)]
            m = re.search(rb"<nextToken>([^<]+)</nextToken>", r)
            token = m.group(1).decode() if m else None
            if not token:
                return ids, pages, True
            if time.monotonic() > deadline:
                return ids, pages, False


# ---------------------------------------------------------------------------------------------
# Client processes


_W: dict = {}


def _worker_init(dialect, ports: list[int], stop) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _W["d"] = dialect
    # With several API servers, the client processes spread over them.
    _W["conn"] = Conn(ports[os.getpid() % len(ports)])
    _W["stop"] = stop


def _timed(lat: dict, kind: str, fn, *a):
    t = time.perf_counter()
    r = fn(*a)
    lat.setdefault(kind, []).append(time.perf_counter() - t)
    return r


def _run_chunk(chunk: list) -> tuple[list, dict, float]:
    """Runs ops in order on this process's connection. An op is (tag, kind, args); kind "grow"
    is a create, then maybe an assign and an attach of that ENI. Returns each op's (tag, result,
    error), the latencies by call, and the client CPU this took. Once the parent sets the stop
    event, the ops not started are skipped (left out of the answer)."""
    d, conn, stop = _W["d"], _W["conn"], _W["stop"]
    c0 = time.process_time()
    out = []
    lat: dict = {}
    for tag, kind, a in chunk:
        if stop.is_set():
            break
        try:
            if kind == "create":
                out.append((tag, _timed(lat, "create", d.create, conn, a), None))
            elif kind == "assign":
                out.append((tag, _timed(lat, "assign", d.assign, conn, *a), None))
            elif kind == "attach":
                out.append((tag, _timed(lat, "attach", d.attach, conn, *a), None))
            elif kind == "eip":
                out.append((tag, _timed(lat, "eip", d.allocate_eip, conn), None))
            elif kind == "grow":
                spec, assign_n, att = a
                eni, ips = _timed(lat, "create", d.create, conn, spec)
                err = None
                try:
                    if assign_n:
                        ips = ips + _timed(lat, "assign", d.assign, conn, eni, assign_n)
                    if att:
                        _timed(lat, "attach", d.attach, conn, eni, *att)
                except Exception as e:  # the ENI exists; say what failed after
                    err = f"{type(e).__name__}: {e}"
                    att = None
                out.append((tag, (eni, ips, att), err))
        except Exception as e:
            out.append((tag, None, f"{type(e).__name__}: {e}"))
    return out, lat, time.process_time() - c0


def pctl(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


class Phase:
    """What one parallel phase did: ops done, errors, wall time, server and client CPU."""

    def __init__(self, name: str):
        self.name = name
        self.results: list = []
        self.errors: list[str] = []
        self.lat: dict[str, list[float]] = {}
        self.wall = 0.0
        self.server_cpu = 0.0
        self.client_cpu = 0.0
        self.stopped = ""  # why it stopped early, if it did

    @property
    def ok(self) -> int:
        return sum(1 for r in self.results if r[1] is not None)

    def summary(self, kind: str | None = None) -> dict:
        n = len(self.lat.get(kind, [])) if kind else self.ok
        return {
            "ops": n,
            "errors": len(self.errors),
            "wall_s": round(self.wall, 3),
            "rate": n / self.wall if self.wall else 0.0,
            "server_us": 1e6 * self.server_cpu / n if n else float("nan"),
            "client_us": 1e6 * self.client_cpu / n if n else float("nan"),
            "p50_ms": 1e3 * pctl(self.lat.get(kind or "", []), 0.5),
            "p99_ms": 1e3 * pctl(self.lat.get(kind or "", []), 0.99),
            "stopped": self.stopped,
        }


class Runner:
    """One server, its client processes and the state the benchmark built in it."""

    def __init__(self, dialect, server, args, deadline: float):
        self.d = dialect
        self.server = server
        self.args = args
        self.deadline = deadline
        self.conn = Conn(server.port)
        self.pool = None
        self.enis: list[list] = []  # by ordinal: [id, ips, zone, attached instance or None, spec]
        self.eips: list[str] = []
        self.attached = [0] * N_INSTANCES
        # While growing, every 10 s: (phase, t, ops done, server CPU s, ENIs).
        self.progress: list[tuple] = []

    # -- processes

    def start_pool(self) -> None:
        if self.pool is None:
            ctx = mp.get_context("fork")
            self.stop = ctx.Event()
            self.pool = ctx.Pool(self.args.clients, _worker_init, (self.d, self.server.ports, self.stop))

    def stop_pool(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None

    def run(self, name: str, ops: list, cap_s: float, on_result=None, progress=None) -> Phase:
        """Runs `ops` on the client processes in chunks, until done, `cap_s` or the deadline.
        With `progress` (the ENI count before), logs and records the rate every 10 s."""
        ph = Phase(name)
        if not ops:
            return ph
        self.start_pool()
        chunk = 20
        chunks = [ops[k:k + chunk] for k in range(0, len(ops), chunk)]
        stop_at = min(time.monotonic() + cap_s, self.deadline)
        cpu0 = self.server.cpu_snapshot()
        t0 = time.monotonic()
        last = t0
        done = 0
        it = self.pool.imap_unordered(_run_chunk, chunks)
        stopping = 0.0  # when the stop was asked, if it was
        remaining = len(chunks)
        while remaining:
            now = time.monotonic()
            if not stopping and now >= stop_at:
                why = "deadline of the run" if stop_at >= self.deadline else f"phase cap {cap_s:.0f} s"
                ph.stopped = f"stopped by the {why} after {done:,} of {len(ops):,} ops"
            if not stopping and ph.stopped:
                self.stop.set()  # the clients finish the op they are in and skip the rest
                stopping = now
            try:
                out, lat, ccpu = it.next(timeout=(stopping + 60 - now) if stopping else (stop_at - now))
            except mp.TimeoutError:
                if stopping:
                    ph.stopped += "; requests still in flight after 60 s abandoned"
                    self.stop_pool()
                    break
                continue  # the stop is asked at the top of the loop
            remaining -= 1
            ph.client_cpu += ccpu
            for k, v in lat.items():
                ph.lat.setdefault(k, []).extend(v)
            for r in out:
                ph.results.append(r)
                if r[2]:
                    ph.errors.append(r[2])
                if on_result:
                    on_result(r)
            done += len(out)
            if not ph.stopped and len(ph.errors) > max(20, 0.01 * len(ops)):
                ph.stopped = f"too many errors ({len(ph.errors)}), first: {ph.errors[0]}"
            now = time.monotonic()
            if progress is not None and not stopping and now - last >= 10:
                cpu = self.server.cpu_between(cpu0, self.server.cpu_snapshot())
                prev = self.progress[-1] if self.progress and self.progress[-1][0] == name else (name, 0.0, 0, 0.0)
                self.progress.append((name, round(now - t0, 1), done, round(cpu, 2), progress + done))
                dn = done - prev[2]
                log(f"  {name}: {done:,}/{len(ops):,} ops; last {now - last:.0f} s: {dn / (now - last):.0f} ops/s, "
                    f"server {1e6 * (cpu - prev[3]) / max(dn, 1):.0f} us/op")
                last = now
        ph.wall = time.monotonic() - t0
        ph.server_cpu = self.server.cpu_between(cpu0, self.server.cpu_snapshot())
        if self.pool is not None:
            self.stop.clear()
        if ph.stopped:
            log(f"  {name}: {ph.stopped}")
        return ph

    # -- building

    def setup(self) -> None:
        t = time.monotonic()
        self.d.setup(self.conn)
        log(f"{self.d.name}: VPC, {len(self.d.vsws)} vSwitches, {len(self.d.sgs)} groups, "
            f"{len(self.d.insts)} instances in {time.monotonic() - t:.1f} s")
        self.by_zone = {z: [k for k in range(len(self.d.insts)) if self.d.inst_zone(k) == z] for z in range(len(ZONES))}
        self.rr = {z: 0 for z in self.by_zone}

    def pick_instance(self, zone: int, cap: int) -> int | None:
        """The next instance of `zone` (round robin) holding fewer than `cap` secondary ENIs."""
        ks = self.by_zone[zone]
        for _ in range(len(ks)):
            k = ks[self.rr[zone] % len(ks)]
            self.rr[zone] += 1
            if self.attached[k] < cap:
                self.attached[k] += 1
                return k
        return None

    def _record_eni(self, r) -> None:
        (i, spec), res, err = r
        if res is None:
            return
        if isinstance(res, tuple) and len(res) == 3:
            eni, ips, att = res
        else:
            (eni, ips), att = res, None
        rec = [eni, ips, vsw_zone(spec["vsw"]), att[0] if att else None, spec]
        if i >= len(self.enis):
            self.enis.extend([None] * (i + 1 - len(self.enis)))
        self.enis[i] = rec

    def grow(self, target: int) -> Phase:
        """Allocates EIPs up to one for ten ENIs of `target` (at most `--eips`), then creates
        ENIs up to `target` (every 20th gets one more IP, every 50th is attached while
        instances have room)."""
        start = self.count()
        want_eips = min(self.args.eips, target // 10)
        if want_eips > len(self.eips):
            e = self.run("eips", [(None, "eip", ()) for _ in range(want_eips - len(self.eips))],
                         self.args.phase_seconds, lambda r: r[1] and self.eips.append(r[1][1]))
            log(f"{self.d.name}: {len(self.eips):,} EIPs ({e.summary('eip')['server_us']:.0f} us server CPU "
                f"per allocation)")
            if e.stopped:
                return e
        ops = []
        for i in range(start, target):
            spec = eni_spec(i)
            att = None
            if i % 50 == 25:
                k = self.pick_instance(vsw_zone(spec["vsw"]), GROWTH_ATTACH_CAP)
                if k is not None:
                    att = (k, self.attached[k])
            ops.append(((i, spec), "grow", (spec, 1 if i % 20 == 7 else 0, att)))
        log(f"{self.d.name}: growing {start:,} -> {target:,} ENIs")
        ph = self.run(f"grow to {target:,}", ops, self.args.phase_seconds, self._record_eni, progress=start)
        if not ph.stopped and len(self.enis) < target:
            self.enis.extend([None] * (target - len(self.enis)))
        log(f"  reached {len(self.live()):,} ENIs in {ph.wall:.1f} s ({ph.ok / max(ph.wall, 1e-9):.0f}/s, "
            f"server {1e6 * ph.server_cpu / max(ph.ok, 1):.0f} us per ENI with its assign/attach)")
        return ph

    def count(self) -> int:
        """The next ordinal: ENIs whose create failed or was abandoned leave holes (None)."""
        return len(self.enis)

    def live(self) -> list[list]:
        return [e for e in self.enis if e is not None]

    # -- measuring

    def writes(self) -> dict:
        """The measured write batches: creates, assigns on the new ENIs, attaches of some."""
        out = {}
        start = self.count()
        n = self.args.batch
        ops = [((i, eni_spec(i)), "create", eni_spec(i)) for i in range(start, start + n)]
        ph = self.run("create", ops, self.args.phase_seconds, self._record_eni)
        out["create"] = ph.summary("create")
        new = [e for e in self.enis[start:] if e is not None]
        if ph.stopped:
            return out
        ops = [(None, "assign", (e[0], 1)) for e in new[: self.args.assign_batch]]
        ph = self.run("assign", ops, self.args.phase_seconds)
        out["assign"] = ph.summary("assign")
        if ph.stopped:
            return out
        ops = []
        for e in new:
            if len(ops) >= self.args.attach_batch:
                break
            k = self.pick_instance(e[2], ENIS_PER_INSTANCE)
            if k is not None:
                e[3] = k
                ops.append((None, "attach", (e[0], k, self.attached[k])))
        ph = self.run("attach", ops, self.args.phase_seconds)
        out["attach"] = ph.summary("attach")
        return out

    def read_series(self) -> list[tuple[str, callable]]:
        """(label, () -> query[, rows expected]) for each read measured; a query of None is not
        served."""
        rnd = random.Random(7)
        live = self.live()
        named = [e for e in live if e[4]["name"]]
        tagged = [e for e in live if e[4]["tags"]]
        with_sec = [e for e in live if len(e[1]) > 1]
        att = [k for k in range(len(self.d.insts)) if self.attached[k]] or [0]
        q = self.d.eni_query
        o = self.d.other_query

        def tag(e):
            return e[4]["tags"][1]

        s = [
            ("NetworkInterfaceId.N (10 ids)", lambda: q({"ids": [e[0] for e in rnd.sample(live, 10)]}), 10),
            ("VpcId", lambda: q({"vpc": 1})),
            ("VSwitchId", lambda: q({"vsw": rnd.randrange(N_VSWITCHES)})),
            ("InstanceId", lambda: q({"inst": rnd.choice(att)})),
            ("Type=Secondary", lambda: q({"type": "Secondary"})),
            ("Status=Available", lambda: q({"status": "Available"})),
            ("Status=InUse", lambda: q({"status": "InUse"})),
            ("NetworkInterfaceName", lambda: q({"name": rnd.choice(named)[4]["name"]}), 1),
            ("SecurityGroupId", lambda: q({"sg": rnd.randrange(N_GROUPS)})),
            ("PrimaryIpAddress", lambda: q({"primary_ip": rnd.choice(live)[1][0]}), 1),
            ("PrivateIpAddress.N (secondary)", lambda: q({"ips": [rnd.choice(rnd.choice(with_sec)[1][1:])]}), 1),
            ("Tag.N team (broad)", lambda: q({"tags": [("team", f"team{rnd.randrange(10)}")]})),
            ("Tag.N pod (one ENI)", lambda: q({"tags": [tag(rnd.choice(tagged))]}), 1),
            ("ResourceGroupId", lambda: q({"rg": RESOURCE_GROUP})),
            ("VSwitchId + Status=Available", lambda: q({"vsw": rnd.randrange(N_VSWITCHES), "status": "Available"})),
            ("InstanceId + Type=Secondary", lambda: q({"inst": rnd.choice(att), "type": "Secondary"})),
            ("VpcId + Type + Tag team", lambda: q({"vpc": 1, "type": "Secondary",
                                                   "tags": [("team", f"team{rnd.randrange(10)}")]})),
            ("SecurityGroupId + VSwitchId + Status", lambda: q({"sg": rnd.randrange(N_GROUPS),
                                                                "vsw": rnd.randrange(N_VSWITCHES),
                                                                "status": "Available"})),
            ("DescribeNetworkInterfaceAttribute", lambda: o("eni_attr", rnd.choice(live)[0]), 1),
            ("DescribeInstances VSwitchId", lambda: o("instances", rnd.randrange(10))),
            ("DescribeVSwitches VSwitchId", lambda: o("vswitches", rnd.randrange(N_VSWITCHES))),
            ("DescribeVpcs VpcId", lambda: o("vpcs", None)),
            ("DescribeSecurityGroups SecurityGroupId", lambda: o("groups", rnd.randrange(N_GROUPS))),
        ]
        if self.eips:
            s.append(("DescribeEipAddresses EipAddress", lambda: o("eips", rnd.choice(self.eips))))
        return s

    def reads(self, end: float) -> dict:
        """Each read series, one request at a time, until `--samples` or its share of the time
        left. The first request is a warm-up that gives the rows of one answer; one that takes
        longer than the share is the series' only sample. A series that one request of the
        previous series would not fit in before `end` is skipped."""
        out = {}
        series = self.read_series()
        slowest = 0.0  # the longest single request so far
        for n, (label, make, *want) in enumerate(series):
            now = time.monotonic()
            left = end - now
            cap = max(1.0, min(self.args.read_seconds, left / (len(series) - n)))
            first = make()
            if first is None:
                out[label] = None
                continue
            if now + slowest > end:
                out[label] = {"error": f"skipped: out of time (one request took {slowest:.0f} s)"}
                continue
            try:
                stop = now + cap
                t = time.perf_counter()
                cpu0 = self.server.cpu_snapshot()
                body = self.d.send(self.conn, first)
                took = time.perf_counter() - t
                slowest = max(slowest, took)
                rows = self.d.rows(first, body)
                lat = []
                if took >= cap:  # too slow for more: the cold request is the sample
                    lat.append(took)
                else:
                    cpu0 = self.server.cpu_snapshot()
                    for _ in range(self.args.samples):
                        qq = make()
                        t = time.perf_counter()
                        self.d.send(self.conn, qq)
                        lat.append(time.perf_counter() - t)
                        slowest = max(slowest, lat[-1])
                        if time.monotonic() + lat[-1] > stop:
                            break
                cpu = self.server.cpu_between(cpu0, self.server.cpu_snapshot())
                out[label] = {"n": len(lat), "p50_ms": 1e3 * pctl(lat, 0.5), "p99_ms": 1e3 * pctl(lat, 0.99),
                              "server_us": 1e6 * cpu / len(lat), "rows": rows,
                              "rows_expected": want[0] if want else None}
            except Exception as e:
                out[label] = {"error": f"{type(e).__name__}: {e}"[:160]}
        return out

    def page(self, end: float) -> dict:
        expect = {e[0] for e in self.live()}
        cpu0 = self.server.cpu_snapshot()
        t = time.monotonic()
        try:
            ids, pages, complete = self.d.page_all(self.conn, min(end, t + self.args.page_seconds))
        except Exception as e:
            return {"error": f"{type(e).__name__}: {e}"[:160]}
        wall = time.monotonic() - t
        cpu = self.server.cpu_between(cpu0, self.server.cpu_snapshot())
        got = set(ids)
        dup = len(ids) - len(got)
        missing = len(expect - got)
        extra = len(got - expect)  # the instances' primary ENIs, N_INSTANCES of them
        ok = complete and dup == 0 and missing == 0 and extra == len(self.d.insts)
        return {"seconds": wall, "pages": pages, "enis": len(ids), "complete": complete, "duplicates": dup,
                "missing": missing, "others": extra, "ok": ok, "server_cpu_s": cpu}

    def memory(self) -> dict:
        rss, hwm = self.server.rss_mib()
        return {"rss_mib": rss, "hwm_mib": hwm, "db_mib": self.server.db_mib()}

    def checkpoint(self, label: str) -> dict:
        log(f"{self.d.name}: checkpoint {label}: reads")
        end = self.deadline - 60  # the writes' share of what is left
        cp = {"label": label, "enis": len(self.live()), "eips": len(self.eips)}
        cp["reads"] = self.reads(end)
        log(f"{self.d.name}: checkpoint {label}: paging")
        cp["page"] = self.page(self.deadline)
        cp["memory"] = self.memory()
        log(f"{self.d.name}: checkpoint {label}: writes")
        cp["writes"] = self.writes()
        cp["memory_after_writes"] = self.memory()
        return cp

    def close(self) -> None:
        self.stop_pool()
        self.conn.close()


# ---------------------------------------------------------------------------------------------
# Servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OneProcess:
    """What the benchmark reads of a server that is one process on one port (`pid`, `port`)."""

    @property
    def ports(self) -> list[int]:
        return [self.port]

    def cpu_snapshot(self):
        return cpu_snapshot(self.pid)

    def cpu_between(self, a, b) -> float:
        return cpu_between(a, b)

    def rss_mib(self) -> tuple[float, float]:
        return proc_rss_mib(self.pid)


class EniProc(OneProcess):
    """`eni serve` on 127.0.0.1:0 over a fresh data dir."""

    def __init__(self, binary: str, workdir: Path, log_level: str, database_url: str | None = None,
                 name: str = "eni", key: tuple[str, str] | None = None):
        self.binary = binary
        self.data_dir = workdir / f"{name}-data"
        self.log_path = workdir / f"{name}-server.log"
        self.ak, self.secret = key or ("LTAIscale" + secrets.token_hex(8), secrets.token_hex(16))
        self.log_level = log_level
        self.database_url = database_url
        self.proc = None
        self.port = 0

    @property
    def pid(self) -> int:
        return self.proc.pid


    def start(self, eni_quota: int, eip_quota: int) -> "EniProc":
        args = [self.binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir),
                "--transition-delay-ms", "0", "--eni-quota", str(eni_quota), "--eip-quota", str(eip_quota),
                "--vpc-quota", "10"]
        if self.database_url:
            args += ["--database-url", self.database_url]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENI_")}
        env.update(ENI_LOG=self.log_level, ENI_ROOT_ACCESS_KEY_ID=self.ak, ENI_ROOT_ACCESS_KEY_SECRET=self.secret)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL,
                                     env=env, text=True)
        found = threading.Event()

        def pump():
            for line in self.proc.stdout:
                if line.startswith("listening on ") and not found.is_set():
                    self.port = int(line.strip().rsplit(":", 1)[1])
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(20):
            self.stop()
            raise RuntimeError(f"eni serve did not start; see {self.log_path}")
        return self

    def db_mib(self) -> float:
        if self.database_url:
            return int(psql(self.database_url, "SELECT pg_database_size(current_database())")) / 2**20
        return sum(p.stat().st_size for p in (self.data_dir / "eni.db", self.data_dir / "eni.db-wal")
                   if p.exists()) / 2**20

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
            self.log = None


def psql(url: str, sql: str) -> str:
    r = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-tAc", sql], capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"psql: {r.stderr.strip()}")
    return r.stdout.strip()


def with_db(url: str, db: str) -> str:
    """A PostgreSQL URL with its database replaced by `db`."""
    base, _, query = url.partition("?")
    scheme, _, rest = base.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/{db}" + (f"?{query}" if query else "")


def postgres_pids(postmaster: int) -> list[int]:
    """The PostgreSQL server `postmaster` and its processes (backends, writers)."""
    pids = [postmaster]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == postmaster:
                        pids.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return pids


def postmaster_pid(url: str) -> int:
    """The PID of the PostgreSQL server behind `url` (it must run on this machine)."""
    data = psql(url, "SHOW data_directory")
    with open(Path(data) / "postmaster.pid") as f:
        return int(f.readline())


class PgGroup:
    """`--servers` eni servers on one PostgreSQL database (a fresh one on the `--database-url`
    admin URL's server, which must run on this machine; dropped at the end), measured as one
    server: its CPU is the eni processes' plus that PostgreSQL server's (all its processes), its
    RSS the eni processes' summed."""

    def __init__(self, binary: str, workdir: Path, log_level: str, admin_url: str, n: int):
        self.admin_url = admin_url
        self.db = f"eni_scale_{secrets.token_hex(6)}"
        self.database_url = with_db(admin_url, self.db)
        key = ("LTAIscale" + secrets.token_hex(8), secrets.token_hex(16))
        self.members = [EniProc(binary, workdir, log_level, self.database_url, f"eni{i}", key) for i in range(n)]
        self.ak, self.secret = key
        self.data_dir = workdir
        self.created = False

    def start(self, eni_quota: int, eip_quota: int) -> "PgGroup":
        self.postmaster = postmaster_pid(self.admin_url)
        psql(self.admin_url, f"CREATE DATABASE {self.db}")
        self.created = True
        # The first creates the schema; the others find it.
        for m in self.members:
            m.start(eni_quota, eip_quota)
        return self

    @property
    def pid(self) -> int:
        return self.members[0].pid

    @property
    def port(self) -> int:
        return self.members[0].port

    @property
    def ports(self) -> list[int]:
        return [m.port for m in self.members]

    def cpu_snapshot(self):
        pg = 0.0
        for pid in postgres_pids(self.postmaster):
            try:
                pg += proc_cpu_seconds(pid)
            except OSError:
                pass
        return [cpu_snapshot(m.pid) for m in self.members], pg

    def cpu_between(self, a, b) -> float:
        eni = sum(cpu_between(x, y) for x, y in zip(a[0], b[0]))
        return eni + max(0.0, b[1] - a[1])

    def rss_mib(self) -> tuple[float, float]:
        both = [proc_rss_mib(m.pid) for m in self.members]
        return sum(r for r, _ in both), sum(h for _, h in both)

    def db_mib(self) -> float:
        return self.members[0].db_mib()

    def stop(self) -> None:
        for m in self.members:
            m.stop()
        if self.created:
            try:
                psql(self.admin_url, f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")
            except RuntimeError as e:
                log(f"dropping {self.db}: {e}")
            self.created = False


class MotoProc(OneProcess):
    """moto_server on 127.0.0.1 (a free port), from PATH or a venv made with pip."""

    def __init__(self, exe: str, workdir: Path):
        self.exe = exe
        self.log_path = workdir / "moto-server.log"
        self.proc = None
        self.port = 0

    @property
    def pid(self) -> int:
        return self.proc.pid


    @staticmethod
    def find(venv: Path) -> str:
        exe = shutil.which("moto_server")
        if exe:
            return exe
        exe = venv / "bin" / "moto_server"
        if not exe.exists():
            log(f"installing moto[server] into {venv}")
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "moto[server]"], check=True)
        return str(exe)

    def version(self) -> str:
        py = Path(self.exe).with_name("python")
        try:
            r = subprocess.run([str(py) if py.exists() else sys.executable, "-c",
                                "import moto; print(moto.__version__)"], capture_output=True, text=True, timeout=60)
            return r.stdout.strip() or "?"
        except Exception:
            return "?"

    def start(self) -> "MotoProc":
        self.port = free_port()
        self.log = open(self.log_path, "ab")
        env = dict(os.environ)
        self.proc = subprocess.Popen([self.exe, "-H", "127.0.0.1", "-p", str(self.port)], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        t = time.monotonic()
        while time.monotonic() - t < 60:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited; see {self.log_path}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/moto-api/", timeout=2).read()
                return self
            except Exception:
                time.sleep(0.2)
        raise RuntimeError("moto_server did not answer in 60 s")

    def db_mib(self) -> float:
        return float("nan")  # in memory

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
            self.log = None


# ---------------------------------------------------------------------------------------------
# Driving one server through the checkpoints


def drive(dialect, server, args, checkpoints: list[int], max_seconds: float) -> dict:
    t0 = time.monotonic()
    deadline = t0 + max_seconds
    r = Runner(dialect, server, args, deadline)
    res = {"server": dialect.name, "checkpoints": [], "growth": [], "reached": 0}
    try:
        r.setup()
        # Growing stops early enough to leave a final measurement its share of the run.
        for cp in checkpoints:
            r.deadline = deadline - args.reserve_seconds
            g = r.grow(cp)
            r.deadline = deadline
            live = len(r.live())
            res["growth"].append({"target": cp, "reached": live, **g.summary("create"),
                                  "enis_per_s": g.ok / g.wall if g.wall else 0.0})
            res["reached"] = live
            if g.stopped:
                last = res["checkpoints"][-1]["enis"] if res["checkpoints"] else 0
                if g.ok and live > last + args.batch and time.monotonic() < deadline - args.reserve_seconds / 2:
                    res["checkpoints"].append(r.checkpoint(f"{live:,} (stopped)"))
                res["stopped"] = g.stopped
                break
            res["checkpoints"].append(r.checkpoint(f"{cp:,}"))
            res["reached"] = len(r.live())
            if time.monotonic() > deadline - 5:
                res["stopped"] = "deadline of the run"
                break
    finally:
        res["progress"] = r.progress
        res["seconds"] = time.monotonic() - t0
        r.close()
    return res


# ---------------------------------------------------------------------------------------------
# Output


def fnum(x, unit: str = "", digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float):
        if abs(x) >= 100:
            return f"{x:,.0f}{unit}"
        return f"{x:.{digits}f}{unit}"
    return f"{x:,}{unit}"


def table(headers: list[str], rows: list[list], title: str = "") -> str:
    w = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = [title] if title else []
    lines.append("  ".join(str(h).ljust(w[i]) if i == 0 else str(h).rjust(w[i]) for i, h in enumerate(headers)))
    lines.append("  ".join("-" * x for x in w))
    for r in rows:
        lines.append("  ".join(str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i]) for i, c in enumerate(r)))
    return "\n".join(lines)


def checkpoint_tables(name: str, cp: dict) -> str:
    out = []
    rows = []
    for kind, label in (("create", "CreateNetworkInterface"), ("assign", "AssignPrivateIpAddresses"),
                        ("attach", "AttachNetworkInterface")):
        s = cp["writes"].get(kind)
        if s is None:
            rows.append([label, "-", "-", "-", "-", "-", "-", "-", "not run"])
            continue
        rows.append([label, fnum(s["ops"]), fnum(s["rate"]), fnum(s["server_us"]), fnum(s["client_us"]),
                     fnum(s["p50_ms"], digits=2), fnum(s["p99_ms"], digits=2), fnum(s["errors"]), s["stopped"]])
    out.append(table(["writes (parallel clients)", "ops", "ops/s", "server us/op", "client us/op", "p50 ms",
                      "p99 ms", "errors", "note"], rows,
                     f"== {name}: {cp['label']} ENIs ({cp['enis']:,} secondary ENIs, {cp['eips']:,} EIPs) =="))
    rows = []
    for label, s in cp["reads"].items():
        if s is None:
            rows.append([label, "-", "-", "-", "-", "n/a"])
        elif "error" in s:
            rows.append([label, "-", "-", "-", "-", s["error"][:60]])
        else:
            want = s.get("rows_expected")
            rows.append([label, fnum(s["n"]), fnum(s["p50_ms"], digits=2), fnum(s["p99_ms"], digits=2),
                         fnum(s["server_us"]),
                         fnum(s["rows"]) + (f" (want {want})" if want is not None and want != s["rows"] else "")])
    out.append(table(["reads (one at a time; DescribeNetworkInterfaces by)", "n", "p50 ms", "p99 ms",
                      "server us/op", "rows"], rows))
    p = cp["page"]
    if "error" in p:
        out.append(f"page all: {p['error']}")
    else:
        out.append(f"page all (MaxResults=500): {p['seconds']:.2f} s, {p['pages']} pages, {p['enis']:,} ENIs, "
                   f"server CPU {p['server_cpu_s']:.2f} s; "
                   + ("each ENI exactly once" if p["ok"] else
                      f"NOT OK: complete={p['complete']} duplicates={p['duplicates']} missing={p['missing']} "
                      f"others={p['others']}"))
    m = cp["memory"]
    out.append(f"server RSS {m['rss_mib']:.1f} MiB (peak {m['hwm_mib']:.1f}), database {fnum(m['db_mib'], ' MiB')}")
    return "\n".join(out)


def figures(cp: dict) -> dict:
    """The comparable figures of a checkpoint, by name."""
    f = {}
    for kind in ("create", "assign", "attach"):
        s = cp["writes"].get(kind)
        if s and s["ops"]:
            f[f"{kind}: server us/op"] = s["server_us"]
            f[f"{kind}: ops/s"] = s["rate"]
    for label, s in cp["reads"].items():
        if s and "error" not in s:
            f[f"{label}: p50 ms"] = s["p50_ms"]
            f[f"{label}: p99 ms"] = s["p99_ms"]
    if "seconds" in cp["page"]:
        f["page all: s"] = cp["page"]["seconds"]
    f["RSS MiB"] = cp["memory"]["rss_mib"]
    if not math.isnan(cp["memory"]["db_mib"]):
        f["database MiB"] = cp["memory"]["db_mib"]
    return f


def ratio_table(res: dict) -> str:
    cps = res["checkpoints"]
    if len(cps) < 2:
        return "(one checkpoint only: no ratios)"
    a, b = figures(cps[0]), figures(cps[-1])
    rows = [[k, fnum(a[k], digits=2), fnum(b[k], digits=2), fnum(b[k] / a[k] if a[k] else None, "x", 2)]
            for k in a if k in b]
    return table(["figure", f"at {cps[0]['label']}", f"at {cps[-1]['label']}", "ratio"], rows,
                 f"== {res['server']}: figure at {cps[-1]['label']} / figure at {cps[0]['label']} ==")


def targets(res: dict) -> str:
    cps = res["checkpoints"]
    if not cps:
        return "targets: no checkpoint reached"
    first, top = cps[0], cps[-1]
    at100k = top["enis"] >= 100_000
    lines = ["== targets (issue 9; 2 cores) =="]

    def verdict(ok: bool, needs_100k: bool = True) -> str:
        if needs_100k and not at100k:
            return f"NOT MET (100k ENIs not reached; top checkpoint {top['label']})"
        return "MET" if ok else "NOT MET"

    c1 = first["writes"].get("create", {}).get("server_us", float("nan"))
    ct = top["writes"].get("create", {}).get("server_us", float("nan"))
    lines.append(f"- server CPU per create at 100k within 1.5x of 1k: {verdict(ct <= 1.5 * c1)} "
                 f"({fnum(ct)} us at {top['label']} vs {fnum(c1)} us at {first['label']}: {fnum(ct / c1, 'x', 2)})")
    worst = max(((s["p99_ms"], k) for k, s in top["reads"].items()
                 if s and "error" not in s and not k.startswith("Describe")), default=(float("nan"), "-"))
    errs = [k for k, s in top["reads"].items() if s and "error" in s]
    lines.append(f"- every filtered DescribeNetworkInterfaces p99 < 10 ms at 100k: "
                 f"{verdict(worst[0] < 10 and not errs)} (worst at {top['label']}: {fnum(worst[0], ' ms', 2)}, {worst[1]}"
                 + (f"; errors: {', '.join(errs)}" if errs else "") + ")")
    p = top["page"]
    ps = p.get("seconds", float("nan"))
    lines.append(f"- paging all 100k ENIs with MaxResults=500 under 5 s: {verdict(ps < 5 and p.get('ok', False))} "
                 f"({fnum(ps, ' s', 2)} for {p.get('enis', 0):,} ENIs at {top['label']}"
                 + ("" if p.get("ok") else ", incomplete or wrong") + ")")
    rss = top["memory"]["rss_mib"]
    lines.append(f"- RSS under 256 MiB at 100k: {verdict(rss < 256)} ({rss:.1f} MiB at {top['label']})")
    at1k = first["enis"] >= 1000
    lines.append(f"- <= 150 us server CPU per create at 1k: "
                 f"{('MET' if c1 <= 150 else 'NOT MET') if at1k else 'NOT MET (1k not reached)'} "
                 f"({fnum(c1)} us at {first['label']})")
    return "\n".join(lines)


def side_by_side(eni: dict, moto: dict) -> str:
    out = []
    by_label = {cp["enis"]: cp for cp in eni["checkpoints"]}
    for mcp in moto["checkpoints"]:
        ecp = by_label.get(mcp["enis"])
        if ecp is None:
            continue
        a, b = figures(ecp), figures(mcp)
        rows = []
        for k in a:
            if k in b and not k.startswith("database"):
                ratio = b[k] / a[k] if a[k] else None
                rows.append([k, fnum(a[k], digits=2), fnum(b[k], digits=2), fnum(ratio, "x", 2)])
        for k in b:
            if k not in a:
                rows.append([k, "-", fnum(b[k], digits=2), "-"])
        out.append(table(["figure", "eni", "moto", "moto/eni"], rows,
                         f"== eni vs moto_server at {mcp['label']} ENIs =="))
    return "\n\n".join(out) if out else "(no common checkpoint with moto)"


def growth_lines(res: dict) -> str:
    lines = [f"== {res['server']}: growth (ENIs created with their assign/attach, {len(res['growth'])} segments) =="]
    for g in res["growth"]:
        lines.append(f"- to {g['target']:,}: reached {g['reached']:,} in {g['wall_s']:.1f} s, "
                     f"{g['enis_per_s']:.0f} ENIs/s, server {fnum(g['server_us'])} us per ENI, "
                     f"client {fnum(g['client_us'])} us, create p99 {fnum(g['p99_ms'], ' ms', 1)}"
                     + (f" [{g['stopped']}]" if g["stopped"] else ""))
    if res.get("stopped"):
        lines.append(f"stopped: {res['stopped']}")
    return "\n".join(lines)


def trace_table(res: dict, every: float = 60) -> str:
    """The growth rate and server CPU per ENI over intervals of about `every` seconds."""
    rows = []
    prev = None
    for p in res.get("progress", []):
        if prev is None or p[0] != prev[0]:
            prev = (p[0], 0.0, 0, 0.0, p[4] - p[2])
        if p[1] - prev[1] >= every or p is res["progress"][-1]:
            dn, dt = p[2] - prev[2], p[1] - prev[1]
            rows.append([p[0], f"{p[1]:.0f}", fnum(p[4]), fnum(dn / dt if dt else 0.0),
                         fnum(1e6 * (p[3] - prev[3]) / dn if dn else float("nan"))])
            prev = p
    if not rows:
        return ""
    return table(["phase", "t s", "ENIs", "ENIs/s", "server us/ENI"], rows,
                 f"== {res['server']}: growth over time (each ENI with its assign/attach) ==")


def report(res: dict) -> str:
    parts = [growth_lines(res)]
    if trace_table(res):
        parts.append(trace_table(res))
    parts += [checkpoint_tables(res["server"], cp) for cp in res["checkpoints"]]
    parts.append(ratio_table(res))
    return "\n\n".join(parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(REPO / "target" / "release" / "eni"), help="the eni binary")
    ap.add_argument("--to", type=int, default=100_000, help="ENIs to grow to (100000)")
    ap.add_argument("--checkpoints", help="comma-separated ENI counts (default: 1k, 10k, 100k... up to --to)")
    ap.add_argument("--clients", type=int, default=8, help="client processes for the writes (8)")
    ap.add_argument("--batch", type=int, default=2000, help="creates measured at each checkpoint (2000)")
    ap.add_argument("--assign-batch", type=int, default=1000, help="assigns measured at each checkpoint (1000)")
    ap.add_argument("--attach-batch", type=int, default=200, help="attaches measured at each checkpoint (200)")
    ap.add_argument("--eips", type=int, default=10_000, help="EIPs at most, one per ten ENIs (10000)")
    ap.add_argument("--samples", type=int, default=200, help="requests per read series (200)")
    ap.add_argument("--max-seconds", type=float, default=1800, help="the eni run, whole (1800)")
    ap.add_argument("--phase-seconds", type=float, default=600, help="cap of one growth or write phase (600)")
    ap.add_argument("--read-seconds", type=float, default=15, help="cap of one read series (15)")
    ap.add_argument("--page-seconds", type=float, default=120, help="cap of the paging (120)")
    ap.add_argument("--reserve-seconds", type=float, default=240,
                    help="time growth leaves for the last checkpoint's measurements (240)")
    ap.add_argument("--database-url", help="run eni on PostgreSQL: an admin URL (postgres://USER@HOST:PORT/DB); "
                    "the benchmark creates a database there and drops it at the end")
    ap.add_argument("--servers", type=int, default=1,
                    help="eni servers on the one PostgreSQL database, clients spread over them (1)")
    ap.add_argument("--peer", choices=["moto"], help="also run the workload against this peer")
    ap.add_argument("--peer-to", type=int, default=10_000, help="checkpoints for the peer up to (10000)")
    ap.add_argument("--peer-max-seconds", type=float, default=1800, help="the peer run, whole (1800)")
    ap.add_argument("--moto-venv", default=str(REPO / "target" / "moto-venv"),
                    help="venv for moto[server] when moto_server is not on PATH")
    ap.add_argument("--no-eni", action="store_true", help="run only the peer")
    ap.add_argument("--log-level", default="warn", help="the server's ENI_LOG (warn)")
    ap.add_argument("--json", help="write the raw figures to this file")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (data dir and logs)")
    args = ap.parse_args()
    if args.servers < 1:
        ap.error("--servers takes 1 or more")
    if args.servers != 1 and not args.database_url:
        ap.error("--servers needs --database-url: SQLite has one server")

    if args.checkpoints:
        checkpoints = sorted({int(x) for x in args.checkpoints.split(",")})
    else:
        checkpoints = [c for c in (1_000, 10_000, 100_000, 1_000_000) if c < args.to] + [args.to]
    workdir = Path(tempfile.mkdtemp(prefix="eni-scale-"))
    results: dict = {"args": vars(args), "checkpoints": checkpoints}
    servers = []

    def on_term(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    failed = False
    try:
        if not args.no_eni:
            binary = str(Path(args.bin).resolve())
            if args.database_url:
                srv = PgGroup(binary, workdir, args.log_level, args.database_url, args.servers)
            else:
                srv = EniProc(binary, workdir, args.log_level)
            servers.append(srv)
            srv.start(eni_quota=10 * max(checkpoints) + 10 * args.batch, eip_quota=10 * args.eips + 100)
            where = f"PostgreSQL database {srv.db}, {args.servers} server(s)" if args.database_url else \
                f"data dir {srv.data_dir}"
            log(f"eni serve pid {srv.pid} on 127.0.0.1:{srv.ports}, {where}")
            results["eni"] = drive(EniDialect(srv.ak, srv.secret), srv, args, checkpoints, args.max_seconds)
            srv.stop()
            print(report(results["eni"]), flush=True)
            print()
            print(targets(results["eni"]), flush=True)
        if args.peer == "moto":
            exe = MotoProc.find(Path(args.moto_venv))
            srv = MotoProc(exe, workdir)
            servers.append(srv)
            srv.start()
            results["moto_version"] = srv.version()
            log(f"moto_server {results['moto_version']} pid {srv.pid} on 127.0.0.1:{srv.port}")
            pcs = [c for c in checkpoints if c <= args.peer_to] or [args.peer_to]
            results["moto"] = drive(MotoDialect(), srv, args, pcs, args.peer_max_seconds)
            srv.stop()
            print()
            print(f"moto_server {results['moto_version']} (werkzeug, threaded; MaxResults is ignored: every "
                  "Describe answers all its matches in one response)")
            print(report(results["moto"]), flush=True)
            if "eni" in results:
                print()
                print(side_by_side(results["eni"], results["moto"]), flush=True)
    except KeyboardInterrupt:
        failed = True
        log("interrupted")
    except Exception:
        failed = True
        raise
    finally:
        for s in servers:
            s.stop()
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1, default=str))
        if args.keep or failed:
            log(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
