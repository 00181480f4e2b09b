"""The server process as an operator and a first-time user meet it (issue 8, items 6, 7 and
11): a private data dir whatever the umask, one server per data dir, the root key's life
across starts, a port in use, error output, and the flags' help."""

from __future__ import annotations

import os
import socket
import stat
import subprocess

import pytest
import requests
from alibabacloud_ecs20140526 import models as ecs_m
from alibabacloud_tea_openapi.exceptions import ClientException

import e2e_helpers as h


def mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def run_eni(*args, env_extra=None, timeout=20, preexec=None) -> subprocess.CompletedProcess:
    env = h._clean_env(None)
    env.update(env_extra or {})
    return subprocess.run(
        [h.eni_bin(), *args], capture_output=True, text=True, env=env, timeout=timeout, preexec_fn=preexec
    )


@pytest.fixture
def own_server(tmp_path):
    started = []

    def start(data_dir, root_key=(h.ROOT_AK, h.ROOT_SECRET), extra_args=()):
        s = h.EniServer(data_dir, root_key=root_key, extra_args=extra_args, env={"ENI_LOG": "info"}).start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def stderr_of(srv) -> str:
    return (srv.data_dir.parent / f"{srv.data_dir.name}.stderr.log").read_text()


# ---------------------------------------------------------------- item 6: private data dir


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_the_data_dir_is_private_whatever_the_umask(tmp_path, umask):
    data = tmp_path / "data"
    old = os.umask(umask)
    try:
        srv = h.EniServer(data, root_key=None).start()
    finally:
        os.umask(old)
    try:
        # A write, so the WAL holds something.
        h.ecs_client(srv.endpoint, *_generated_key(data)).describe_regions(ecs_m.DescribeRegionsRequest())
        assert mode(data) == 0o700
        names = sorted(p.name for p in data.iterdir())
        # On PostgreSQL the data dir holds no database.
        database = () if h.on_postgres() else ("eni.db", "eni.db-wal", "eni.db-shm")
        for name in (*database, "root-credentials.json", "agent-token"):
            assert name in names, names
        assert h.on_postgres() != ("eni.db" in names), names
        for p in data.iterdir():
            assert mode(p) == 0o600, (p.name, oct(mode(p)))
    finally:
        srv.stop()


def test_an_existing_open_data_dir_is_made_private(tmp_path):
    data = tmp_path / "data"
    srv = h.EniServer(data).start()
    srv.stop()
    os.chmod(data, 0o755)
    for p in data.iterdir():
        os.chmod(p, 0o644)
    srv = h.EniServer(data).start()
    try:
        assert mode(data) == 0o700
        assert all(mode(p) == 0o600 for p in data.iterdir())
    finally:
        srv.stop()


def _generated_key(data) -> tuple[str, str]:
    import json

    creds = json.loads((data / "root-credentials.json").read_text())
    return creds["AccessKeyId"], creds["AccessKeySecret"]


# ---------------------------------------------------------------- item 7: one server per data dir


def test_a_second_server_on_the_same_data_dir_refuses_to_start(own_server, tmp_path):
    data = tmp_path / "data"
    first = own_server(data)
    second = run_eni("serve", "--listen", "127.0.0.1:0", "--data-dir", str(data))
    assert second.returncode != 0
    assert "in use" in second.stderr and str(data) in second.stderr, second.stderr
    assert "listening on" not in second.stdout
    # The first one is untouched, and `eni account create` still works beside it.
    assert h.ecs_client(first.endpoint, h.ROOT_AK, h.ROOT_SECRET).describe_regions(
        ecs_m.DescribeRegionsRequest()
    ).status_code == 200
    first.create_account()
    # Once the first stops, the data dir is free.
    assert first.stop() == 0
    own_server(data)


# ---------------------------------------------------------------- item 11: first run


def test_a_port_in_use_fails_before_a_root_key_is_made(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    data = tmp_path / "data"
    try:
        out = run_eni("serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data))
    finally:
        busy.close()
    assert out.returncode != 0
    assert "binding" in out.stderr, out.stderr
    assert not (data / "root-credentials.json").exists()
    assert "AccessKeySecret" not in out.stdout
    # The next start, on a free port, makes and shows the key.
    srv = h.EniServer(data, root_key=None).start()
    try:
        assert "AccessKeySecret" in "\n".join(srv.stdout_lines)
    finally:
        srv.stop()


def test_errors_print_their_causes_without_a_backtrace(tmp_path):
    bad = tmp_path / "catalog.json"
    bad.write_text("{not json")
    out = run_eni(
        "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"), "--catalog", str(bad),
        env_extra={"RUST_BACKTRACE": "1"},
    )
    assert out.returncode != 0
    assert out.stderr.startswith("Error: "), out.stderr
    assert str(bad) in out.stderr
    assert "backtrace" not in out.stderr.lower(), out.stderr


def test_listen_takes_a_host_name(tmp_path):
    srv = h.EniServer(tmp_path / "data", listen="localhost:0").start()
    try:
        assert srv.port > 0
        ecs = h.ecs_client(srv.endpoint, h.ROOT_AK, h.ROOT_SECRET)
        assert ecs.describe_regions(ecs_m.DescribeRegionsRequest()).status_code == 200
    finally:
        srv.stop()


def test_an_empty_dataplane_prefix_is_refused_by_the_flag(tmp_path):
    out = run_eni("dataplane", "purge", "--dataplane-prefix", "", "--dataplane-state-dir", str(tmp_path))
    assert out.returncode != 0
    assert "--dataplane-prefix" in out.stderr and "1 to 32" in out.stderr, out.stderr
    assert "LinuxDataplane" not in out.stderr


def test_help_says_what_the_flags_do():
    serve = run_eni("serve", "--help").stdout
    assert "CAP_SYS_ADMIN" in serve
    for state in ("Attaching", "Detaching", "Deleting", "Pending", "Starting", "Stopping", "Associating", "Unassociating"):
        assert state in serve, state
    for flag in ("--header-read-timeout", "--body-read-timeout", "--idle-timeout", "--max-connections"):
        assert flag in serve, flag
    assert "CAP_SYS_ADMIN" in run_eni("agent", "--help").stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping to an unprivileged user needs root")
def test_purge_without_privileges_says_what_it_needs(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(tmp_path, 0o777)
    os.chmod(state, 0o777)
    out = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", h.eni_bin(),
         "dataplane", "purge", "--dataplane-prefix", "t-np-", "--dataplane-state-dir", str(state)],
        capture_output=True, text=True, timeout=20, env=h._clean_env(None),
    )
    assert out.returncode != 0
    assert "needs root" in out.stderr, out.stderr
    assert "--dataplane" not in out.stderr.replace("--dataplane-", ""), out.stderr


# ---------------------------------------------------------------- item 11: the root key across starts


def test_after_an_environment_key_later_starts_do_not_point_at_a_missing_file(own_server, tmp_path):
    data = tmp_path / "data"
    srv = own_server(data)
    assert srv.stop() == 0
    srv = own_server(data, root_key=None)
    log = stderr_of(srv)
    assert "root-credentials.json" not in log, log
    assert "earlier start" in log, log
    assert not (data / "root-credentials.json").exists()
    ecs = h.ecs_client(srv.endpoint, h.ROOT_AK, h.ROOT_SECRET)
    assert ecs.describe_regions(ecs_m.DescribeRegionsRequest()).status_code == 200


def test_a_new_environment_key_replaces_the_root_key(own_server, tmp_path):
    data = tmp_path / "data"
    srv = own_server(data, root_key=None)
    old_id, old_secret = _generated_key(data)
    assert srv.stop() == 0
    srv = own_server(data, root_key=("LTAIreplacement0001", "new-secret-0001"))
    log = stderr_of(srv)
    assert "replaces" in log and old_id in log, log
    assert old_secret not in log
    # The saved file held the old key: it is gone, and the old key no longer works.
    assert not (data / "root-credentials.json").exists()
    new = h.ecs_client(srv.endpoint, "LTAIreplacement0001", "new-secret-0001")
    assert new.describe_regions(ecs_m.DescribeRegionsRequest()).status_code == 200
    with pytest.raises(ClientException) as ei:
        h.ecs_client(srv.endpoint, old_id, old_secret).describe_regions(ecs_m.DescribeRegionsRequest())
    assert h.tea_error(ei.value)[:2] == ("InvalidAccessKeyId.NotFound", 404)
    # The same key again changes nothing; a new secret for it replaces the old secret.
    assert srv.stop() == 0
    srv = own_server(data, root_key=("LTAIreplacement0001", "rotated-secret"))
    h.expect_tea_error(
        lambda: h.ecs_client(srv.endpoint, "LTAIreplacement0001", "new-secret-0001").describe_regions(
            ecs_m.DescribeRegionsRequest()
        ),
        "SignatureDoesNotMatch",
        400,
    )
    rotated = h.ecs_client(srv.endpoint, "LTAIreplacement0001", "rotated-secret")
    assert rotated.describe_regions(ecs_m.DescribeRegionsRequest()).status_code == 200


def test_a_signal_right_after_the_readiness_line_stops_the_server_cleanly(tmp_path):
    """The signal handlers are in place before `listening on` is printed."""
    import signal as sig

    for i in range(10):
        proc = subprocess.Popen(
            [h.eni_bin(), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / f"d{i}")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=h._clean_env((h.ROOT_AK, h.ROOT_SECRET)),
        )
        for line in proc.stdout:
            if line.startswith("listening on "):
                break
        proc.send_signal(sig.SIGTERM)
        assert proc.wait(timeout=15) == 0, f"run {i}: exit {proc.returncode}"


def test_max_connections_zero_is_refused():
    out = run_eni("serve", "--max-connections", "0", "--data-dir", "/nonexistent/never-made")
    assert out.returncode != 0
    assert "--max-connections" in out.stderr, out.stderr


def test_parents_of_a_new_data_dir_are_not_writable_by_others(tmp_path):
    """Under umask 000 the server makes the missing parents of --data-dir 0755, not 0777."""
    data = tmp_path / "a" / "b" / "data"
    out = run_eni(
        "account", "create", "team-x", "--data-dir", str(data), preexec=lambda: os.umask(0)
    )
    assert out.returncode == 0, out.stderr
    assert mode(data) == 0o700
    for parent in (tmp_path / "a", tmp_path / "a" / "b"):
        assert mode(parent) & 0o022 == 0, (parent, oct(mode(parent)))


def test_an_agent_token_saved_before_is_kept(tmp_path):
    # A data dir from before the database kept the agents' token: its agents hold this one.
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "agent-token").write_text("kept-agent-token-0123456789abcdef\n")
    srv = h.EniServer(data).start()
    try:
        for _ in range(2):
            assert (data / "agent-token").read_text() == "kept-agent-token-0123456789abcdef\n"
            url = f"http://{srv.endpoint}/internal/v1/hosts/local/desired"
            ok = requests.get(url, headers={"Authorization": "Bearer kept-agent-token-0123456789abcdef"}, timeout=10)
            assert ok.status_code == 200, ok.text
            srv.stop()
            srv.start()
    finally:
        srv.stop()
