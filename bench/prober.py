"""UDP prober for the data-plane benchmark, driven line by line on stdin; run it inside the
client namespace with `ip netns exec NS python3 prober.py`. Times are time.monotonic()
(CLOCK_MONOTONIC, the same clock in every process and namespace), so the controller can set
them against its own.

Commands:
  first EPOCH IP PORT INTERVAL_US   probe IP:PORT every INTERVAL_US until the first answer, then
                                    print `echo EPOCH T_FIRST_SENT T_SENT T_RECV WHO SEQ` and
                                    go idle (T_SENT: when the answered probe left)
  stream EPOCH IP PORT INTERVAL_US  probe until `stop`, then print one JSON summary line
  stop                              end the current command (`first` prints `none EPOCH`)
  quit

Probes carry (epoch, seq), so a late answer to an earlier command is never counted. The loop
is single-threaded: it sleeps in select() until the next send is due or an answer arrives, so
an answer is timestamped when it arrives, not at the next send.
"""

import json
import os
import select
import socket
import struct
import sys
import time

HDR = struct.Struct("!II")  # epoch, seq


class Run:
    def __init__(self, mode, epoch, ip, port, interval_us):
        self.mode, self.epoch = mode, epoch
        self.dst = (ip, port)
        self.interval = interval_us / 1e6
        self.sent = []  # t_sent by seq
        self.recv = {}  # seq -> (t_recv, who)
        self.send_errors = 0
        self.t_next = time.monotonic()
        self.t_stop = None


def summary(run: Run) -> dict:
    n = len(run.sent)
    lost = [s for s in range(n) if s not in run.recv]
    runs, cur = [], []
    for s in range(n):
        if s not in run.recv:
            cur.append(s)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    longest = max(runs, key=len) if runs else []
    gap_ms = ((run.sent[longest[-1]] - run.sent[longest[0]]) + run.interval) * 1e3 if longest else 0.0
    who = []  # (who, first seq, t_recv) at every change of answerer, in send order
    for s in range(n):
        if s in run.recv and (not who or who[-1][0] != run.recv[s][1]):
            who.append((run.recv[s][1], s, run.recv[s][0]))
    return {
        "epoch": run.epoch,
        "sent": n,
        "received": n - len(lost),
        "lost": len(lost),
        "loss_runs": len(runs),
        "max_gap_ms": round(gap_ms, 3),
        "answered_by": who,
        "t_first": run.sent[0] if n else None,
        "t_last": run.sent[-1] if n else None,
        "send_errors": run.send_errors,
        "lost_sent_at": [run.sent[s] for s in lost[:200]],
        "interval_ms": run.interval * 1e3,
    }


def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    stdin = sys.stdin.fileno()
    out = sys.stdout
    buf = b""
    run = None
    pad = b"p" * 24

    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    say("ready")
    while True:
        now = time.monotonic()
        if run is not None and run.t_stop is None:
            timeout = max(0.0, run.t_next - now)
        elif run is not None:
            timeout = max(0.0, run.t_stop + 0.1 - now)  # draining a stopped stream
        else:
            timeout = None
        r, _, _ = select.select([sock, stdin], [], [], timeout)
        now = time.monotonic()
        if sock in r:
            while True:
                try:
                    data = sock.recv(2048)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    continue  # an ICMP error reported on the socket
                t = time.monotonic()
                who, _, payload = data.partition(b" ")
                if len(payload) < HDR.size or run is None:
                    continue
                epoch, seq = HDR.unpack_from(payload)
                if epoch != run.epoch or seq >= len(run.sent) or seq in run.recv:
                    continue
                run.recv[seq] = (t, who.decode(errors="replace"))
                if run.mode == "first":
                    say(f"echo {run.epoch} {run.sent[0]:.6f} {run.sent[seq]:.6f} {t:.6f} {who.decode()} {seq}")
                    run = None
                    break
        if stdin in r:
            chunk = os.read(stdin, 4096)
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                words = line.decode().split()
                if not words:
                    continue
                cmd = words[0]
                if cmd in ("first", "stream"):
                    run = Run(cmd, int(words[1]), words[2], int(words[3]), float(words[4]))
                    say(f"started {run.epoch}")
                elif cmd == "stop":
                    if run is None:
                        say("idle")
                    elif run.mode == "first":
                        say(f"none {run.epoch}")
                        run = None
                    else:
                        run.t_stop = time.monotonic()
                elif cmd == "quit":
                    return
        now = time.monotonic()
        if run is not None and run.t_stop is not None and now >= run.t_stop + 0.1:
            say("summary " + json.dumps(summary(run)))
            run = None
        elif run is not None and run.t_stop is None and now >= run.t_next:
            seq = len(run.sent)
            run.sent.append(now)
            try:
                sock.sendto(HDR.pack(run.epoch, seq) + pad, run.dst)
            except OSError:
                run.send_errors += 1
            run.t_next += run.interval
            if run.t_next < now - 10 * run.interval:
                run.t_next = now + run.interval  # fell far behind (paused): do not burst


if __name__ == "__main__":
    main()
