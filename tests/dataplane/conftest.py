"""Fixtures of the data-plane suite (root only; every test module skips itself otherwise).

`dp`: one `eni serve --dataplane linux --transition-delay-ms 0` per test, with a unique
namespace prefix (edp<pid>n<k>-), its own state dir and data dir. At teardown — pass or fail —
the server is stopped, `eni dataplane purge` runs with that prefix and state dir, and no
namespace with the prefix, and none named after an instance the test created, may remain.

`procs`: echo servers and probes inside namespaces; killed (by pid) before the purge.

Binary: env ENI_BIN (as for tests/e2e).
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import pytest

import dp_helpers as d

_serial = itertools.count()


def make_server(base, *extra: str) -> d.DataplaneServer:
    extra = list(extra)
    if "--transition-delay-ms" not in extra:
        extra += ["--transition-delay-ms", "0"]
    return d.DataplaneServer(base, d.unique_prefix(next(_serial)), extra_args=extra)


def finish(server: d.DataplaneServer):
    """Stops the server, purges its data plane and checks nothing of it is left."""
    problems = []
    rc = server.stop()
    if rc not in (0, None):
        problems.append(f"eni serve exited with {rc} on SIGTERM")
    # Instance namespaces are recorded as markers: count those too, in case the test lost track.
    markers = server.state_dir / "netns"
    if markers.is_dir():
        server.instances.update(m.name for m in markers.iterdir() if not m.name.startswith(server.prefix))
    out = server.purge()
    if out.returncode != 0:
        problems.append(f"eni dataplane purge failed ({out.returncode}): {out.stderr}")
    left = [n for n in d.netns_list() if server.ours(n)]
    if left:
        problems.append(f"namespaces left after purge: {left}")
    log = server.log()
    if log.strip():
        print(f"---- eni serve log ({server.prefix}), last 60 lines ----")
        print("\n".join(log.splitlines()[-60:]))
    assert not problems, problems


@pytest.fixture
def dp(tmp_path):
    """A started data-plane server (see module docstring); `dp.api` makes the SDK calls."""
    server = make_server(tmp_path / "srv")
    try:
        server.start()
        yield server
    finally:
        finish(server)


@pytest.fixture
def procs(dp):
    p = d.Procs()
    yield p
    p.kill_all()


@pytest.fixture
def api(dp) -> d.Api:
    return dp.api


@pytest.fixture
def foreign_netns():
    """A namespace that is not eni's (name outside any prefix, never an instance ID); deleted
    by the test suite itself at the end."""
    name = f"edpforeign{os.getpid()}"
    d.ip("netns", "add", name)
    try:
        yield name
    finally:
        if name in d.netns_list():
            d.ip("netns", "del", name)


def pytest_configure(config):
    config.addinivalue_line("markers", "hosts(**options): options of the `cluster` fixture's hosts")


def pytest_sessionfinish(session, exitstatus):
    """Without root every module skips itself at import, so nothing is collected; pytest would
    exit 5 ("no tests collected") and fail `scripts/test` under `set -e`. That is a clean skip."""
    if os.geteuid() != 0 and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK


# ---------------------------------------------------------------- several hosts

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import simhosts  # noqa: E402

# Three hosts in two zones: h1 and h3 in cn-hangzhou-h, h2 in cn-hangzhou-i.
CLUSTER_ZONES = ["cn-hangzhou-h", "cn-hangzhou-i"]


class AgentsServer(d.DataplaneServer):
    """`eni serve --dataplane agents`: no data plane of its own; hosts report."""

    def args(self) -> list[str]:
        return ["--dataplane", "agents", *self.extra_args]


class Cluster:
    """A server and three simulated hosts (scripts/simhosts.py), each an agent in a namespace
    of its own on a private underlay. `host_id(k)` is host hK's DedicatedHostId."""

    def __init__(self, server: AgentsServer, hosts: "simhosts.Hosts"):
        self.server = server
        self.hosts = hosts
        self.api = server.api
        self.prefix = server.prefix
        self.ids: dict[int, str] = {}

    def listed(self):
        from alibabacloud_ecs20140526 import models as em

        return self.api.ecs.describe_dedicated_hosts(
            em.DescribeDedicatedHostsRequest(region_id=d.REGION)).body.dedicated_hosts.dedicated_host

    def wait_available(self, timeout: float = 20.0):
        got = d.h.wait_for(self.listed, lambda hs: len([x for x in hs if x.status == "Available"]) == self.hosts.count,
                           timeout=timeout, what="every host registered and Available")
        self.ids = {int(x.dedicated_host_name[1:]): x.dedicated_host_id for x in got}

    def host_id(self, k: int) -> str:
        return self.ids[k]

    def router(self, k: int, vpc: str) -> str:
        return f"{self.hosts.agent_prefix(k)}v-{vpc}"

    def agent_log(self, k: int) -> str:
        p = self.hosts.agent_log(k)
        return p.read_text(errors="replace") if p.exists() else ""


@pytest.fixture
def cluster(tmp_path, request):
    """Three hosts (see Cluster); a test marked `@pytest.mark.hosts(mtu=…, underlay_mtu=…)`
    gets agents with that --mtu on an underlay of that MTU."""
    marker = request.node.get_closest_marker("hosts")
    options = marker.kwargs if marker else {}
    server = AgentsServer(tmp_path / "srv", d.unique_prefix(next(_serial)),
                          extra_args=["--transition-delay-ms", "0", "--host-silence-timeout", "2"])
    hosts = None
    problems = []
    try:
        server.start()
        hosts = simhosts.Hosts(server.prefix, tmp_path / "hosts", d.h.eni_bin(),
                               ("127.0.0.1", server.srv.port), server.data_dir / "agent-token",
                               count=3, zones=CLUSTER_ZONES, relay_port=server.srv.port, **options)
        hosts.up()
        c = Cluster(server, hosts)
        c.wait_available()
        yield c
    finally:
        if hosts is not None:
            # Instance namespaces are recorded per agent: count those too.
            for k in range(1, hosts.count + 1):
                markers = hosts.agent_state(k) / "netns"
                if markers.is_dir():
                    server.instances.update(m.name for m in markers.iterdir() if not m.name.startswith(server.prefix))
            problems += hosts.down()
            for k in range(1, hosts.count + 1):
                log = hosts.agent_log(k)
                if log.exists() and log.read_text(errors="replace").strip():
                    print(f"---- agent h{k} log, last 30 lines ----")
                    print("\n".join(log.read_text(errors="replace").splitlines()[-30:]))
        rc = server.stop()
        if rc not in (0, None):
            problems.append(f"eni serve exited with {rc} on SIGTERM")
        left = [n for n in d.netns_list() if server.ours(n)]
        if left:
            problems.append(f"namespaces left: {left}")
        assert not problems, problems
