"""schemathesis against our own OpenAPI document: no 5xx, no response that breaks the contract.

Every operation is called anonymously and as each role: with what schemathesis generates from
the document, with hostile inputs it does not generate (JSON nested 1,000 deep, lone
surrogates, times in year 1 and 9999), and with the ids of real objects, so that responses
carrying data (nulls, decimals, problems with extensions) are checked against the document too.
Under test an unexpected exception re-raises instead of becoming a 500, so a crash anywhere
fails here loudly. Runs on SQLite and on PostgreSQL like every database test.
"""

from __future__ import annotations

import itertools
import json
import re

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from catalog.models import BrandLicence, LotStatus
from marketplace.core import migrations as schema
from marketplace.core.db import make_engine
from orders.models import Order
from tests import factories
from tests.conftest import postgres_database
from tests.marketplace.region.test_dashboard import a_cluster_with_sales

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
DEEP_BODY = '{"x": ' + "[" * 1000 + "]" * 1000 + "}"
SURROGATE = "a\ud800b"
# What a client's UTF-8 encoder sends for a lone surrogate (with surrogatepass) in a URL.
SURROGATE_IN_URL = "a%ED%A0%80b"
EXTREMES = {
    "date": ("0001-01-01", "9999-12-31"),
    "date-time": ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"),
}


@pytest.fixture(scope="module")
def fuzz_engine(engine, tmp_path_factory):
    """A database of the fuzz's own, in which every call commits for real. Thousands of calls
    as savepoints of one rolled-back transaction keep every savepoint's locks to its end and
    ran PostgreSQL out of lock slots (max_locks_per_transaction) beside the other tests."""
    if engine.dialect.name == "sqlite":
        own = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite3'}")
        schema.upgrade(own)
        yield own
        own.dispose()
        return
    with postgres_database() as own:
        yield own


@pytest.fixture
def connection(fuzz_engine):
    # No outer transaction: what the test's session writes is committed by the test, and each
    # request's own transaction is a real one.
    with fuzz_engine.connect() as connection:
        yield connection


def callers_headers(session, callers) -> list[tuple[str, dict]]:
    # A fresh token per call: the fuzzer may well revoke the one it is given.
    headers = [("anonymous", {})] + [
        (role, {"Authorization": f"Bearer {factories.make_token(session, caller.user)}"})
        for role, caller in callers.by_role().items()
    ]
    session.commit()
    return headers


ROLES = ("anonymous", "operator", "cooperative", "enterprise", "inspector")
_turns = itertools.count()


@schemathesis.pytest.from_fixture("api_schema").parametrize()
@settings(max_examples=len(ROLES), deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_documented_contract_for_every_caller(case, session, callers):
    # Each generated example goes to the next caller in turn: every operation is tried
    # anonymously and as each role at the cost of one call per example.
    role = ROLES[next(_turns) % len(ROLES)]
    headers = (
        {}
        if role == "anonymous"
        else {"Authorization": f"Bearer {factories.make_token(session, callers.by_role()[role].user)}"}
    )
    session.commit()
    case.call_and_validate(headers=headers, checks=CHECKS)


def seed(client, session, callers) -> dict:
    """One of each kind of object, so that real ids reach every operation."""
    cooperative = callers.cooperative
    cluster, villages, _ = a_cluster_with_sales(session)
    product = factories.make_product(session, cooperative=cooperative.organisation, village=villages[0])
    sku = factories.make_sku(session, product=product)
    lot = factories.make_lot(session, product=product, status=LotStatus.ON_SALE)
    factories.make_lot(
        session, product=product, status=LotStatus.RECALLED, recall_reason="moisture above the limit"
    )
    factories.make_grade(session, lot=lot)
    certificate = client.post(
        f"/api/v1/lots/{lot.id}/certificates",
        headers=cooperative.headers,
        json={"basis": ["self_test"], "quantity": "1.5", "contact_phone": "0571-8888 6666"},
    ).get_json()
    batch = client.post(
        f"/api/v1/lots/{lot.id}/codes",
        headers=cooperative.headers,
        json={"sku_id": sku.id, "level": "unit", "quantity": 2},
    ).get_json()
    on_sale, _ = factories.make_shop(session)
    order = client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_id": on_sale.id, "quantity": 1}], "email": "fuzz@example.test"},
    ).get_json()
    contract = factories.make_contract(
        session, enterprise_user=callers.enterprise.user, grower_user=cooperative.user, product=product
    )
    session.commit()
    return {
        "cluster_id": cluster.id,
        "village_id": villages[0].id,
        "product_id": product.id,
        "sku_id": sku.id,
        "lot_id": lot.id,
        "brand_id": product.brand_id,
        "category_id": product.category_id,
        "organisation_id": cooperative.organisation.id,
        "user_id": cooperative.user.id,
        "certificate_id": certificate["id"],
        "batch_id": batch["id"],
        "contract_id": contract.id,
        "reference": order["reference"],
        "order_id": session.scalar(sa.select(Order.id).where(Order.reference == order["reference"])),
        "licence_id": session.scalar(
            sa.select(BrandLicence.id).where(BrandLicence.licensee_id == cooperative.organisation.id).limit(1)
        ),
        "standard_id": 1,
        "inspection_id": 1,
        "photo_id": 1,
        "delivery_id": 1,
        "settlement_id": 1,
        "code_id": 1,
        "rest": "x",
    }


def operations(spec: dict):
    """(path, method, operation, the JSON body's schema or None) of every documented operation."""
    components = spec["components"]["schemas"]
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if method == "parameters":
                continue
            content = operation.get("requestBody", {}).get("content", {})
            reference = content.get("application/json", {}).get("schema", {}).get("$ref")
            body = components[reference.rsplit("/", 1)[-1]] if reference else None
            if "application/json" in content and body is None:
                body = content["application/json"]["schema"]
            yield path, method.upper(), operation, body


def hostile_requests(operation: dict, body: dict | None):
    """(what, query string, raw JSON body or None) for the inputs schemathesis never makes."""
    query = [parameter for parameter in operation.get("parameters", []) if parameter.get("in") == "query"]
    properties = {
        name: prop
        for name, prop in ((body or {}).get("properties") or {}).items()
        if not prop.get("readOnly")
    }
    if body is not None:
        yield "JSON nested 1,000 deep", "", DEEP_BODY
        yield (
            "lone surrogates",
            "",
            json.dumps(
                {name: SURROGATE for name, prop in properties.items() if prop.get("type") == "string"}
                or {"x": SURROGATE}
            ),
        )
    strings = [p["name"] for p in query if p.get("schema", {}).get("type") == "string"]
    if strings:
        yield "lone surrogates in the query", "&".join(f"{name}={SURROGATE_IN_URL}" for name in strings), None
    for extreme in (0, 1):
        dated = {
            name: EXTREMES[prop["format"]][extreme]
            for name, prop in properties.items()
            if prop.get("format") in EXTREMES
        }
        if dated:
            yield f"dates {dated}", "", json.dumps(dated)
        dated_query = [
            (p["name"], EXTREMES[p["schema"]["format"]][extreme])
            for p in query
            if p.get("schema", {}).get("format") in EXTREMES
        ]
        if dated_query:
            yield (
                f"dates {dated_query}",
                "&".join(f"{name}={value.replace('+', '%2B')}" for name, value in dated_query),
                None,
            )


def test_hostile_inputs_and_real_objects_get_documented_answers_for_every_caller(
    api_schema, client, session, callers
):
    ids = seed(client, session, callers)
    spec = client.get("/api/openapi.json").get_json()
    failures, calls = [], []

    def check(path, method, what, role, send):
        operation = api_schema[path][method]
        parameters = {name: ids[name] for name in re.findall(r"\{(\w+)\}", path)}
        try:
            calls.append(what)
            response = send(path.format(**parameters))
            operation.Case(path_parameters=parameters).validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 - all listed at the end
            failures.append(f"{method} {path} as {role} with {what}: {error!r:.400}")

    for path, method, operation, body in operations(spec):
        for role, headers in callers_headers(session, callers):
            for what, query, raw in hostile_requests(operation, body):
                check(
                    path,
                    method,
                    what,
                    role,
                    lambda url, query=query, method=method, headers=headers, raw=raw: client.open(
                        f"{url}?{query}" if query else url,
                        method=method,
                        headers=headers,
                        data=raw,
                        content_type="application/json" if raw is not None else None,
                    ),
                )
            if method == "GET":
                check(
                    path,
                    method,
                    "real ids",
                    role,
                    lambda url, headers=headers: client.get(url, headers=headers),
                )
    assert not failures, f"{len(failures)} of {len(calls)} calls failed:\n" + "\n".join(failures)


def test_an_out_of_stock_problem_is_documented_with_its_short_lines(api_schema, client, session):
    sku, _ = factories.make_shop(session, packs=1)
    session.commit()
    response = client.post(
        "/api/v1/orders", json={"lines": [{"sku_id": sku.id, "quantity": 5}], "email": "buyer@example.test"}
    )
    assert response.status_code == 409 and response.get_json()["short"]
    api_schema["/api/v1/orders"]["POST"].Case().validate_response(response, checks=CHECKS)
