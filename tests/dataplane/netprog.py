"""Traffic programs the data-plane tests run inside namespaces (`ip netns exec NS python3 netprog.py ...`).

Only the standard library: they run in whatever namespace the test picks.

  udp-echo PORT TAG   UDP echo server on 0.0.0.0:PORT. Each reply leaves from the address the
                      request was sent to (IP_PKTINFO), so policy routing picks the NIC that
                      address is on. Reply: b"TAG|<local ip>|" + request.
  tcp-echo PORT TAG   The same over TCP (one line per connection; the kernel answers from the
                      address the connection was made to).
  udp-peer-echo PORT TAG
                      As udp-echo, but the reply names the sender: b"TAG|<peer ip>|" + request
                      (what an address on the internet sees as the source).
  udp6-echo, tcp6-echo PORT TAG
                      The same on [::]:PORT, IPv6 only (IPV6_PKTINFO for UDP).
  ask JSON            One client run for several requests. JSON: {"proto": "udp"|"tcp",
                      "targets": [[ip, port, payload], ...], "timeout": s, "tries": n,
                      "src": ip (optional: the source address, bound before sending)}.
                      Prints a JSON list with one entry per target: the reply string or null.
  ping IP COUNT TIMEOUT
                      ICMP (ICMPv6 for an IPv6 address) echo requests from a raw socket, one
                      at a time, each waited for up to TIMEOUT s; the kernel at IP answers.
                      Prints the number of replies.
  probe IP PORT MS    Sends a numbered UDP probe to IP:PORT every MS milliseconds until a line
                      (or EOF) arrives on stdin, waits for stragglers, then prints JSON:
                      {"sent": n, "replies": [[seq, tag, src_ip], ...], "elapsed": s,
                      "start": t} (probe n leaves at start + n * MS ms or just after).
  send SRC IP PORT MS Sends a UDP datagram to IP:PORT every MS milliseconds until a line (or
                      EOF) arrives on stdin, carrying its CLOCK_MONOTONIC send time; from
                      address SRC ("-": whatever routing picks), bound with IP_TRANSPARENT so
                      it goes on being used once the namespace no longer holds it (as a
                      compromised instance would). Prints JSON {"sent": n, "errors": n}.
  sink PORT           Receives UDP on 0.0.0.0:PORT until a line (or EOF) arrives on stdin, then
                      prints JSON: [[t_recv, src_ip, dst_ip, payload], ...] (times
                      CLOCK_MONOTONIC, the same clock in every namespace).
  http JSON           HTTP/1.1 requests, one connection each, to the metadata service (or
                      JSON "host"). JSON: {"requests": [{"method", "path", "headers": {},
                      "src": ip or null}], "timeout": s}. Prints a JSON list of {"status",
                      "body"} (body as text; status null when the connection failed).
  http-watch PATH HEADERS_JSON NEEDLE TIMEOUT [CHECK]
                      GETs PATH every 2 ms until a 200 answer's body contains NEEDLE (or, with
                      NEEDLE "!x", no longer contains x), then prints JSON {"seen": t, "check":
                      b} (t CLOCK_MONOTONIC; b whether the namespace's kernel then holds CHECK,
                      "mac:MAC" or "ip:ADDR") or {"seen": null} at TIMEOUT. Prints "ready"
                      first.

Servers print "ready" once bound.
"""

import json
import select
import socket
import struct
import sys
import threading
import time

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
IPV6_RECVPKTINFO = getattr(socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)


def family(ip: str) -> int:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def udp_echo(port: int, tag: str, peer: bool = False) -> None:
    """With `peer`, the reply names the sender's address instead of the local one."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    s.bind(("0.0.0.0", port))
    print("ready", flush=True)
    space = socket.CMSG_SPACE(12)
    while True:
        data, anc, _flags, sender = s.recvmsg(65535, space)
        dst = None
        for level, kind, cdata in anc:
            if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
                _ifindex, _spec_dst, hdr_dst = struct.unpack("I4s4s", cdata[:12])
                dst = hdr_dst
        seen = sender[0] if peer else (socket.inet_ntoa(dst) if dst else "?")
        reply = f"{tag}|{seen}|".encode() + data
        try:
            if dst is not None:
                # Source = the address the request was sent to; ifindex 0: let routing choose
                # (the `from <ip>` rule sends it out of the NIC that owns the address).
                s.sendmsg([reply], [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("I4s4s", 0, dst, b"\0" * 4))], 0, sender)
            else:
                s.sendto(reply, sender)
        except OSError:
            pass  # e.g. the NIC just went away: the client counts it as lost


def udp6_echo(port: int, tag: str) -> None:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
    s.bind(("::", port))
    print("ready", flush=True)
    space = socket.CMSG_SPACE(20)
    while True:
        data, anc, _flags, peer = s.recvmsg(65535, space)
        dst = None
        for level, kind, cdata in anc:
            if level == socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO:
                dst = cdata[:16]
        reply = f"{tag}|{socket.inet_ntop(socket.AF_INET6, dst) if dst else '?'}|".encode() + data
        try:
            if dst is not None:
                # in6_pktinfo: the source address, ifindex 0 (routing chooses the NIC).
                s.sendmsg([reply], [(socket.IPPROTO_IPV6, IPV6_PKTINFO, dst + struct.pack("I", 0))], 0, peer)
            else:
                s.sendto(reply, peer)
        except OSError:
            pass


def tcp_echo(port: int, tag: str, v6: bool = False) -> None:
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::" if v6 else "0.0.0.0", port))
    s.listen(64)
    print("ready", flush=True)

    def serve(c: socket.socket) -> None:
        try:
            c.settimeout(5)
            buf = b""
            while b"\n" not in buf:
                chunk = c.recv(4096)
                if not chunk:
                    break
                buf += chunk
            local = c.getsockname()[0]
            c.sendall(f"{tag}|{local}|".encode() + buf)
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def ask_udp(ip: str, port: int, payload: str, timeout: float, tries: int, src: str | None = None):
    s = socket.socket(family(ip), socket.SOCK_DGRAM)
    try:
        if src:
            s.bind((src, 0))
        # Connected: only a reply from exactly ip:port counts.
        s.connect((ip, port))
        for _ in range(tries):
            try:
                s.send(payload.encode())
            except OSError:
                time.sleep(timeout)
                continue
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                r, _, _ = select.select([s], [], [], left)
                if not r:
                    break
                try:
                    data = s.recv(65535)
                except OSError:
                    continue  # ICMP error queued on the connected socket
                text = data.decode(errors="replace")
                if text.endswith("|" + payload):
                    return text
        return None
    finally:
        s.close()


def ask_tcp(ip: str, port: int, payload: str, timeout: float, tries: int, src: str | None = None):
    for _ in range(tries):
        try:
            with socket.create_connection((ip, port), timeout=timeout,
                                          source_address=(src, 0) if src else None) as c:
                c.settimeout(timeout)
                c.sendall(payload.encode() + b"\n")
                buf = b""
                while True:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
                return buf.decode(errors="replace").rstrip("\n")
        except OSError:
            time.sleep(0.05)
    return None


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(ip: str, count: int, timeout: float) -> None:
    v6 = ":" in ip
    if v6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        request, reply = 128, 129  # the kernel fills in ICMPv6 checksums
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        request, reply = 8, 0
    ident = threading.get_ident() & 0xFFFF
    got = 0
    for seq in range(count):
        body = struct.pack("!HH", ident, seq) + b"eni-ping"
        head = struct.pack("!BBH", request, 0, 0)
        if not v6:
            head = struct.pack("!BBH", request, 0, checksum(head + body))
        try:
            s.sendto(head + body, (ip, 0))
        except OSError:  # no route (or an ICMP error queued): unanswered
            time.sleep(timeout)
            continue
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            r, _, _ = select.select([s], [], [], left)
            if not r:
                break
            data, peer = s.recvfrom(65535)
            icmp = data if v6 else data[(data[0] & 0x0F) * 4:]  # IPv4 raw reads include the header
            if (peer[0] == ip and len(icmp) >= 8 and icmp[0] == reply
                    and struct.unpack("!HH", icmp[4:8]) == (ident, seq)):
                got += 1
                break
    print(got, flush=True)


def ask(spec: dict) -> None:
    fn = ask_udp if spec.get("proto", "udp") == "udp" else ask_tcp
    timeout = float(spec.get("timeout", 0.3))
    tries = int(spec.get("tries", 2))
    src = spec.get("src")
    out = [fn(ip, int(port), payload, timeout, tries, src) for ip, port, payload in spec["targets"]]
    print(json.dumps(out), flush=True)


def probe(ip: str, port: int, interval_ms: float) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    stop = threading.Event()
    done = threading.Event()
    replies = []

    def receive() -> None:
        s.settimeout(0.05)
        while True:
            try:
                data, src = s.recvfrom(65535)
            except socket.timeout:
                if done.is_set():
                    return
                continue
            except OSError:
                continue
            parts = data.decode(errors="replace").split("|")
            if len(parts) == 3 and parts[2].startswith("probe-"):
                replies.append([int(parts[2][6:]), parts[0], src[0]])

    def wait_stdin() -> None:
        sys.stdin.readline()
        stop.set()

    rx = threading.Thread(target=receive, daemon=True)
    rx.start()
    threading.Thread(target=wait_stdin, daemon=True).start()
    print("ready", flush=True)
    interval = interval_ms / 1000.0
    start = time.monotonic()
    seq = 0
    while not stop.is_set():
        try:
            s.sendto(f"probe-{seq}".encode(), (ip, port))
        except OSError:
            pass  # counted as lost
        seq += 1
        delay = start + seq * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    elapsed = time.monotonic() - start
    time.sleep(0.3)  # stragglers
    done.set()
    rx.join()
    print(json.dumps({"sent": seq, "replies": replies, "elapsed": elapsed, "start": start}), flush=True)


IP_TRANSPARENT = getattr(socket, "IP_TRANSPARENT", 19)


def send(src: str, ip: str, port: int, interval_ms: float) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if src != "-":
        # Bind to SRC whether or not it is (still) an address of this namespace, and keep
        # sending from it after it is gone: routing then takes the main table's default.
        s.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
        s.bind((src, 0))
    stop = threading.Event()

    def wait_stdin() -> None:
        sys.stdin.readline()
        stop.set()

    threading.Thread(target=wait_stdin, daemon=True).start()
    print("ready", flush=True)
    interval = interval_ms / 1000.0
    start = time.monotonic()
    n = errors = 0
    while not stop.is_set():
        try:
            s.sendto(f"sent={time.monotonic():.6f}".encode(), (ip, port))
        except OSError:
            errors += 1
        n += 1
        delay = start + n * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(json.dumps({"sent": n, "errors": errors}), flush=True)


def sink(port: int) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(("0.0.0.0", port))
    s.setblocking(False)
    got = []
    space = socket.CMSG_SPACE(12)
    print("ready", flush=True)
    while True:
        r, _, _ = select.select([s, sys.stdin], [], [])
        if s in r:
            while True:
                try:
                    data, anc, _flags, peer = s.recvmsg(2048, space)
                except (BlockingIOError, InterruptedError):
                    break
                t = time.monotonic()
                dst = "?"
                for level, kind, cdata in anc:
                    if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
                        dst = socket.inet_ntoa(cdata[8:12])
                got.append([t, peer[0], dst, data.decode(errors="replace")])
        if sys.stdin in r:
            sys.stdin.readline()
            break
    print(json.dumps(got), flush=True)


METADATA = "100.100.100.200"


def http_one(host: str, req: dict, timeout: float) -> dict:
    import http.client

    src = req.get("src")
    conn = http.client.HTTPConnection(host, 80, timeout=timeout,
                                      source_address=(src, 0) if src else None)
    try:
        conn.request(req.get("method", "GET"), req["path"], headers=req.get("headers") or {})
        r = conn.getresponse()
        return {"status": r.status, "body": r.read().decode("utf-8", "replace")}
    except OSError as e:
        return {"status": None, "body": str(e)}
    finally:
        conn.close()


def http(spec: dict) -> None:
    host = spec.get("host", METADATA)
    timeout = spec.get("timeout", 2.0)
    print(json.dumps([http_one(host, r, timeout) for r in spec["requests"]]), flush=True)


def holds(check: str) -> bool:
    """Whether this namespace's kernel holds `check`: "mac:MAC" (a link with that address) or
    "ip:ADDR" (an address on a link)."""
    import os
    import subprocess

    kind, _, value = check.partition(":")
    if kind == "mac":
        for link in os.listdir("/sys/class/net"):
            try:
                if open(f"/sys/class/net/{link}/address").read().strip() == value.lower():
                    return True
            except OSError:
                pass
        return False
    if kind == "ip":
        out = subprocess.run(["ip", "-j", "addr", "show"], capture_output=True, text=True).stdout
        return any(a.get("local") == value for link in json.loads(out) for a in link.get("addr_info", []))
    raise SystemExit(f"unknown check {check}")


def http_watch(path: str, headers: dict, needle: str, timeout: float, check: str | None) -> None:
    print("ready", flush=True)
    want = not needle.startswith("!")
    needle = needle[1:] if not want else needle
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = http_one(METADATA, {"path": path, "headers": headers}, 1.0)
        # Only a real answer counts, either way: a refusal says nothing of the NIC.
        if r["status"] == 200 and (needle in r["body"]) == want:
            seen = time.monotonic()
            # What the kernel holds at that moment (the metadata must never be ahead of it).
            print(json.dumps({"seen": seen, "check": holds(check) if check else None}), flush=True)
            return
        time.sleep(0.002)
    print(json.dumps({"seen": None, "check": None}), flush=True)


def main(argv) -> None:
    cmd = argv[1]
    if cmd == "udp-echo":
        udp_echo(int(argv[2]), argv[3])
    elif cmd == "udp-peer-echo":
        udp_echo(int(argv[2]), argv[3], peer=True)
    elif cmd == "tcp-echo":
        tcp_echo(int(argv[2]), argv[3])
    elif cmd == "udp6-echo":
        udp6_echo(int(argv[2]), argv[3])
    elif cmd == "tcp6-echo":
        tcp_echo(int(argv[2]), argv[3], v6=True)
    elif cmd == "ask":
        ask(json.loads(argv[2]))
    elif cmd == "ping":
        ping(argv[2], int(argv[3]), float(argv[4]))
    elif cmd == "probe":
        probe(argv[2], int(argv[3]), float(argv[4]))
    elif cmd == "send":
        send(argv[2], argv[3], int(argv[4]), float(argv[5]))
    elif cmd == "sink":
        sink(int(argv[2]))
    elif cmd == "http":
        http(json.loads(argv[2]))
    elif cmd == "http-watch":
        http_watch(argv[2], json.loads(argv[3]), argv[4], float(argv[5]), argv[6] if len(argv) > 6 else None)
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
