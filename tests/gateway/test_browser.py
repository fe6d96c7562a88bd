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
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("chromium is not installed (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)")
redis = pytest.importorskip("redis")

from ..helpers import ThreadedServer  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
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

        # A few seconds of two streams at changing rates for the chart.
        for second in range(3):
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
        out = str(tmp_path / "dashboard.png")
        page.screenshot(path=out, full_page=True)
        assert os.path.getsize(out) > 10_000
        r.close()


def _producer(port: int, seconds: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(EXAMPLES / "sensor_producer.py"), "--port", str(port),
         "--seconds", str(seconds), "--rate", "8"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_dashboard_with_the_sensor_example(page, tmp_path):
    """What examples/sensor_producer.py writes, as the README's picture shows it
    (``TRIOREDIS_SCREENSHOT=docs/dashboard.png`` refreshes the picture)."""
    screenshot = os.environ.get("TRIOREDIS_SCREENSHOT")
    with ThreadedServer(ws_port=-1) as srv:
        port = srv.server.gateway_port
        page.goto(f"http://127.0.0.1:{port}/#streams=sensor:1,sensor:2,sensor:3")
        page.wait_for_function("document.getElementById('status').textContent === 'live'",
                               timeout=5000)
        proc = _producer(srv.port, 25 if screenshot else 3)
        try:
            page.wait_for_function(
                "new Set([...document.querySelectorAll('#entries tbody td.stream')]"
                ".map(td => td.textContent)).size === 3", timeout=10_000)
            row = page.inner_text("#entries tbody tr:first-child")
            for field in ("temp=", "humidity=", "battery="):
                assert field in row, row
            assert proc.wait(40) == 0, proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        r = redis.Redis(port=srv.port, protocol=2)
        total = sum(r.xlen(f"sensor:{k}") for k in (1, 2, 3))
        page.wait_for_function(
            f"document.getElementById('total').textContent === '{total} received'",
            timeout=5000)
        out = screenshot or str(tmp_path / "dashboard.png")
        page.screenshot(path=out, full_page=False)
        assert os.path.getsize(out) > 10_000
        r.close()


def test_server_view(page, tmp_path):
    """The server view: tiles, commands by calls, and a replica in the topology with its
    offset and lag (``TRIOREDIS_SERVER_SCREENSHOT=docs/dashboard-server.png`` refreshes the
    picture in docs/gateway.md)."""
    screenshot = os.environ.get("TRIOREDIS_SERVER_SCREENSHOT")
    with ThreadedServer(ws_port=-1, maxmemory="64mb", maxmemory_policy="allkeys-lru") as srv, \
            ThreadedServer(replicaof=f"127.0.0.1 {srv.port}") as rep:
        r = redis.Redis(port=srv.port, protocol=2)
        r.config_resetstat()  # command counters are per process, shared by servers
        deadline = time.monotonic() + 20
        while r.info("replication")["connected_slaves"] != 1:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        for i in range(40):
            r.set(f"user:{i}", "x" * 200)
        for i in range(30):
            r.get(f"user:{i % 50}")  # 30 hits, then ...
        for i in range(10):
            r.get(f"nothere:{i}")  # ... 10 misses
        r.lpush("jobs", *range(5))
        r.wait(1, 5000)
        page.goto(f"http://127.0.0.1:{srv.server.gateway_port}/#view=server")
        page.wait_for_function("document.getElementById('status').textContent === 'live'",
                               timeout=5000)
        assert page.is_visible("#server-view") and not page.is_visible("#streams-view")
        page.wait_for_selector("#srv-commands tbody tr[data-cmd='set']", timeout=5000)
        page.wait_for_selector("#srv-topology [data-replica]", timeout=5000)
        page.wait_for_function(
            "document.getElementById('srv-topology').textContent.includes(' 0 bytes behind')",
            timeout=5000)
        cmds = page.eval_on_selector_all(
            "#srv-commands tbody tr", "rows => rows.map(r => [r.dataset.cmd,"
            " r.children[1].textContent])")
        assert cmds[0] == ["get", "40"] and ["set", "40"] in cmds
        # redis-py, the replica's link, the page's socket (as INFO counts it)
        assert page.inner_text("#srv-clients") == str(r.info("clients")["connected_clients"])
        assert int(page.inner_text("#srv-clients")) >= 3
        assert page.inner_text("#srv-blocked") == "0 blocked"
        assert page.inner_text("#srv-hits") == "75.0%"
        assert page.inner_text("#srv-keys") == "41"
        assert "of 64.0 MB maxmemory" in page.inner_text("#srv-mem-max")
        assert "allkeys-lru" in page.inner_text("#srv-mem-max")
        topo = page.inner_text("#srv-topology")
        assert f"127.0.0.1:{rep.port}" in topo and "online" in topo, topo
        # the view is live: new work shows up without reloading
        for _ in range(25):
            r.incr("hits")  # (redis-py sends INCRBY)
        page.wait_for_selector("#srv-commands tbody tr[data-cmd='incrby']", timeout=5000)
        # and the tab goes back to the streams
        page.click("#tab-streams")
        assert page.is_visible("#streams-view") and not page.is_visible("#server-view")
        page.click("#tab-server")
        if screenshot:  # a few seconds of traffic for the ops/s chart
            for second in range(12):
                for i in range(int(200 + 150 * math.sin(second / 2))):
                    r.set(f"user:{i}", i)
                    r.get(f"user:{i + 20}")
                time.sleep(1)
        out = screenshot or str(tmp_path / "server.png")
        page.screenshot(path=out, full_page=False)
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
