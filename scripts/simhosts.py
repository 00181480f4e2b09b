#!/usr/bin/env python3
"""Several eni hosts simulated on one machine, each a network namespace with its own agent.

    PREFIX ul        the underlay: a bridge (br0) at 192.0.2.254/24, MTU 1550
    PREFIX h1..hN    the hosts: each linked to the bridge (device `ul`, 192.0.2.K/24), running
                     `nsenter --net=/run/netns/PREFIXhK eni agent --host-id hK --zone Z
                      --underlay-address 192.0.2.K --dataplane-prefix PREFIXhK-`

The underlay is the namespaces' own (192.0.2.0/24, TEST-NET-1), so nothing
outside them sees its traffic. The agents reach the control plane, which listens on the
machine's loopback, through a relay: a process in the machine's namespace that listens at
192.0.2.254:PORT inside the underlay namespace (the socket is opened there with setns) and
connects each caller to the server. The underlay carries 1550-byte packets, so instances keep
an MTU of 1500 over VXLAN.

Used by `scripts/hosts` (up/down, for people) and by the data-plane tests (tests/dataplane).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

CLONE_NEWNET = 0x40000000
UNDERLAY_NET = "192.0.2"
CONTROL_ADDR = f"{UNDERLAY_NET}.254"
UNDERLAY_MTU = 1550
MAX_HOSTS = 200


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r


def netns_list() -> list[str]:
    out = run("ip", "-j", "netns", "list").stdout.strip()
    return [n["name"] for n in json.loads(out or "[]")]


def setns(path: str) -> None:
    """Moves the calling thread into the network namespace at `path`."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def listen_in(netns: str, addr: str, port: int) -> socket.socket:
    """A listening TCP socket bound inside namespace `netns`; the caller stays where it is."""
    here = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        setns(f"/run/netns/{netns}")
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            s.listen(64)
        finally:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            if libc.setns(here, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(here)
    return s


def relay(netns: str, port: int, target: tuple[str, int]) -> None:
    """Forwards every connection made to CONTROL_ADDR:port in `netns` to `target` (here)."""
    lsock = listen_in(netns, CONTROL_ADDR, port)

    def pipe(a: socket.socket, b: socket.socket):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    # Ready: the parent waits for this line.
    print("relaying", flush=True)
    while True:
        conn, _ = lsock.accept()
        try:
            up = socket.create_connection(target)
        except OSError:
            conn.close()
            continue
        for a, b in ((conn, up), (up, conn)):
            threading.Thread(target=pipe, args=(a, b), daemon=True).start()


class Hosts:
    """N simulated hosts (see the module docstring). `state_dir` keeps each agent's data-plane
    state and log, and `hosts.json` (what `down` needs)."""

    def __init__(self, prefix: str, state_dir: Path, eni_bin: str, server: tuple[str, int],
                 token_file: Path, count: int = 0, zones: list[str] | None = None,
                 capacity_vcpus: int = 1024, relay_port: int = 8080, mtu: int | None = None,
                 underlay_mtu: int = UNDERLAY_MTU):
        self.prefix = prefix
        self.state_dir = Path(state_dir)
        self.eni_bin = eni_bin
        self.server = server
        self.token_file = Path(token_file)
        self.count = count
        self.zones = zones or ["cn-hangzhou-h"]
        self.capacity_vcpus = capacity_vcpus
        self.relay_port = relay_port
        # The agents' --mtu (None: theirs, 1500), and the underlay's.
        self.mtu = mtu
        self.underlay_mtu = underlay_mtu
        self.agents: dict[int, subprocess.Popen] = {}
        self.relay_proc: subprocess.Popen | None = None

    # ---- names

    @property
    def underlay_ns(self) -> str:
        return f"{self.prefix}ul"

    def ns(self, k: int) -> str:
        return f"{self.prefix}h{k}"

    def name(self, k: int) -> str:
        return f"h{k}"

    def address(self, k: int) -> str:
        return f"{UNDERLAY_NET}.{k}"

    def zone(self, k: int) -> str:
        return self.zones[(k - 1) % len(self.zones)]

    def agent_prefix(self, k: int) -> str:
        return f"{self.prefix}h{k}-"

    def agent_state(self, k: int) -> Path:
        return self.state_dir / f"h{k}"

    def agent_log(self, k: int) -> Path:
        return self.state_dir / f"h{k}.log"

    # ---- up

    def up(self) -> "Hosts":
        if not 1 <= self.count <= MAX_HOSTS:
            raise ValueError(f"between 1 and {MAX_HOSTS} hosts")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        u = self.underlay_ns
        run("ip", "netns", "add", u)
        run("ip", "-n", u, "link", "set", "lo", "up")
        run("ip", "-n", u, "link", "add", "br0", "mtu", str(self.underlay_mtu), "type", "bridge")
        run("ip", "-n", u, "addr", "add", f"{CONTROL_ADDR}/24", "dev", "br0")
        run("ip", "-n", u, "link", "set", "br0", "up")
        for k in range(1, self.count + 1):
            self.add_host(k)
        self.start_relay()
        for k in range(1, self.count + 1):
            self.start_agent(k)
        self.save()
        return self

    def add_host(self, k: int) -> None:
        h, u = self.ns(k), self.underlay_ns
        run("ip", "netns", "add", h)
        run("ip", "-n", h, "link", "set", "lo", "up")
        run("ip", "-n", u, "link", "add", f"p{k}", "mtu", str(self.underlay_mtu), "type", "veth",
            "peer", "name", "ul", "mtu", str(self.underlay_mtu), "netns", h)
        run("ip", "-n", u, "link", "set", f"p{k}", "master", "br0", "up")
        run("ip", "-n", h, "addr", "add", f"{self.address(k)}/24", "dev", "ul")
        run("ip", "-n", h, "link", "set", "ul", "up")

    def start_relay(self) -> None:
        self.relay_proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "relay", "--netns", self.underlay_ns,
             "--port", str(self.relay_port), "--to", f"{self.server[0]}:{self.server[1]}"],
            stdout=subprocess.PIPE, stderr=open(self.state_dir / "relay.log", "ab"),
            stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        line = self.relay_proc.stdout.readline()
        if "relaying" not in line:
            raise RuntimeError(f"relay did not start: {(self.state_dir / 'relay.log').read_text()}")

    def agent_args(self, k: int) -> list[str]:
        # nsenter, not `ip netns exec`: that one gives the agent a mount namespace of its own,
        # where the namespaces it adds (bind mounts under /run/netns) would stay hidden.
        return ["nsenter", f"--net=/run/netns/{self.ns(k)}", self.eni_bin, "agent",
                "--server", f"http://{CONTROL_ADDR}:{self.relay_port}",
                "--token-file", str(self.token_file), "--host-id", self.name(k),
                "--zone", self.zone(k), "--underlay-address", self.address(k),
                "--capacity-vcpus", str(self.capacity_vcpus),
                "--dataplane-prefix", self.agent_prefix(k),
                "--dataplane-state-dir", str(self.agent_state(k)),
                *(["--mtu", str(self.mtu)] if self.mtu else [])]

    def start_agent(self, k: int) -> subprocess.Popen:
        env = {key: v for key, v in os.environ.items() if not key.startswith("ENI_")}
        env["ENI_LOG"] = os.environ.get("EDP_LOG", "info")
        p = subprocess.Popen(self.agent_args(k), stdout=subprocess.DEVNULL,
                             stderr=open(self.agent_log(k), "ab"), stdin=subprocess.DEVNULL,
                             env=env, start_new_session=True)
        self.agents[k] = p
        return p

    def kill_agent(self, k: int, sig: int = signal.SIGKILL) -> None:
        p = self.agents.pop(k, None)
        if p and p.poll() is None:
            os.killpg(p.pid, sig)
            p.wait(timeout=20)

    def save(self) -> None:
        (self.state_dir / "hosts.json").write_text(json.dumps({
            "prefix": self.prefix, "count": self.count, "eni_bin": self.eni_bin,
            "agents": {k: p.pid for k, p in self.agents.items()},
            "relay": self.relay_proc.pid if self.relay_proc else None,
        }))

    # ---- down

    def down(self, pids: dict | None = None) -> list[str]:
        """Stops the agents and the relay, purges each host's data plane, removes the host and
        underlay namespaces; returns what went wrong (nothing, normally)."""
        problems = []
        for k in list(self.agents):
            self.kill_agent(k, signal.SIGTERM)
        for pid in (pids or {}).values():
            try:
                os.killpg(pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        if self.relay_proc and self.relay_proc.poll() is None:
            os.killpg(self.relay_proc.pid, signal.SIGTERM)
            self.relay_proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        for pid in (pids or {}).values():
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.05)
        env = {key: v for key, v in os.environ.items() if not key.startswith("ENI_")}
        for k in range(1, self.count + 1):
            r = subprocess.run([self.eni_bin, "dataplane", "purge", "--force",
                                "--dataplane-prefix", self.agent_prefix(k),
                                "--dataplane-state-dir", str(self.agent_state(k))],
                               capture_output=True, text=True, env=env, timeout=60)
            if r.returncode != 0:
                problems.append(f"purge of {self.name(k)}: {r.stderr.strip()}")
        present = set(netns_list())
        for ns in [self.ns(k) for k in range(1, self.count + 1)] + [self.underlay_ns]:
            if ns in present:
                r = run("ip", "netns", "del", ns, check=False)
                if r.returncode != 0:
                    problems.append(f"ip netns del {ns}: {r.stderr.strip()}")
        return problems


def main() -> int:
    ap = argparse.ArgumentParser(prog="scripts/hosts", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start a server and N simulated hosts")
    up.add_argument("count", type=int)
    up.add_argument("--prefix", default="eh-", help="namespace prefix (default eh-)")
    up.add_argument("--zones", default="cn-hangzhou-h,cn-hangzhou-i",
                    help="zones, dealt to the hosts in turn")
    up.add_argument("--state-dir", default="./eni-hosts", help="data, logs and state")
    up.add_argument("--listen", default="127.0.0.1:8080", help="the API server's address")
    up.add_argument("--capacity-vcpus", type=int, default=1024)
    up.add_argument("--underlay-mtu", type=int, default=UNDERLAY_MTU,
                    help=f"the underlay's MTU (default {UNDERLAY_MTU}: instances keep 1500)")
    up.add_argument("--mtu", type=int, help="the agents' --mtu (default theirs: 1500)")
    up.add_argument("--eni-bin", default=os.environ.get("ENI_BIN", "target/release/eni"))
    down = sub.add_parser("down", help="stop everything `up` started and remove it")
    down.add_argument("--state-dir", default="./eni-hosts")
    r = sub.add_parser("relay", help=argparse.SUPPRESS)
    r.add_argument("--netns", required=True)
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--to", required=True)
    a = ap.parse_args()

    if a.cmd == "relay":
        host, port = a.to.rsplit(":", 1)
        relay(a.netns, a.port, (host, int(port)))
        return 0
    if os.geteuid() != 0:
        print("scripts/hosts needs root (network namespaces)", file=sys.stderr)
        return 1
    if a.cmd == "up":
        return cmd_up(a)
    return cmd_down(a)


def cmd_up(a) -> int:
    state = Path(a.state_dir).resolve()
    if (state / "hosts.json").exists():
        print(f"{state}/hosts.json exists: run `scripts/hosts down --state-dir {a.state_dir}` first",
              file=sys.stderr)
        return 1
    eni_bin = str(Path(a.eni_bin).resolve())
    if not os.access(eni_bin, os.X_OK):
        print(f"no eni binary at {eni_bin}: cargo build --release, or --eni-bin", file=sys.stderr)
        return 1
    state.mkdir(parents=True, exist_ok=True)
    data = state / "server"
    host, port = a.listen.rsplit(":", 1)
    # The root key may be chosen (as for `eni serve`); nothing else of the caller's ENI_*.
    env = {key: v for key, v in os.environ.items()
           if not key.startswith("ENI_") or key.startswith("ENI_ROOT_ACCESS_KEY_")}
    server = subprocess.Popen(
        [eni_bin, "serve", "--dataplane", "agents", "--listen", a.listen, "--data-dir", str(data)],
        stdout=open(state / "server.out", "ab"), stderr=open(state / "server.log", "ab"),
        stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    token = data / "agent-token"
    deadline = time.monotonic() + 20
    while not token.exists() and server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not token.exists():
        server.kill()
        print(f"the server did not start; see {state}/server.log", file=sys.stderr)
        return 1
    hosts = Hosts(a.prefix, state, eni_bin, (host, int(port)), token, count=a.count,
                  zones=a.zones.split(","), capacity_vcpus=a.capacity_vcpus, relay_port=int(port),
                  mtu=a.mtu, underlay_mtu=a.underlay_mtu)
    try:
        hosts.up()
    except Exception as e:  # leave nothing half made
        hosts.down()
        server.terminate()
        print(f"scripts/hosts up failed: {e}", file=sys.stderr)
        return 1
    meta = json.loads((state / "hosts.json").read_text())
    meta["server"] = server.pid
    meta["zones"] = hosts.zones
    (state / "hosts.json").write_text(json.dumps(meta))
    print(f"API server: http://{a.listen}/ (log {state}/server.log)")
    creds = data / "root-credentials.json"
    print(f"root credentials: {creds if creds.exists() else 'ENI_ROOT_ACCESS_KEY_ID / _SECRET as given'}")
    for k in range(1, a.count + 1):
        print(f"host h{k}: namespace {hosts.ns(k)}, zone {hosts.zone(k)}, "
              f"underlay {hosts.address(k)}, log {hosts.agent_log(k)}")
    print("instances are namespaces named by InstanceId: ip netns exec i-... ping ...")
    print(f"stop and remove it all: scripts/hosts down --state-dir {a.state_dir}")
    return 0


def cmd_down(a) -> int:
    state = Path(a.state_dir).resolve()
    meta_path = state / "hosts.json"
    if not meta_path.exists():
        print(f"nothing is up under {state}", file=sys.stderr)
        return 1
    meta = json.loads(meta_path.read_text())
    hosts = Hosts(meta["prefix"], state, meta["eni_bin"], ("127.0.0.1", 0), Path("/dev/null"),
                  count=meta["count"])
    pids = {f"agent{k}": pid for k, pid in meta["agents"].items()}
    if meta.get("relay"):
        pids["relay"] = meta["relay"]
    if meta.get("server"):
        pids["server"] = meta["server"]
    problems = hosts.down(pids)
    for p in problems:
        print(p, file=sys.stderr)
    meta_path.unlink()
    print("down" if not problems else "down, with problems")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
