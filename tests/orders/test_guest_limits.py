"""An anonymous buyer cannot hoard: one guest (an e-mail, a client address) holds a bounded
number of packs and unpaid orders at once, and a refusal never tells it how much stock there is.
Signed-in buyers are not bounded and still see the counts."""

from __future__ import annotations

from tests.factories import make_shop

ORDERS = "/api/v1/orders"


def order(client, sku, packs, email="guest@example.test", address="203.0.113.7", **headers):
    return client.post(
        ORDERS,
        json={"lines": [{"sku_id": sku.id, "quantity": packs}], "email": email},
        headers=headers,
        environ_base={"REMOTE_ADDR": address},
    )


def test_a_guest_cannot_hold_a_whole_lot(client, session):
    sku, _lot = make_shop(session, packs=3037)
    refused = order(client, sku, 3037)
    assert refused.status_code == 422
    assert refused.get_json()["type"] == "urn:shanhai:problem:guest-order-too-large"
    assert "3037" not in refused.get_json()["detail"]
    assert order(client, sku, 10).status_code == 201


def test_a_guest_order_is_bounded_in_packs_across_its_lines(client, session):
    skus = [make_shop(session, packs=50)[0] for _ in range(4)]
    refused = client.post(
        ORDERS,
        json={"email": "guest@example.test", "lines": [{"sku_id": sku.id, "quantity": 8} for sku in skus]},
    )
    assert refused.status_code == 422
    assert "at most 30 packs" in refused.get_json()["detail"]


def test_one_guest_holds_at_most_ten_packs_of_a_sku_across_its_unpaid_orders(client, session):
    sku, _lot = make_shop(session, packs=100)
    assert order(client, sku, 6).status_code == 201
    # Another e-mail from the same address, or the same e-mail from another address: same guest.
    for email, address in (("other@example.test", "203.0.113.7"), ("GUEST@example.test", "198.51.100.9")):
        refused = order(client, sku, 5, email=email, address=address)
        assert refused.status_code == 409
        assert refused.get_json()["type"] == "urn:shanhai:problem:guest-holds-exceeded"
    assert order(client, sku, 4).status_code == 201
    assert order(client, sku, 5, email="neighbour@example.test", address="198.51.100.9").status_code == 201


def test_a_guest_holds_at_most_three_unpaid_orders_per_email(client, session):
    sku, _lot = make_shop(session, packs=100)
    for n in range(3):
        assert order(client, sku, 1, address=f"198.51.100.{n}").status_code == 201
    refused = order(client, sku, 1, address="198.51.100.99")
    assert refused.status_code == 409
    assert "unpaid orders" in refused.get_json()["detail"]


def test_an_address_holds_at_most_ten_unpaid_guest_orders(client, session):
    sku, _lot = make_shop(session, packs=100)
    for n in range(10):
        assert order(client, sku, 1, email=f"buyer{n}@example.test").status_code == 201
    assert order(client, sku, 1, email="buyer10@example.test").status_code == 409
    assert order(client, sku, 1, email="buyer10@example.test", address="192.0.2.1").status_code == 201


def test_paying_or_cancelling_frees_a_guests_holds(client, session):
    sku, _lot = make_shop(session, packs=100)
    first = order(client, sku, 10).get_json()["reference"]
    assert order(client, sku, 1).status_code == 409
    assert client.post(f"{ORDERS}/{first}/cancel", json={}).status_code == 200
    assert order(client, sku, 10).status_code == 201


def test_signed_in_buyers_are_not_bounded(client, session, callers):
    sku, _lot = make_shop(session, packs=3037)
    placed = client.post(
        ORDERS, json={"lines": [{"sku_id": sku.id, "quantity": 3037}]}, headers=callers.enterprise.headers
    )
    assert placed.status_code == 201


def test_a_guest_is_told_not_enough_stock_without_counts(client, session):
    sku, _lot = make_shop(session, packs=3)
    refused = order(client, sku, 5)
    problem = refused.get_json()
    assert refused.status_code == 409
    assert problem["type"] == "urn:shanhai:problem:out-of-stock"
    assert problem["short"] == [{"sku_id": sku.id, "requested": 5}]
    assert "3" not in problem["detail"].replace(str(sku.id), "")


def test_a_signed_in_buyer_is_told_what_is_available(client, session, callers):
    sku, _lot = make_shop(session, packs=3)
    refused = client.post(
        ORDERS, json={"lines": [{"sku_id": sku.id, "quantity": 5}]}, headers=callers.enterprise.headers
    )
    assert refused.status_code == 409
    assert refused.get_json()["short"] == [{"sku_id": sku.id, "requested": 5, "available": 3}]


def test_the_openapi_document_describes_the_out_of_stock_problem(client):
    spec = client.get("/api/openapi.json").get_json()
    conflict = spec["paths"]["/api/v1/orders"]["post"]["responses"]["409"]
    schema = conflict["content"]["application/problem+json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    short = spec["components"]["schemas"][name]["properties"]["short"]
    line = spec["components"]["schemas"][short["items"]["$ref"].rsplit("/", 1)[-1]]
    assert set(line["properties"]) == {"sku_id", "requested", "available"}
    assert "available" not in line.get("required", [])


def test_the_guest_bounds_and_the_busy_timeout_are_settings():
    from marketplace.core.config import Settings

    settings = Settings.from_env(
        {
            "SECRET_KEY": "x",
            "GUEST_MAX_PACKS_PER_ORDER": "5",
            "GUEST_MAX_PACKS_PER_SKU": "2",
            "GUEST_MAX_OPEN_ORDERS_PER_EMAIL": "1",
            "GUEST_MAX_OPEN_ORDERS_PER_ADDRESS": "4",
            "SQLITE_BUSY_TIMEOUT_SECONDS": "7.5",
        }
    )
    assert (
        settings.guest_max_packs_per_order,
        settings.guest_max_packs_per_sku,
        settings.guest_max_open_orders_per_email,
        settings.guest_max_open_orders_per_address,
        settings.sqlite_busy_timeout_seconds,
    ) == (5, 2, 1, 4, 7.5)
