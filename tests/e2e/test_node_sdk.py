"""A second language's official clients guard the wire format: the ENI scenario through the
Node.js SDKs (@alicloud/ecs20140526 7.x and @alicloud/vpc20160428, from npm, pinned by
tests/node/package-lock.json; scripts/test installs them)."""

import shutil
import subprocess
from pathlib import Path

import e2e_helpers as h

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def test_the_eni_scenario_through_the_nodejs_sdks(server):
    node = shutil.which("node")
    assert node, "node is needed (scripts/test installs nodejs)"
    assert (NODE_DIR / "node_modules" / "@alicloud" / "ecs20140526").is_dir(), \
        "the SDKs are missing: npm ci --prefix tests/node"
    r = subprocess.run([node, str(NODE_DIR / "eni_scenario.mjs"), server.endpoint, h.ROOT_AK, h.ROOT_SECRET],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("SCENARIO PASSED"), r.stdout
