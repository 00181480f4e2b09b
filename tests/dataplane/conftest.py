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


def pytest_sessionfinish(session, exitstatus):
    """Without root every module skips itself at import, so nothing is collected; pytest would
    exit 5 ("no tests collected") and fail `scripts/test` under `set -e`. That is a clean skip."""
    if os.geteuid() != 0 and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK
