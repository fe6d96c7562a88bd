"""The dashboard in a real browser: Debian's chromium driven by Playwright (sync API), against a
server in its own thread. Entries added with XADD must show up in the table within a second.

Skipped when chromium or playwright is missing (``apt-get install -y chromium`` and
``pip install playwright``; no ``playwright install``: the system chromium is used). Set
``TRIOREDIS_SCREENSHOT=docs/dashboard.png`` to refresh the README's screenshot.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from urllib.parse import urlsplit

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("chromium is not installed (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)")
redis = pytest.importorskip("redis")

from ..helpers import ThreadedServer  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-default-apps",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]  # loopback only


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        except Exception as e:  # a chromium Playwright cannot drive: say so, do not fail
            pytest.skip(f"chromium could not be started by Playwright: {e}")
        yield b
        b.close()


def _loopback_only(route) -> None:
    host = urlsplit(route.request.url).hostname or ""
    if host in ("127.0.0.1", "localhost", "::1"):
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def page(browser):
    # bypass_csp: Playwright evaluates its waits as strings, which the page's CSP forbids.
    ctx = browser.new_context(viewport={"width": 1180, "height": 900}, device_scale_factor=1,
                              bypass_csp=True)
    ctx.route("**/*", _loopback_only)
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, errors


def test_dashboard_shows_entries_live(page, tmp_path):
    with ThreadedServer(ws_port=-1) as srv:
        port = srv.server.gateway_port
        r = redis.Redis(port=srv.port, protocol=2)
        r.xadd("sensor:1", {"temp": "20.0"})  # before subscribing: not shown ($)
        page.goto(f"http://127.0.0.1:{port}/#streams=sensor:1,sensor:2")
        page.wait_for_function("document.getElementById('status').textContent === 'live'",
                               timeout=5000)
        page.wait_for_function("document.querySelectorAll('#legend li').length === 2",
                               timeout=5000)
        t0 = time.monotonic()
        ids = [r.xadd("sensor:1", {"temp": f"{21 + i / 10:.1f}", "unit": "C"}).decode()
               for i in range(3)]
        page.wait_for_function("document.querySelectorAll('#entries tbody tr').length >= 3",
                               timeout=1000)
        assert time.monotonic() - t0 < 1.0
        shown = page.eval_on_selector_all("#entries tbody tr", "rows => rows.map(r => r.dataset.id)")
        assert shown == ids[::-1]  # newest first
        assert "temp=21.0" in page.inner_text("#entries tbody tr:last-child")

        # Disconnected (CLIENT KILL), entries added meanwhile: the page reconnects and resumes
        # after the last ID it received, without a gap.
        for line in r.client_list():
            if line["name"] == "ws-gateway":
                r.client_kill_filter(_id=line["id"])
        missed = [r.xadd("sensor:1", {"temp": f"{30 + i}", "unit": "C"}).decode()
                  for i in range(3)]
        page.wait_for_function(
            f"document.querySelector('#entries tbody tr').dataset.id === '{missed[-1]}'",
            timeout=5000)
        shown = page.eval_on_selector_all("#entries tbody tr", "rows => rows.map(r => r.dataset.id)")
        assert shown[:6] == (ids + missed)[::-1]

        # A few seconds of two streams at changing rates for the chart (and the screenshot).
        screenshot = os.environ.get("TRIOREDIS_SCREENSHOT")
        for second in range(20 if screenshot else 3):
            n1 = round(14 + 9 * math.sin(second / 3))
            n2 = round(7 + 4 * math.cos(second / 4))
            for i in range(max(n1, n2)):
                if i < n1:
                    r.xadd("sensor:1", {"temp": f"{22 + (i % 7) / 10:.1f}", "unit": "C"})
                if i < n2:
                    r.xadd("sensor:2", {"humidity": f"{40 + i % 9}", "room": "lab"})
                time.sleep(0.95 / max(n1, n2))
        page.wait_for_function(
            "[...document.querySelectorAll('#legend b')].some(b => b.textContent !== '0/s')",
            timeout=3000)
        out = screenshot or str(tmp_path / "dashboard.png")
        page.screenshot(path=out, full_page=True)
        assert os.path.getsize(out) > 10_000
        r.close()


def test_dashboard_asks_for_the_token(page):
    with ThreadedServer(ws_port=-1, requirepass="pw") as srv:
        r = redis.Redis(port=srv.port, protocol=2, password="pw")
        page.goto(f"http://127.0.0.1:{srv.server.gateway_port}/#streams=s")
        page.wait_for_function(
            "document.getElementById('status').textContent === 'token required'", timeout=5000)
        page.fill("#token", "pw")
        page.click("#subscribe")
        page.wait_for_function("document.getElementById('status').textContent === 'live'",
                               timeout=5000)
        i = r.xadd("s", {"a": "1"}).decode()
        page.wait_for_function(
            f"document.querySelector('#entries tbody tr')?.dataset.id === '{i}'", timeout=1000)
        r.close()
