"""Helpers shared by the e2e tests: running an `eni serve` process, hand-made signed requests
(RPC HMAC-SHA1, spec §2.1, and ACS3-HMAC-SHA256, spec §2.2) and SDK exception accessors.

Only loopback traffic: every server listens on 127.0.0.1 with port 0.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac
import json
import os
import queue
import signal
import subprocess
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
ECS_VERSION = "2014-05-26"
VPC_VERSION = "2016-04-28"
REGION = "cn-hangzhou"

# The root key the session server gets through the environment.
ROOT_AK = os.environ.get("E2E_ROOT_ACCESS_KEY_ID", "LTAIe2eRootAccessKey01")
ROOT_SECRET = os.environ.get("E2E_ROOT_ACCESS_KEY_SECRET", "e2eRootSecret0123456789abcdefXYZ")

STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


def eni_bin() -> str:
    return os.environ.get("ENI_BIN") or str(REPO_ROOT / "target" / "debug" / "eni")


# An admin URL of a PostgreSQL: when set, every server of the suite runs on a database of its
# own there (`--database-url`) instead of SQLite in its data dir (scripts/test runs the suite
# both ways).
E2E_DATABASE_URL = os.environ.get("ENI_E2E_DATABASE_URL", "")


def on_postgres() -> bool:
    return bool(E2E_DATABASE_URL)


# A data dir's database, so that a server started again on the same data dir (a restart)
# finds its state, as it would in SQLite.
_databases: dict[str, str] = {}


def database_for(data_dir: Path) -> str:
    key = str(Path(data_dir).resolve())
    if key not in _databases:
        _databases[key] = new_database()
    return _databases[key]


def new_database() -> str:
    """A fresh database on E2E_DATABASE_URL's server; its URL."""
    name = f"eni_e2e_{uuid.uuid4().hex[:12]}"
    psql(E2E_DATABASE_URL, f"CREATE DATABASE {name}")
    return with_db(E2E_DATABASE_URL, name)


def with_db(url: str, db: str) -> str:
    """A PostgreSQL URL with its database replaced by `db`."""
    base, _, query = url.partition("?")
    scheme, _, rest = base.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/{db}" + (f"?{query}" if query else "")


def psql(url: str, sql: str) -> str:
    """One statement through `psql`; its output, unaligned."""
    r = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-tAc", sql], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"psql: {r.stderr.strip()}")
    return r.stdout.strip()


def test_database_admin_url() -> str:
    """ENI_TEST_DATABASE_URL: the admin URL of the PostgreSQL the tests of several servers and
    of `eni db copy` use (scripts/test starts one and sets it)."""
    url = os.environ.get("ENI_TEST_DATABASE_URL")
    if not url:
        raise RuntimeError("ENI_TEST_DATABASE_URL must name a PostgreSQL admin URL (scripts/test starts one)")
    return url


def _clean_env(root_key: tuple[str, str] | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENI_")}
    env.setdefault("ENI_LOG", "warn")
    if root_key is not None:
        env["ENI_ROOT_ACCESS_KEY_ID"], env["ENI_ROOT_ACCESS_KEY_SECRET"] = root_key
    return env


class EniServer:
    """One `eni serve` process on 127.0.0.1:<random port> over `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        root_key: tuple[str, str] | None = (ROOT_AK, ROOT_SECRET),
        extra_args: "list[str] | tuple[str, ...]" = (),
        nofile: int | None = None,
        listen: str = "127.0.0.1:0",
        env: dict | None = None,
        sqlite: bool = False,
    ):
        self.data_dir = Path(data_dir)
        # SQLite in the data dir even when the suite runs on PostgreSQL.
        self.sqlite = sqlite
        self.root_key = root_key
        # More `eni serve` flags, e.g. ["--eni-quota", "2"].
        self.extra_args = list(extra_args)
        # RLIMIT_NOFILE (soft and hard) of the server process, if set.
        self.nofile = nofile
        self.listen = listen
        # More environment for the server process (e.g. {"ENI_LOG": "info"}).
        self.env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.host: str | None = None
        self.port: int | None = None
        self.stdout_lines: list[str] = []
        self._stderr = None
        # Its PostgreSQL database when the suite runs on one (kept across restarts).
        self.database_url: str | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}/"

    def start(self) -> "EniServer":
        binary = eni_bin()
        if not os.path.isfile(binary):
            raise RuntimeError(f"eni binary not found at {binary}; build it or set ENI_BIN")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._stderr = open(self.data_dir.parent / f"{self.data_dir.name}.stderr.log", "ab")
        database = []
        if on_postgres() and not self.sqlite and "--database-url" not in self.extra_args:
            self.database_url = database_for(self.data_dir)
            database = ["--database-url", self.database_url]
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", self.listen, "--data-dir", str(self.data_dir), *database, *self.extra_args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            env={**_clean_env(self.root_key), **self.env},
            text=True,
            preexec_fn=self._limit_files if self.nofile else None,
        )
        lines: "queue.Queue[str | None]" = queue.Queue()

        def pump():
            assert self.proc and self.proc.stdout
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise RuntimeError(f"eni serve printed no 'listening on' line in {STARTUP_TIMEOUT}s")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                rc = self.proc.wait()
                raise RuntimeError(f"eni serve exited early with {rc}; stdout: {self.stdout_lines}")
            self.stdout_lines.append(line.rstrip("\n"))
            if line.startswith("listening on "):
                addr = line[len("listening on "):].strip()
                host, port = addr.rsplit(":", 1)
                self.host, self.port = host, int(port)
                break
        r = requests.get(f"http://{self.endpoint}/healthz", timeout=5)
        assert r.status_code == 200, r.text
        return self

    def _limit_files(self):
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        if self._stderr:
            self._stderr.close()
            self._stderr = None
        return rc

    def create_account(self, name: str | None = None) -> dict:
        """`eni account create NAME --data-dir DIR` against this (running) server's data dir."""
        name = name or f"e2e-{uuid.uuid4().hex[:12]}"
        out = subprocess.run(
            [eni_bin(), "account", "create", name, "--data-dir", str(self.data_dir),
             *(["--database-url", self.database_url] if self.database_url else [])],
            capture_output=True,
            text=True,
            env=_clean_env(None),
            timeout=30,
            check=False,
        )
        assert out.returncode == 0, f"account create failed ({out.returncode}): {out.stderr}"
        data = json.loads(out.stdout.strip().splitlines()[-1])
        assert set(data) >= {"AccountId", "AccessKeyId", "AccessKeySecret"}, data
        return data


# ---------------------------------------------------------------- SDK clients


def tea_config(endpoint: str, ak: str, secret: str):
    from alibabacloud_tea_openapi.models import Config

    return Config(
        endpoint=endpoint,
        protocol="http",
        region_id=REGION,
        access_key_id=ak,
        access_key_secret=secret,
        read_timeout=10000,
        connect_timeout=5000,
    )


def vpc_client(endpoint: str, ak: str, secret: str):
    from alibabacloud_vpc20160428.client import Client

    return Client(tea_config(endpoint, ak, secret))


def ecs_client(endpoint: str, ak: str, secret: str):
    from alibabacloud_ecs20140526.client import Client

    return Client(tea_config(endpoint, ak, secret))


def legacy_client(ak: str, secret: str):
    from aliyunsdkcore.client import AcsClient

    return AcsClient(ak, secret, REGION, auto_retry=False, max_retry_time=0, timeout=10, connect_timeout=5)


def legacy_request(endpoint: str, action: str, version: str = VPC_VERSION, method: str = "POST", **params):
    from aliyunsdkcore.request import CommonRequest

    req = CommonRequest(domain=endpoint, version=version, action_name=action)
    req.set_protocol_type("http")
    req.set_method(method)
    req.set_accept_format("json")
    for k, v in params.items():
        req.add_query_param(k, v)
    return req


def tea_error(exc) -> tuple[str, int, str, dict]:
    """(code, HTTP status, message, data) of a tea SDK exception."""
    data = getattr(exc, "data", None) or {}
    status = getattr(exc, "status_code", None)
    if status is None:
        status = data.get("statusCode")
    return exc.code, status, exc.message, data


def expect_tea_error(fn, code: str, status: int):
    """Runs `fn`, which must raise a tea ClientException with exactly `code` and HTTP `status`
    (and a non-empty message); returns the exception."""
    from alibabacloud_tea_openapi.exceptions import ClientException

    try:
        fn()
    except ClientException as e:
        got_code, got_status, message, data = tea_error(e)
        assert (got_code, got_status) == (code, status), f"expected {code} {status}, got {got_code} {got_status}: {message}"
        assert data.get("Code") == code
        assert isinstance(message, str) and message
        return e
    raise AssertionError(f"expected {code} {status}, but the call succeeded")


# ---------------------------------------------------------------- polling

POLL_STEP = 0.05
POLL_TIMEOUT = 5.0


def wait_for(fn, pred=bool, *, timeout: float = POLL_TIMEOUT, step: float = POLL_STEP, what: str = "condition"):
    """Calls `fn` every `step` seconds until `pred(value)` holds; returns that value. Fails
    after `timeout` seconds with the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if pred(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {value!r}")
        time.sleep(step)


# ---------------------------------------------------------------- EIPs


class Eips:
    """EIPs of one test through a new-SDK VPC client, released at teardown (unassociated first
    if needed). A visible-mode EIP (BINDED, MULTI_BINDED) unassociates only while its ENI is
    detached, so teardown must run after the ENIs' (request `eips` before `cloud`)."""

    def __init__(self, vpc):
        self.vpc = vpc
        self.ids: list[str] = []

    def allocate(self, **kw):
        from alibabacloud_vpc20160428 import models as vm

        kw.setdefault("region_id", REGION)
        body = self.vpc.allocate_eip_address(vm.AllocateEipAddressRequest(**kw)).body
        if body.allocation_id not in self.ids:
            self.ids.append(body.allocation_id)
        return body

    def describe(self, **kw):
        from alibabacloud_vpc20160428 import models as vm

        kw.setdefault("region_id", REGION)
        return self.vpc.describe_eip_addresses(vm.DescribeEipAddressesRequest(**kw)).body

    def get(self, allocation_id: str):
        got = self.describe(allocation_id=allocation_id).eip_addresses.eip_address
        assert len(got) <= 1
        return got[0] if got else None

    def status(self, allocation_id: str):
        e = self.get(allocation_id)
        return e.status if e else None

    def wait(self, allocation_id: str, status: str):
        wait_for(lambda: self.status(allocation_id), lambda s: s == status, what=f"{allocation_id} {status}")
        return self.get(allocation_id)

    def associate(self, allocation_id: str, instance_id: str, wait: bool = True, **kw):
        from alibabacloud_vpc20160428 import models as vm

        kw.setdefault("region_id", REGION)
        resp = self.vpc.associate_eip_address(
            vm.AssociateEipAddressRequest(allocation_id=allocation_id, instance_id=instance_id, **kw)
        )
        if wait:
            self.wait(allocation_id, "InUse")
        return resp

    def unassociate(self, allocation_id: str, wait: bool = True, **kw):
        from alibabacloud_vpc20160428 import models as vm

        kw.setdefault("region_id", REGION)
        resp = self.vpc.unassociate_eip_address(vm.UnassociateEipAddressRequest(allocation_id=allocation_id, **kw))
        if wait:
            self.wait(allocation_id, "Available")
        return resp

    def release(self, allocation_id: str):
        from alibabacloud_vpc20160428 import models as vm

        return self.vpc.release_eip_address(vm.ReleaseEipAddressRequest(region_id=REGION, allocation_id=allocation_id))

    def modify_mode(self, allocation_id: str, mode: str, **kw):
        """ModifyEipForwardMode: `InstanceId` is the EIP's allocation ID."""
        from alibabacloud_vpc20160428 import models as vm

        kw.setdefault("region_id", REGION)
        return self.vpc.modify_eip_forward_mode(
            vm.ModifyEipForwardModeRequest(instance_id=allocation_id, mode=mode, **kw)
        )

    def gateway_info(self, eni_id: str, **kw):
        """DescribeEipGatewayInfo of an ENI: the response body."""
        from alibabacloud_vpc20160428 import models as vm

        kw.setdefault("region_id", REGION)
        return self.vpc.describe_eip_gateway_info(vm.DescribeEipGatewayInfoRequest(instance_id=eni_id, **kw)).body

    def cleanup(self):
        for i in self.ids:
            e = self.get(i)
            if e is None:
                continue
            if e.status == "Associating":
                e = self.wait(i, "InUse")
            if e.status == "InUse":
                self.unassociate(i)
            elif e.status == "Unassociating":
                self.wait(i, "Available")
            self.release(i)


# ---------------------------------------------------------------- hand-made signatures


def pct(s: str) -> str:
    """RFC 3986 percent-encoding with upper-case hex (spec §2)."""
    return urllib.parse.quote(str(s), safe="-_.~", encoding="utf-8")


def utc_now(offset_seconds: int = 0) -> str:
    t = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=offset_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def rpc_signature(method: str, params: dict, secret: str) -> str:
    canon = "&".join(f"{pct(k)}={pct(v)}" for k, v in sorted(params.items()))
    sts = f"{method}&{pct('/')}&{pct(canon)}"
    digest = hmac.new((secret + "&").encode(), sts.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def rpc_common(action: str, version: str, ak: str, *, timestamp: str | None = None, nonce: str | None = None) -> dict:
    return {
        "Action": action,
        "Version": version,
        "Format": "JSON",
        "AccessKeyId": ak,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "Timestamp": timestamp or utc_now(),
    }


class RpcCall:
    """A prepared HMAC-SHA1 request that can be sent (and re-sent) as-is."""

    def __init__(self, url: str, method: str, query: dict, body: dict | None = None):
        self.url, self.method, self.query, self.body = url, method, query, body

    def send(self) -> requests.Response:
        qs = "&".join(f"{pct(k)}={pct(v)}" for k, v in self.query.items())
        headers = {}
        data = None
        if self.body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            data = "&".join(f"{pct(k)}={pct(v)}" for k, v in self.body.items())
        return requests.request(self.method, f"{self.url}?{qs}", data=data, headers=headers, timeout=10)


def rpc_call(
    url: str,
    action: str,
    version: str,
    ak: str,
    secret: str,
    params: dict | None = None,
    *,
    method: str = "POST",
    timestamp: str | None = None,
    nonce: str | None = None,
    body_params: dict | None = None,
) -> RpcCall:
    """Signs an RPC request; `params` go in the query, `body_params` (if any) in a form body.
    The signature covers both (spec §2.1: P = query + form body)."""
    query = rpc_common(action, version, ak, timestamp=timestamp, nonce=nonce)
    query.update({k: str(v) for k, v in (params or {}).items()})
    signed = dict(query)
    if body_params:
        signed.update({k: str(v) for k, v in body_params.items()})
    query["Signature"] = rpc_signature(method, signed, secret)
    return RpcCall(url, method, query, {k: str(v) for k, v in body_params.items()} if body_params else None)


class Acs3Call:
    def __init__(self, url: str, method: str, query_string: str, headers: dict, body: bytes):
        self.url, self.method, self.query_string, self.headers, self.body = url, method, query_string, headers, body

    def send(self) -> requests.Response:
        url = self.url + (f"?{self.query_string}" if self.query_string else "")
        return requests.request(self.method, url, headers=self.headers, data=self.body or None, timeout=10)


def acs3_call(
    endpoint: str,
    action: str,
    version: str,
    ak: str,
    secret: str,
    params: dict | None = None,
    *,
    method: str = "POST",
    date: str | None = None,
    nonce: str | None = None,
) -> Acs3Call:
    """An ACS3-HMAC-SHA256 request with the API params in the query and an empty body (spec §2.2)."""
    query = sorted((k, str(v)) for k, v in (params or {}).items())
    return acs3_raw(endpoint, ak, secret, action=action, version=version, query=query, method=method, date=date, nonce=nonce)


def assert_error(resp: requests.Response, code: str, status: int) -> dict:
    assert resp.status_code == status, f"expected {status} {code}, got {resp.status_code}: {resp.text}"
    body = resp.json()
    assert body.get("Code") == code, f"expected {code}, got {body}"
    return body


def acs3_raw(
    endpoint: str,
    ak: str,
    secret: str,
    *,
    action: str | None,
    version: str | None,
    query: "list[tuple[str, str]]" = (),
    body: bytes = b"",
    content_type: str | None = None,
    sign_content_type: bool = True,
    method: str = "POST",
    date: str | None = None,
    nonce: str | None = None,
) -> Acs3Call:
    """An ACS3 request built pair by pair, for what no SDK sends: repeated query keys (signed
    in canonical order, sent in the order given), a form body whose content-type may be left
    unsigned, no x-acs-action / x-acs-version header (None)."""
    payload_hash = hashlib.sha256(body).hexdigest()
    canon_query = "&".join(f"{pct(k)}={pct(v)}" for k, v in sorted((k, str(v)) for k, v in query))
    sent_query = "&".join(f"{pct(k)}={pct(v)}" for k, v in query)
    headers = {
        "host": endpoint,
        "x-acs-date": date or utc_now(),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": payload_hash,
    }
    if action is not None:
        headers["x-acs-action"] = action
    if version is not None:
        headers["x-acs-version"] = version
    signed = dict(headers)
    if content_type is not None:
        headers["content-type"] = content_type
        if sign_content_type:
            signed["content-type"] = content_type
    names = sorted(signed)
    canon_headers = "".join(f"{n}:{signed[n].strip()}\n" for n in names)
    signed_headers = ";".join(names)
    creq = f"{method}\n/\n{canon_query}\n{canon_headers}\n{signed_headers}\n{payload_hash}"
    sts = "ACS3-HMAC-SHA256\n" + hashlib.sha256(creq.encode()).hexdigest()
    sig = hmac.new(secret.encode(), sts.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = f"ACS3-HMAC-SHA256 Credential={ak},SignedHeaders={signed_headers},Signature={sig}"
    return Acs3Call(f"http://{endpoint}/", method, sent_query, headers, body)
