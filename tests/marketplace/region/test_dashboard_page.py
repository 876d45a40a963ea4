"""The dashboard page in a real browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from marketplace.app import create_app
from marketplace.core import migrations as schema
from marketplace.core.db import make_engine, make_session_factory, unit_of_work
from marketplace.region.demo import region
from marketplace.region.demo.loader import load_demo

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def demo_database(settings, tmp_path_factory) -> Path:
    """The demo region, codes and scans included, built once: each test serves a copy."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    schema.upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        load_demo(session, signing_keys=settings.signing_keys, zone=settings.zone)
    engine.dispose()
    return path


@contextmanager
def serving_the_demo(settings, demo_database: Path, tmp_path: Path) -> Iterator[str]:
    """A copy of the demo database served over HTTP by a real server."""
    copy = tmp_path / "demo.sqlite3"
    shutil.copyfile(demo_database, copy)
    engine = make_engine(f"sqlite:///{copy}")
    factory = make_session_factory(engine)
    app = create_app(settings.with_overrides(testing=False), session_factory=factory)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        engine.dispose()


@pytest.fixture
def demo_server(settings, demo_database, tmp_path):
    with serving_the_demo(settings, demo_database, tmp_path) as url:
        yield url


def signed_in(chromium, url: str, problems: list[str]):
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{url}/dashboard")
    page.fill("input[name=email]", "operator@example.com")
    page.fill("input[name=password]", region.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#map circle.village-dot")
    return page


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
    problems: list[str] = []
    page = signed_in(chromium, demo_server, problems)

    villages_on_map = page.eval_on_selector_all("#map circle.village-dot", "dots => dots.length")
    labels = page.eval_on_selector_all("#map text.label", "nodes => nodes.map(n => n.textContent)")
    assert villages_on_map == len(region.VILLAGES)
    assert {village["name_zh"] for village in region.VILLAGES} <= set(labels)
    assert page.eval_on_selector_all("#income-chart rect.bar-target", "bars => bars.length") > 0
    # The demo's scans of its codes are drawn by day, and its celery delivery by grade.
    assert page.eval_on_selector_all("#scans-chart rect.bar-scans", "bars => bars.length") > 0
    # Offline: no tile is fetched, a graticule gives the scale.
    assert page.eval_on_selector_all("#map image.tile", "tiles => tiles.length") == 0
    assert page.eval_on_selector_all("#map line.graticule", "lines => lines.length") > 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert problems == []


def test_the_celery_clusters_contract_delivery_shows_by_grade(demo_server, chromium):
    problems: list[str] = []
    page = signed_in(chromium, demo_server, problems)
    celery = next(c for c in region.CLUSTERS if c["key"] == "yinong")
    page.select_option("#cluster", label=f"{celery['name_zh']} {celery['name_en']}")
    page.wait_for_selector("#deliveries tbody tr td:has-text('一级')")
    row = page.eval_on_selector("#deliveries tbody tr", "row => [...row.cells].map(c => c.textContent)")
    assert row[0] == "一级" and row[2] == "11950.000 jin"
    assert problems == []


def test_a_configured_tile_server_draws_the_map_over_its_tiles(
    settings, demo_database, tmp_path, chromium, tile_server
):
    tiles_url, requested = tile_server
    template = tiles_url + "/{z}/{x}/{y}.png"
    with serving_the_demo(settings.with_overrides(map_tile_url=template), demo_database, tmp_path) as url:
        problems: list[str] = []
        page = signed_in(chromium, url, problems)
        page.wait_for_function("document.querySelectorAll('#map image.tile').length > 0")
        hrefs = page.eval_on_selector_all(
            "#map image.tile", "tiles => tiles.map(t => t.getAttribute('href'))"
        )
        page.wait_for_timeout(500)
        assert all(href.startswith(tiles_url + "/") and href.endswith(".png") for href in hrefs)
        # The browser fetched them: the page's CSP lets the configured tile origin through.
        assert {href[len(tiles_url) :] for href in hrefs} <= set(requested)
        assert page.eval_on_selector_all("#map circle.village-dot", "d => d.length") == len(region.VILLAGES)
        page.screenshot(path=str(ARTIFACTS / "dashboard-tiles.png"), full_page=True)
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
