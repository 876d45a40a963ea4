"""The JSON scan answered in front of Flask: same answer, same budget, counted once."""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import request_started

from marketplace.app import create_app
from marketplace.core import migrations as schema
from marketplace.core.db import make_engine, make_session_factory
from marketplace.parties.models import Role
from marketplace.traceability import scanning
from marketplace.traceability import service as codes_service
from marketplace.traceability.models import Code, CodeLevel, Scan
from tests import factories
from tests.conftest import postgres_database, require_redis, unique_client_address
from tests.marketplace.traceability.test_api import mint, minted_uris, path

JSON = {"Accept": "application/json"}
# Differ from one answer to the next by nature: a new id, the budget left, the clock.
VOLATILE_HEADERS = {"X-Request-ID", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"}


@pytest.fixture
def coded(session, callers):
    return factories.make_coded_lot(session, cooperative=callers.cooperative.organisation)


@pytest.fixture
def scan_app(settings, session_factory, session):
    """Apps as production runs them: scans written behind, the fast path on; each records the
    requests that reached Flask. Scans still queued are written before the test's data goes
    (hence `session`: its teardown rolls the data back, so it must come after this one's)."""
    apps = []

    def make(**changes):
        app = create_app(
            dataclasses.replace(
                settings, scan_write_behind_seconds=3600, scan_story_cache_seconds=60, **changes
            ),
            session_factory=session_factory,
        )
        app.flask_requests = []
        request_started.connect(lambda sender, **_: app.flask_requests.append(1), app, weak=False)
        apps.append(app)
        return app

    yield make
    for app in apps:
        flush(app)


def flush(app) -> None:
    recorder = scanning.scan_recorder(app)
    recorder.flush()


@pytest.fixture
def uris(client, callers, coded):
    return [path(uri) for uri in minted_uris(client, callers, mint(client, callers, coded, quantity=3))]


def comparable(response) -> tuple[dict, dict]:
    headers = {name: value for name, value in response.headers.items() if name not in VOLATILE_HEADERS}
    return headers, json.loads(response.get_data())


def test_the_fast_json_scan_answers_with_the_flask_views_body_and_headers(scan_app, uris):
    fast = scan_app()
    slow = scan_app(scan_fast_path=False)
    fast_answer = fast.test_client().get(uris[0], headers=JSON)
    slow_answer = slow.test_client().get(uris[0], headers=JSON)
    assert fast.flask_requests == [] and slow.flask_requests == [1]
    assert fast_answer.status_code == slow_answer.status_code == 200
    # Each app queues its own scans, so each answer says "first scan": then, but for the
    # clock, the two documents and their headers must be the same.
    fast_headers, fast_doc = comparable(fast_answer)
    slow_headers, slow_doc = comparable(slow_answer)
    assert fast_headers == slow_headers
    assert list(fast_answer.headers.keys()) == list(slow_answer.headers.keys())
    assert fast_doc["verdict"]["scan_count"] == slow_doc["verdict"]["scan_count"] == 1
    for doc in (fast_doc, slow_doc):
        doc["verdict"].pop("first_scanned_at")
        doc["verdict"].pop("message")
    assert fast_doc == slow_doc
    assert list(fast_doc) == ["code", "verdict", "story", "links", "lang"]
    assert fast_answer.headers["X-Request-ID"] != slow_answer.headers["X-Request-ID"]
    assert "Content-Security-Policy" in fast_answer.headers


def test_the_fast_scan_keeps_the_clients_request_id_and_language(scan_app, uris):
    app = scan_app()
    answer = app.test_client().get(
        uris[0] + "&lang=en", headers={**JSON, "X-Request-ID": "phone-request-0001"}
    )
    assert app.flask_requests == []
    assert answer.headers["X-Request-ID"] == "phone-request-0001"
    assert answer.headers["Content-Language"] == "en"
    assert answer.get_json()["verdict"]["message"].startswith("Genuine, first scanned on")


def test_each_fast_scan_is_counted_once_and_the_next_one_sees_it(scan_app, session, uris):
    app = scan_app()
    client = app.test_client()
    counts = [client.get(uris[1], headers=JSON).get_json()["verdict"]["scan_count"] for _ in range(3)]
    assert counts == [1, 2, 3]
    flush(app)
    assert client.get(uris[1], headers=JSON).get_json()["verdict"]["scan_count"] == 4
    flush(app)
    serial = uris[1].split("/21/")[1].split("?")[0]
    code = session.scalar(sa.select(Code).where(Code.serial == serial))
    session.refresh(code)
    assert code.scan_count == 4
    assert session.scalar(sa.select(sa.func.count()).select_from(Scan).where(Scan.code_id == code.id)) == 4
    assert app.flask_requests == []


@pytest.mark.parametrize(
    "how", ["page", "linkset", "link type", "escaped link type", "head", "not ours", "malformed"]
)
def test_everything_but_a_json_scan_of_a_genuine_code_is_left_to_flask(scan_app, uris, how, caplog):
    app = scan_app()
    client = app.test_client()
    uri = uris[2]
    response = {
        "page": lambda: client.get(uri, headers={"Accept": "text/html"}),
        "linkset": lambda: client.get(uri, headers={"Accept": "application/linkset+json"}),
        "link type": lambda: client.get(uri + "&linkType=gs1:pip", headers=JSON),
        # Flask decodes a parameter's name; the fast path does not try to.
        "escaped link type": lambda: client.get(uri + "&link%54ype=linkset", headers=JSON),
        "head": lambda: client.head(uri, headers=JSON),
        "not ours": lambda: client.get(uri[:-3] + "AAA", headers=JSON),
        "malformed": lambda: client.get("/01/06970000000117/10/B1", headers=JSON),  # check digit
    }[how]()
    assert app.flask_requests == [1]
    assert response.status_code == {"link type": 307, "not ours": 404, "malformed": 400}.get(how, 200)
    if how in ("not ours", "malformed"):
        assert response.mimetype == "application/problem+json"
    if how == "escaped link type":
        assert "linkset" in response.get_json()
    # A phone's bad code is its error, not ours: nothing is logged as a failure.
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_the_fast_scan_records_the_coarse_place_the_phone_offers(scan_app, session, uris):
    app = scan_app()
    answer = app.test_client().get(uris[0] + "&lat=30.2468&lon=120.1551", headers=JSON)
    assert answer.status_code == 200 and app.flask_requests == []
    flush(app)
    serial = uris[0].split("/21/")[1].split("?")[0]
    scan = session.scalar(sa.select(Scan).join(Code, Code.id == Scan.code_id).where(Code.serial == serial))
    assert scan.place == "30.2,120.2"


def test_fast_and_flask_scans_share_one_rate_limit(scan_app, session, uris):
    app = scan_app(scan_rate_limit="3 per minute")
    client = app.test_client()
    answers = [client.get(uris[0], headers=JSON) for _ in range(2)]
    answers.append(client.get(uris[0], headers={"Accept": "text/html"}))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    refused = client.get(uris[0], headers=JSON)
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert app.flask_requests == [1, 1]  # the page, and the refusal
    flush(app)
    assert session.scalar(sa.select(sa.func.count()).select_from(Scan)) == 3  # not the refused one


def test_a_failure_after_counting_answers_a_problem_and_counts_the_scan_once(
    scan_app, session, uris, monkeypatch
):
    app = scan_app()

    def broken(*_args, **_kwargs):
        raise RuntimeError("payload could not be built")

    monkeypatch.setattr(scanning, "scan_payload", broken)
    answer = app.test_client().get(uris[0], headers=JSON)
    assert answer.status_code == 500 and answer.mimetype == "application/problem+json"
    assert app.flask_requests == []
    flush(app)
    assert session.scalar(sa.select(sa.func.count()).select_from(Scan)) == 1


@contextmanager
def committed_database(kind: str, tmp_path) -> Iterator[sa.Engine]:
    """A database of the test's own whose rows are committed, as a running service's are."""
    if kind == "postgresql":
        with postgres_database() as engine:
            yield engine
        return
    engine = make_engine(f"sqlite:///{tmp_path / 'committed.sqlite3'}")
    schema.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_fast_scan_on_an_engine_reads_committed_codes_survives_a_dropped_connection(
    settings, tmp_path, kind
):
    with committed_database(kind, tmp_path) as engine:
        factory = make_session_factory(engine)
        with factory() as session:
            organisation = factories.make_organisation(session)
            user = factories.make_user(session, role=Role.COOPERATIVE, organisation=organisation)
            lot, sku = factories.make_coded_lot(session, cooperative=organisation)
            batch = codes_service.mint_codes(
                session,
                actor=user,
                lot_id=lot.id,
                sku_id=sku.id,
                level=CodeLevel.UNIT,
                quantity=1,
                keys=settings.signing_keys,
            )
            session.commit()
            code = session.scalar(sa.select(Code).where(Code.batch_id == batch.id))
            uri = codes_service.code_uri(code, base_url="")
            code_id = code.id
        app = create_app(
            dataclasses.replace(settings, scan_write_behind_seconds=3600), session_factory=factory
        )
        app.flask_requests = []
        request_started.connect(lambda sender, **_: app.flask_requests.append(1), app, weak=False)
        client = app.test_client()
        first = client.get(uri, headers=JSON)
        flush(app)
        if kind == "postgresql":
            # The database drops every other connection (a restart, a failover): the scan's
            # own reconnects rather than failing the phone's request.
            with engine.connect() as admin:
                admin.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()"
                    )
                )
        second = client.get(uri, headers=JSON)
        flush(app)
        assert app.flask_requests == []
        assert [first.get_json()["verdict"]["scan_count"], second.get_json()["verdict"]["scan_count"]] == [
            1,
            2,
        ]
        forged = uri[:-2] + ("xx" if uri[-2:] != "xx" else "yy")
        assert client.get(forged, headers=JSON).status_code == 404
        with factory() as session:
            assert session.get(Code, code_id).scan_count == 2
            # The pooled connection the read borrowed is back in transactional mode: a session's
            # rolled-back write leaves nothing behind.
            session.execute(sa.update(Code).where(Code.id == code_id).values(scan_count=99))
            session.rollback()
            assert session.get(Code, code_id).scan_count == 2
        engine.dispose()


def test_fast_scans_on_two_servers_share_one_budget_through_redis(scan_app, uris):
    redis_url = require_redis()
    # A phone of its own behind the proxy, so that no other run's counts in Redis (or a
    # parallel worker's) share this budget.
    headers = {"X-Forwarded-For": unique_client_address()}
    first = scan_app(redis_url=redis_url, scan_rate_limit="3 per minute", trusted_proxies=1).test_client()
    second = scan_app(redis_url=redis_url, scan_rate_limit="3 per minute", trusted_proxies=1).test_client()
    statuses = [
        first.get(uris[0], headers={**JSON, **headers}).status_code,
        second.get(uris[0], headers={**JSON, **headers}).status_code,
        second.get(uris[0], headers={"Accept": "text/html", **headers}).status_code,
        first.get(uris[0], headers={**JSON, **headers}).status_code,
    ]
    assert statuses == [200, 200, 200, 429]


def test_invented_bearer_tokens_buy_no_scans_on_either_path(scan_app, uris):
    client = scan_app(scan_rate_limit="3 per minute").test_client()

    def invented() -> dict:
        return {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}

    statuses = [client.get(uris[0], headers={**JSON, **invented()}).status_code for _ in range(2)]
    statuses += [
        client.get(uris[0], headers={"Accept": "text/html", **invented()}).status_code for _ in range(2)
    ]
    assert statuses == [200, 200, 200, 429]


def test_a_signed_in_scanner_spends_its_own_budget_on_both_paths(scan_app, uris, callers):
    client = scan_app(scan_rate_limit="2 per minute").test_client()
    signed_in = [
        client.get(uris[0], headers={**JSON, **callers.operator.headers}).status_code,
        client.get(uris[0], headers={"Accept": "text/html", **callers.operator.headers}).status_code,
        client.get(uris[0], headers={**JSON, **callers.operator.headers}).status_code,
    ]
    assert signed_in == [200, 200, 429]
    # The same address without the token has its budget still whole.
    assert client.get(uris[0], headers=JSON).status_code == 200


def test_a_fast_scan_is_counted_timed_and_logged_as_a_flask_request_is(scan_app, uris, caplog):
    from prometheus_client import REGISTRY

    labels = {"method": "GET", "endpoint": "/01/<path:rest>", "status": "200"}
    before = REGISTRY.get_sample_value("shanhai_http_requests_total", labels) or 0
    fast, slow = scan_app(), scan_app(scan_fast_path=False)
    with caplog.at_level(logging.INFO, logger="shanhai.requests"):
        for app, request_id in ((fast, "fast-request-0001"), (slow, "slow-request-0001")):
            app.test_client().get(uris[0], headers={**JSON, "X-Request-ID": request_id})
    assert fast.flask_requests == [] and slow.flask_requests == [1]
    assert REGISTRY.get_sample_value("shanhai_http_requests_total", labels) == before + 2
    logged = {
        record.request_id: (record.method, record.path, record.status)
        for record in caplog.records
        if record.name == "shanhai.requests"
    }
    assert logged["fast-request-0001"] == logged["slow-request-0001"] == ("GET", uris[0].split("?")[0], 200)


def test_a_secure_fast_scan_in_production_carries_flasks_security_headers(scan_app, uris):
    answers = [
        app.test_client().get(uris[0], headers=JSON, base_url="https://shanhai.test")
        for app in (
            scan_app(environment="production"),
            scan_app(environment="production", scan_fast_path=False),
        )
    ]
    fast_headers, slow_headers = (comparable(answer)[0] for answer in answers)
    assert fast_headers == slow_headers
    assert "max-age=31536000" in fast_headers["Strict-Transport-Security"]
    assert fast_headers["Access-Control-Allow-Origin"] == "*"
