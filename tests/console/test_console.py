"""The web console (/console/ on the API's listener) in headless Chromium, driven by Playwright:
signing in and out with an access key (the same refusal for a wrong secret and an unknown ID,
and slower ones as they repeat), the session cookie's attributes, CSRF on every POST, sessions
that expire, accounts that see only their own resources, and an ENI's whole life through the
forms (create, attach — the list following Attaching → InUse live —, detach, assign and
unassign private IPs, modify, bind and unbind an EIP, delete), each checked through the
official SDKs; the API's refusals shown with Alibaba's code; the instance and VPC pages.

Screenshots of the main pages go to target/console-screenshots/.
"""

from __future__ import annotations

import time
import uuid

import console_helpers as c
from console_helpers import h

try:
    from playwright.sync_api import expect
except ImportError:  # the suite skips itself (conftest) and says why
    expect = None

ROOT = (h.ROOT_AK, h.ROOT_SECRET)
NAV = {"Network interfaces": "/console/enis", "Instances": "/console/instances", "VPCs": "/console/vpcs"}


def signed_in(page, base: str, key: tuple[str, str] = ROOT):
    resp = c.sign_in(page, base, *key)
    assert c.path_of(page.url) == "/console/enis", f"sign-in led to {page.url} ({resp.status if resp else None})"
    return resp


def h1(page):
    return page.get_by_role("heading", level=1)


def alert(page):
    return page.get_by_role("alert")


def eni_row(page, eni: str):
    return page.locator(f'#enis tr[data-eni="{eni}"]')


def checkbox(page, value: str):
    """The checkbox labelled `value`, else the one whose value it is."""
    by_label = page.get_by_role("checkbox", name=value, exact=True)
    if by_label.count() == 1:
        return by_label
    return page.locator(f'input[type="checkbox"][value="{value}"]')


def follow_live(page, eni: str, busy: str, settled: str, timeout: float = 15.0) -> list[str]:
    """On the list page just loaded: the ENI's status cell shows `busy`, then turns `settled`
    in place (no reload in between). Returns the texts it showed."""
    seen = c.watch_status(page, f'#enis tr[data-eni="{eni}"] td.status')
    assert busy in seen[0], f"{eni}: the list showed {seen[0]!r}, not {busy!r} (too slow to catch it?)"
    deadline = time.monotonic() + timeout
    while not any(settled in t for t in seen):
        assert time.monotonic() < deadline, f"{eni}: {settled} not shown in place within {timeout}s; saw {seen}"
        page.wait_for_timeout(50)
    return seen


def csrf_of(page) -> str:
    form = c.form_with_button(page.content(), "Sign out")
    assert form is not None, "no form with a 'Sign out' button"
    return form.hidden()["csrf"]


def unique() -> str:
    return f"con-{uuid.uuid4().hex[:8]}"


def network(cloud, cidr: str = "10.0.0.0/16", vsw_cidr: str = "10.0.1.0/24", groups: int = 1):
    vpc = cloud.vpc(cidr)
    vsw = cloud.vswitch(vpc, vsw_cidr)
    return vpc, vsw, [cloud.group(vpc) for _ in range(groups)]


def secondary_ips(cloud, eni: str) -> list[str]:
    return sorted(p.private_ip_address for p in cloud.eni_attr(eni).private_ip_sets.private_ip_set if not p.primary)


def wait(fn, pred, what: str, timeout: float = 15.0):
    return h.wait_for(fn, pred, timeout=timeout, step=0.1, what=what)


# ---------------------------------------------------------------- signing in and out


def test_sign_in_lands_on_network_interfaces_and_sign_out_ends_the_session(page, base, shot):
    # Not signed in: the console's pages lead to the login page.
    for path in ("/console/", "/console/enis"):
        page.goto(f"{base}{path}")
        assert c.path_of(page.url) == "/console/login", (path, page.url)
    ident = page.get_by_label("AccessKey ID", exact=True)
    secret = page.get_by_label("AccessKey Secret", exact=True)
    expect(ident).to_have_attribute("name", "access_key_id")
    expect(secret).to_have_attribute("name", "access_key_secret")
    expect(secret).to_have_attribute("type", "password")
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    shot(page, "login")

    resp = c.sign_in(page, base, *ROOT)
    assert c.path_of(page.url) == "/console/enis", page.url
    assert resp.status == 200
    expect(h1(page)).to_have_text("Network interfaces")
    nav = page.get_by_role("navigation")
    for name, href in NAV.items():
        link = nav.get_by_role("link", name=name, exact=True)
        expect(link).to_have_count(1)
        assert c.path_of(link.get_attribute("href")) == href, (name, link.get_attribute("href"))
    sign_out = c.form_with_button(page.content(), "Sign out")
    assert sign_out is not None and sign_out.method == "post", sign_out
    assert c.path_of(sign_out.action) == "/console/logout", sign_out
    assert sign_out.hidden().get("csrf"), sign_out
    # Signed in, /console/ leads to the list.
    page.goto(f"{base}/console/")
    assert c.path_of(page.url) == "/console/enis", page.url

    cookie = c.session_cookie(page.context)
    assert cookie is not None, page.context.cookies()
    assert c.raw(cookie["value"]).get(f"{base}/console/enis", allow_redirects=False, timeout=30).status_code == 200

    c.submit(page, "Sign out")
    assert c.path_of(page.url) == "/console/login", page.url
    # The old cookie signs nobody in any more.
    r = c.raw(cookie["value"]).get(f"{base}/console/enis", allow_redirects=False, timeout=30)
    assert c.redirect_target(r) == "/console/login", (r.status_code, r.headers.get("Location"))
    page.goto(f"{base}/console/enis")
    assert c.path_of(page.url) == "/console/login", page.url


def test_a_wrong_secret_and_an_unknown_id_are_refused_alike(servers, page):
    srv = servers()
    base = c.base_url(srv)
    texts = []
    for key in ((h.ROOT_AK, "not-the-secret-0123456789abcdef"), ("LTAIconsoleNoSuchKey0001", h.ROOT_SECRET)):
        resp = c.sign_in(page, base, *key)
        assert resp.status == 401, key
        assert c.path_of(page.url) == "/console/login", page.url
        expect(alert(page)).to_contain_text(c.INVALID_KEY)
        texts.append(" ".join(alert(page).inner_text().split()))
        assert c.session_cookie(page.context) is None
    assert texts[0] == texts[1], texts
    # The same without a browser; no session cookie either way.
    for key in ((h.ROOT_AK, "wrong"), ("LTAIconsoleNoSuchKey0002", "wrong")):
        r = c.raw_sign_in(base, *key)
        assert r.status_code == 401 and c.INVALID_KEY in r.text, (r.status_code, r.text[:300])
        assert c.COOKIE not in r.headers.get("Set-Cookie", ""), r.headers.get("Set-Cookie")


def test_repeated_failures_get_slower(servers):
    srv = servers()
    base = c.base_url(srv)
    took = []
    for _ in range(6):
        r = c.raw_sign_in(base, h.ROOT_AK, "not-the-secret-0123456789abcdef")
        assert r.status_code == 401, r.status_code
        took.append(r.elapsed.total_seconds())
    print("6 failed sign-ins took (s):", [round(t, 3) for t in took])
    assert took[5] >= 0.5, took
    assert took[5] >= took[0] + 0.3, took
    # The right key still signs in afterwards.
    start = time.monotonic()
    r = c.raw_sign_in(base, *ROOT)
    print(f"then the right key: {r.status_code} in {time.monotonic() - start:.3f}s")
    assert c.redirect_target(r) == "/console/enis", (r.status_code, r.headers.get("Location"))


def test_posts_need_the_session_csrf_token_and_the_cookie_is_httponly_and_strict(server, base, page, cloud_of):
    cloud = cloud_of(server)
    _, vsw, (g,) = network(cloud)
    eni = cloud.eni(vsw, [g]).network_interface_id

    signed_in(page, base)
    cookie = c.session_cookie(page.context)
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/console"), cookie
    assert c.COOKIE not in page.evaluate("document.cookie")
    r = c.raw_sign_in(base, *ROOT)
    assert c.redirect_target(r) == "/console/enis", (r.status_code, r.headers.get("Location"))
    attrs = [p.strip().lower() for p in r.headers.get("Set-Cookie", "").split(";")]
    assert attrs[0].startswith(f"{c.COOKIE}="), attrs
    assert {"httponly", "samesite=strict", "path=/console"} <= set(attrs), attrs

    csrf = csrf_of(page)
    logout = c.absolute(base, page.url, c.form_with_button(page.content(), "Sign out").action)
    # Signing out without the token, or with a wrong one: 403, and still signed in.
    for fields in ({}, {"csrf": ""}, {"csrf": csrf + "0"}, {"csrf": "0" * len(csrf)}):
        resp = c.post_form(page, logout, fields)
        assert resp.status == 403, (fields, resp.status, page.url)
        expect(alert(page)).to_contain_text("CSRF")
    page.goto(f"{base}/console/enis")
    assert c.path_of(page.url) == "/console/enis", page.url

    # An action form (the ENI's Delete) likewise, and the ENI stays.
    page.goto(f"{base}/console/enis/{eni}")
    delete = c.form_with_button(page.content(), "Delete")
    assert delete is not None, "no Delete form on an Available ENI's page"
    action = c.absolute(base, page.url, delete.action)
    fields = {k: v for k, v in delete.hidden().items() if k != "csrf"}
    for extra in ({}, {"csrf": "forged"}):
        resp = c.post_form(page, action, {**fields, **extra})
        assert resp.status == 403, (extra, resp.status)
        expect(alert(page)).to_contain_text("CSRF")
    assert cloud.eni_status(eni) == "Available"

    # Without a session, a POST (even with a token once valid) goes to the login page.
    for url, data in ((logout, {"csrf": csrf}), (action, {**fields, "csrf": csrf})):
        r = c.raw().post(url, data=data, allow_redirects=False, timeout=30)
        assert r.status_code == 303 and c.redirect_target(r) == "/console/login", (url, r.status_code, r.headers)
    assert cloud.eni_status(eni) == "Available"

    # The real form still works.
    page.goto(f"{base}/console/enis")
    c.submit(page, "Sign out")
    assert c.path_of(page.url) == "/console/login", page.url


def test_a_session_ends_by_itself_after_its_ttl(servers, page):
    srv = servers("--console-session-ttl", "2")
    base = c.base_url(srv)
    start = time.monotonic()
    signed_in(page, base)
    csrf = csrf_of(page)
    cookie = c.session_cookie(page.context)["value"]
    page.goto(f"{base}/console/enis")
    if time.monotonic() - start < 1.8:  # else too slow a machine to see it alive
        assert c.path_of(page.url) == "/console/enis", page.url

    time.sleep(max(0.0, start + 2.6 - time.monotonic()))
    page.goto(f"{base}/console/enis")
    assert c.path_of(page.url) == "/console/login", page.url
    # The server no longer knows the cookie (whatever the browser kept).
    s = c.raw(cookie)
    r = s.get(f"{base}/console/enis", allow_redirects=False, timeout=30)
    assert c.redirect_target(r) == "/console/login", (r.status_code, r.headers.get("Location"))
    r = s.post(f"{base}/console/logout", data={"csrf": csrf}, allow_redirects=False, timeout=30)
    assert r.status_code == 303 and c.redirect_target(r) == "/console/login", (r.status_code, r.headers)


def test_an_account_sees_only_its_own_resources(server, base, page, new_page, cloud_of):
    root = cloud_of(server)
    vpc, vsw, (g,) = network(root)
    created = root.eni(vsw, [g], network_interface_name=unique())
    eni = created.network_interface_id
    inst = root.instance(vsw, [g])

    other = server.create_account()
    key = (other["AccessKeyId"], other["AccessKeySecret"])
    theirs = cloud_of(server, key)
    _, ovsw, (og,) = network(theirs)
    oeni = theirs.eni(ovsw, [og]).network_interface_id

    p2 = new_page()
    signed_in(p2, base, key)
    expect(eni_row(p2, oeni)).to_have_count(1)
    expect(eni_row(p2, eni)).to_have_count(0)
    html = p2.content()
    assert eni not in html and created.mac_address not in html
    for path in (f"/console/enis/{eni}", f"/console/instances/{inst}", f"/console/vpcs/{vpc}"):
        resp = p2.goto(f"{base}{path}")
        assert resp.status == 404, (path, resp.status)
        assert created.mac_address not in p2.content()
    # A POST naming the other account's ENI changes nothing either.
    p2.goto(f"{base}/console/enis/{oeni}")
    delete = c.form_with_button(p2.content(), "Delete")
    assert delete is not None
    action = c.absolute(base, p2.url, delete.action).replace(oeni, eni)
    fields = {k: v.replace(oeni, eni) for k, v in delete.hidden().items()}
    resp = c.post_form(p2, action, fields)
    print("a Delete POST naming another account's ENI:", resp.status, p2.url)
    assert resp.status == 404 or "InvalidEniId.NotFound" in p2.content(), (resp.status, p2.url)
    assert root.eni_status(eni) == "Available"

    # And the root account sees its own, not theirs.
    signed_in(page, base)
    expect(eni_row(page, eni)).to_have_count(1)
    expect(eni_row(page, oeni)).to_have_count(0)


# ---------------------------------------------------------------- an ENI's life through the forms


def test_eni_lifecycle_through_the_forms(servers, cloud_of, page, shot):
    """One server with 1.5 s transitions, so that Attaching and Detaching can be watched."""
    srv = servers("--transition-delay-ms", "1500")
    base = c.base_url(srv)
    cloud = cloud_of(srv)
    # A VPC the form starts on (or not), and the one the ENI goes into.
    decoy_vpc, decoy_vsw, (decoy_g,) = network(cloud, "172.16.0.0/16", "172.16.1.0/24")
    vpc, vsw, (g1, g2) = network(cloud, groups=2)
    inst = cloud.instance(vsw, [g1], wait=False)
    wait(lambda: cloud.instance_status(inst), lambda s: s == "Running", f"{inst} Running")
    name, tag = unique(), ("team", "console")

    signed_in(page, base)
    with page.expect_navigation():
        page.get_by_role("link", name="Create network interface", exact=True).click()
    assert c.path_of(page.url) == "/console/enis/new", page.url

    # Choosing the VPC reloads the form with its vSwitches and groups, and only those.
    for choice in ([decoy_vpc, vpc] if c.field(page, "VPC").input_value() == vpc else [vpc]):
        with page.expect_navigation():
            c.field(page, "VPC").select_option(choice)
    vsw_select = c.field(page, "vSwitch")
    groups = c.field(page, "Security groups")
    expect(vsw_select.locator(f'option[value="{vsw}"]')).to_have_count(1)
    expect(vsw_select.locator(f'option[value="{decoy_vsw}"]')).to_have_count(0)
    expect(groups.locator(f'option[value="{g1}"]')).to_have_count(1)
    expect(groups.locator(f'option[value="{decoy_g}"]')).to_have_count(0)
    expect(c.field(page, "VPC")).to_have_value(vpc)
    vsw_select.select_option(vsw)
    groups.select_option([g1])
    expect(c.field(page, "Primary IP")).to_have_count(1)
    expect(c.field(page, "Secondary IP count")).to_have_count(1)
    c.field(page, "Name").fill(name)
    c.field(page, "Description").fill("made in the console")
    c.field(page, "Tag key").fill(tag[0])
    c.field(page, "Tag value").fill(tag[1])
    shot(page, "eni-new")
    c.submit(page, "Create")
    found = cloud.describe_enis(network_interface_name=name).network_interface_sets.network_interface_set
    assert len(found) == 1, [e.network_interface_id for e in found]
    got = found[0]
    eni = got.network_interface_id
    cloud.enis.append(eni)
    print("after Create the browser is at", page.url)
    assert (got.vpc_id, got.v_switch_id, got.description, got.status, got.type) == (
        vpc, vsw, "made in the console", "Available", "Secondary")
    assert got.security_group_ids.security_group_id == [g1]
    assert [(t.tag_key, t.tag_value) for t in got.tags.tag] == [tag]

    detail = f"{base}/console/enis/{eni}"
    page.goto(detail)
    expect(h1(page)).to_have_text(eni)
    body = page.locator("body")
    for text in (got.mac_address, got.private_ip_address, g1, tag[0], tag[1], name):
        expect(body).to_contain_text(text)
    expect(c.button(page, "Detach")).to_have_count(0)
    expect(c.button(page, "Unbind EIP", prefix=True)).to_have_count(0)
    shot(page, "eni-detail")

    # Attach; the list follows Attaching -> InUse in place.
    c.field(page, "Instance").select_option(inst)
    c.submit(page, "Attach")
    page.goto(f"{base}/console/enis")
    print("Attaching, in place:", follow_live(page, eni, "Attaching", "InUse"))
    shot(page, "enis-attached")
    e = cloud.eni_get(eni)
    assert (e.status, e.instance_id) == ("InUse", inst)

    page.goto(detail)
    expect(page.locator("body")).to_contain_text(inst)
    expect(c.button(page, "Attach")).to_have_count(0)
    expect(c.button(page, "Delete")).to_have_count(0)
    c.submit(page, "Detach")
    page.goto(f"{base}/console/enis")
    print("Detaching, in place:", follow_live(page, eni, "Detaching", "Available"))
    e = cloud.eni_get(eni)
    assert (e.status, e.instance_id) == ("Available", "")

    # Two private IPs by count; then one of them goes.
    page.goto(detail)
    expect(c.field(page, "IPv6 count")).to_have_count(1)
    c.field(page, "Count").fill("2")
    c.submit(page, "Assign private IPs")
    ips = wait(lambda: secondary_ips(cloud, eni), lambda v: len(v) == 2, "2 secondary IPs")
    page.goto(detail)
    for ip in ips:
        expect(body).to_contain_text(ip)
    checkbox(page, ips[0]).check()
    c.submit(page, "Unassign")
    wait(lambda: secondary_ips(cloud, eni), lambda v: v == [ips[1]], f"only {ips[1]} left")

    # Name, description, groups.
    page.goto(detail)
    c.field(page, "Name").fill(name + "-renamed")
    c.field(page, "Description").fill("changed in the console")
    c.field(page, "Security groups").select_option([g1, g2])
    c.submit(page, "Save")
    e = cloud.eni_get(eni)
    assert (e.network_interface_name, e.description) == (name + "-renamed", "changed in the console")
    assert sorted(e.security_group_ids.security_group_id) == sorted([g1, g2])

    # An EIP on the primary address, then off.
    eip = cloud.eips.allocate()
    page.goto(detail)
    c.field(page, "EIP").select_option(eip.allocation_id)
    c.field(page, "Private IP").select_option(got.private_ip_address)
    c.submit(page, "Bind EIP")
    bound = cloud.eips.wait(eip.allocation_id, "InUse")
    assert (bound.instance_id, bound.instance_type, bound.private_ip_address) == (
        eni, "NetworkInterface", got.private_ip_address)
    page.goto(detail)
    expect(body).to_contain_text(eip.eip_address)
    c.submit(page, "Unbind EIP", prefix=True)
    cloud.eips.wait(eip.allocation_id, "Available")

    # Delete.
    page.goto(detail)
    c.submit(page, "Delete")
    wait(lambda: cloud.eni_get(eni), lambda e: e is None, f"{eni} gone")
    page.goto(f"{base}/console/enis")
    expect(eni_row(page, eni)).to_have_count(0)


def test_api_refusals_are_shown_with_their_code(server, base, page, cloud_of, shot):
    from alibabacloud_ecs20140526 import models as em

    cloud = cloud_of(server)
    _, vsw, (g,) = network(cloud)
    inst = cloud.instance(vsw, [g])
    free = cloud.eni(vsw, [g]).network_interface_id
    used = cloud.eni(vsw, [g]).network_interface_id
    cloud.attach(used, inst)
    outside = "10.0.99.5"
    refusal = h.expect_tea_error(
        lambda: cloud.ecs.assign_private_ip_addresses(em.AssignPrivateIpAddressesRequest(
            region_id=h.REGION, network_interface_id=free, private_ip_address=[outside])),
        "InvalidVSwitchId.IpInvalid", 403)
    message = h.tea_error(refusal)[3].get("Message")

    signed_in(page, base)
    # An address outside the vSwitch.
    page.goto(f"{base}/console/enis/{free}")
    c.field(page, "Addresses").fill(outside)
    resp = c.submit(page, "Assign private IPs")
    print("the refused assignment's page:", resp.status, page.url)
    expect(alert(page)).to_contain_text("InvalidVSwitchId.IpInvalid")
    if message:
        expect(alert(page)).to_contain_text(message)
    shot(page, "refused")
    assert secondary_ips(cloud, free) == []

    # Deleting an InUse ENI: through its Delete button if it has one, else a crafted POST of
    # an Available ENI's Delete form aimed at it.
    page.goto(f"{base}/console/enis/{used}")
    if c.button(page, "Delete").count():
        print("an InUse ENI offers Delete")
        c.submit(page, "Delete")
    else:
        page.goto(f"{base}/console/enis/{free}")
        delete = c.form_with_button(page.content(), "Delete")
        assert delete is not None
        action = c.absolute(base, page.url, delete.action).replace(free, used)
        resp = c.post_form(page, action, {k: v.replace(free, used) for k, v in delete.hidden().items()})
        print("an InUse ENI offers no Delete; a crafted Delete POST:", resp.status, page.url)
    expect(alert(page)).to_contain_text("InvalidOperation.InvalidEniState")
    assert cloud.eni_status(used) == "InUse"


# ---------------------------------------------------------------- the list, instances, VPCs


def test_list_filters_and_pages(server, base, page, cloud_of):
    cloud = cloud_of(server)
    vpc_a, vsw_a, (ga,) = network(cloud)
    vpc_b, vsw_b, (gb,) = network(cloud, "10.1.0.0/16", "10.1.1.0/24")
    name = unique()
    a1 = cloud.eni(vsw_a, [ga], network_interface_name=name, tags={"role": "filtered"}).network_interface_id
    many = [a1] + [cloud.eni(vsw_a, [ga]).network_interface_id for _ in range(54)]
    b1 = cloud.eni(vsw_b, [gb]).network_interface_id

    signed_in(page, base)
    labels = ("VPC", "vSwitch", "Instance", "Type", "Status", "Name", "Tag key", "Tag value")
    for label in labels:
        expect(c.field(page, label)).to_have_count(1)
    expect(page.get_by_role("link", name="Create network interface", exact=True)).to_have_count(1)

    c.set_field(c.field(page, "Name"), name)
    c.submit(page, "Filter")
    assert c.path_of(page.url) == "/console/enis" and "?" in page.url, page.url
    expect(page.locator("#enis tr[data-eni]")).to_have_count(1)
    expect(eni_row(page, a1)).to_have_count(1)

    page.goto(f"{base}/console/enis")
    c.set_field(c.field(page, "Tag key"), "role")
    c.set_field(c.field(page, "Tag value"), "filtered")
    c.submit(page, "Filter")
    expect(page.locator("#enis tr[data-eni]")).to_have_count(1)
    expect(eni_row(page, a1)).to_have_count(1)

    page.goto(f"{base}/console/enis")
    c.set_field(c.field(page, "VPC"), vpc_b)
    c.submit(page, "Filter")
    expect(page.locator("#enis tr[data-eni]")).to_have_count(1)
    expect(eni_row(page, b1)).to_have_count(1)

    # VPC a's 55 ENIs, page by page: each once, and back.
    page.goto(f"{base}/console/enis")
    c.set_field(c.field(page, "VPC"), vpc_a)
    c.submit(page, "Filter")
    seen = []
    first = page.url
    while True:
        rows = page.locator("#enis tr[data-eni]")
        seen += [rows.nth(i).get_attribute("data-eni") for i in range(rows.count())]
        more = page.get_by_role("link", name="Next page", exact=True)
        if not more.count():
            break
        with page.expect_navigation():
            more.click()
        assert len(seen) < 1000
    print("pages of VPC a's ENIs:", len(seen), "rows")
    assert sorted(seen) == sorted(many), (len(seen), len(set(seen)))
    assert page.url != first, "55 ENIs fit on one page: no paging seen"
    expect(page.get_by_role("link", name="Previous page", exact=True)).to_have_count(1)


def test_instance_and_vpc_pages(server, base, page, cloud_of, shot):
    cloud = cloud_of(server)
    vpc, vsw, (g,) = network(cloud)
    inst = cloud.instance(vsw, [g])
    eni = cloud.eni(vsw, [g]).network_interface_id
    cloud.attach(eni, inst)
    eip = cloud.eips.allocate()
    cloud.eips.associate(eip.allocation_id, eni, instance_type="NetworkInterface")
    (primary,) = [e.network_interface_id for e in cloud.describe_enis(instance_id=inst, type="Primary")
                  .network_interface_sets.network_interface_set]

    signed_in(page, base)
    expect(eni_row(page, eni)).to_have_count(1)
    expect(eni_row(page, primary)).to_have_count(1)
    shot(page, "enis")
    page.goto(f"{base}/console/enis/{eni}")
    expect(page.locator("body")).to_contain_text(eip.eip_address)
    expect(page.locator("body")).to_contain_text(inst)
    shot(page, "eni-detail")

    nav = page.get_by_role("navigation")
    with page.expect_navigation():
        nav.get_by_role("link", name="Instances", exact=True).click()
    assert c.path_of(page.url) == "/console/instances", page.url
    expect(page.locator("body")).to_contain_text(inst)

    resp = page.goto(f"{base}/console/instances/{inst}")
    assert resp.status == 200
    expect(h1(page)).to_have_text(inst)
    text = page.locator("body").inner_text()
    assert primary in text and eni in text, text
    assert text.index(primary) < text.index(eni), "ENIs not in device-index order"
    shot(page, "instance")

    with page.expect_navigation():
        page.get_by_role("navigation").get_by_role("link", name="VPCs", exact=True).click()
    assert c.path_of(page.url) == "/console/vpcs", page.url
    expect(page.locator("body")).to_contain_text(vpc)

    resp = page.goto(f"{base}/console/vpcs/{vpc}")
    assert resp.status == 200
    expect(page.locator("svg").first).to_be_visible()
    for rid in (inst, primary, eni, eip.allocation_id):
        expect(page.locator(f'svg [data-id="{rid}"]')).to_have_count(1)
    shot(page, "vpc-topology")
