"""HTTPS on the same port as HTTP. Terraform sends security-group rule updates and deletes over
HTTPS (the legacy SDK's CommonRequest, GET, scheme fixed to https) to the host and port it uses
for everything else; the server tells TLS from HTTP by the first byte, and generates a local CA
into the data dir on first start unless --tls-cert/--tls-key are given."""

import json
import ssl
import subprocess
from pathlib import Path

import pytest
import requests

import e2e_helpers as h


def ca_of(server) -> str:
    ca = Path(server.data_dir) / "tls-ca.pem"
    assert ca.exists()
    assert any(str(ca) in line for line in server.stdout_lines), server.stdout_lines
    return str(ca)


def test_https_and_http_share_the_port(server):
    ca = ca_of(server)
    call = h.rpc_call(f"https://{server.endpoint}/", "DescribeRegions", h.ECS_VERSION, h.ROOT_AK, h.ROOT_SECRET)
    qs = "&".join(f"{h.pct(k)}={h.pct(v)}" for k, v in call.query.items())
    r = requests.post(f"https://{server.endpoint}/?{qs}", verify=ca, timeout=10)
    assert r.status_code == 200, r.text
    assert any(x["RegionId"] == h.REGION for x in r.json()["Regions"]["Region"])
    # The same port still speaks plain HTTP.
    plain = h.rpc_call(f"http://{server.endpoint}/", "DescribeRegions", h.ECS_VERSION, h.ROOT_AK, h.ROOT_SECRET).send()
    assert plain.status_code == 200
    # The certificate names localhost too, and an untrusted client is refused by its own check.
    r = requests.get(f"https://localhost:{server.port}/healthz", verify=ca, timeout=10)
    assert r.status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://{server.endpoint}/healthz", verify=True, timeout=10)


def test_terraform_security_group_rule_calls_over_https(server, cloud):
    """What alicloud_security_group_rule's Update and Delete send: the legacy SDK's CommonRequest
    over HTTPS, GET, every parameter in the query."""
    ca = ca_of(server)
    vpc_id = cloud.vpc("10.40.0.0/16")
    sg = cloud.group(vpc_id)
    client = h.legacy_client(h.ROOT_AK, h.ROOT_SECRET)
    client.set_verify(ca)

    def common(action: str, **params):
        req = h.legacy_request(server.endpoint, action, version=h.ECS_VERSION, method="GET", **params)
        req.set_protocol_type("https")
        return json.loads(client.do_action_with_exception(req))

    rule = dict(SecurityGroupId=sg, IpProtocol="tcp", PortRange="22/22", SourceCidrIp="10.0.0.0/8",
                Policy="accept", NicType="intranet", Priority="1", RegionId=h.REGION)
    common("AuthorizeSecurityGroup", **rule)
    got = common("DescribeSecurityGroupAttribute", SecurityGroupId=sg, RegionId=h.REGION)
    assert [p["PortRange"] for p in got["Permissions"]["Permission"]] == ["22/22"]
    common("RevokeSecurityGroup", **rule)
    got = common("DescribeSecurityGroupAttribute", SecurityGroupId=sg, RegionId=h.REGION)
    assert got["Permissions"]["Permission"] == []
    # A rule created without nic_type: the provider's ID holds `<nil>`, which its update and
    # delete then send as NicType.
    common("AuthorizeSecurityGroup", **{k: v for k, v in rule.items() if k != "NicType"})
    nil = {**rule, "NicType": "<nil>"}
    common("ModifySecurityGroupRule", **nil, Description="from terraform")
    got = common("DescribeSecurityGroupAttribute", SecurityGroupId=sg, RegionId=h.REGION)
    assert [p["Description"] for p in got["Permissions"]["Permission"]] == ["from terraform"]
    common("RevokeSecurityGroup", **nil)
    got = common("DescribeSecurityGroupAttribute", SecurityGroupId=sg, RegionId=h.REGION)
    assert got["Permissions"]["Permission"] == []


def test_a_given_certificate_is_served(server, tmp_path):
    """--tls-cert/--tls-key: the server presents that certificate and generates nothing (the
    pair given here is the one another server generated, with its CA)."""
    ca = ca_of(server)
    cert, key = Path(server.data_dir) / "tls-cert.pem", Path(server.data_dir) / "tls-key.pem"
    data = tmp_path / "data"
    srv = h.EniServer(data, extra_args=["--tls-cert", str(cert), "--tls-key", str(key)], sqlite=True).start()
    try:
        assert not (data / "tls-ca.pem").exists()
        assert not any("CA" in line for line in srv.stdout_lines), srv.stdout_lines
        pem = ssl.get_server_certificate(("127.0.0.1", srv.port))
        assert pem.strip() == cert.read_text().strip()
        r = requests.get(f"https://{srv.endpoint}/healthz", verify=ca, timeout=10)
        assert r.status_code == 200
    finally:
        srv.stop()


def test_a_bad_certificate_stops_the_server_with_a_reason(tmp_path):
    bad = tmp_path / "cert.pem"
    bad.write_text("not a certificate\n")
    proc = subprocess.run([h.eni_bin(), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"),
                           "--tls-cert", str(bad), "--tls-key", str(bad)],
                          capture_output=True, text=True, timeout=30, env=h._clean_env(None))
    assert proc.returncode != 0
    assert "certificate" in proc.stderr and str(bad) in proc.stderr, proc.stderr


def test_a_stalled_handshake_is_closed_at_the_header_timeout(extra_server):
    """A client that starts a TLS handshake and stops holds nothing past the request-head
    deadline, like one that sends half a request head."""
    import socket
    import time

    srv, *_ = extra_server("--header-read-timeout", "1")
    s = socket.create_connection((srv.host, srv.port), timeout=5)
    s.sendall(b"\x16\x03\x01\x00\xff")  # a handshake record's header, its body never sent
    start = time.monotonic()
    s.settimeout(5)
    try:
        closed = s.recv(1024) == b""
    except ConnectionResetError:
        closed = True
    took = time.monotonic() - start
    assert closed and 0.5 <= took < 3, took
    s.close()


def test_the_console_cookie_is_secure_over_https_only(server):
    """Signed in over HTTPS, the session cookie is `Secure` (it never goes back over the plain
    HTTP the same port serves); over HTTP it cannot be."""
    import re

    ca = ca_of(server)

    def sign_in(base: str, **kw) -> str:
        s = requests.Session()
        page = s.get(f"{base}/console/login", timeout=10, **kw)
        token = re.search(r'name="login_csrf" value="([0-9a-f]{64})"', page.text).group(1)
        r = s.post(f"{base}/console/login", data={"login_csrf": token, "access_key_id": h.ROOT_AK,
                                                   "access_key_secret": h.ROOT_SECRET},
                   allow_redirects=False, timeout=10, **kw)
        assert r.status_code == 303, r.text
        return r.headers["set-cookie"]

    secure = sign_in(f"https://{server.endpoint}", verify=ca)
    assert "eni_console=" in secure and "; Secure" in secure and "HttpOnly" in secure, secure
    plain = sign_in(f"http://{server.endpoint}")
    assert "Secure" not in plain, plain
