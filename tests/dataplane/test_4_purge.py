"""`eni dataplane purge`: removes the prefix namespaces and the instance namespaces the data
plane recorded, and nothing else."""

import os
import subprocess

import pytest

if os.geteuid() != 0:
    pytest.skip("the data-plane suite needs root (network namespaces)", allow_module_level=True)

import dp_helpers as d  # noqa: E402
import e2e_helpers as h  # noqa: E402


def test_purge_removes_only_what_the_dataplane_made(dp, api, procs, foreign_netns):
    assert foreign_netns in d.netns_list()
    va, vb = api.vpc("10.0.0.0/16"), api.vpc("10.0.0.0/16")
    sw_a, sw_b = api.vswitch(va, "10.0.1.0/24"), api.vswitch(vb, "10.0.1.0/24")
    sg_a, sg_b = api.group(va), api.group(vb)
    a1, a2 = api.instance(sw_a, sg_a), api.instance(sw_a, sg_a)
    b1 = api.instance(sw_b, sg_b)
    eni = api.create_eni(sw_a, sg_a, secondary=1)
    api.attach(eni.network_interface_id, a1)
    routers = {f"{dp.prefix}v-{va}", f"{dp.prefix}v-{vb}"}
    ours = routers | {a1, a2, b1}
    before = set(d.netns_list())
    assert ours <= before
    assert sorted(m.name for m in (dp.state_dir / "netns").iterdir() if m.name in {a1, a2, b1}) == sorted([a1, a2, b1])

    # Stopping the server leaves the kernel as it is.
    assert dp.stop() == 0
    assert ours <= set(d.netns_list())

    out = dp.purge()
    assert out.returncode == 0, out.stderr
    removed = {l[len("removed "):] for l in out.stdout.splitlines() if l.startswith("removed ")}
    assert removed == ours, out.stdout
    assert f"{len(ours)} namespace(s) removed" in out.stdout
    after = set(d.netns_list())
    assert not (ours & after), after
    assert foreign_netns in after, "purge removed a namespace that is not eni's"
    # The markers went with their namespaces.
    assert not any((dp.state_dir / "netns").iterdir())

    # A second purge has nothing to do.
    again = dp.purge()
    assert again.returncode == 0 and "0 namespace(s) removed" in again.stdout, again.stdout


def test_purge_refuses_while_a_server_runs_the_data_plane(dp, api):
    """Purging under a running server would only make it rebuild everything seconds later:
    refused, and nothing removed, unless --force."""
    v = api.vpc("10.0.0.0/16")
    sw = api.vswitch(v, "10.0.1.0/24")
    inst = api.instance(sw, api.group(v))
    before = set(d.netns_list())
    assert inst in before

    out = dp.purge()
    assert out.returncode != 0
    assert "in use" in out.stderr and "--force" in out.stderr, out.stderr
    assert set(d.netns_list()) >= before

    forced = subprocess.run(
        [h.eni_bin(), "dataplane", "purge", "--force", "--dataplane-prefix", dp.prefix,
         "--dataplane-state-dir", str(dp.state_dir)],
        capture_output=True, text=True, timeout=60,
    )
    assert forced.returncode == 0, forced.stderr
    # (The running server rebuilds it at its next resync.)
    assert f"removed {inst}" in forced.stdout.splitlines(), forced.stdout


def test_a_second_server_on_the_same_state_dir_refuses_to_start(dp, tmp_path):
    """Two data planes on one state dir would fight over the same namespaces: the second
    server refuses to start, naming the state dir, whatever its data dir."""
    other = h.EniServer(tmp_path / "other-data", extra_args=dp.args())
    with pytest.raises(RuntimeError, match="exited early"):
        other.start()
    log = (tmp_path / "other-data.stderr.log").read_text()
    assert "in use" in log and str(dp.state_dir) in log, log
