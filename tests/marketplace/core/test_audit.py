"""Every write leaves an audit event: who, what, when, from which request; none can be edited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.core.audit import AuditEvent
from tests import factories


def events_for(session, entity: str, entity_id) -> list[AuditEvent]:
    session.expire_all()
    return session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.id)
    ).all()


def test_a_write_records_who_did_what_from_which_request(client, session, callers):
    response = client.post(
        "/api/v1/categories",
        headers={**callers.operator.headers, "X-Request-ID": "audit-req-0001"},
        json={"slug": "herbs", "name_zh": "香草", "name_en": "Herbs"},
    )
    created = response.get_json()
    [event] = events_for(session, "categories", created["id"])
    assert event.action == "insert"
    assert event.user_id == callers.operator.user.id
    assert event.organisation_id == callers.operator.organisation.id
    assert event.request_id == "audit-req-0001" == response.headers["X-Request-ID"]
    assert (event.method, event.path) == ("POST", "/api/v1/categories")
    assert event.changes["name_zh"] == "香草"
    assert event.occurred_at.tzinfo is not None


def test_an_update_records_old_and_new_values(client, session, callers):
    product = factories.make_product(session, cooperative=callers.cooperative.organisation)
    sku = factories.make_sku(session, product=product, price_fen=12_800)
    client.patch(f"/api/v1/skus/{sku.id}", json={"price_fen": 13_800}, headers=callers.cooperative.headers)
    updates = [e for e in events_for(session, "skus", sku.id) if e.action == "update"]
    assert len(updates) == 1
    assert updates[0].changes["price_fen"] == [12_800, 13_800]
    assert updates[0].user_id == callers.cooperative.user.id


def test_a_refused_request_leaves_no_audit_event(client, session, callers):
    before = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    client.post(
        "/api/v1/categories",
        headers=callers.cooperative.headers,
        json={"slug": "nope", "name_zh": "不", "name_en": "No"},
    )
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before


def test_secrets_never_reach_the_audit_trail(client, session, callers):
    response = client.post(
        "/api/v1/users",
        headers=callers.operator.headers,
        json={
            "email": "audited@example.test",
            "display_name": "Audited",
            "role": "cooperative",
            "organisation_id": callers.cooperative.organisation.id,
            "password": "a very secret password",
        },
    )
    [event] = events_for(session, "users", response.get_json()["id"])
    assert event.changes["password_hash"] == "[redacted]"
    token = client.post(
        "/api/v1/auth/token", json={"email": "audited@example.test", "password": "a very secret password"}
    ).get_json()["access_token"]
    session.expire_all()
    trail = str([e.changes for e in session.scalars(sa.select(AuditEvent))])
    assert "a very secret password" not in trail and token not in trail
    assert "$argon2" not in trail


def test_operators_query_the_trail_and_nobody_else_can(client, session, callers):
    client.post(
        "/api/v1/categories",
        headers=callers.operator.headers,
        json={"slug": "nuts", "name_zh": "坚果", "name_en": "Nuts"},
    )
    listed = client.get("/api/v1/audit-events?entity=categories", headers=callers.operator.headers)
    assert listed.status_code == 200
    assert [e["changes"]["slug"] for e in listed.get_json()] == ["nuts"]
    assert "total" in listed.headers["X-Pagination"]
    for caller in (callers.cooperative, callers.enterprise, callers.inspector):
        assert client.get("/api/v1/audit-events", headers=caller.headers).status_code == 403


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_events SET action = 'forged'", "DELETE FROM audit_events"]
)
def test_the_database_refuses_to_edit_or_delete_the_trail(connection, session, client, callers, statement):
    client.post(
        "/api/v1/categories",
        headers=callers.operator.headers,
        json={"slug": "eggs", "name_zh": "蛋", "name_en": "Eggs"},
    )
    savepoint = connection.begin_nested()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        connection.exec_driver_sql(statement)
    savepoint.rollback()
