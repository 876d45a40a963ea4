"""The codes API and the resolver, through the client."""

from __future__ import annotations

import csv
import io
import json
import re
import time

import pytest
import sqlalchemy as sa
from PIL import Image

from marketplace.app import create_app
from marketplace.traceability import story
from marketplace.traceability.models import Code
from tests import factories

BASE = "http://shanhai.test"


@pytest.fixture
def coded(session, callers):
    return factories.make_coded_lot(session, cooperative=callers.cooperative.organisation)


def mint(client, callers, coded, *, level="unit", quantity=3):
    lot, sku = coded
    response = client.post(
        f"/api/v1/lots/{lot.id}/codes",
        headers=callers.cooperative.headers,
        json={"sku_id": sku.id, "level": level, "quantity": quantity},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def minted_uris(client, callers, batch) -> list[str]:
    response = client.get(batch["csv_url"], headers=callers.cooperative.headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return [row["uri"] for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))]


def path(uri: str) -> str:
    return uri[len(BASE) :]


@pytest.fixture
def unit_uri(client, callers, coded):
    return minted_uris(client, callers, mint(client, callers, coded, quantity=1))[0]


def test_a_cooperative_mints_unit_codes_and_lists_its_batches(client, callers, coded):
    batch = mint(client, callers, coded, quantity=4)
    assert batch["level"] == "unit" and batch["quantity"] == 4
    listed = client.get("/api/v1/code-batches", headers=callers.cooperative.headers).get_json()
    assert [item["id"] for item in listed] == [batch["id"]]
    assert client.get("/api/v1/code-batches", headers=callers.other_cooperative.headers).get_json() == []
    assert len(minted_uris(client, callers, batch)) == 4


def as_missing(response, resource_id: int) -> tuple[int, dict]:
    """A problem with its id blanked: what tells another's resource from a missing one."""
    text = re.sub(rf"(?<!\w){resource_id}(?!\w)", "ID", response.get_data(as_text=True))
    return response.status_code, json.loads(text)


def assert_answered_as_missing(client, headers: dict, owned: list[tuple[str, int]]) -> None:
    """Each URL template, with the id of a resource the caller may not see, answers exactly as
    with an id that does not exist: the same 404 problem but for the id."""
    missing = 999_999
    for template, resource_id in owned:
        theirs = client.get(template.format(resource_id), headers=headers)
        absent = client.get(template.format(missing), headers=headers)
        assert as_missing(theirs, resource_id) == as_missing(absent, missing), template
        assert theirs.status_code == 404


def test_another_cooperative_cannot_download_a_batchs_codes(client, callers, coded):
    batch = mint(client, callers, coded)
    for url in (batch["csv_url"], batch["labels_url"], f"/api/v1/code-batches/{batch['id']}"):
        response = client.get(url, headers=callers.other_cooperative.headers)
        assert response.status_code == 404, url
    assert client.get(batch["csv_url"]).status_code == 401


def test_another_organisations_codes_and_batches_answer_exactly_as_missing_ones(
    client, session, callers, coded
):
    batch = mint(client, callers, coded, quantity=1)
    code_id = session.scalar(sa.select(Code.id).where(Code.batch_id == batch["id"]))
    assert_answered_as_missing(
        client,
        callers.other_cooperative.headers,
        [
            ("/api/v1/codes/{}", code_id),
            ("/api/v1/codes/{}/qr.png", code_id),
            ("/api/v1/codes/{}/qr.svg", code_id),
            ("/api/v1/code-batches/{}", batch["id"]),
            ("/api/v1/code-batches/{}/codes.csv", batch["id"]),
            ("/api/v1/code-batches/{}/labels.pdf", batch["id"]),
        ],
    )


def test_minting_more_than_100000_codes_in_one_request_is_refused(client, callers, coded):
    lot, sku = coded
    response = client.post(
        f"/api/v1/lots/{lot.id}/codes",
        headers=callers.cooperative.headers,
        json={"sku_id": sku.id, "level": "unit", "quantity": 100_001},
    )
    assert response.status_code == 422
    assert "quantity" in response.get_json()["errors"]["json"]


def test_a_codes_png_and_svg_carry_its_uri(client, session, callers, coded):
    batch = mint(client, callers, coded, quantity=1)
    uri = minted_uris(client, callers, batch)[0]
    code_id = session.scalar(sa.select(Code.id).where(Code.batch_id == batch["id"]))
    assert client.get(f"/api/v1/codes/{code_id}", headers=callers.cooperative.headers).status_code == 200
    assert (
        client.get(f"/api/v1/codes/{code_id}/qr.png", headers=callers.other_cooperative.headers).status_code
        == 404
    )
    png = client.get(f"/api/v1/codes/{code_id}/qr.png?size=256", headers=callers.cooperative.headers)
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.headers["X-Code-Uri"] == uri
    svg = client.get(f"/api/v1/codes/{code_id}/qr.svg", headers=callers.cooperative.headers)
    assert svg.mimetype == "image/svg+xml" and "<svg" in svg.get_data(as_text=True)
    zxingcpp = pytest.importorskip("zxingcpp")
    assert zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))[0].text == uri


def test_a_batchs_label_sheet_is_a_pdf(client, callers, coded):
    batch = mint(client, callers, coded, quantity=3)
    response = client.get(batch["labels_url"], headers=callers.cooperative.headers)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.get_data().startswith(b"%PDF")


def test_a_label_sheet_of_a_thousand_codes_is_refused_at_once_with_how_to_ask_in_parts(
    client, callers, coded
):
    batch = mint(client, callers, coded, quantity=1000)
    started = time.perf_counter()
    response = client.get(batch["labels_url"], headers=callers.cooperative.headers)
    assert time.perf_counter() - started < 5  # drawing it took 13-25 s of a worker
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert "?first=1&count=105, then ?first=106&count=105" in problem["detail"]
    assert "count" in problem["errors"]["query"]


def test_a_large_batch_is_printed_in_parts_of_at_most_the_configured_labels(
    settings, session_factory, callers, coded
):
    client = create_app(
        settings.with_overrides(label_sheet_max_labels=2), session_factory=session_factory
    ).test_client()
    batch = mint(client, callers, coded, quantity=5)
    labels = batch["labels_url"]
    headers = callers.cooperative.headers
    assert client.get(labels, headers=headers).status_code == 422
    assert client.get(f"{labels}?first=2&count=3", headers=headers).status_code == 422
    parts = []
    for first in (1, 3, 5):
        part = client.get(f"{labels}?first={first}&count=2", headers=headers)
        assert part.status_code == 200 and part.mimetype == "application/pdf"
        parts.append(part.get_data())
    # One QR image a label: 2, 2 and the last 1.
    assert [part.count(b"/Subtype /Image") for part in parts] == [2, 2, 1]
    beyond = client.get(f"{labels}?first=6", headers=headers)
    assert beyond.status_code == 422 and "first" in beyond.get_json()["errors"]["query"]


def test_a_browser_gets_the_scan_page_in_chinese_by_default(client, unit_uri):
    response = client.get(path(unit_uri), headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "正品，首次扫码于" in page and "已扫码 1 次" in page
    assert response.headers["Content-Language"] == "zh"
    assert '<svg class="map"' in page and "https://" not in page.split("<body>")[1].split("GTIN")[0]


def test_english_comes_from_accept_language_or_the_lang_parameter(client, unit_uri):
    by_header = client.get(path(unit_uri), headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Genuine, first scanned on" in by_header.get_data(as_text=True)
    by_query = client.get(path(unit_uri) + "&lang=en")
    assert "scanned 2 times" in by_query.get_data(as_text=True)


def test_json_tells_the_same_story(client, unit_uri, coded):
    lot, _ = coded
    response = client.get(path(unit_uri), headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["verdict"]["status"] == "genuine" and body["verdict"]["scan_count"] == 1
    assert body["story"]["lot"]["lot_code"] == lot.lot_code
    assert body["story"]["village"]["latitude"] == pytest.approx(30.2)
    assert body["story"]["quality"] is None
    assert body["code"]["serial"] == unit_uri.split("/21/")[1].split("?")[0]


def test_a_linkset_is_answered_with_200_by_parameter_or_by_accept(client, unit_uri):
    by_parameter = client.get(path(unit_uri) + "&linkType=linkset")
    by_accept = client.get(path(unit_uri), headers={"Accept": "application/linkset+json"})
    for response in (by_parameter, by_accept):
        assert response.status_code == 200
        assert response.mimetype == "application/linkset+json"
        linkset = response.get_json()["linkset"][0]
        assert linkset["anchor"] == unit_uri.split("?")[0]
        assert "https://gs1.org/voc/pip" in linkset and "https://gs1.org/voc/traceability" in linkset
    json_scan = client.get(path(unit_uri), headers={"Accept": "application/json"}).get_json()
    assert json_scan["verdict"]["scan_count"] == 1, "a linkset is not a scan"


@pytest.mark.parametrize(
    ("link_type", "target"), [("gs1:pip", "/api/v1/products/"), ("gs1:traceability", "/trace.jsonld")]
)
def test_link_types_redirect_to_their_resource(client, unit_uri, link_type, target):
    response = client.get(path(unit_uri) + f"&linkType={link_type}")
    assert response.status_code == 307
    assert target in response.headers["Location"]


def test_a_certificate_link_is_404_until_quality_provides_one(client, unit_uri):
    response = client.get(path(unit_uri) + "&linkType=gs1:certificationInfo")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_an_unknown_link_type_is_404(client, unit_uri):
    response = client.get(path(unit_uri) + "&linkType=gs1:madeUp")
    assert response.status_code == 404
    assert response.get_json()["type"] == "urn:shanhai:problem:unknown-link-type"


@pytest.mark.parametrize(
    "bad",
    [
        "/01/06970000000018/10/LOT1",
        "/01/0697/10/LOT1",
        "/01/06970000000017/21/S/10/L",
        "/01/06970000000017/10/" + "A" * 21,
        "/01/06970000000017/10/L1?17=999999",
    ],
)
def test_a_malformed_digital_link_is_400(client, bad):
    for accept in ("text/html", "application/json"):
        response = client.get(bad, headers={"Accept": accept})
        assert response.status_code == 400
        assert response.mimetype == "application/problem+json"


def test_a_tampered_or_unknown_code_says_not_genuine_and_is_never_a_200(client, unit_uri):
    serial = unit_uri.split("/21/")[1][:12]
    tampered = unit_uri.replace(serial, serial[:-1] + ("2" if serial[-1] != "2" else "3"))
    unsigned = unit_uri.split("&s=")[0]
    for uri in (tampered, unsigned):
        page = client.get(path(uri), headers={"Accept": "text/html"})
        assert page.status_code == 404 and "非正品" in page.get_data(as_text=True)
        problem = client.get(path(uri), headers={"Accept": "application/json"})
        assert problem.status_code == 404
        assert problem.get_json()["verdict"]["status"] == "not_genuine"


def test_head_answers_like_get_without_a_body_and_without_counting_a_scan(client, unit_uri):
    head = client.head(path(unit_uri), headers={"Accept": "application/json"})
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Access-Control-Allow-Origin"] == "*"
    assert head.headers["Access-Control-Expose-Headers"] == "Link, Location"
    # Preflight-only headers are for the OPTIONS answer; browsers ignore them anywhere else.
    assert "Access-Control-Max-Age" not in head.headers
    body = client.get(path(unit_uri), headers={"Accept": "application/json"}).get_json()
    assert body["verdict"]["scan_count"] == 1


def test_options_answers_cors_preflight(client, unit_uri):
    response = client.options(
        path(unit_uri), headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "Accept, Accept-Language"
    assert response.headers["Access-Control-Max-Age"] == "86400"
    assert {"GET", "HEAD", "OPTIONS"} <= set(response.headers["Allow"].replace(" ", "").split(","))


def test_the_well_known_resolver_description(client):
    response = client.get("/.well-known/gs1resolver")
    assert response.status_code == 200
    body = response.get_json()
    assert body["resolverRoot"] == BASE and body["supportedPrimaryKeys"] == ["01"]


def test_a_lot_code_resolves_to_the_lot_story(client, callers, coded):
    uri = minted_uris(client, callers, mint(client, callers, coded, level="lot"))[0]
    assert "/21/" not in uri
    body = client.get(path(uri), headers={"Accept": "application/json"}).get_json()
    assert body["code"]["level"] == "lot" and body["verdict"]["status"] == "genuine"


def test_a_recalled_lot_shows_its_recall_notice(client, session, callers, coded, unit_uri):
    lot, _ = coded
    response = client.post(
        f"/api/v1/lots/{lot.id}/status",
        headers=callers.operator.headers,
        json={"status": "recalled", "reason": "农残超标 pesticide residue"},
    )
    assert response.status_code == 200
    page = client.get(path(unit_uri)).get_data(as_text=True)
    assert "召回通知" in page and "农残超标" in page
    body = client.get(path(unit_uri), headers={"Accept": "application/json"}).get_json()
    assert body["story"]["recall"]["reason"].startswith("农残超标")
    assert body["story"]["trace"][-1]["type"] == "recalled"


def test_operators_list_codes_flagged_as_copies(app, client, callers, unit_uri):
    settings = app.extensions["shanhai"].settings
    app.extensions["shanhai"].settings = settings.with_overrides(scan_count_threshold=2)
    statuses = [
        client.get(path(unit_uri), headers={"Accept": "application/json"}).get_json()["verdict"]["status"]
        for _ in range(3)
    ]
    assert statuses == ["genuine", "genuine", "suspected_copy"]
    page = client.get(path(unit_uri)).get_data(as_text=True)
    assert "此码可能被复制" in page
    suspected = client.get("/api/v1/codes/suspected", headers=callers.operator.headers)
    assert suspected.status_code == 200 and len(suspected.get_json()) == 1
    assert client.get("/api/v1/codes/suspected", headers=callers.cooperative.headers).status_code == 403


def test_codes_signed_with_a_rotated_out_key_still_resolve(app, client, callers, coded):
    runtime = app.extensions["shanhai"]
    runtime.settings = runtime.settings.with_overrides(code_signing_keys="k1:" + "a" * 32)
    old_uri = minted_uris(client, callers, mint(client, callers, coded, quantity=1))[0]
    runtime.settings = runtime.settings.with_overrides(code_signing_keys="k2:" + "b" * 32 + ",k1:" + "a" * 32)
    new_uri = minted_uris(client, callers, mint(client, callers, coded, quantity=1))[0]
    assert "s=k1." in old_uri and "s=k2." in new_uri
    for uri in (old_uri, new_uri):
        assert client.get(path(uri), headers={"Accept": "application/json"}).status_code == 200


def test_grade_inspection_and_certificate_show_when_the_quality_module_provides_them(
    client, unit_uri, monkeypatch
):
    monkeypatch.setattr(
        story.quality_service,
        "scan_summary",
        lambda session, *, lot_id: {
            "grade": "特级",
            "standard_name": "西芹分级标准",
            "standard_version": "2026.1",
            "inspection": {"summary": "农残未检出", "inspected_at": "2026-04-09"},
            "certificate": {"number": "HG-0001", "url": "http://shanhai.test/certificates/1"},
        },
    )
    page = client.get(path(unit_uri)).get_data(as_text=True)
    assert "特级" in page and "西芹分级标准 2026.1" in page and "HG-0001" in page
    redirect = client.get(path(unit_uri) + "&linkType=gs1:certificationInfo")
    assert redirect.status_code == 307
    assert redirect.headers["Location"] == "http://shanhai.test/certificates/1"


def test_without_a_quality_module_the_page_leaves_the_quality_section_out(client, unit_uri):
    assert 'id="quality"' not in client.get(path(unit_uri)).get_data(as_text=True)


def test_the_demo_region_comes_with_scannable_codes(client, session):
    from marketplace.region.demo.loader import load_demo

    keys = client.application.extensions["shanhai"].settings.signing_keys
    assert load_demo(session, signing_keys=keys)
    session.commit()
    code = session.scalar(sa.select(Code).where(Code.serial.is_not(None)).limit(1))
    uri = client.get(f"/api/v1/codes/{code.id}/qr.svg").status_code
    assert uri == 401
    from marketplace.traceability import service as codes_service

    scan = client.get(
        path(codes_service.code_uri(code, base_url=BASE)), headers={"Accept": "application/json"}
    )
    assert scan.status_code == 200 and scan.get_json()["story"]["trace"][0]["type"] == "commissioning"


def test_scans_are_counted_by_verdict_in_the_metrics(client, unit_uri):
    from prometheus_client import REGISTRY

    def count(verdict):
        return REGISTRY.get_sample_value("shanhai_scans_total", {"verdict": verdict}) or 0

    genuine, forged = count("genuine"), count("not_genuine")
    client.get(path(unit_uri), headers={"Accept": "application/json"})
    client.head(path(unit_uri))
    tampered = path(unit_uri)[:-1] + ("A" if path(unit_uri)[-1] != "A" else "B")
    client.get(tampered, headers={"Accept": "application/json"})
    assert count("genuine") - genuine == 1
    assert count("not_genuine") - forged == 1


def test_the_link_header_points_at_the_codes_linkset_with_its_lot_still_encoded(client, session, callers):
    lot, sku = factories.make_coded_lot(
        session, cooperative=callers.cooperative.organisation, lot_code="LJ/2026"
    )
    uri = minted_uris(client, callers, mint(client, callers, (lot, sku), quantity=1))[0]
    assert "/10/LJ%2F2026/21/" in uri
    response = client.get(path(uri), headers={"Accept": "application/json"})
    assert response.status_code == 200
    linkset = uri + "&linkType=linkset"
    assert response.headers["Link"] == (f'<{linkset}>; rel="linkset"; type="application/linkset+json"')
    followed = client.get(path(linkset))
    assert followed.status_code == 200 and followed.mimetype == "application/linkset+json"
    assert followed.get_json()["linkset"][0]["anchor"] == uri.split("?")[0]
