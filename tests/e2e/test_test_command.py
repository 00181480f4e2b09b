"""README's test command on a machine that lacks something (issue 8, item 9): it checks its
prerequisites before building anything, and says in seconds what to install when it may not
install it itself. (The full run, installing what is missing, is what CI does.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import e2e_helpers as h

SCRIPT = h.REPO_ROOT / "scripts" / "test"


def run(env_path: str, extra_env: dict | None = None, cwd: Path | None = None) -> tuple[subprocess.CompletedProcess, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENI_")}
    env["PATH"] = env_path
    env.update(extra_env or {})
    start = time.monotonic()
    out = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=120, cwd=cwd)
    return out, time.monotonic() - start


def bin_dir_with(tmp_path: Path, tools: dict[str, str]) -> str:
    """A PATH of only the given tools (name -> real path), plus the shell's basics."""
    d = tmp_path / "bin"
    d.mkdir()
    for name, real in tools.items():
        # A wrapper, not a symlink: a venv's python must be run by its own path.
        (d / name).write_text(f'#!/bin/sh\nexec "{real}" "$@"\n')
        (d / name).chmod(0o755)
    for basic in ("sh", "bash", "env", "id", "printf", "sort", "dirname", "mkdir", "rm", "cat"):
        real = shutil.which(basic)
        if real and not (d / basic).exists():
            (d / basic).symlink_to(real)
    return str(d)


def test_without_cargo_it_stops_at_once_saying_what_to_install(tmp_path):
    path = bin_dir_with(tmp_path, {"python3": sys.executable})
    out, took = run(path)
    assert out.returncode != 0
    assert "cargo not found" in out.stderr and "rustup" in out.stderr, out.stderr
    assert took < 10
    assert "cargo clippy" not in out.stdout


def test_without_the_python_packages_and_no_install_it_names_them(tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    real_cargo = shutil.which("cargo")
    assert real_cargo, "cargo must be on PATH to run the suite"
    tools = {"python3": str(bare / "bin" / "python3"), "cargo": real_cargo}
    for t in ("rustc", "rustup", "cc", "gcc", "ip", "tc", "nft", "iperf3", "node", "npm", "cargo-fmt", "cargo-clippy", "rustfmt",
              "clippy-driver"):
        real = shutil.which(t) or (f"/usr/sbin/{t}" if os.path.exists(f"/usr/sbin/{t}") else None)
        if real:
            tools[t] = real
    path = bin_dir_with(tmp_path, tools)
    # A copy of the tree's scripts, so no target/e2e-venv of the checkout is found.
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, repo / "scripts" / "test")
    (repo / "tests" / "e2e").mkdir(parents=True)
    shutil.copy(h.REPO_ROOT / "tests" / "e2e" / "requirements.txt", repo / "tests" / "e2e" / "requirements.txt")
    env = {"ENI_TEST_NO_INSTALL": "1", "RUSTUP_TOOLCHAIN": os.environ.get("RUSTUP_TOOLCHAIN", "")}
    env = {k: v for k, v in env.items() if v}
    start = time.monotonic()
    out = subprocess.run(
        ["bash", str(repo / "scripts" / "test")], capture_output=True, text=True, timeout=120,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("ENI_")}, "PATH": path, **env},
    )
    took = time.monotonic() - start
    assert out.returncode != 0
    assert "tests/e2e/requirements.txt" in out.stderr, (out.stdout, out.stderr)
    assert took < 30
    assert "cargo clippy" not in out.stdout
