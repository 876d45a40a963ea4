"""Every error is an RFC 9457 problem, and a failed request leaves nothing written."""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.app import create_app
from marketplace.core import db
from marketplace.core.errors import Conflict
from marketplace.core.http import ApiView
from marketplace.parties.models import Organisation, OrganisationKind


def test_an_unknown_path_is_a_404_problem(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": response.get_json()["detail"],
        "instance": "/api/v1/no-such-thing",
    }


def test_a_wrong_method_is_a_405_problem_that_names_the_allowed_ones(client):
    response = client.delete("/api/v1/clusters")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert "GET" in response.headers["Allow"]


def test_a_missing_record_is_a_404_problem_naming_it(client):
    response = client.get("/api/v1/villages/424242")
    assert response.status_code == 404
    body = response.get_json()
    assert body["type"] == "urn:shanhai:problem:village-not-found"
    assert "424242" in body["detail"]


def test_validation_errors_name_each_field(client, callers):
    response = client.post(
        "/api/v1/organisations", json={"kind": "bank", "name_en": ""}, headers=callers.operator.headers
    )
    assert response.status_code == 422
    body = response.get_json()
    assert set(body["errors"]["json"]) == {"kind", "name_zh", "name_en"}
    assert "json.kind" in body["detail"]


def test_bad_query_parameters_are_a_422_problem(client):
    for query, field in (
        ("status=eaten", "status"),
        ("page_size=100000", "page_size"),
        ("sort=password", "sort"),
        ("page=0", "page"),
    ):
        response = client.get(f"/api/v1/lots?{query}")
        assert response.status_code == 422
        assert set(response.get_json()["errors"]["query"]) == {field}


def _app_with_route(settings, session_factory, view_class):
    app = create_app(settings, session_factory=session_factory)
    app.add_url_rule("/api/v1/test-route", view_func=view_class.as_view("test_route"))
    return app


def test_a_request_that_fails_after_writing_leaves_nothing_behind(settings, session_factory, session):
    class WritesThenFails(ApiView):
        def post(self):
            db.session().add(
                Organisation(
                    kind=OrganisationKind.COOPERATIVE, name_zh="半途而废合作社", name_en="Half-written"
                )
            )
            db.session().flush()
            raise Conflict("refused after the write")

    client = _app_with_route(settings, session_factory, WritesThenFails).test_client()
    response = client.post("/api/v1/test-route")
    assert response.status_code == 409
    assert (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Organisation)
            .where(Organisation.name_zh == "半途而废合作社")
        )
        == 0
    )


def test_an_unexpected_error_is_a_500_problem_without_a_stack_trace(settings, session_factory):
    class Crashes(ApiView):
        def get(self):
            raise RuntimeError("secret internals")

    production_like = settings.with_overrides(testing=False)
    client = _app_with_route(production_like, session_factory, Crashes).test_client()
    response = client.get("/api/v1/test-route")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    text = response.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text


def test_under_test_an_unexpected_error_fails_loudly(settings, session_factory):
    class Crashes(ApiView):
        def get(self):
            raise RuntimeError("loud")

    client = _app_with_route(settings, session_factory, Crashes).test_client()
    try:
        client.get("/api/v1/test-route")
    except RuntimeError as error:
        assert str(error) == "loud"
    else:
        raise AssertionError("the error was swallowed")


def test_what_gunicorn_refuses_before_the_app_is_a_problem_too(tmp_path):
    import http.client
    import json

    from tests.conftest import gunicorn_server, server_environment

    env = server_environment(tmp_path, WEB_CONCURRENCY="1")
    port = int(env["PORT"])
    answers = {}
    with gunicorn_server(env):
        for name, path, headers in (
            ("uri", "/api/v1/lots?q=" + "x" * 9000, {}),
            ("header", "/api/v1/lots", {"X-Big": "y" * 9000}),
        ):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            answers[name] = (response.status, response.getheader("Content-Type"), json.loads(response.read()))
            connection.close()
    assert answers["uri"][:2] == (414, "application/problem+json")
    assert answers["uri"][2]["status"] == 414 and answers["uri"][2]["title"] == "URI Too Long"
    assert answers["header"][:2] == (431, "application/problem+json")
    assert answers["header"][2]["status"] == 431
