"""Helpers of the web-console suite: signing in through the login form, reading the forms a
page serves (to craft POSTs the UI would not send), raw HTTP with a session's cookie, and
screenshots.

The SDK-side plumbing (starting `eni serve`, SDK clients, polling) is the e2e suite's
(tests/e2e/e2e_helpers.py, imported as is); so are its `Cloud` and `Resources` (from
tests/e2e/conftest.py, loaded under another module name so that its fixtures are not
registered twice).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

import e2e_helpers as h  # noqa: E402

_spec = importlib.util.spec_from_file_location("e2e_conftest", HERE.parent / "e2e" / "conftest.py")
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)

REPO_ROOT = h.REPO_ROOT
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = REPO_ROOT / "target" / "console-screenshots"
COOKIE = "eni_console"
INVALID_KEY = "The AccessKey ID or AccessKey Secret is not valid."
REDIRECTS = (301, 302, 303, 307, 308)


def skip_reason() -> str | None:
    """Why the console suite cannot run here, or None."""
    if os.geteuid() != 0:
        return "the console suite runs as root (scripts/test installs chromium only as root)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} not found: apt-get install chromium (scripts/test does, as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not importable: python3 -m pip install -r tests/e2e/requirements.txt"
    return None


def base_url(server) -> str:
    """http://HOST:PORT of a running `h.EniServer`, without a trailing slash."""
    return f"http://{server.endpoint}"


# ---------------------------------------------------------------- the browser side


def sign_in(page, base: str, key_id: str, secret: str):
    """Fills the login form and presses "Sign in"; returns the navigation's (final) response."""
    page.goto(f"{base}/console/login")
    page.get_by_label("AccessKey ID", exact=True).fill(key_id)
    page.get_by_label("AccessKey Secret", exact=True).fill(secret)
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Sign in", exact=True).click()
    return nav.value


def field(page, label: str):
    """The form control labelled `label`, or `label` followed by a remark in parentheses
    ("Addresses (comma-separated)"); not a section labelled alike."""
    pattern = re.compile(rf"^{re.escape(label)}(\s*\(.*\))?$")
    return page.get_by_label(pattern).and_(page.locator("input, select, textarea"))


def button(page, name: str, prefix: bool = False):
    """The button named `name` exactly, or (prefix) whose name starts with `name` and a space
    ("Unbind EIP 198.18.0.1")."""
    if prefix:
        return page.get_by_role("button", name=re.compile(rf"^{re.escape(name)}(\s.*)?$"))
    return page.get_by_role("button", name=name, exact=True)


def submit(page, name: str, prefix: bool = False):
    """Clicks the button named `name` and waits for the page it leads to; returns that
    navigation's response."""
    with page.expect_navigation() as nav:
        button(page, name, prefix).click()
    return nav.value


def watch_status(page, selector: str) -> list[str]:
    """Records, in place, every text the element at `selector` shows from now on (a
    MutationObserver reporting to Python): the list returned grows as the page updates the
    element without a reload; a reload ends the recording."""
    seen: list[str] = []
    name = f"__statusSeen{len(_watchers)}"
    _watchers.append(name)
    page.expose_function(name, lambda text: seen.append(" ".join(text.split())))
    page.evaluate(
        """([selector, name]) => {
            const el = document.querySelector(selector);
            if (!el) throw new Error('nothing at ' + selector);
            window[name](el.textContent);
            new MutationObserver(() => window[name](el.textContent))
                .observe(el, {subtree: true, childList: true, characterData: true, attributes: true});
        }""",
        [selector, name],
    )
    return seen


_watchers: list[str] = []


def post_form(page, action: str, fields: dict[str, str]):
    """Submits a form the page builds on the spot (same origin, so the browser sends the
    session cookie): a crafted POST, as a forged or tampered page would send it. Returns the
    navigation's response."""
    with page.expect_navigation() as nav:
        page.evaluate(
            """([action, fields]) => {
                const f = document.createElement('form');
                f.method = 'post';
                f.action = action;
                for (const [k, v] of Object.entries(fields)) {
                    const i = document.createElement('input');
                    i.type = 'hidden'; i.name = k; i.value = v;
                    f.appendChild(i);
                }
                document.body.appendChild(f);
                f.submit();
            }""",
            [action, fields],
        )
    return nav.value


def set_field(locator, value):
    """Fills an input or selects an option (by value or label), whichever the control is."""
    tag = locator.evaluate("e => e.tagName.toLowerCase()")
    if tag == "select":
        locator.select_option(value)
    else:
        locator.fill(value)


def session_cookie(context) -> dict | None:
    """The console's session cookie in a browser context (Playwright's cookie dict), or None."""
    for c in context.cookies():
        if c["name"] == COOKIE:
            return c
    return None


def path_of(url: str) -> str:
    """The path of a URL, without query or fragment."""
    return re.sub(r"^[a-z]+://[^/]+", "", url).split("?", 1)[0].split("#", 1)[0]


def screenshot(page, name: str) -> Path:
    """A full-page screenshot into target/console-screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# ---------------------------------------------------------------- raw HTTP


def raw(cookie_value: str | None = None) -> requests.Session:
    """A requests session that sends the console cookie `cookie_value` (if any) with every
    request, whatever its path, and follows no redirect unless asked."""
    s = requests.Session()
    if cookie_value is not None:
        s.headers["Cookie"] = f"{COOKIE}={cookie_value}"
    return s


def redirect_target(resp) -> str | None:
    """The path a redirect response points at, or None if it is not a redirect."""
    if resp.status_code not in REDIRECTS:
        return None
    return path_of(resp.headers.get("Location", ""))


class Form:
    def __init__(self, action: str, method: str):
        self.action = action
        self.method = method
        # (name, type, value, checked)
        self.fields: list[tuple[str, str, str, bool]] = []
        self.buttons: list[str] = []

    def hidden(self) -> dict[str, str]:
        return {n: v for n, t, v, _ in self.fields if t == "hidden"}

    def __repr__(self):
        return f"Form({self.method} {self.action} buttons={self.buttons} fields={[f[0] for f in self.fields]})"


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._button: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), (a.get("method") or "get").lower())
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button"):
                self._form.buttons.append(a.get("value", ""))
            elif a.get("name"):
                self._form.fields.append((a["name"], kind, a.get("value", ""), "checked" in a))
        elif tag in ("select", "textarea") and a.get("name"):
            self._form.fields.append((a["name"], tag, "", False))
        elif tag == "button":
            self._button = []

    def handle_data(self, data):
        if self._button is not None:
            self._button.append(data)

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None and self._form is not None:
            self._form.buttons.append(" ".join("".join(self._button).split()))
            self._button = None
        elif tag == "form":
            self._form = None


def forms(html: str) -> list[Form]:
    p = _FormParser()
    p.feed(html)
    return p.forms


def form_with_button(html: str, button: str) -> Form | None:
    """The form holding a button named `button`, or None."""
    for f in forms(html):
        if button in f.buttons:
            return f
    return None


def absolute(base: str, page_url: str, action: str) -> str:
    """A form's action as an absolute URL (empty action: the page's own URL)."""
    if not action:
        return page_url.split("#", 1)[0]
    if action.startswith("http://") or action.startswith("https://"):
        return action
    if action.startswith("/"):
        return base + action
    return page_url.rsplit("/", 1)[0] + "/" + action


def raw_sign_in(base: str, key_id: str, secret: str, session: requests.Session | None = None):
    """Signs in with plain HTTP: GET the login page, POST its form (with whatever hidden fields
    it carries) without following the redirect. Returns the POST's response."""
    s = session or requests.Session()
    page = s.get(f"{base}/console/login", timeout=30)
    form = next((f for f in forms(page.text) if f.method == "post"), None)
    assert form is not None, f"no POST form on /console/login: {page.text[:500]}"
    data = form.hidden()
    data.update(access_key_id=key_id, access_key_secret=secret)
    return s.post(absolute(base, page.url, form.action), data=data, allow_redirects=False, timeout=60)
