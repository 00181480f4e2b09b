"""Fixtures of the web-console suite: headless Chromium (Debian's /usr/bin/chromium, driven by
Python Playwright) against the console `eni serve` serves at /console/.

`server`: one `eni serve` for the session (root key from e2e_helpers, a temp data dir), as the
e2e suite's; `servers`: more of them with extra flags (`servers("--console-session-ttl", "2")`),
each on a fresh data dir, stopped at teardown. `cloud_of(server)`: the e2e suite's `Cloud` (VPCs,
vSwitches, groups, instances, ENIs through the official SDKs) on a server, cleaned up at
teardown.

`browser`: one headless Chromium for the session (`--no-sandbox`, as root); `context` and
`page`: a fresh browser context (no cookies) per test; `new_page()` another one (a second user).
`shot(page, name)`: a screenshot into target/console-screenshots/<test>-<name>.png.

The suite skips itself, saying why, unless it runs as root with /usr/bin/chromium and
Playwright installed (scripts/test installs both as root).

Binary: env ENI_BIN (as for tests/e2e).
"""

from __future__ import annotations

import os
import re

import pytest

import console_helpers as c
from console_helpers import e2e, h

SKIP = c.skip_reason()


def pytest_collection_modifyitems(config, items):
    if SKIP:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=SKIP))


def pytest_terminal_summary(terminalreporter):
    if SKIP:
        terminalreporter.write_line(f"console tests skipped: {SKIP}")


# ---------------------------------------------------------------- servers


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = h.EniServer(tmp_path_factory.mktemp("console-session") / "data").start()
    yield srv
    rc = srv.stop()
    assert rc == 0, f"eni serve exited with {rc} on SIGTERM"


@pytest.fixture(scope="session")
def base(server) -> str:
    return c.base_url(server)


@pytest.fixture
def servers(tmp_path):
    """Starts more `eni serve` processes with extra flags on fresh data dirs; stops them at
    teardown."""
    started: list[h.EniServer] = []

    def start(*args: str) -> h.EniServer:
        s = h.EniServer(tmp_path / f"data-{len(started)}", extra_args=list(args)).start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def cloud_of(servers):
    """`cloud_of(server, key=(id, secret))`: the e2e suite's `Cloud` on that server with that
    key (root's by default), with `.vpc_client` and `.eips` (an `h.Eips`); everything it made is
    deleted at teardown (EIPs last), before any server `servers` started stops."""
    made = []

    def make(server, key: tuple[str, str] = (h.ROOT_AK, h.ROOT_SECRET)):
        ecs = h.ecs_client(server.endpoint, *key)
        vpc = h.vpc_client(server.endpoint, *key)
        cloud = e2e.Cloud(ecs, e2e.Resources(vpc))
        cloud.vpc_client = vpc
        cloud.eips = h.Eips(vpc)
        made.append(cloud)
        return cloud

    yield make
    for cloud in reversed(made):
        try:
            cloud.cleanup()
        finally:
            try:
                cloud.res.cleanup()
            finally:
                cloud.eips.cleanup()


# ---------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def playwright():
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    yield pw
    pw.stop()


@pytest.fixture(scope="session")
def browser(playwright):
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    b = playwright.chromium.launch(executable_path=c.CHROMIUM, headless=True, args=args)
    yield b
    b.close()


def _prepare(page):
    page.set_default_timeout(10_000)
    # "Delete" and the like may ask first: yes.
    page.on("dialog", lambda d: d.accept())
    return page


@pytest.fixture
def context(browser):
    ctx = browser.new_context()
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return _prepare(context.new_page())


@pytest.fixture
def new_page(browser):
    """Pages in browser contexts of their own (cookies apart from `page`'s)."""
    contexts = []

    def make():
        ctx = browser.new_context()
        contexts.append(ctx)
        return _prepare(ctx.new_page())

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def shot(request):
    """shot(page, name): a full-page screenshot into target/console-screenshots/<test>-<name>.png."""
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def take(page, name: str):
        return c.screenshot(page, f"{test}-{name}")

    return take
