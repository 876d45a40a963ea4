"""Clusters, villages, organisations and pairings through the API."""

from __future__ import annotations

from marketplace.parties.models import OrganisationKind
from tests import factories


def village_body(**fields):
    return {
        "name_zh": "群围村",
        "name_en": "Qunwei Village",
        "township_zh": "益农镇",
        "township_en": "Yinong",
        "county_zh": "萧山区",
        "county_en": "Xiaoshan",
        "latitude": "30.277",
        "longitude": "120.601",
        "baseline_income_fen": 150_000_000,
        "baseline_year": 2024,
        **fields,
    }


def test_an_operator_builds_a_cluster_from_villages(client, session, callers):
    key = client.post("/api/v1/villages", json=village_body(), headers=callers.operator.headers)
    assert key.status_code == 201
    assert key.get_json()["latitude"] == "30.277000"
    neighbour = client.post(
        "/api/v1/villages",
        json=village_body(name_zh="三围村", name_en="Sanwei"),
        headers=callers.operator.headers,
    ).get_json()
    response = client.post(
        "/api/v1/clusters",
        headers=callers.operator.headers,
        json={
            "slug": "yinong",
            "name_zh": "益农片区",
            "name_en": "Yinong Cluster",
            "key_village_id": key.get_json()["id"],
            "village_ids": [key.get_json()["id"], neighbour["id"]],
            "operator_id": callers.operator.organisation.id,
        },
    )
    assert response.status_code == 201
    cluster = response.get_json()
    assert cluster["village_ids"] == sorted([key.get_json()["id"], neighbour["id"]])
    members = client.get(f"/api/v1/villages?cluster_id={cluster['id']}").get_json()
    assert {village["cluster_id"] for village in members} == {cluster["id"]}


def test_the_same_village_twice_in_a_county_and_township_is_a_conflict(client, callers):
    assert (
        client.post("/api/v1/villages", json=village_body(), headers=callers.operator.headers).status_code
        == 201
    )
    response = client.post("/api/v1/villages", json=village_body(), headers=callers.operator.headers)
    assert response.status_code == 409


def test_a_village_belongs_to_at_most_one_cluster(client, session, callers):
    village = factories.make_village(session)
    factories.make_cluster(session, villages=[village])
    response = client.post(
        "/api/v1/clusters",
        headers=callers.operator.headers,
        json={
            "slug": "poacher",
            "name_zh": "抢村片区",
            "name_en": "Poacher",
            "key_village_id": village.id,
            "village_ids": [village.id],
            "operator_id": callers.operator.organisation.id,
        },
    )
    assert response.status_code == 409
    assert response.get_json()["type"] == "urn:shanhai:problem:village-in-another-cluster"


def test_a_clusters_key_village_must_be_one_of_its_villages(client, session, callers):
    inside, outside = factories.make_village(session), factories.make_village(session)
    response = client.post(
        "/api/v1/clusters",
        headers=callers.operator.headers,
        json={
            "slug": "odd",
            "name_zh": "怪片区",
            "name_en": "Odd",
            "key_village_id": outside.id,
            "village_ids": [inside.id],
            "operator_id": callers.operator.organisation.id,
        },
    )
    assert response.status_code == 422
    assert "key_village_id" in response.get_json()["errors"]["json"]


def test_a_cluster_is_run_by_an_operator_or_a_strong_village_company(client, session, callers):
    village = factories.make_village(session)
    enterprise = factories.make_organisation(session, OrganisationKind.ENTERPRISE)
    response = client.post(
        "/api/v1/clusters",
        headers=callers.operator.headers,
        json={
            "slug": "bought",
            "name_zh": "企业片区",
            "name_en": "Bought",
            "key_village_id": village.id,
            "village_ids": [village.id],
            "operator_id": enterprise.id,
        },
    )
    assert response.status_code == 422


def test_changing_a_clusters_villages_keeps_the_key_village_inside(client, session, callers):
    first, second = factories.make_village(session), factories.make_village(session)
    cluster = factories.make_cluster(session, villages=[first])
    response = client.patch(
        f"/api/v1/clusters/{cluster.id}",
        headers=callers.operator.headers,
        json={"village_ids": [first.id, second.id], "name_en": "Grown"},
    )
    assert response.status_code == 200
    assert response.get_json()["village_ids"] == sorted([first.id, second.id])
    dropped = client.patch(
        f"/api/v1/clusters/{cluster.id}", headers=callers.operator.headers, json={"village_ids": [second.id]}
    )
    assert dropped.status_code == 422


def test_an_enterprise_is_paired_with_a_village_once(client, session, callers):
    village = factories.make_village(session)
    body = {
        "village_id": village.id,
        "enterprise_id": callers.enterprise.organisation.id,
        "since": "2023-06-01",
        "note_zh": "订单合作",
    }
    assert client.post("/api/v1/pairings", json=body, headers=callers.operator.headers).status_code == 201
    again = client.post("/api/v1/pairings", json=body, headers=callers.operator.headers)
    assert again.status_code == 409
    listed = client.get(f"/api/v1/pairings?village_id={village.id}").get_json()
    assert [pairing["enterprise_id"] for pairing in listed] == [callers.enterprise.organisation.id]


def test_only_enterprises_are_paired_with_villages(client, session, callers):
    village = factories.make_village(session)
    response = client.post(
        "/api/v1/pairings",
        headers=callers.operator.headers,
        json={
            "village_id": village.id,
            "enterprise_id": callers.cooperative.organisation.id,
            "since": "2023-06-01",
        },
    )
    assert response.status_code == 422


def test_organisations_are_listed_by_kind(client, session):
    factories.make_organisation(session, OrganisationKind.ENTERPRISE, name_zh="传化集团")
    factories.make_organisation(session, OrganisationKind.COOPERATIVE)
    listed = client.get("/api/v1/organisations?kind=enterprise").get_json()
    assert {organisation["kind"] for organisation in listed} == {"enterprise"}
    assert "传化集团" in {organisation["name_zh"] for organisation in listed}
