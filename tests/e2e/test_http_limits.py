"""The server under hostile or broken clients (issue 8, items 1 and 4): connections that send
nothing, slowly, or half a body are closed on their deadlines; a flood of idle connections at
the open-file limit does not keep a signed request out; every error the HTTP layer sends,
including those of requests hyper cannot parse, carries the Alibaba body in the requested
format."""

from __future__ import annotations

import resource
import socket
import threading
import time
import xml.etree.ElementTree as ET

import pytest
import requests

import e2e_helpers as h

R = h.REGION


def connect(srv) -> socket.socket:
    return socket.create_connection((srv.host, srv.port), timeout=5)


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closes `sock` (reads EOF or a reset), or None if it is still
    open after `seconds`. Whatever the server sends before closing is ignored."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < seconds:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - start
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
    return None


def read_response(sock: socket.socket, timeout: float = 5.0) -> tuple[int, dict, bytes]:
    """Reads one HTTP response off `sock`: (status, lower-case headers, body)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response head: {data!r}"
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:length]


def check_json_error(status: int, headers: dict, body: bytes, want_status: int, want_code: str) -> dict:
    import json

    assert status == want_status, (status, body)
    assert headers["content-type"].startswith("application/json"), headers
    doc = json.loads(body)
    assert doc["Code"] == want_code, doc
    for k in ("RequestId", "HostId", "Message", "Recommend"):
        assert isinstance(doc.get(k), str) and doc[k], (k, doc)
    return doc


def raise_own_file_limit(n: int):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= n:
        return
    if hard != resource.RLIM_INFINITY and hard < n:
        try:  # root may raise its hard limit
            resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
            return
        except (ValueError, OSError):
            pytest.skip(f"needs {n} open files; the hard limit is {hard} and cannot be raised")
    resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))


# ---------------------------------------------------------------- item 1: connections


def test_idle_connections_at_the_file_limit_do_not_keep_a_signed_request_out(tmp_path):
    """1,100 connections that send nothing, at RLIMIT_NOFILE 1024: a valid signed request is
    still answered within 1 s (the server closes the longest-waiting idle ones to admit it)."""
    raise_own_file_limit(4096)
    srv = h.EniServer(tmp_path / "data", nofile=1024).start()
    idle = []
    try:
        for _ in range(1100):
            idle.append(socket.create_connection((srv.host, srv.port), timeout=5))
        call = h.acs3_call(srv.endpoint, "DescribeRegions", h.ECS_VERSION, h.ROOT_AK, h.ROOT_SECRET)
        started = time.monotonic()
        r = requests.post(f"{call.url}", headers=call.headers, timeout=1.0)
        assert r.status_code == 200, r.text
        assert time.monotonic() - started < 1.0
        assert r.json()["Regions"]["Region"]
        # The new SDK, on its own connection, is answered too.
        ecs = h.ecs_client(srv.endpoint, h.ROOT_AK, h.ROOT_SECRET)
        from alibabacloud_ecs20140526 import models as ecs_m

        assert ecs.describe_regions(ecs_m.DescribeRegionsRequest()).status_code == 200
    finally:
        for s in idle:
            s.close()
        srv.stop()


def test_connections_over_the_cap_close_the_longest_waiting_idle_ones(extra_server):
    srv, ecs, _, _ = extra_server("--max-connections", "20")
    idle = [connect(srv) for _ in range(30)]
    # Every new connection past 20 closed one of the oldest.
    time.sleep(0.3)
    assert all(closed_within(s, 2) is not None for s in idle[:10])
    assert all(closed_within(s, 0.3) is None for s in idle[10:])
    from alibabacloud_ecs20140526 import models as ecs_m

    assert ecs.describe_regions(ecs_m.DescribeRegionsRequest()).status_code == 200
    for s in idle:
        s.close()


def test_a_connection_that_sends_nothing_is_closed_at_the_header_timeout(extra_server):
    srv, *_ = extra_server("--header-read-timeout", "1")
    s = connect(srv)
    took = closed_within(s, 5)
    assert took is not None and 0.8 <= took < 3, took


def test_slowloris_is_cut_at_the_header_timeout(extra_server):
    """One header line every 0.3 s never completes a head: closed after the header timeout."""
    srv, *_ = extra_server("--header-read-timeout", "1")
    socks = [connect(srv) for _ in range(20)]
    start = time.monotonic()
    for s in socks:
        s.sendall(b"GET /?Action=DescribeRegions HTTP/1.1\r\nHost: x\r\n")
    alive = list(socks)
    while alive and time.monotonic() - start < 5:
        for s in list(alive):
            try:
                s.sendall(b"X-Slow: 1\r\n")
            except OSError:
                alive.remove(s)
        time.sleep(0.3)
    assert not alive, f"{len(alive)} slow connections still open after 5 s"
    assert time.monotonic() - start < 4


def test_half_a_body_gets_408_and_the_connection_closes(extra_server):
    srv, *_ = extra_server("--body-read-timeout", "1")
    s = connect(srv)
    s.sendall(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\na")
    start = time.monotonic()
    status, headers, body = read_response(s)
    assert 0.8 <= time.monotonic() - start < 3
    check_json_error(status, headers, body, 408, "RequestTimeout")
    assert headers.get("connection") == "close"
    assert closed_within(s, 2) is not None


def test_a_kept_alive_connection_is_closed_after_the_idle_timeout(extra_server):
    srv, *_ = extra_server("--idle-timeout", "1", "--header-read-timeout", "10")
    s = connect(srv)
    for _ in range(2):  # the connection is reused, then left idle
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n")
        status, _, body = read_response(s)
        assert (status, body) == (200, b"ok")
    took = closed_within(s, 5)
    assert took is not None and 0.8 <= took < 3, took


def test_a_request_in_progress_is_never_timed_out(extra_server):
    """An agent's long poll outlasts the header and idle timeouts; it is served, not cut."""
    srv, *_ = extra_server("--header-read-timeout", "1", "--idle-timeout", "1")
    token = (srv.data_dir / "agent-token").read_text().strip()
    url = f"http://{srv.endpoint}/internal/v1/hosts/local/desired"
    auth = {"Authorization": f"Bearer {token}"}
    gen = requests.get(url, headers=auth, timeout=5).json()["generation"]
    started = time.monotonic()
    r = requests.get(url, params={"since": gen, "wait_ms": 2500}, headers=auth, timeout=10)
    assert r.status_code == 200, r.text
    assert time.monotonic() - started >= 2.4


def test_internal_api_errors_carry_the_alibaba_body(server):
    r = requests.get(
        f"http://{server.endpoint}/internal/v1/hosts/local/desired?since=0",
        headers={"Authorization": "Bearer wrong"},
        timeout=5,
    )
    check_json_error(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content, 401, "Unauthorized")


def test_default_timeouts_close_idle_slow_and_half_sent_connections(server):
    """With the defaults (header 10 s, body 30 s), nothing a client leaves hanging outlives
    a minute: an idle connection, a slow head, half a body."""
    idle = connect(server)
    slow = connect(server)
    slow.sendall(b"GET / HTTP/1.1\r\n")
    half = connect(server)
    half.sendall(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nx")
    stop = threading.Event()

    def drip():
        while not stop.is_set():
            try:
                slow.sendall(b"X-Slow: 1\r\n")
            except OSError:
                return
            stop.wait(2)

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    try:
        results = {}

        def watch(name, sock):
            results[name] = closed_within(sock, 45)

        watchers = [threading.Thread(target=watch, args=a) for a in (("idle", idle), ("slow", slow), ("half", half))]
        for w in watchers:
            w.start()
        for w in watchers:
            w.join()
    finally:
        stop.set()
        for s in (idle, slow, half):
            s.close()
    assert results["idle"] is not None and results["idle"] < 15, results
    assert results["slow"] is not None and results["slow"] < 15, results
    assert results["half"] is not None and results["half"] < 40, results


# ---------------------------------------------------------------- item 4: HTTP-layer errors


def raw(srv, request: bytes) -> tuple[int, dict, bytes]:
    s = connect(srv)
    try:
        s.sendall(request)
        return read_response(s)
    finally:
        s.close()


def test_unknown_path_is_invalid_api_with_the_alibaba_body(server):
    status, headers, body = raw(server, b"GET /no/such/path HTTP/1.1\r\nHost: ecs.test\r\n\r\n")
    doc = check_json_error(status, headers, body, 404, "InvalidApi.NotFound")
    assert doc["HostId"] == "ecs.test"
    status, headers, body = raw(server, b"DELETE /healthz HTTP/1.1\r\nHost: ecs.test\r\n\r\n")
    check_json_error(status, headers, body, 404, "InvalidApi.NotFound")


def test_unknown_path_answers_xml_when_asked(server):
    status, headers, body = raw(server, b"GET /nope?Format=XML HTTP/1.1\r\nHost: h\r\n\r\n")
    assert status == 404
    assert headers["content-type"] == "text/xml;charset=utf-8"
    root = ET.fromstring(body)
    assert root.tag == "Error"
    assert root.findtext("Code") == "InvalidApi.NotFound"
    for k in ("RequestId", "HostId", "Message", "Recommend"):
        assert root.findtext(k), k


def test_body_over_the_limit_is_413_with_the_alibaba_body(extra_server):
    srv, *_ = extra_server("--max-body-bytes", "1000")
    # Announced too large: refused before reading.
    status, headers, body = raw(
        srv,
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\n" + b"a" * 5000,
    )
    check_json_error(status, headers, body, 413, "RequestEntityTooLarge")
    # Chunked, larger than announced nowhere: refused while reading.
    chunk = b"a" * 3000
    status, headers, body = raw(
        srv,
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        + hex(len(chunk))[2:].encode() + b"\r\n" + chunk + b"\r\n0\r\n\r\n",
    )
    check_json_error(status, headers, body, 413, "RequestEntityTooLarge")


def test_query_over_64k_is_414_with_the_alibaba_body(server):
    status, headers, body = raw(server, b"GET /?a=" + b"x" * 70_000 + b" HTTP/1.1\r\nHost: h\r\n\r\n")
    check_json_error(status, headers, body, 414, "RequestURITooLong")


def test_query_over_64k_answers_xml_when_asked(server):
    status, headers, body = raw(server, b"GET /?Format=XML&a=" + b"x" * 70_000 + b" HTTP/1.1\r\nHost: h\r\n\r\n")
    assert status == 414 and headers["content-type"] == "text/xml;charset=utf-8"
    assert ET.fromstring(body).findtext("Code") == "RequestURITooLong"


def test_too_many_headers_is_431_with_the_alibaba_body(server):
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(101))
    status, headers, body = raw(server, b"GET / HTTP/1.1\r\nHost: h\r\n" + many + b"\r\n")
    check_json_error(status, headers, body, 431, "RequestHeaderFieldsTooLarge")


def test_a_megabyte_uri_is_answered_with_the_alibaba_body(server):
    status, headers, body = raw(server, b"GET /?a=" + b"x" * 1_000_000 + b" HTTP/1.1\r\nHost: h\r\n\r\n")
    assert status in (414, 431)
    check_json_error(status, headers, body, status, {414: "RequestURITooLong", 431: "RequestHeaderFieldsTooLarge"}[status])


def test_a_request_hyper_cannot_parse_is_400_with_the_alibaba_body(server):
    status, headers, body = raw(server, b"GET / HTTP/1.1\r\nHost: h\r\nBad Header Name: x\r\n\r\n")
    check_json_error(status, headers, body, 400, "MalformedRequest")


def test_api_errors_and_results_come_as_xml_when_asked(server):
    """Format=XML (the legacy protocol's other format): an error under <Error>, a result under
    <ActionResponse> with list items repeated under their wrapper."""
    bad = h.rpc_call(server.url, "DescribeVpcs", h.VPC_VERSION, h.ROOT_AK, h.ROOT_SECRET, {"RegionId": "nowhere", "Format": "XML"}).send()
    assert bad.status_code == 404 and bad.headers["content-type"] == "text/xml;charset=utf-8"
    err = ET.fromstring(bad.content)
    assert err.tag == "Error" and err.findtext("Code") == "InvalidRegionId.NotFound"
    ok = h.rpc_call(server.url, "DescribeRegions", h.ECS_VERSION, h.ROOT_AK, h.ROOT_SECRET, {"Format": "XML"}).send()
    assert ok.status_code == 200, ok.text
    doc = ET.fromstring(ok.content)
    assert doc.tag == "DescribeRegionsResponse"
    assert doc.findtext("RequestId")
    assert {r.findtext("RegionId") for r in doc.findall("./Regions/Region")} == {"cn-hangzhou", "cn-beijing"}


# ---------------------------------------------------------------- review: what else holds a slot


def test_connections_that_announce_a_body_and_send_none_do_not_keep_a_request_out(extra_server):
    """A head with Content-Length and no body is a request being read, not one being served:
    at the cap it is evicted like an idle connection, so a real request still gets in."""
    srv, ecs, _, _ = extra_server("--max-connections", "20")
    stuck = []
    for _ in range(30):
        s = connect(srv)
        s.sendall(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n")
        stuck.append(s)
    time.sleep(0.2)
    from alibabacloud_ecs20140526 import models as ecs_m

    assert ecs.describe_regions(ecs_m.DescribeRegionsRequest()).status_code == 200
    for s in stuck:
        s.close()


def test_a_client_that_half_closes_after_its_request_gets_the_answer(server):
    s = connect(server)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        status, _, body = read_response(s)
        assert (status, body) == (200, b"ok")
    finally:
        s.close()


def test_internal_api_bad_input_carries_the_alibaba_body(server):
    token = (server.data_dir / "agent-token").read_text().strip()
    auth = {"Authorization": f"Bearer {token}"}
    base = f"http://{server.endpoint}/internal/v1/hosts"
    for url in (f"{base}/h1/desired?wait_ms=abc", f"{base}/h1/desired?since=-1", f"{base}/%FF/desired"):
        r = requests.get(url, headers=auth, timeout=5)
        check_json_error(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content, 400, "InvalidParameter")


def test_xml_answers_stay_well_formed_with_control_characters(server):
    desc = "a\x01b\x0bc"
    made = h.rpc_call(server.url, "CreateVpc", h.VPC_VERSION, h.ROOT_AK, h.ROOT_SECRET,
                      {"RegionId": R, "CidrBlock": "10.9.0.0/16", "Description": desc}).send()
    assert made.status_code == 200, made.text
    vpc_id = made.json()["VpcId"]
    try:
        got = h.rpc_call(server.url, "DescribeVpcs", h.VPC_VERSION, h.ROOT_AK, h.ROOT_SECRET,
                         {"RegionId": R, "VpcId": vpc_id, "Format": "XML"}).send()
        assert got.status_code == 200
        doc = ET.fromstring(got.content)  # raises on a character XML forbids
        assert doc.findtext("./Vpcs/Vpc/Description") == "a\ufffdb\ufffdc"
        bad = requests.get(f"{server.url}?Format=XML&Timestamp=%01&Signature=x", timeout=5)
        assert bad.status_code == 400
        ET.fromstring(bad.content)
    finally:
        h.rpc_call(server.url, "DeleteVpc", h.VPC_VERSION, h.ROOT_AK, h.ROOT_SECRET, {"RegionId": R, "VpcId": vpc_id}).send()


def test_a_long_poll_in_progress_is_answered_when_the_server_stops(extra_server):
    srv, *_ = extra_server()
    token = (srv.data_dir / "agent-token").read_text().strip()
    url = f"http://{srv.endpoint}/internal/v1/hosts/local/desired"
    auth = {"Authorization": f"Bearer {token}"}
    gen = requests.get(url, headers=auth, timeout=5).json()["generation"]
    got = {}

    def poll():
        try:
            r = requests.get(url, params={"since": gen, "wait_ms": 30000}, headers=auth, timeout=40)
            got["status"] = r.status_code
        except requests.RequestException as e:
            got["error"] = repr(e)

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.5)
    started = time.monotonic()
    assert srv.stop() == 0
    t.join(10)
    assert got.get("status") == 200, got
    assert time.monotonic() - started < 5
