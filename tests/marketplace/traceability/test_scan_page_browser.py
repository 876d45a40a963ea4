"""The scan page in a real headless browser: Debian's Chromium driven by Playwright, phone-sized.

The page is served by a real HTTP server over a SQLite file of its own, because the browser
fetches from another thread than the test's transaction lives in.
"""

from __future__ import annotations

import os
import shutil
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from catalog import service as catalog_service
from catalog.models import LotStatus
from marketplace.app import create_app
from marketplace.core import migrations as schema
from marketplace.core.config import PROJECT_ROOT, Settings
from marketplace.core.db import make_engine, make_session_factory
from marketplace.traceability import service as codes_service
from marketplace.traceability.models import CodeLevel
from tests import factories

CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_browser():
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed (pip install -e '.[test]')"
        sync_playwright = None
    if missing is None and not (os.access(CHROMIUM, os.X_OK) or shutil.which("chromium")):
        missing = f"{CHROMIUM} is missing (apt-get install chromium; `make test` does it as root)"
    if missing:
        if IN_CI:
            pytest.fail(f"the browser test must run under CI: {missing}")
        pytest.skip(missing)
    return sync_playwright


@contextmanager
def serving_a_scan(tmp_path: Path, **overrides) -> Iterator[str]:
    """A server on 127.0.0.1 with one lot and one unit code; yields the code's URI.

    `overrides` are settings the app is created with: the CSP is fixed when the app is built.
    """
    engine = make_engine(f"sqlite:///{tmp_path / 'browser.sqlite3'}")
    schema.upgrade(engine)
    factory = make_session_factory(engine)
    server = make_server(
        "127.0.0.1",
        0,
        create_app(
            Settings(
                database_url="sqlite://",
                secret_key="browser-test",
                testing=True,
                public_base_url="http://placeholder",
                load_demo=False,
            ).with_overrides(**overrides),
            session_factory=factory,
        ),
        threaded=True,
    )
    base_url = f"http://127.0.0.1:{server.server_port}"
    server.app.extensions["shanhai"].settings = server.app.extensions["shanhai"].settings.with_overrides(
        public_base_url=base_url
    )
    with factory() as session:
        cooperative = factories.make_organisation(session, name_zh="益农蔬菜专业合作社")
        user = factories.make_user(session, role=factories.Role.COOPERATIVE, organisation=cooperative)
        village = factories.make_village(
            session,
            name_zh="群围村",
            name_en="Qunwei Village",
            township_zh="益农镇",
            county_zh="萧山区",
            latitude=Decimal("30.2467"),
            longitude=Decimal("120.4861"),
        )
        brand = factories.make_brand(
            session,
            name_zh="共富智",
            story_zh="三村联建，一片一品牌。",
            logo_png=factories.make_png(64, 64),
            logo_sha256="0" * 64,
        )
        product = factories.make_product(
            session,
            cooperative=cooperative,
            brand=brand,
            village=village,
            name_zh="益农西芹",
            description_zh="沙地西芹，脆嫩多汁。",
        )
        sku = factories.make_sku(session, product=product)
        lot = catalog_service.register_lot(
            session,
            actor=user,
            product_id=product.id,
            lot_code="YN2026-04",
            harvested_on=date(2026, 4, 8),
            quantity=Decimal("700"),
            unit="kg",
        )
        catalog_service.transition_lot(lot, LotStatus.INSPECTED)
        catalog_service.transition_lot(lot, LotStatus.GRADED)
        batch = codes_service.mint_codes(
            session,
            actor=user,
            lot_id=lot.id,
            sku_id=sku.id,
            level=CodeLevel.UNIT,
            quantity=1,
            keys=server.app.extensions["shanhai"].settings.signing_keys,
        )
        code = next(codes_service.batch_codes(session, batch=batch))
        uri = codes_service.code_uri(code, base_url=base_url)
        session.commit()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield uri
    finally:
        server.shutdown()
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture
def served_scan(tmp_path):
    with serving_a_scan(tmp_path) as uri:
        yield uri


@contextmanager
def phone_page(problems: list[str]):
    """A phone-sized Chromium page that notes console errors, failed requests and CSP refusals."""
    sync_playwright = _require_browser()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            context = browser.new_context(
                viewport={"width": 390, "height": 844},
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                locale="zh-CN",
            )
            # Injected by the browser itself, so the page's own CSP does not stop it.
            context.add_init_script(
                "document.addEventListener('securitypolicyviolation', event =>"
                " console.error(`CSP ${event.violatedDirective} refused "
                "${event.blockedURI}`))"
            )
            page = context.new_page()
            page.on(
                "console",
                lambda message: (
                    message.type in ("error", "warning")
                    and problems.append(f"console {message.type}: {message.text}")
                ),
            )
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
            yield page
        finally:
            browser.close()


def test_the_scan_page_renders_on_a_phone_with_no_console_errors(served_scan):
    problems: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with phone_page(problems) as page:
        response = page.goto(served_scan, wait_until="networkidle")
        assert response.status == 200
        assert page.locator("html").get_attribute("data-ready") == "1"
        verdict = page.locator("#verdict").inner_text()
        assert "正品" in verdict and "已扫码 1 次" in verdict
        assert page.locator("h1").inner_text() == "益农西芹"
        assert page.locator("#village svg.map").is_visible()
        assert "群围村" in page.locator("#village").inner_text()
        assert page.locator("#trace li").count() == 3
        # Nothing is wider than the phone: no sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "scan-page-phone.png"), full_page=True)
        english = page.goto(served_scan + "&lang=en", wait_until="networkidle")
        assert english.status == 200
        assert "Genuine, first scanned on" in page.locator("#verdict").inner_text()
    assert problems == []
    assert (ARTIFACTS / "scan-page-phone.png").stat().st_size > 10_000


def test_a_configured_tile_server_draws_the_village_on_the_phone(tmp_path, tile_server):
    tiles_url, requested = tile_server
    problems: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with (
        serving_a_scan(tmp_path, map_tile_url=tiles_url + "/{z}/{x}/{y}.png") as uri,
        phone_page(problems) as page,
    ):
        assert page.goto(uri, wait_until="networkidle").status == 200
        tile = page.locator("#village .tile img")
        # Qunwei Village, 30.2467° N 120.4861° E, falls in the zoom-12 tile x 3418, y 1686.
        assert tile.get_attribute("src") == tiles_url + "/12/3418/1686.png"
        assert requested == ["/12/3418/1686.png"]
        assert tile.evaluate("img => img.complete && img.naturalWidth") == 256
        assert tile.is_visible()
        page.screenshot(path=str(ARTIFACTS / "scan-page-phone-tile.png"), full_page=True)
    assert problems == []


@pytest.mark.parametrize("tile_url", ["", "http://tiles.region.test:8080/{z}/{x}/{y}.png"])
def test_the_scan_pages_csp_admits_images_from_the_configured_tile_server_only(tmp_path, tile_url):
    with (
        serving_a_scan(tmp_path, map_tile_url=tile_url) as uri,
        urllib.request.urlopen(urllib.request.Request(uri, headers={"Accept": "text/html"})) as page,
    ):
        policy = page.headers["Content-Security-Policy"]
        body = page.read().decode()
    img_src = next(
        directive.split()[1:] for directive in policy.split(";") if directive.split()[:1] == ["img-src"]
    )
    if tile_url:
        assert img_src == ["'self'", "data:", "http://tiles.region.test:8080"]
        assert 'src="http://tiles.region.test:8080/12/3418/1686.png"' in body
    else:
        assert img_src == ["'self'", "data:"]
        assert "tiles.region.test" not in body
