"""Malformed, oversized and wrongly typed requests to every write endpoint: never a 5xx, always a
problem, and nothing written."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
import sqlalchemy as sa

from marketplace.core.db import Base
from tests import factories
from tests.marketplace.accounts.test_authorisation import WRITE_ACCESS, concrete

# The logo takes a file, token revocation and village removal no body, and Stripe's webhook a
# signed raw payload (tests/orders has its own tests of bad signatures).
NOT_JSON = {
    ("PUT", "/api/v1/brands/<int:brand_id>/logo"),
    ("DELETE", "/api/v1/auth/token"),
    ("DELETE", "/api/v1/organisations/<int:organisation_id>/villages/<int:village_id>"),
    ("POST", "/api/v1/payments/stripe/webhook"),
}
JSON_ENDPOINTS = sorted(key for key in WRITE_ACCESS if key not in NOT_JSON)


def caller_for(callers, rule_key):
    allowed = WRITE_ACCESS[rule_key]
    if allowed is None:
        return {}
    role = "operator" if "operator" in allowed else sorted(allowed)[0]
    return callers.by_role()[role].headers


def row_counts(session) -> dict[str, int]:
    session.expire_all()
    return {
        table.name: session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


def assert_problem(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == response.status_code
    assert body["title"] and body["type"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def request_body_schemas(client) -> dict[tuple[str, str], dict]:
    spec = client.get("/api/openapi.json").get_json()
    components = spec["components"]["schemas"]
    found = {}
    for path, operations in spec["paths"].items():
        rule = re.sub(r"\{reference\}", "<string(length=22):reference>", path)
        rule = re.sub(r"\{(\w+_id)\}", r"<int:\1>", rule)
        for method, operation in operations.items():
            if method == "parameters":
                continue
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            if "$ref" in schema:
                found[(method.upper(), rule)] = components[schema["$ref"].rsplit("/", 1)[-1]]
    return found


WRONG_VALUE = {
    "string": 12345,
    "integer": "twelve",
    "number": "lots",
    "boolean": "maybe",
    "array": {"not": "a list"},
    "object": ["not", "an", "object"],
}


@pytest.mark.parametrize("rule_key", JSON_ENDPOINTS)
def test_malformed_bodies_get_a_problem_and_write_nothing(client, session, callers, rule_key):
    method, rule = rule_key
    headers = caller_for(callers, rule_key)
    before = row_counts(session)
    bodies = [
        ('{"name_zh": ', "application/json", (400,)),
        ("[]", "application/json", (400, 422)),
        ('"just a string"', "application/json", (400, 422)),
        ("null", "application/json", (400, 422)),
        ("name_zh=x", "application/x-www-form-urlencoded", (415,)),
        ("<xml/>", "text/plain", (415,)),
        ('{"unexpected_field": 1}', "application/json", (404, 422)),
        ("\xff\xfe garbage", "application/json", (400,)),
    ]
    for data, content_type, statuses in bodies:
        response = client.open(
            concrete(rule), method=method, data=data, content_type=content_type, headers=headers
        )
        assert_problem(response, *statuses)
    assert row_counts(session) == before


@pytest.mark.parametrize("rule_key", JSON_ENDPOINTS)
def test_wrongly_typed_fields_are_named_in_the_problem(client, session, callers, rule_key):
    method, rule = rule_key
    schema = request_body_schemas(client)[rule_key]
    properties = {
        name: prop for name, prop in schema.get("properties", {}).items() if not prop.get("readOnly")
    }
    body = {name: WRONG_VALUE.get(prop.get("type"), {"x": 1}) for name, prop in properties.items()}
    before = row_counts(session)
    response = client.open(
        concrete(rule).replace("999999", "1"), method=method, json=body, headers=caller_for(callers, rule_key)
    )
    problem = assert_problem(response, 404, 422)
    if response.status_code == 422:
        named = set(problem["errors"]["json"])
        assert named == set(properties), (named, set(properties))
    assert row_counts(session) == before


@pytest.mark.parametrize("rule_key", JSON_ENDPOINTS)
def test_oversized_bodies_are_refused_with_413(client, callers, rule_key):
    method, rule = rule_key
    huge = b'{"name_zh": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    response = client.open(
        concrete(rule),
        method=method,
        data=huge,
        content_type="application/json",
        headers=caller_for(callers, rule_key),
    )
    assert_problem(response, 413)


def test_absurd_numbers_and_strings_are_validation_errors_not_crashes(client, session, callers):
    village = {
        "name_zh": "村" * 1000,
        "name_en": "",
        "township_zh": "镇",
        "township_en": "Town",
        "county_zh": "区",
        "county_en": "County",
        "latitude": "1e999",
        "longitude": "NaN",
        "baseline_income_fen": 10**30,
        "baseline_year": -5,
    }
    response = client.post("/api/v1/villages", json=village, headers=callers.operator.headers)
    problem = assert_problem(response, 422)
    assert set(problem["errors"]["json"]) == {
        "name_zh",
        "name_en",
        "latitude",
        "longitude",
        "baseline_income_fen",
        "baseline_year",
    }


def test_ids_beyond_the_database_integer_range_are_simply_not_found(client):
    for path in ("/api/v1/lots/99999999999999", "/api/v1/villages/2147483648"):
        assert_problem(client.get(path), 404)
    assert_problem(client.get("/api/v1/lots?product_id=99999999999999"), 422)


def test_pages_far_beyond_the_end_are_empty(client):
    response = client.get("/api/v1/lots?page=99999999999999999999999")
    assert response.status_code == 200
    assert response.get_json() == []


def test_nul_characters_are_refused_in_bodies_and_queries(client, session, callers):
    before = row_counts(session)
    response = client.post(
        "/api/v1/categories",
        headers=callers.operator.headers,
        json={"slug": "nul", "name_zh": "a\u0000b", "name_en": "x"},
    )
    assert assert_problem(response, 422)["errors"]["json"] == {"name_zh": ["must not contain NUL characters"]}
    assert_problem(client.get("/api/v1/products?q=a%00b"), 422)
    assert row_counts(session) == before


def deeply_nested(levels: int) -> str:
    return '{"name_zh": ' + "[" * levels + "]" * levels + "}"


@pytest.mark.parametrize("rule_key", JSON_ENDPOINTS)
def test_json_nested_a_thousand_deep_is_a_400_problem_and_writes_nothing(client, session, callers, rule_key):
    method, rule = rule_key
    before = row_counts(session)
    for levels in (33, 1000, 100_000):
        response = client.open(
            concrete(rule),
            method=method,
            data=deeply_nested(levels),
            content_type="application/json",
            headers=caller_for(callers, rule_key),
        )
        assert "nests deeper than 32 levels" in assert_problem(response, 400)["detail"]
    assert row_counts(session) == before


def test_json_as_deep_as_a_real_body_still_parses(client, callers):
    body = {"slug": "deep", "name_zh": "深", "name_en": "Deep", "x": [[[[[[[[[[]]]]]]]]]]}
    response = client.post("/api/v1/categories", headers=callers.operator.headers, json=body)
    assert assert_problem(response, 422)["errors"]["json"] == {"x": ["Unknown field."]}


def raw_json(body) -> dict:
    # json.dumps escapes a lone surrogate as \ud800, as any client's JSON encoder would.
    return {"data": json.dumps(body), "content_type": "application/json"}


@pytest.mark.parametrize("rule_key", JSON_ENDPOINTS)
def test_a_lone_surrogate_in_any_string_field_is_named_in_a_422(client, session, callers, rule_key):
    method, rule = rule_key
    schema = request_body_schemas(client)[rule_key]
    strings = [
        name
        for name, prop in schema.get("properties", {}).items()
        if prop.get("type") == "string" and not prop.get("readOnly")
    ]
    if not strings:
        pytest.skip("no string fields")
    before = row_counts(session)
    for name in strings:
        response = client.open(
            concrete(rule),
            method=method,
            headers=caller_for(callers, rule_key),
            **raw_json({name: "a\ud800b"}),
        )
        problem = assert_problem(response, 422)
        assert "lone surrogates" in problem["errors"]["json"][name][0], problem
    assert row_counts(session) == before


def test_lone_surrogates_in_free_text_and_keys_are_refused_before_the_database(client, session, callers):
    lot = factories.make_lot(
        session, product=factories.make_product(session, cooperative=callers.cooperative.organisation)
    )
    before = row_counts(session)
    bodies = [
        (
            "/api/v1/categories",
            callers.operator,
            {"slug": "tea", "name_zh": "茶\ud800", "name_en": "Tea"},
            "name_zh",
        ),
        (
            f"/api/v1/lots/{lot.id}/trace-events",
            callers.cooperative,
            {"event_type": "shipping", "place": "\udfff"},
            "place",
        ),
        (
            f"/api/v1/lots/{lot.id}/trace-events",
            callers.cooperative,
            {"event_type": "shipping", "details": {"ref\ud800": "x"}},
            "details",
        ),
    ]
    for path, caller, body, field in bodies:
        problem = assert_problem(client.post(path, headers=caller.headers, **raw_json(body)), 422)
        assert field in problem["errors"]["json"], problem
        json.dumps(problem, ensure_ascii=False).encode("utf-8")
    assert row_counts(session) == before


EXTREME_DAYS = ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01"]
EXTREME_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "1899-12-31T12:00:00+08:00",
    "2200-01-01T00:00:00Z",
]


def date_fields(spec: dict):
    """(method, rule, location, field, format) of every date a request carries, from the spec."""
    components = spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        rule = re.sub(r"\{reference\}", "<string(length=22):reference>", path)
        rule = re.sub(r"\{(\w+_id)\}", r"<int:\1>", rule)
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("schema", {}).get("format") in {"date", "date-time"}:
                    yield (method.upper(), rule, "query", parameter["name"], parameter["schema"]["format"])
            content = operation.get("requestBody", {}).get("content", {})
            reference = content.get("application/json", {}).get("schema", {}).get("$ref")
            if reference:
                schema = components[reference.rsplit("/", 1)[-1]]
                for name, prop in schema.get("properties", {}).items():
                    if prop.get("format") in {"date", "date-time"} and not prop.get("readOnly"):
                        yield method.upper(), rule, "json", name, prop["format"]


def test_every_date_a_request_carries_is_held_to_plausible_bounds(client, session, callers):
    fields = sorted(set(date_fields(client.get("/api/openapi.json").get_json())))
    named = {(rule, field) for _, rule, _, field, _ in fields}
    # The business dates of the issue, the trace and audit times and the dashboards' periods.
    assert {
        ("/api/v1/lots", "harvested_on"),
        ("/api/v1/market-prices", "priced_on"),
        ("/api/v1/contracts/<int:contract_id>/advances", "given_on"),
        ("/api/v1/contracts/<int:contract_id>/deliveries", "delivered_on"),
        ("/api/v1/lots/<int:lot_id>/certificates", "issued_on"),
        ("/api/v1/lots/<int:lot_id>/trace-events", "occurred_at"),
        ("/api/v1/audit-events", "since"),
        ("/api/v1/audit-events", "until"),
        ("/api/v1/dashboard/clusters/<int:cluster_id>", "from"),
        ("/api/v1/dashboard/villages.geojson", "to"),
        ("/api/v1/dashboard/clusters/<int:cluster_id>/villages.csv", "from"),
        ("/api/v1/dashboard/clusters/<int:cluster_id>/villages.xlsx", "from"),
        ("/api/v1/dashboard/clusters/<int:cluster_id>/report.pdf", "to"),
    } <= named
    cluster = factories.make_cluster(session)
    before = row_counts(session)
    for method, rule, location, field, kind in fields:
        path = concrete(rule).replace("999999", str(cluster.id)) if "cluster_id" in rule else concrete(rule)
        headers = (
            caller_for(callers, (method, rule))
            if (method, rule) in WRITE_ACCESS
            else callers.operator.headers
        )
        for value in EXTREME_DAYS if kind == "date" else EXTREME_TIMES:
            if location == "query":
                response = client.open(
                    f"{path}?{field}={value.replace('+', '%2B')}", method=method, headers=headers
                )
            else:
                response = client.open(path, method=method, headers=headers, json={field: value})
            problem = assert_problem(response, 422)
            assert "must be a" in problem["errors"][location][field][0], (rule, field, problem)
    assert row_counts(session) == before


def test_delivery_windows_are_held_to_the_bounds_too(client, callers):
    window = {"starts_on": "0001-01-01", "ends_on": "9999-12-31", "quantity": "1"}
    response = client.post(
        "/api/v1/contracts",
        headers=callers.enterprise.headers,
        json={"grower_id": 1, "product_id": 1, "terms": {"windows": [window]}},
    )
    errors = assert_problem(response, 422)["errors"]["json"]["terms"]["windows"]["0"]
    assert set(errors) >= {"starts_on", "ends_on"}


def test_the_bounds_come_from_the_settings(settings, session_factory, session, callers):
    from marketplace.app import create_app

    narrow = create_app(
        settings.with_overrides(business_dates_from=date(2026, 1, 1), business_dates_years_ahead=0),
        session_factory=session_factory,
    ).test_client()
    product = factories.make_product(session, cooperative=callers.cooperative.organisation)
    lot = {"product_id": product.id, "lot_code": "B-1", "quantity": "5", "unit": "kg"}
    too_early = narrow.post(
        "/api/v1/lots", headers=callers.cooperative.headers, json={**lot, "harvested_on": "2025-12-31"}
    )
    assert assert_problem(too_early, 422)["errors"]["json"] == {
        "harvested_on": [f"must be a day from 2026-01-01 to {date.today().year}-12-31"]
    }
    in_bounds = narrow.post(
        "/api/v1/lots", headers=callers.cooperative.headers, json={**lot, "harvested_on": "2026-01-01"}
    )
    assert in_bounds.status_code == 201, in_bounds.get_json()


def signed_event(payload) -> list:
    from tests.conftest import STRIPE_WEBHOOK_SECRET

    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return [body, factories.stripe_signature(body, STRIPE_WEBHOOK_SECRET)]


MALFORMED_EVENTS = [
    b"not json at all",
    b"\xff\xfe\x00",
    b"[]",
    b'"evt"',
    b"{}",
    b'{"id": "evt_1", "data": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    {"type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1"}}},
    {"id": "evt_1", "data": {"object": {}}},
    {"id": "evt_1", "type": "payment_intent.succeeded"},
    {"id": "evt_1", "type": "payment_intent.succeeded", "data": {}},
    {"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": "pi_1"}},
    {"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {}}},
    {"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"id": 7}}},
    {
        "id": "evt_1",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_1", "amount_received": "1280"}},
    },
    {
        "id": "evt_1",
        "type": "payment_intent.payment_failed",
        "data": {"object": {"id": "pi_1", "last_payment_error": "declined"}},
    },
    {
        "id": "evt_1",
        "type": "charge.refunded",
        "data": {"object": {"payment_intent": "pi_1", "refunds": {"data": [{"amount": 5}]}}},
    },
    {
        "id": "evt_1",
        "type": "charge.refunded",
        "data": {"object": {"payment_intent": "pi_1", "refunds": {"data": [{"id": "re_1"}]}}},
    },
    {"id": "evt_1", "type": "charge.refunded", "data": {"object": {"refunds": []}}},
    {"id": "e" * 101, "type": "payment_intent.canceled", "data": {"object": {"id": "pi_1"}}},
    {"id": "evt_\ud800", "type": "customer.created", "data": {"object": {}}},
    {"id": ["evt_1"], "type": "customer.created", "data": {"object": {}}},
]


@pytest.mark.parametrize("payload", MALFORMED_EVENTS, ids=range(len(MALFORMED_EVENTS)))
def test_a_signed_but_malformed_webhook_is_a_400_problem_and_changes_nothing(client, session, payload):
    body, signature = signed_event(payload)
    before = row_counts(session)
    response = client.post(
        "/api/v1/payments/stripe/webhook",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": signature},
    )
    assert_problem(response, 400)
    assert row_counts(session) == before


def test_a_signed_event_of_a_type_we_do_not_handle_is_still_acknowledged(client):
    body, signature = signed_event(
        {
            "id": "evt_other",
            "type": "customer.created",
            "data": {"object": {"id": "cus_1", "anything": [1, {"a": None}]}},
        }
    )
    response = client.post(
        "/api/v1/payments/stripe/webhook",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": signature},
    )
    assert response.status_code == 200
    assert response.get_json() == {"received": True, "outcome": "ignored"}
