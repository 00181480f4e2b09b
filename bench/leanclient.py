"""The lean client of the scale benchmark (bench/scale.py): requests signed by hand and sent over
one kept-alive HTTP/1.1 connection (`http.client`), so that a call costs the client a fraction of
a millisecond and no connection setup. Standard library only.

Two dialects speak to the two servers measured:

- `RpcSigner`: Alibaba's RPC style with the HMAC-SHA1 signature (spec §2.1), as eni checks it;
- `Ec2Query`: the EC2 query API for moto_server, with a well-formed SigV4 `Authorization` header
  whose signature is not computed (moto reads the service and region from the credential scope and
  checks no signature), so that the client pays for neither side's crypto more than eni's.

Also the /proc readers the benchmark uses for a server's CPU time and memory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import os
import time
import urllib.parse

_quote = urllib.parse.quote
CLK_TCK = os.sysconf("SC_CLK_TCK")


def pct(s: str) -> str:
    """RFC 3986 percent-encoding with upper-case hex (spec §2)."""
    return _quote(s, safe="-_.~")


class RpcSigner:
    """Builds signed RPC requests (HMAC-SHA1, `SignatureVersion` 1.0) for one access key."""

    def __init__(self, ak: str, secret: str):
        self.ak = ak
        self.key = (secret + "&").encode()
        self._ts_at = 0
        self._ts = ""

    def _timestamp(self) -> str:
        now = int(time.time())
        if now != self._ts_at:
            self._ts_at = now
            self._ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        return self._ts

    def encode(self, action: str, version: str, params: dict) -> tuple[str, bytes, dict]:
        """(path, body, headers) of a POST carrying every parameter in the query string."""
        q = {
            "Action": action,
            "Version": version,
            "Format": "JSON",
            "AccessKeyId": self.ak,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": os.urandom(16).hex(),
            "Timestamp": self._timestamp(),
        }
        for k, v in params.items():
            q[k] = v if isinstance(v, str) else str(v)
        enc = sorted((pct(k), pct(v)) for k, v in q.items())
        canon = "&".join(f"{k}={v}" for k, v in enc)
        sts = "POST&%2F&" + pct(canon)
        sig = base64.b64encode(hmac.new(self.key, sts.encode(), hashlib.sha1).digest()).decode()
        path = "/?" + canon + "&Signature=" + pct(sig)
        return path, b"", {"Content-Length": "0"}


class Ec2Query:
    """Builds EC2 query requests (form body) for moto_server; see the module docstring."""

    VERSION = "2016-11-15"

    def __init__(self, region: str = "us-east-1"):
        date = time.strftime("%Y%m%d", time.gmtime())
        self.headers = {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "X-Amz-Date": date + "T000000Z",
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential=AKIDSCALEBENCH/{date}/{region}/ec2/aws4_request, "
                "SignedHeaders=content-type;host;x-amz-date, Signature=" + "0" * 64
            ),
        }

    def encode(self, action: str, params: dict) -> tuple[str, bytes, dict]:
        body = f"Action={action}&Version={self.VERSION}"
        if params:
            body += "&" + "&".join(f"{pct(k)}={pct(str(v))}" for k, v in params.items())
        return "/", body.encode(), self.headers


class Conn:
    """One kept-alive HTTP/1.1 connection to 127.0.0.1:port that reconnects once if the server
    closed it (idle timeout) before a request."""

    def __init__(self, port: int, timeout: float = 300.0):
        self.port = port
        self.timeout = timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def post(self, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
        for attempt in range(2):
            try:
                self.conn.request("POST", path, body=body, headers=headers)
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads, the exited ones included), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the command: state is field 3; utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_snapshot(pid: int) -> tuple[float, dict[str, int]]:
    """The process's CPU time two ways: utime + stime in seconds (clock ticks, exited threads
    included), and each live thread's run time in ns (/proc/<pid>/task/<tid>/schedstat)."""
    ticks = proc_cpu_seconds(pid)
    ns = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns[tid] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return ticks, ns


def cpu_between(a: tuple[float, dict], b: tuple[float, dict]) -> float:
    """Seconds of CPU the process used from snapshot a to b. The threads' ns counters are exact
    but miss threads that exited in between (a server with a thread per request); the clock
    ticks count those but only to 1/CLK_TCK s. So: the ns figure (threads that appeared
    counting whole), unless a thread of a is gone or the ticks show more than two ticks more."""
    ticks = b[0] - a[0]
    if not a[1] or not set(a[1]) <= set(b[1]):
        return ticks
    ns = sum(v - a[1].get(t, 0) for t, v in b[1].items()) / 1e9
    return ticks if ticks - ns > 2 / CLK_TCK else ns


def proc_rss_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB."""
    rss = hwm = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return rss, hwm
