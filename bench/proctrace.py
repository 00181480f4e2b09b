"""Process events of one process tree from the kernel's proc connector (netlink), with no cost
to the traced process: which programs a server starts, when (CLOCK_MONOTONIC, the clock of
time.monotonic()) and for how long, and its threads' lifetimes and names (a thread that names
itself reports its name). Needs root and CONFIG_PROC_EVENTS."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time

NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
PROC_CN_MCAST_LISTEN, PROC_CN_MCAST_IGNORE = 1, 2
FORK, EXEC, COMM, EXIT = 0x1, 0x2, 0x200, 0x80000000
NLMSG_DONE = 3


def netns_names() -> dict[str, str]:
    """'net:[inode]' -> name of every namespace under /run/netns."""
    out = {}
    try:
        for n in os.listdir("/run/netns"):
            try:
                out[f"net:[{os.stat(f'/run/netns/{n}').st_ino}]"] = n
            except OSError:
                pass
    except OSError:
        pass
    return out


class ProcTracer:
    """Records (start, end, argv) of every process forked by `root_tgid`'s threads, and the
    start and end of its new threads."""

    def __init__(self, root_tgid: int):
        self.root = root_tgid
        self.procs: dict[int, list] = {}  # pid -> [t_fork, t_exec, t_exit, argv, "net:[inode]"]
        self.threads: dict[int, list] = {}  # tid -> [t_start, t_end, name]
        self._early_names: dict[int, str] = {}
        self._stop = False
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
        self.sock.bind((0, CN_IDX_PROC))
        self.sock.settimeout(0.2)
        self._subscribe(PROC_CN_MCAST_LISTEN)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _subscribe(self, op: int) -> None:
        cn = struct.pack("=IIIIHH", CN_IDX_PROC, 1, 0, 0, 4, 0) + struct.pack("=I", op)
        nl = struct.pack("=IHHII", 16 + len(cn), NLMSG_DONE, 0, 0, 0)
        self.sock.sendto(nl + cn, (0, 0))

    def _run(self) -> None:
        while not self._stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return  # e.g. ENOBUFS under a burst: the trace has a hole, keep going
            off = 0
            while off + 16 <= len(data):
                (length,) = struct.unpack_from("=I", data, off)
                if length < 52:
                    break
                what, _cpu, ts = struct.unpack_from("=IIQ", data, off + 36)
                t = ts / 1e9
                if what == FORK:
                    _ppid, ptgid, cpid, ctgid = struct.unpack_from("=IIII", data, off + 52)
                    if ctgid == self.root and cpid != ctgid:
                        self.threads[cpid] = [t, None, self._early_names.pop(cpid, "")]
                    elif ptgid == self.root and cpid == ctgid:
                        self.procs[cpid] = [t, None, None, "", ""]
                elif what == EXEC:
                    pid, _tgid = struct.unpack_from("=II", data, off + 52)
                    p = self.procs.get(pid)
                    if p is not None:
                        p[1] = t
                        try:
                            with open(f"/proc/{pid}/cmdline", "rb") as f:
                                p[3] = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                            p[4] = os.readlink(f"/proc/{pid}/ns/net")
                        except OSError:
                            p[3] = p[3] or "(gone before its command line was read)"
                elif what == COMM:
                    pid, tgid = struct.unpack_from("=II", data, off + 52)
                    name = data[off + 60:off + 76].split(b"\0", 1)[0].decode(errors="replace")
                    th = self.threads.get(pid)
                    if th is not None:
                        th[2] = name
                    elif tgid == self.root:
                        self._early_names[pid] = name  # (events from two CPUs may cross)
                elif what == EXIT:
                    pid, tgid = struct.unpack_from("=II", data, off + 52)
                    p = self.procs.get(pid)
                    if p is not None and pid == tgid:
                        p[2] = t
                    th = self.threads.get(pid)
                    if th is not None and tgid == self.root and pid != tgid:
                        th[1] = t
                off += (length + 3) & ~3

    def between(self, t0: float, t1: float) -> list[tuple[float, float, str, str]]:
        """(start, end, argv, namespace) of the processes that ran within [t0, t1], by start.
        The namespace is the name under /run/netns the process ran in, if it has one."""
        names = netns_names()
        return sorted((p[0], p[2], p[3], names.get(p[4], p[4])) for p in list(self.procs.values())
                      if p[2] is not None and t0 <= p[0] and p[2] <= t1)

    def threads_between(self, t0: float, t1: float) -> list[float]:
        """Start times of the threads created within [t0, t1]."""
        return sorted(th[0] for th in list(self.threads.values()) if t0 <= th[0] <= t1)

    def thread_spans(self, t0: float, t1: float, name: str | None = None) -> list[tuple[float, float]]:
        """(start, end) of the threads that started and ended within [t0, t1], by start; with
        `name`, only those that gave themselves that name, else only unnamed ones."""
        return sorted((th[0], th[1]) for th in list(self.threads.values())
                      if th[1] is not None and t0 <= th[0] and th[1] <= t1 and th[2] == (name or ""))

    def close(self) -> None:
        self._stop = True
        try:
            self._subscribe(PROC_CN_MCAST_IGNORE)
        except OSError:
            pass
        self.thread.join(timeout=1)
        self.sock.close()


if __name__ == "__main__":  # smoke test: trace ourselves running `true`
    import subprocess

    tr = ProcTracer(os.getpid())
    time.sleep(0.1)
    t0 = time.monotonic()
    subprocess.run(["true"])
    time.sleep(0.1)
    print(tr.between(t0, time.monotonic()))
    tr.close()
