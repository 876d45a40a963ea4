"""Rate limits, security headers and what the API does not allow across origins."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

from marketplace.app import create_app
from marketplace.core.rate_limits import SqliteStorage
from tests.conftest import (
    gunicorn_server,
    require_redis,
    server_environment,
    unique_client_address,
)


def hammer_token_endpoint(client, times: int, headers: dict | None = None):
    return [
        client.post(
            "/api/v1/auth/token", headers=headers, json={"email": "nobody@example.test", "password": "guess"}
        )
        for _ in range(times)
    ]


def assert_throttled(responses, limit: int):
    assert [r.status_code for r in responses[:limit]] == [401] * limit
    refused = responses[limit]
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert int(refused.headers["Retry-After"]) > 0
    assert "at most 10 per 1 minute" in refused.get_json()["detail"]


def test_hammering_the_token_endpoint_gets_429_with_retry_after(client):
    assert_throttled(hammer_token_endpoint(client, 12), 10)


def test_rate_limits_are_shared_through_redis_between_app_servers(settings, session_factory):
    # A fresh rate-limit window and a client address of this run's own behind the proxy, so
    # that counts left in Redis by earlier runs or a parallel worker cannot spend the budget.
    shared = settings.with_overrides(
        redis_url=require_redis(),
        trusted_proxies=1,
        token_rate_limit=f"10 per {97 + uuid.uuid4().int % 800} minutes",
    )
    first = create_app(shared, session_factory=session_factory).test_client()
    second = create_app(shared, session_factory=session_factory).test_client()
    phone = {"X-Forwarded-For": unique_client_address()}
    responses = hammer_token_endpoint(first, 6, phone) + hammer_token_endpoint(second, 6, phone)
    assert [r.status_code for r in responses[:10]] == [401] * 10
    assert responses[10].status_code == 429 and "Retry-After" in responses[10].headers


def test_without_redis_the_workers_of_one_server_share_the_sign_in_limit(tmp_path):
    env = server_environment(tmp_path, WEB_CONCURRENCY="3", REDIS_URL=None)
    port = env["PORT"]

    def sign_in(_) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            method="POST",
            data=json.dumps({"email": "nobody@example.test", "password": "guess"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            urllib.request.urlopen(request, timeout=30)
        except urllib.error.HTTPError as error:
            return error.code
        return 201

    with gunicorn_server(env), ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(sign_in, range(30)))
    assert statuses.count(401) == 10 and statuses.count(429) == 20


def test_two_processes_counting_in_one_rate_limit_file_share_a_moving_window(tmp_path):
    from limits import parse
    from limits.strategies import MovingWindowRateLimiter

    uri = f"shanhai-sqlite://{tmp_path / 'limits.sqlite3'}"
    first, second = (MovingWindowRateLimiter(SqliteStorage(uri)) for _ in range(2))
    limit = parse("3 per minute")
    taken = [
        first.hit(limit, "phone"),
        second.hit(limit, "phone"),
        first.hit(limit, "phone"),
        second.hit(limit, "phone"),
    ]
    assert taken == [True, True, True, False]
    assert first.get_window_stats(limit, "phone").remaining == 0
    assert second.hit(limit, "another phone")


def test_writes_are_limited_per_token(settings, session_factory, session, callers):
    client = create_app(
        settings.with_overrides(write_rate_limit="3 per minute"), session_factory=session_factory
    ).test_client()
    statuses = [
        client.post(
            "/api/v1/categories",
            json={"slug": f"c-{i}", "name_zh": "类", "name_en": "C"},
            headers=callers.operator.headers,
        ).status_code
        for i in range(4)
    ]
    assert statuses == [201, 201, 201, 429]
    other = client.post(
        "/api/v1/categories",
        json={"slug": "c-x", "name_zh": "类", "name_en": "C"},
        headers=callers.other_cooperative.headers,
    )
    assert other.status_code == 403


def test_invented_bearer_tokens_meet_the_same_read_and_write_limits_as_no_token(settings, session_factory):
    client = create_app(
        settings.with_overrides(read_rate_limit="3 per minute", write_rate_limit="2 per minute"),
        session_factory=session_factory,
    ).test_client()

    def invented() -> dict:
        return {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}

    reads = [client.get("/api/v1/clusters", headers=invented()).status_code for _ in range(4)]
    assert reads == [200, 200, 200, 429]
    writes = [client.post("/api/v1/orders", json={}, headers=invented()).status_code for _ in range(3)]
    assert writes[2] == 429 and 429 not in writes[:2]


def test_each_signed_in_user_has_a_budget_of_its_own_whatever_its_address(settings, session_factory, callers):
    client = create_app(
        settings.with_overrides(read_rate_limit="2 per minute"), session_factory=session_factory
    ).test_client()
    operator = [
        client.get("/api/v1/clusters", headers=callers.operator.headers).status_code for _ in range(3)
    ]
    assert operator == [200, 200, 429]
    assert client.get("/api/v1/clusters", headers=callers.cooperative.headers).status_code == 200
    assert client.get("/api/v1/clusters").status_code == 200


def test_responses_carry_security_headers(client):
    response = client.get("/api/v1/clusters")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    assert "Strict-Transport-Security" not in response.headers


def test_production_announces_hsts(settings, session_factory):
    production = settings.with_overrides(environment="production")
    client = create_app(production, session_factory=session_factory).test_client()
    response = client.get("/api/v1/clusters", base_url="https://shanhai.test")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_the_api_grants_no_cross_origin_access(client):
    response = client.get("/api/v1/clusters", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_the_docs_page_loads_its_own_assets_only(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert "/api/docs/assets/swagger-ui-bundle.js" in page.get_data(as_text=True)
    assert "script-src 'self' 'unsafe-inline'" in page.headers["Content-Security-Policy"]
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_scans_have_their_own_rate_limit(settings, session_factory):
    client = create_app(
        settings.with_overrides(scan_rate_limit="2 per minute"), session_factory=session_factory
    ).test_client()
    statuses = [client.get("/.well-known/gs1resolver").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert client.get("/api/v1/clusters").status_code == 200
