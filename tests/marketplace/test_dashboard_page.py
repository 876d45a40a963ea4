"""The dashboard page in a real browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from marketplace import schema
from marketplace.app import create_app
from marketplace.db import make_engine, make_session_factory, unit_of_work
from marketplace.demo import region
from marketplace.demo.loader import load_demo

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def demo_server(settings, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    schema.upgrade(engine)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        load_demo(session)
    app = create_app(settings.with_overrides(testing=False), session_factory=factory)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    engine.dispose()


@pytest.fixture
def chromium():
    if not shutil.which(CHROMIUM):
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is required under CI=true (make test installs it as root)")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_the_dashboard_signs_in_and_shows_every_demo_village(demo_server, chromium):
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{demo_server}/dashboard")
    page.fill("input[name=email]", "operator@example.com")
    page.fill("input[name=password]", region.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#map circle.village-dot")

    villages_on_map = page.eval_on_selector_all("#map circle.village-dot", "dots => dots.length")
    labels = page.eval_on_selector_all("#map text.label", "nodes => nodes.map(n => n.textContent)")
    assert villages_on_map == len(region.VILLAGES)
    assert {village["name_zh"] for village in region.VILLAGES} <= set(labels)
    assert page.eval_on_selector_all("#income-chart rect.bar-target", "bars => bars.length") > 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert problems == []


def test_the_dashboard_refuses_a_cooperative(demo_server, chromium):
    page = chromium.new_page()
    page.goto(f"{demo_server}/dashboard")
    page.fill("input[name=email]", "cooperative@example.com")
    page.fill("input[name=password]", region.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#sign-in-error:not(:empty)")
    assert "Operators only" in page.text_content("#sign-in-error")
    assert page.is_hidden("#board")
