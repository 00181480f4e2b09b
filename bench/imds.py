"""Metadata-service client for the data-plane benchmark, run inside an instance namespace:
`ip netns exec NS python3 imds.py`. Prints `ready`, then answers commands on stdin, one a line:

  get N PATH            N GETs of PATH (a new connection each, as most clients make), one after
                        another; prints `got [ms, ...]` (each request's time, connect included).
  watch ID PATH NEEDLE  GETs PATH back to back until the body contains NEEDLE (`!x`: until it no
                        longer contains x), for at most 10 s; prints `seen ID T` (CLOCK_MONOTONIC,
                        the same clock in every namespace) or `seen ID none`.
"""

import http.client
import json
import sys
import time

HOST = "100.100.100.200"


def get(path: str) -> tuple[int, str]:
    c = http.client.HTTPConnection(HOST, 80, timeout=2)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    except OSError:
        return 0, ""
    finally:
        c.close()


def main() -> None:
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "get":
            n, path = int(cmd[1]), cmd[2]
            out = []
            for _ in range(n):
                t0 = time.monotonic()
                status, _ = get(path)
                if status != 200:
                    raise SystemExit(f"GET {path}: {status}")
                out.append((time.monotonic() - t0) * 1000)
            print("got " + json.dumps(out), flush=True)
        elif cmd[0] == "watch":
            ident, path, needle = cmd[1], cmd[2], cmd[3]
            want = not needle.startswith("!")
            needle = needle if want else needle[1:]
            deadline = time.monotonic() + 10
            seen = None
            while time.monotonic() < deadline:
                status, body = get(path)
                if (status == 200 and needle in body) == want:
                    seen = time.monotonic()
                    break
            print(f"seen {ident} {seen if seen is not None else 'none'}", flush=True)


if __name__ == "__main__":
    main()
