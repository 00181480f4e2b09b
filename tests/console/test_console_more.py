"""More of the web console in headless Chromium: an instance with extra network interfaces
made through /console/instances/new (and the API's refusal when its type holds fewer), IPv6
addresses assigned by count and unassigned on an ENI's page, a primary ENI's security groups,
the VPC topology redrawing as an ENI moves between instances (no reload), the pages at phone
width, and the keyboard and accessible names. Every result is checked through the official
SDKs.

Screenshots go to target/console-screenshots/ (phone-<page>.png for the phone-width pages).
"""

from __future__ import annotations

import ipaddress
import time

import pytest

import console_helpers as c
from console_helpers import h
from test_console import alert, checkbox, h1, network, signed_in, unique, wait

try:
    from playwright.sync_api import expect
except ImportError:  # the suite skips itself (conftest) and says why
    expect = None

PHONE = {"width": 390, "height": 844}


def choose_vpc(page, vpc: str, decoy: str):
    """On a create form: picks `vpc` in its VPC select (which reloads the form), going through
    `decoy` first if `vpc` is already the one shown, so that the choice itself is exercised."""
    for choice in ([decoy, vpc] if c.field(page, "VPC").input_value() == vpc else [vpc]):
        with page.expect_navigation():
            c.field(page, "VPC").select_option(choice)
    expect(c.field(page, "VPC")).to_have_value(vpc)


def fill_instance_form(page, base: str, vpc: str, decoy: str, vsw: str, group: str, kind: str, name: str,
                       extra: int):
    page.goto(f"{base}/console/instances/new")
    expect(h1(page)).to_have_text("Create instance")
    choose_vpc(page, vpc, decoy)
    vsw_select = c.field(page, "vSwitch")
    expect(vsw_select.locator(f'option[value="{vsw}"]')).to_have_count(1)
    vsw_select.select_option(vsw)
    c.field(page, "Security group").select_option(group)
    c.field(page, "Instance type").select_option(kind)
    c.field(page, "Name").fill(name)
    c.field(page, "Extra network interfaces").fill(str(extra))


def instances_in(cloud, vpc: str) -> list[str]:
    return sorted(i.instance_id for i in cloud.describe_instances(vpc_id=vpc, page_size=100).instances.instance)


# ---------------------------------------------------------------- an instance with extra ENIs


def test_create_instance_with_extra_network_interfaces(server, base, page, cloud_of, shot):
    cloud = cloud_of(server)
    decoy_vpc, decoy_vsw, (decoy_g,) = network(cloud, "172.16.0.0/16", "172.16.1.0/24")
    vpc, vsw, (g,) = network(cloud)
    name = unique()

    signed_in(page, base)
    page.goto(f"{base}/console/instances")
    with page.expect_navigation():
        page.get_by_role("link", name="Create instance", exact=True).click()
    assert c.path_of(page.url) == "/console/instances/new", page.url

    fill_instance_form(page, base, vpc, decoy_vpc, vsw, g, "ecs.g7.large", name, 2)
    # Only the chosen VPC's vSwitches and groups are offered.
    expect(c.field(page, "vSwitch").locator(f'option[value="{decoy_vsw}"]')).to_have_count(0)
    expect(c.field(page, "Security group").locator(f'option[value="{decoy_g}"]')).to_have_count(0)
    shot(page, "instance-new")
    resp = c.submit(page, "Create instance")
    assert resp.status == 200, (resp.status, page.url)
    path = c.path_of(page.url)
    assert path.startswith("/console/instances/i-"), f"Create instance led to {page.url}"
    inst = path.rsplit("/", 1)[1]
    cloud.instances.append(inst)
    expect(h1(page)).to_have_text(inst)

    # Through the API: the instance, Running, with its primary ENI and two secondaries.
    cloud.wait_instance(inst, "Running")
    got = cloud.instance_get(inst)
    assert (got.instance_name, got.instance_type, got.vpc_attributes.vpc_id, got.vpc_attributes.v_switch_id) == (
        name, "ecs.g7.large", vpc, vsw)
    assert got.security_group_ids.security_group_id == [g]
    assert len(got.network_interfaces.network_interface) == 3, got.network_interfaces.to_map()
    enis = cloud.describe_enis(instance_id=inst, max_results=100).network_interface_sets.network_interface_set
    by_index = {e.attachment.device_index: e for e in enis}
    assert sorted(by_index) == [0, 1, 2], [(e.network_interface_id, e.attachment.device_index) for e in enis]
    assert [by_index[i].type for i in (0, 1, 2)] == ["Primary", "Secondary", "Secondary"]
    for e in enis:
        assert (e.status, e.instance_id, e.v_switch_id) == ("InUse", inst, vsw), e.to_map()
        assert e.security_group_ids.security_group_id == [g], e.to_map()
    order = [by_index[i].network_interface_id for i in (0, 1, 2)]

    # The instance page lists them by device index: eth0, eth1, eth2.
    page.goto(f"{base}/console/instances/{inst}")
    rows = page.locator("#instance-enis tbody tr")
    expect(rows).to_have_count(3)
    shown = [(rows.nth(i).get_attribute("data-eni"), rows.nth(i).locator("td").first.inner_text().strip())
             for i in range(3)]
    assert shown == list(zip(order, ["eth0", "eth1", "eth2"])), shown
    expect(page.locator("body")).to_contain_text("ecs.g7.large (up to 3 network interfaces)")
    shot(page, "instance-3-enis")


def test_create_instance_refused_when_its_type_holds_fewer_enis(server, base, page, cloud_of, shot):
    cloud = cloud_of(server)
    decoy_vpc, _, _ = network(cloud, "172.16.0.0/16", "172.16.1.0/24")
    vpc, vsw, (g,) = network(cloud)

    signed_in(page, base)
    # ecs.g6.large holds 2 network interfaces: the primary and 2 extra are 3. And 20 extra are
    # more than any type of the catalog holds (ecs.g7.32xlarge: 15).
    for kind, extra in (("ecs.g6.large", 2), ("ecs.g7.32xlarge", 20)):
        name = unique()
        fill_instance_form(page, base, vpc, decoy_vpc, vsw, g, kind, name, extra)
        resp = c.submit(page, "Create instance")
        print(f"{kind} with {extra} extra: {resp.status} at {page.url}; the VPC field then shows "
              f"{c.field(page, 'VPC').input_value()!r} (chosen: {vpc!r})")
        expect(alert(page)).to_contain_text("EniPerInstanceLimitExceeded")
        assert resp.status == 400, resp.status
        assert c.path_of(page.url) == "/console/instances/new", page.url
        shot(page, f"refused-{kind}-{extra}")
        assert instances_in(cloud, vpc) == [], instances_in(cloud, vpc)
        named = cloud.describe_instances(instance_name=name).instances.instance
        assert named == [], [i.instance_id for i in named]


# ---------------------------------------------------------------- IPv6


def test_ipv6_addresses_assigned_by_count_and_unassigned(server, base, page, cloud_of, shot):
    from alibabacloud_vpc20160428 import models as vm

    cloud = cloud_of(server)
    vpc = cloud.vpc("192.168.0.0/16", enable_ipv_6=True)
    vsw = cloud.vswitch(vpc, "192.168.1.0/24", ipv_6cidr_block=1)
    (s,) = cloud.vpc_client.describe_vswitches(
        vm.DescribeVSwitchesRequest(region_id=h.REGION, v_switch_id=vsw)).body.v_switches.v_switch
    block = ipaddress.ip_network(s.ipv_6cidr_block)
    g = cloud.group(vpc)
    eni = cloud.eni(vsw, [g]).network_interface_id

    def v6() -> list[str]:
        return sorted(a.ipv_6address for a in cloud.eni_attr(eni).ipv_6sets.ipv_6set)

    signed_in(page, base)
    detail = f"{base}/console/enis/{eni}"
    page.goto(detail)
    c.field(page, "IPv6 count").fill("2")
    resp = c.submit(page, "Assign private IPs")
    assert resp.status == 200 and c.path_of(page.url) == f"/console/enis/{eni}", (resp.status, page.url)
    expect(alert(page)).to_have_count(0)
    got = wait(v6, lambda v: len(v) == 2, "2 IPv6 addresses")
    assert all(ipaddress.ip_address(a) in block for a in got), (got, block)
    attr = cloud.eni_attr(eni)
    assert [p.private_ip_address for p in attr.private_ip_sets.private_ip_set] == [attr.private_ip_address]

    page.goto(detail)
    table = page.locator("#addresses")
    for a in got:
        expect(table.locator("tr", has_text=a)).to_contain_text("IPv6")
        expect(checkbox(page, a)).to_have_count(1)
    shot(page, "ipv6-two")
    checkbox(page, got[0]).check()
    c.submit(page, "Unassign")
    expect(alert(page)).to_have_count(0)
    wait(v6, lambda v: v == [got[1]], f"only {got[1]} left")
    page.goto(detail)
    expect(table).not_to_contain_text(got[0])
    expect(table).to_contain_text(got[1])
    expect(checkbox(page, got[0])).to_have_count(0)


# ---------------------------------------------------------------- a primary ENI's groups


@pytest.mark.parametrize("named", [False, True], ids=["as-launched", "named-and-described"])
def test_primary_eni_security_groups_changed_on_its_page(server, base, page, cloud_of, named):
    """As RunInstances leaves it (no name, no description), and with a name and a description
    given through the API first."""
    from alibabacloud_ecs20140526 import models as em

    cloud = cloud_of(server)
    vpc, vsw, (g1, g2, g3) = network(cloud, groups=3)
    inst = cloud.instance(vsw, [g1])
    (primary,) = cloud.describe_enis(instance_id=inst, type="Primary").network_interface_sets.network_interface_set
    eni = primary.network_interface_id
    name, description = (unique(), "the primary one") if named else ("", "")
    if named:
        cloud.ecs.modify_network_interface_attribute(em.ModifyNetworkInterfaceAttributeRequest(
            region_id=h.REGION, network_interface_id=eni, network_interface_name=name, description=description))
    e = cloud.eni_get(eni)
    assert (e.network_interface_name, e.description) == (name, description)
    assert cloud.instance_get(inst).security_group_ids.security_group_id == [g1]

    signed_in(page, base)
    page.goto(f"{base}/console/enis/{eni}")
    expect(h1(page)).to_have_text(eni)
    expect(page.locator("body")).to_contain_text("A primary network interface stays with its instance.")
    expect(c.button(page, "Detach")).to_have_count(0)
    expect(c.button(page, "Delete")).to_have_count(0)
    expect(c.field(page, "Name")).to_have_value(name)
    expect(c.field(page, "Description")).to_have_value(description)
    groups = c.field(page, "Security groups")
    expect(groups).to_have_values([g1])
    groups.select_option([g2, g3])
    resp = c.submit(page, "Save")
    shown = alert(page).all_inner_texts()
    print("Save on a primary ENI:", resp.status, page.url, shown)
    assert not shown, f"Save of the groups alone on {eni}'s page was refused ({resp.status} at {page.url}): {shown}"
    assert c.path_of(page.url) == f"/console/enis/{eni}", page.url

    e = cloud.eni_get(eni)
    assert sorted(e.security_group_ids.security_group_id) == sorted([g2, g3]), e.security_group_ids.to_map()
    assert (e.type, e.status, e.instance_id, e.network_interface_name, e.description) == (
        "Primary", "InUse", inst, name, description)
    attr = cloud.eni_attr(eni)
    assert sorted(attr.security_group_ids.security_group_id) == sorted([g2, g3])
    on_instance = cloud.instance_get(inst).security_group_ids.security_group_id
    print("DescribeInstances SecurityGroupIds after the change:", on_instance)
    assert sorted(on_instance) == sorted([g2, g3]), on_instance
    # The page shows them, and the form keeps them selected.
    page.goto(f"{base}/console/enis/{eni}")
    picked = c.field(page, "Security groups").evaluate("s => [...s.selectedOptions].map(o => o.value)")
    assert sorted(picked) == sorted([g2, g3]), picked


# ---------------------------------------------------------------- the topology, live


def test_topology_follows_an_eni_between_instances_without_a_reload(servers, cloud_of, page, shot):
    srv = servers("--transition-delay-ms", "0")
    base = c.base_url(srv)
    cloud = cloud_of(srv)
    vpc, vsw, (g,) = network(cloud)
    a = cloud.instance(vsw, [g])
    b = cloud.instance(vsw, [g])
    eni = cloud.eni(vsw, [g]).network_interface_id

    signed_in(page, base)
    page.goto(f"{base}/console/vpcs/{vpc}")
    nic = page.locator(f'#topology g.nic[data-id="{eni}"]')

    def under(inst):
        return page.locator(f'#topology g.instance[data-id="{inst}"] g.nic[data-id="{eni}"]')

    expect(page.locator(f'#topology g.instance[data-id="{a}"]')).to_have_count(1)
    expect(page.locator(f'#topology g.instance[data-id="{b}"]')).to_have_count(1)
    expect(nic).to_have_count(1)
    expect(under(a)).to_have_count(0)
    expect(under(b)).to_have_count(0)
    page.evaluate("window.__sameDocument = true")

    def moved(what: str, where, status: str):
        start = time.monotonic()
        if where is None:  # not attached: in the picture, under no instance
            expect(page.locator(f'#topology g.instance g.nic[data-id="{eni}"]')).to_have_count(0, timeout=5000)
        else:
            expect(where).to_have_count(1, timeout=5000)
        expect(nic).to_have_count(1)
        expect(nic).to_have_attribute("data-status", status, timeout=5000)
        print(f"{what}: redrawn within {time.monotonic() - start:.2f}s")

    cloud.attach(eni, a)
    moved(f"attached to {a}", under(a), "InUse")
    expect(under(b)).to_have_count(0)
    shot(page, "topology-on-a")

    cloud.detach(eni, a)
    moved("detached", None, "Available")

    cloud.attach(eni, b)
    moved(f"attached to {b}", under(b), "InUse")
    expect(under(a)).to_have_count(0)
    shot(page, "topology-on-b")
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    assert c.path_of(page.url) == f"/console/vpcs/{vpc}", page.url


# ---------------------------------------------------------------- phone width


OVERFLOW = """() => {
    const w = window.innerWidth;
    const out = [];
    for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.right <= w + 1) continue;
        // Inside a container that scrolls (or clips) by itself: not the page's overflow.
        let p = el.parentElement, contained = false;
        while (p && p !== document.body) {
            const ox = getComputedStyle(p).overflowX;
            if (ox === 'auto' || ox === 'scroll' || ox === 'hidden') { contained = true; break; }
            p = p.parentElement;
        }
        if (!contained) out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
            (el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\\s+/g, '.') : '') +
            ' right=' + Math.round(r.right) + ' ' + JSON.stringify((el.textContent || '').trim().slice(0, 60)));
    }
    return {scrollWidth: document.documentElement.scrollWidth, innerWidth: w, offenders: out.slice(0, 15)};
}"""


def assert_no_horizontal_overflow(page, what: str):
    got = page.evaluate(OVERFLOW)
    print(f"{what} at {PHONE['width']}px: scrollWidth {got['scrollWidth']}, innerWidth {got['innerWidth']}")
    assert got["scrollWidth"] <= got["innerWidth"] + 1, (
        f"{what} ({page.url}) overflows horizontally: document scrollWidth {got['scrollWidth']} > "
        f"innerWidth {got['innerWidth']}; sticking out: {got['offenders']}")


def test_phone_width_pages_do_not_overflow(server, base, browser, cloud_of):
    cloud = cloud_of(server)
    vpc, vsw, (g,) = network(cloud)
    inst = cloud.instance(vsw, [g], instance_name=unique())
    eni = cloud.eni(vsw, [g], network_interface_name=unique(), description="a phone-width page",
                    secondary_private_ip_address_count=2, tags={"team": "console"}).network_interface_id
    cloud.attach(eni, inst)
    eip = cloud.eips.allocate()
    cloud.eips.associate(eip.allocation_id, eni, instance_type="NetworkInterface")

    ctx = browser.new_context(viewport=PHONE)
    try:
        page = ctx.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{base}/console/login")
        expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
        c.screenshot(page, "phone-login")
        assert_no_horizontal_overflow(page, "the sign-in page")

        signed_in(page, base)
        expect(page.locator(f'#enis tr[data-eni="{eni}"]')).to_have_count(1)
        # The table may be wider than the phone, but scrolls inside its own container.
        assert page.evaluate("!!document.querySelector('#enis').closest('.scroll')"), "#enis is not in a .scroll"
        c.screenshot(page, "phone-enis")
        assert_no_horizontal_overflow(page, "the ENI list")

        page.goto(f"{base}/console/enis/{eni}")
        expect(h1(page)).to_have_text(eni)
        expect(page.locator("body")).to_contain_text(eip.eip_address)
        c.screenshot(page, "phone-eni")
        assert_no_horizontal_overflow(page, "an ENI's page")
    finally:
        ctx.close()


# ---------------------------------------------------------------- keyboard, accessible names


def focused(page) -> str:
    return page.evaluate("""() => {
        const e = document.activeElement;
        if (!e || e === document.body) return 'body';
        return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + (e.textContent || '').trim();
    }""")


def test_sign_in_with_the_keyboard(servers, page):
    srv = servers()
    base = c.base_url(srv)
    page.goto(f"{base}/console/login")
    ident = page.get_by_label("AccessKey ID", exact=True)
    secret = page.get_by_label("AccessKey Secret", exact=True)
    sign_in = page.get_by_role("button", name="Sign in", exact=True)

    # From the top of the page, Tab reaches the AccessKey ID first of the three...
    stops = []
    for _ in range(10):
        page.keyboard.press("Tab")
        stops.append(focused(page))
        if ident.evaluate("e => e === document.activeElement"):
            break
    print("Tab stops up to the AccessKey ID:", stops)
    expect(ident).to_be_focused()
    page.keyboard.type(h.ROOT_AK)
    # ...then the secret, then the button.
    page.keyboard.press("Tab")
    expect(secret).to_be_focused()
    page.keyboard.type(h.ROOT_SECRET)
    page.keyboard.press("Tab")
    expect(sign_in).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(secret).to_be_focused()
    # Enter in the secret field signs in.
    with page.expect_navigation() as nav:
        page.keyboard.press("Enter")
    assert nav.value.status == 200, nav.value.status
    assert c.path_of(page.url) == "/console/enis", page.url
    expect(h1(page)).to_have_text("Network interfaces")
    assert c.session_cookie(page.context) is not None


CONTROLS = "button, input:not([type=hidden]), select, textarea"


def accessible_names(page) -> list[tuple[str, str, str]]:
    """(outer HTML, role, accessible name) of every button and form control of the page, as
    Chromium's accessibility tree computes them (DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("Accessibility.enable")
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        out = []
        for nid in cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": CONTROLS})["nodeIds"]:
            html = cdp.send("DOM.getOuterHTML", {"nodeId": nid})["outerHTML"]
            html = html.split(">", 1)[0] + ">"
            nodes = cdp.send("Accessibility.getPartialAXTree", {"nodeId": nid, "fetchRelatives": False})["nodes"]
            node = nodes[0] if nodes else {}
            role = (node.get("role") or {}).get("value", "")
            name = str((node.get("name") or {}).get("value", "")).strip()
            out.append((html, role, name))
        return out
    finally:
        cdp.detach()


def test_every_control_on_an_eni_page_has_an_accessible_name(server, base, page, cloud_of):
    cloud = cloud_of(server)
    vpc, vsw, (g,) = network(cloud)
    inst = cloud.instance(vsw, [g])
    # An Available ENI with a secondary IP, an instance to attach it to and a free EIP: every
    # form of an Available ENI's page. And an InUse one with an EIP: Detach and Unbind.
    free = cloud.eni(vsw, [g], secondary_private_ip_address_count=1).network_interface_id
    used = cloud.eni(vsw, [g]).network_interface_id
    cloud.attach(used, inst)
    bound = cloud.eips.allocate()
    cloud.eips.associate(bound.allocation_id, used, instance_type="NetworkInterface")
    cloud.eips.allocate()

    signed_in(page, base)
    for eni, expected in ((free, ["Attach", "Delete", "Assign private IPs", "Unassign", "Save", "Bind EIP"]),
                          (used, ["Detach", f"Unbind EIP {bound.eip_address}", "Save"])):
        page.goto(f"{base}/console/enis/{eni}")
        expect(h1(page)).to_have_text(eni)
        got = accessible_names(page)
        for html, role, name in got:
            print(f"  {eni}: {role:10} {name!r:45} {html}")
        nameless = [(html, role) for html, role, name in got if not name]
        assert not nameless, f"/console/enis/{eni}: controls without an accessible name: {nameless}"
        names = [name for _, role, name in got if role == "button"]
        for b in expected + ["Sign out"]:
            assert b in names, (b, names)
        assert len(got) >= len(expected) + 4, got
