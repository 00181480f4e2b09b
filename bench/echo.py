"""UDP echo server for the data-plane benchmark: `echo.py NAME PORT`.

Binds 0.0.0.0 (so it answers as soon as an address appears in its namespace) and replies
`NAME ` + payload from the very address the probe was sent to (IP_PKTINFO), as any UDP server
on a multi-address host must. Run it inside a namespace with `ip netns exec NS python3 echo.py`.
Prints `ready` once bound.
"""

import socket
import struct
import sys

IP_PKTINFO = 8


def main() -> None:
    name = sys.argv[1].encode()
    port = int(sys.argv[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    s.bind(("0.0.0.0", port))
    print("ready", flush=True)
    prefix = name + b" "
    while True:
        data, anc, _, addr = s.recvmsg(2048, 256)
        spec_dst = None
        for lvl, typ, val in anc:
            if lvl == socket.IPPROTO_IP and typ == IP_PKTINFO:
                spec_dst = val[8:12]  # in_pktinfo {ifindex, spec_dst, addr}: answer from addr, the header dst
        try:
            if spec_dst is None:
                s.sendto(prefix + data, addr)
            else:
                pkt = struct.pack("=i4s4s", 0, spec_dst, b"\0" * 4)
                s.sendmsg([prefix + data], [(socket.IPPROTO_IP, IP_PKTINFO, pkt)], 0, addr)
        except OSError:
            pass  # no route back (yet): the prober just sees no answer


if __name__ == "__main__":
    main()
