"""Signing in, tokens that expire and can be revoked, and accounts."""

from __future__ import annotations

from datetime import timedelta

from marketplace.parties.models import OrganisationKind, Role
from tests import factories


def sign_in(client, email, password=factories.PASSWORD):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password})


def test_a_user_exchanges_email_and_password_for_a_bearer_token(client, session):
    user = factories.make_user(
        session, role=Role.COOPERATIVE, organisation=factories.make_organisation(session)
    )
    response = sign_in(client, user.email.upper())
    assert response.status_code == 201
    body = response.get_json()
    assert body["token_type"] == "Bearer" and len(body["access_token"]) >= 40
    assert body["expires_at"].endswith("+00:00")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.get_json()["user"]["id"] == user.id
    assert me.get_json()["organisation"]["id"] == user.organisation_id


def test_a_wrong_password_and_an_unknown_email_get_the_same_401(client, session):
    user = factories.make_user(
        session, role=Role.COOPERATIVE, organisation=factories.make_organisation(session)
    )
    wrong_password = sign_in(client, user.email, "not the password")
    unknown = sign_in(client, "nobody@example.test")
    assert wrong_password.status_code == unknown.status_code == 401
    assert wrong_password.get_json()["detail"] == unknown.get_json()["detail"]
    assert wrong_password.mimetype == "application/problem+json"


def test_a_deactivated_user_cannot_sign_in_or_use_old_tokens(client, session):
    user = factories.make_user(
        session, role=Role.COOPERATIVE, organisation=factories.make_organisation(session)
    )
    headers = factories.headers_for(session, user)
    user.is_active = False
    session.flush()
    assert sign_in(client, user.email).status_code == 401
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_an_expired_token_is_refused(client, session):
    user = factories.make_user(
        session, role=Role.COOPERATIVE, organisation=factories.make_organisation(session)
    )
    token = factories.make_token(session, user, expires_in=timedelta(seconds=-1))
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_a_revoked_token_stops_working(client, session):
    user = factories.make_user(
        session,
        role=Role.ENTERPRISE,
        organisation=factories.make_organisation(session, OrganisationKind.ENTERPRISE),
    )
    headers = factories.headers_for(session, user)
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_tokens_are_stored_only_as_hashes(client, session):
    from marketplace.accounts.models import AccessToken

    user = factories.make_user(
        session,
        role=Role.INSPECTOR,
        organisation=factories.make_organisation(session, OrganisationKind.INSPECTION_BODY),
    )
    raw = sign_in(client, user.email).get_json()["access_token"]
    session.expire_all()
    stored = [token.token_hash for token in session.query(AccessToken).filter_by(user_id=user.id)]
    assert stored and raw not in stored


def test_an_operator_creates_an_account_that_can_sign_in(client, session, callers):
    cooperative = factories.make_organisation(session)
    response = client.post(
        "/api/v1/users",
        headers=callers.operator.headers,
        json={
            "email": "new.member@example.test",
            "display_name": "新社员",
            "role": "cooperative",
            "organisation_id": cooperative.id,
            "password": "a long enough password",
        },
    )
    assert response.status_code == 201
    assert "password" not in response.get_json()
    assert sign_in(client, "new.member@example.test", "a long enough password").status_code == 201


def test_an_account_must_fit_its_organisations_kind(client, session, callers):
    enterprise = factories.make_organisation(session, OrganisationKind.ENTERPRISE)
    response = client.post(
        "/api/v1/users",
        headers=callers.operator.headers,
        json={
            "email": "x@example.test",
            "display_name": "X",
            "role": "cooperative",
            "organisation_id": enterprise.id,
            "password": "a long enough password",
        },
    )
    assert response.status_code == 422
    assert "role" in response.get_json()["errors"]["json"]


def test_an_email_can_hold_only_one_account(client, session, callers):
    body = {
        "email": callers.cooperative.user.email.upper(),
        "display_name": "Twin",
        "role": "cooperative",
        "organisation_id": callers.cooperative.organisation.id,
        "password": "a long enough password",
    }
    response = client.post("/api/v1/users", headers=callers.operator.headers, json=body)
    assert response.status_code == 409


def test_only_operators_list_accounts(client, callers):
    assert client.get("/api/v1/users", headers=callers.operator.headers).status_code == 200
    assert client.get("/api/v1/users", headers=callers.cooperative.headers).status_code == 403
    assert client.get("/api/v1/users").status_code == 401


def test_common_repeated_sequential_and_context_passwords_are_refused(client, session, callers):
    cooperative = factories.make_organisation(session)
    for password in (
        "aaaaaaaaaa",
        "1234567890",
        "qwertyuiop",
        "password123",
        "abcdefghij",
        "iloveyou12",
        "shanhai123",
        "wang.fang.1",
    ):
        response = client.post(
            "/api/v1/users",
            headers=callers.operator.headers,
            json={
                "email": "wang.fang@example.test",
                "display_name": "王芳",
                "role": "cooperative",
                "organisation_id": cooperative.id,
                "password": password,
            },
        )
        assert response.status_code == 422, password
        problem = response.get_json()
        assert problem["title"] == "Password too easy to guess"
        assert "password" in problem["errors"]["json"], password
    assert sign_in(client, "wang.fang@example.test", "aaaaaaaaaa").status_code == 401


def test_the_cli_refuses_a_common_password_with_a_clear_message(app, session):
    cooperative = factories.make_organisation(session)
    result = app.test_cli_runner().invoke(
        args=[
            "shanhai",
            "create-user",
            "--email",
            "li.lei@example.test",
            "--role",
            "cooperative",
            "--organisation-id",
            str(cooperative.id),
            "--name",
            "李雷",
        ],
        input="1234567890\n1234567890\n",
    )
    assert result.exit_code != 0
    assert "too easy to guess" in result.output
    accepted = app.test_cli_runner().invoke(
        args=[
            "shanhai",
            "create-user",
            "--email",
            "li.lei@example.test",
            "--role",
            "cooperative",
            "--organisation-id",
            str(cooperative.id),
            "--name",
            "李雷",
        ],
        input="tea terraces at dawn\ntea terraces at dawn\n",
    )
    assert accepted.exit_code == 0, accepted.output
