"""Malformed, oversized and wrongly typed requests to every write endpoint: never a 5xx, always a
problem, and nothing written."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from marketplace.db import Base
from tests.marketplace.test_authorisation import WRITE_ACCESS, concrete

# The logo takes a file, token revocation and village removal no body, and Stripe's webhook a
# signed raw payload (tests/orders has its own tests of bad signatures).
NOT_JSON = {("PUT", "/api/v1/brands/<int:brand_id>/logo"), ("DELETE", "/api/v1/auth/token"),
            ("DELETE", "/api/v1/organisations/<int:organisation_id>/villages/<int:village_id>"),
            ("POST", "/api/v1/payments/stripe/webhook")}
JSON_ENDPOINTS = sorted(key for key in WRITE_ACCESS if key not in NOT_JSON)


def caller_for(callers, rule_key):
    allowed = WRITE_ACCESS[rule_key]
    if allowed is None:
        return {}
    role = "operator" if "operator" in allowed else sorted(allowed)[0]
    return callers.by_role()[role].headers


def row_counts(session) -> dict[str, int]:
    session.expire_all()
    return {table.name: session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in Base.metadata.sorted_tables}


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


WRONG_VALUE = {"string": 12345, "integer": "twelve", "number": "lots", "boolean": "maybe",
               "array": {"not": "a list"}, "object": ["not", "an", "object"]}


@pytest.mark.parametrize("rule_key", JSON_ENDPOINTS)
def test_malformed_bodies_get_a_problem_and_write_nothing(client, session, callers, rule_key):
    method, rule = rule_key
    headers = caller_for(callers, rule_key)
    before = row_counts(session)
    bodies = [
        ("{\"name_zh\": ", "application/json", (400,)),
        ("[]", "application/json", (400, 422)),
        ("\"just a string\"", "application/json", (400, 422)),
        ("null", "application/json", (400, 422)),
        ("name_zh=x", "application/x-www-form-urlencoded", (415,)),
        ("<xml/>", "text/plain", (415,)),
        ("{\"unexpected_field\": 1}", "application/json", (404, 422)),
        ("\xff\xfe garbage", "application/json", (400,)),
    ]
    for data, content_type, statuses in bodies:
        response = client.open(concrete(rule), method=method, data=data, content_type=content_type,
                               headers=headers)
        assert_problem(response, *statuses)
    assert row_counts(session) == before


@pytest.mark.parametrize("rule_key", JSON_ENDPOINTS)
def test_wrongly_typed_fields_are_named_in_the_problem(client, session, callers, rule_key):
    method, rule = rule_key
    schema = request_body_schemas(client)[rule_key]
    properties = {name: prop for name, prop in schema.get("properties", {}).items()
                  if not prop.get("readOnly")}
    body = {name: WRONG_VALUE.get(prop.get("type"), {"x": 1}) for name, prop in properties.items()}
    before = row_counts(session)
    response = client.open(concrete(rule).replace("999999", "1"), method=method, json=body,
                           headers=caller_for(callers, rule_key))
    problem = assert_problem(response, 404, 422)
    if response.status_code == 422:
        named = set(problem["errors"]["json"])
        assert named == set(properties), (named, set(properties))
    assert row_counts(session) == before


@pytest.mark.parametrize("rule_key", JSON_ENDPOINTS)
def test_oversized_bodies_are_refused_with_413(client, callers, rule_key):
    method, rule = rule_key
    huge = b'{"name_zh": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    response = client.open(concrete(rule), method=method, data=huge,
                           content_type="application/json", headers=caller_for(callers, rule_key))
    assert_problem(response, 413)


def test_absurd_numbers_and_strings_are_validation_errors_not_crashes(client, session, callers):
    village = {"name_zh": "村" * 1000, "name_en": "", "township_zh": "镇", "township_en": "Town",
               "county_zh": "区", "county_en": "County", "latitude": "1e999", "longitude": "NaN",
               "baseline_income_fen": 10**30, "baseline_year": -5}
    response = client.post("/api/v1/villages", json=village, headers=callers.operator.headers)
    problem = assert_problem(response, 422)
    assert set(problem["errors"]["json"]) == {"name_zh", "name_en", "latitude", "longitude",
                                              "baseline_income_fen", "baseline_year"}


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
    response = client.post("/api/v1/categories", headers=callers.operator.headers,
                           json={"slug": "nul", "name_zh": "a\u0000b", "name_en": "x"})
    assert assert_problem(response, 422)["errors"]["json"] == {
        "name_zh": ["must not contain NUL characters"]}
    assert_problem(client.get("/api/v1/products?q=a%00b"), 422)
    assert row_counts(session) == before
