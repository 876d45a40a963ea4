"""Quality through HTTP: roles, immutability, certificates and the brand gate, as problems."""

from __future__ import annotations

import base64
import copy
import io

import pytest
from pypdf import PdfReader

from catalog.models import LotStatus
from quality.models import COMMITMENT
from quality.standards import shipped_standards
from tests import factories

LONGJING = next(s for s in shipped_standards() if s["code"] == "GB/T 18650")
CELERY = next(s for s in shipped_standards() if s["code"] == "NY/T 1729")


def standard_body(data: dict, category_id: int) -> dict:
    header = {"code", "version", "category", "title_zh", "title_en", "effective_from", "source"}
    return {
        "category_id": category_id,
        "code": data["code"],
        "version": data["version"],
        "title_zh": data["title_zh"],
        "title_en": data["title_en"],
        "effective_from": data["effective_from"],
        "source": data["source"],
        "definition": copy.deepcopy({key: value for key, value in data.items() if key not in header}),
    }


def publish(client, callers, data: dict, category_id: int) -> dict:
    created = client.post(
        "/api/v1/quality/standards", json=standard_body(data, category_id), headers=callers.operator.headers
    )
    assert created.status_code == 201, created.get_json()
    published = client.post(
        f"/api/v1/quality/standards/{created.get_json()['id']}/publish",
        json={},
        headers=callers.operator.headers,
    )
    assert published.status_code == 200
    return published.get_json()


@pytest.fixture
def celery_lot(session, callers):
    village = factories.make_village(session, name_zh="群围村", township_zh="益农镇", county_zh="萧山区")
    callers.cooperative.organisation.contact_phone = "0571-80000008"
    product = factories.make_product(
        session, cooperative=callers.cooperative.organisation, village=village, name_zh="共富智芹菜"
    )
    return factories.make_lot(session, product=product, quantity=factories.Decimal("42000"))


def inspect(client, callers, lot_id: int, sample: dict, caller=None):
    body = {"sample_size": 80, "sampling": {"lot_size": 1000, "level": "II", "aql": "2.5"}, **sample}
    return client.post(
        f"/api/v1/lots/{lot_id}/inspections", json=body, headers=(caller or callers.inspector).headers
    )


def test_a_celery_lot_is_inspected_graded_and_certified_end_to_end(client, session, callers, celery_lot):
    publish(client, callers, CELERY, celery_lot.product.category_id)
    sample = CELERY["examples"][0]["sample"]
    photo = base64.b64encode(factories.make_png(4, 4)).decode()
    inspected = inspect(client, callers, celery_lot.id, {**sample, "photos": [{"content_base64": photo}]})
    assert inspected.status_code == 201, inspected.get_json()
    inspection = inspected.get_json()
    assert inspection["sampling_plan"]["sample_size"] == 80
    assert client.get(inspection["photos"][0]["url"]).mimetype == "image/png"

    graded = client.post(f"/api/v1/lots/{celery_lot.id}/grades", json={}, headers=callers.inspector.headers)
    assert graded.status_code == 201, graded.get_json()
    grade = graded.get_json()
    assert (grade["grade"], grade["standard_code"], grade["standard_version"]) == (
        "一级",
        "NY/T 1729",
        "2009",
    )
    assert grade["residue_result"] == "negative"
    assert grade["explanation"][0]["criteria"][1]["within"][0]["label"] == "不低于二级"
    assert client.get(f"/api/v1/lots/{celery_lot.id}").get_json()["status"] == "graded"

    issued = client.post(
        f"/api/v1/lots/{celery_lot.id}/certificates",
        json={"basis": ["self_test", "commissioned_test"], "quantity": "21000", "issued_on": "2026-11-09"},
        headers=callers.cooperative.headers,
    )
    assert issued.status_code == 201, issued.get_json()
    certificate = issued.get_json()
    assert client.get(f"/api/v1/certificates/{certificate['id']}").get_json() == certificate

    pdf = client.get(certificate["pdf_url"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    flat = text.replace("\n", "")
    for field in (
        "食用农产品承诺达标合格证",
        "共富智芹菜",
        "21000 kg",
        "萧山区益农镇群围村",
        callers.cooperative.organisation.name_zh,
        "0571-80000008",
        "2026-11-09",
        "√自检合格",
        "√委托检测合格",
        "一级",
        "NY/T 1729-2009",
        certificate["number"],
    ):
        assert field in flat, field
    assert "内部质量控制合格" not in flat
    assert COMMITMENT in flat


def test_only_inspectors_record_inspections(client, session, callers, celery_lot):
    for caller in (callers.operator, callers.cooperative, callers.enterprise):
        response = inspect(client, callers, celery_lot.id, {}, caller=caller)
        assert response.status_code == 403
        assert response.mimetype == "application/problem+json"


def test_a_cooperative_can_never_grade_its_own_lot(client, session, callers, celery_lot):
    publish(client, callers, CELERY, celery_lot.product.category_id)
    inspect(client, callers, celery_lot.id, CELERY["examples"][0]["sample"])
    response = client.post(
        f"/api/v1/lots/{celery_lot.id}/grades", json={}, headers=callers.cooperative.headers
    )
    assert response.status_code == 403
    assert client.get(f"/api/v1/lots/{celery_lot.id}/grades").get_json() == []


def test_an_inspector_from_the_growers_own_organisation_is_refused(client, session, callers, celery_lot):
    insider = factories.make_user(
        session, role=factories.Role.INSPECTOR, organisation=callers.cooperative.organisation
    )
    response = client.post(
        f"/api/v1/lots/{celery_lot.id}/inspections",
        json={"sample_size": 3},
        headers=factories.headers_for(session, insider),
    )
    assert response.status_code == 403
    assert response.get_json()["type"] == "urn:shanhai:problem:own-lot"


def test_operators_publish_standards_and_published_versions_are_immutable(client, session, callers):
    category = factories.make_category(session)
    for caller in (callers.cooperative, callers.inspector, callers.enterprise):
        refused = client.post(
            "/api/v1/quality/standards", json=standard_body(LONGJING, category.id), headers=caller.headers
        )
        assert refused.status_code == 403
    standard = publish(client, callers, LONGJING, category.id)
    assert standard["is_published"] and standard["grade_codes"][0] == "特级"
    changed = client.patch(
        f"/api/v1/quality/standards/{standard['id']}",
        json={"title_en": "Other"},
        headers=callers.operator.headers,
    )
    assert changed.status_code == 409
    assert changed.get_json()["type"] == "urn:shanhai:problem:standard-published"
    again = client.post(
        f"/api/v1/quality/standards/{standard['id']}/publish", json={}, headers=callers.operator.headers
    )
    assert again.status_code == 409
    duplicate = client.post(
        "/api/v1/quality/standards",
        json=standard_body(LONGJING, category.id),
        headers=callers.operator.headers,
    )
    assert duplicate.status_code == 409
    current = client.get(f"/api/v1/quality/standards/current?category_id={category.id}&on=2026-04-01")
    assert current.get_json()["id"] == standard["id"]


def test_a_standard_that_cannot_be_graded_with_is_a_422_naming_the_criterion(client, session, callers):
    body = standard_body(LONGJING, factories.make_category(session).id)
    body["definition"]["grades"][0]["criteria"][0] = {"kind": "sensory", "max": "92"}
    response = client.post("/api/v1/quality/standards", json=body, headers=callers.operator.headers)
    assert response.status_code == 422
    assert "grades.0.criteria.0" in response.get_json()["errors"]["json"]["definition"]


def test_the_sampling_plan_helper_answers_iso_2859_1(client):
    plan = client.get("/api/v1/quality/sampling-plan?lot_size=1000&level=II&aql=2.5").get_json()
    assert (plan["code_letter"], plan["sample_size"], plan["accept"], plan["reject"]) == ("J", 80, 5, 6)
    assert client.get("/api/v1/quality/sampling-plan?lot_size=1000&aql=3").status_code == 422


@pytest.fixture
def tea_lot(client, session, callers):
    brand = factories.make_brand(session)
    product = factories.make_product(session, cooperative=callers.cooperative.organisation, brand=brand)
    publish(client, callers, LONGJING, product.category_id)
    minimum = client.post(
        "/api/v1/quality/brand-minimum-grades",
        json={"brand_id": brand.id, "standard_code": "GB/T 18650", "grade_code": "一级"},
        headers=callers.operator.headers,
    )
    assert minimum.status_code == 200
    return factories.make_lot(session, product=product)


def grade_tea(client, callers, lot, example_name: str) -> dict:
    sample = next(e for e in LONGJING["examples"] if e["name"] == example_name)["sample"]
    assert inspect(client, callers, lot.id, sample).status_code == 201
    return client.post(f"/api/v1/lots/{lot.id}/grades", json={}, headers=callers.inspector.headers).get_json()


def sell(client, callers, lot) -> object:
    return client.post(
        f"/api/v1/lots/{lot.id}/status", json={"status": "on_sale"}, headers=callers.cooperative.headers
    )


def assert_conflict(response, problem: str) -> dict:
    assert response.status_code == 409, response.get_json()
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == f"urn:shanhai:problem:{problem}"
    return body


def test_a_lot_at_the_brands_minimum_grade_goes_on_sale(client, callers, tea_lot):
    assert (
        grade_tea(client, callers, tea_lot, "rapid test positive once, not confirmed by both retests")[
            "grade"
        ]
        == "一级"
    )
    response = sell(client, callers, tea_lot)
    assert response.status_code == 200 and response.get_json()["status"] == "on_sale"


def test_selling_a_lot_below_its_brands_minimum_grade_is_a_409_problem(client, callers, tea_lot):
    assert grade_tea(client, callers, tea_lot, "雨前 everyday tea")["grade"] == "二级"
    body = assert_conflict(sell(client, callers, tea_lot), "grade-below-brand-minimum")
    assert "二级" in body["detail"] and "一级 or better" in body["detail"]
    assert client.get(f"/api/v1/lots/{tea_lot.id}").get_json()["status"] == "graded"


def test_selling_an_ungraded_lot_is_a_409_problem(client, callers, tea_lot):
    assert_conflict(sell(client, callers, tea_lot), "lot-not-graded")
    inspect(client, callers, tea_lot.id, LONGJING["examples"][0]["sample"])
    assert_conflict(sell(client, callers, tea_lot), "lot-not-graded")


def test_selling_a_rejected_lot_is_a_409_problem(client, callers, tea_lot):
    assert grade_tea(client, callers, tea_lot, "good leaf stored damp: moisture 7.1 %")["rejected"]
    assert_conflict(sell(client, callers, tea_lot), "lot-rejected")


def test_a_recalled_lot_stops_selling_and_shows_the_recall(client, session, callers, tea_lot):
    grade_tea(client, callers, tea_lot, "明前狮峰 pre-Qingming, hand-roasted")
    assert sell(client, callers, tea_lot).status_code == 200
    certificate = client.post(
        f"/api/v1/lots/{tea_lot.id}/certificates",
        json={"basis": ["self_test"], "contact_phone": "13800000000"},
        headers=callers.cooperative.headers,
    ).get_json()
    recalled = client.post(
        f"/api/v1/lots/{tea_lot.id}/status",
        json={"status": "recalled", "reason": "复检农残阳性"},
        headers=callers.operator.headers,
    )
    assert recalled.status_code == 200
    assert recalled.get_json()["recall_reason"] == "复检农残阳性"
    body = assert_conflict(sell(client, callers, tea_lot), "lot-recalled")
    assert "复检农残阳性" in body["detail"]
    quality = client.get(f"/api/v1/lots/{tea_lot.id}/quality").get_json()
    assert quality["recalled"] and not quality["saleable"] and quality["recall_reason"] == "复检农残阳性"
    shown = client.get(f"/api/v1/certificates/{certificate['id']}").get_json()
    assert (shown["lot_status"], shown["recall_reason"]) == ("recalled", "复检农残阳性")
    refused = client.post(
        f"/api/v1/lots/{tea_lot.id}/certificates",
        json={"basis": ["self_test"]},
        headers=callers.cooperative.headers,
    )
    assert_conflict(refused, "lot-recalled")


def test_only_operators_recall(client, session, callers, tea_lot):
    response = client.post(
        f"/api/v1/lots/{tea_lot.id}/status",
        json={"status": "recalled", "reason": "mine"},
        headers=callers.cooperative.headers,
    )
    assert response.status_code == 403
    assert client.get(f"/api/v1/lots/{tea_lot.id}").get_json()["status"] == LotStatus.REGISTERED.value


def test_another_cooperative_cannot_certify_a_lot(client, session, callers, tea_lot):
    grade_tea(client, callers, tea_lot, "明前狮峰 pre-Qingming, hand-roasted")
    response = client.post(
        f"/api/v1/lots/{tea_lot.id}/certificates",
        json={"basis": ["self_test"]},
        headers=callers.other_cooperative.headers,
    )
    assert response.status_code == 403


def test_a_brand_minimum_must_name_a_grade_of_a_published_standard(client, session, callers, tea_lot):
    brand_id = tea_lot.product.brand_id
    for body in (
        {"brand_id": brand_id, "standard_code": "GB/T 18650", "grade_code": "六级"},
        {"brand_id": brand_id, "standard_code": "GB/T 0", "grade_code": "特级"},
    ):
        response = client.post(
            "/api/v1/quality/brand-minimum-grades", json=body, headers=callers.operator.headers
        )
        assert response.status_code == 422


def test_a_graded_lot_awaiting_residue_retests_is_not_sold_or_certified(client, callers, tea_lot):
    sample = copy.deepcopy(LONGJING["examples"][0]["sample"])
    sample["lab_results"]["pesticide_residue_enzyme"] = {"inhibition_percent": "61", "retests": ["57"]}
    assert inspect(client, callers, tea_lot.id, sample).status_code == 201
    grade = client.post(
        f"/api/v1/lots/{tea_lot.id}/grades", json={}, headers=callers.inspector.headers
    ).get_json()
    assert (grade["grade"], grade["residue_result"]) == ("特级", "unconfirmed")
    body = assert_conflict(sell(client, callers, tea_lot), "residue-not-negative")
    assert "unconfirmed" in body["detail"]
    refused = client.post(
        f"/api/v1/lots/{tea_lot.id}/certificates",
        json={"basis": ["self_test"]},
        headers=callers.cooperative.headers,
    )
    assert_conflict(refused, "residue-not-negative")


def test_an_inspection_that_fits_the_standard_badly_is_graded_as_rejected_not_a_crash(
    client, callers, tea_lot
):
    odd = {
        "measurements": {
            "moisture": {"unit": "mm", "values": ["5"]},
            "unknown_thing": {"unit": "g", "values": ["1"]},
        },
        "unit_classes": {"basis": "weight", "counts": {"mystery": "3"}},
        "lab_results": {"pesticide_residue_enzyme": {"passed": True}},
        "sensory": {"aroma": "100"},
    }
    assert inspect(client, callers, tea_lot.id, odd).status_code == 201
    graded = client.post(f"/api/v1/lots/{tea_lot.id}/grades", json={}, headers=callers.inspector.headers)
    assert graded.status_code == 201
    grade = graded.get_json()
    assert grade["rejected"] and grade["residue_result"] == "missing"
    moisture = grade["explanation"][-1]["criteria"][0]
    assert moisture["shortfall"] == "unit mismatch"


def test_a_lab_result_must_be_a_rate_or_a_pass(client, callers, tea_lot):
    response = inspect(client, callers, tea_lot.id, {"lab_results": {"x": {"method": "strip"}}})
    assert response.status_code == 422
    assert "lab_results" in response.get_json()["errors"]["json"]


def test_grading_without_a_standard_in_force_is_a_409_problem(client, session, callers):
    product = factories.make_product(session, cooperative=callers.cooperative.organisation)
    lot = factories.make_lot(session, product=product)
    assert inspect(client, callers, lot.id, {}).status_code == 201
    response = client.post(f"/api/v1/lots/{lot.id}/grades", json={}, headers=callers.inspector.headers)
    assert_conflict(response, "no-current-standard")
    assert client.get(f"/api/v1/lots/{lot.id}").get_json()["status"] == "inspected"


def test_an_on_sale_lot_is_withdrawn_before_it_is_inspected_again(client, callers, tea_lot):
    grade_tea(client, callers, tea_lot, "明前狮峰 pre-Qingming, hand-roasted")
    assert sell(client, callers, tea_lot).status_code == 200
    assert_conflict(inspect(client, callers, tea_lot.id, {}), "invalid-lot-transition")
    withdrawn = client.post(
        f"/api/v1/lots/{tea_lot.id}/status", json={"status": "graded"}, headers=callers.cooperative.headers
    )
    assert withdrawn.status_code == 200
    assert inspect(client, callers, tea_lot.id, {}).status_code == 201
    assert_conflict(sell(client, callers, tea_lot), "lot-not-graded")
    assert len(client.get(f"/api/v1/lots/{tea_lot.id}/inspections").get_json()) == 2
