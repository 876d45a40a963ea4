"""The dashboard's figures come from the ledger, to the fen, per village and period."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa

from catalog.models import LotStatus
from orders.ledger import service as ledger
from orders.ledger.models import LedgerEntry, Party
from tests import factories

SEED_001_SHARES = [
    {"party": Party.VILLAGE_COLLECTIVE, "basis_points": 1000},
    {"party": Party.VILLAGE_GROUP, "basis_points": 1000},
    {"party": Party.COOPERATIVE, "basis_points": 4100},
    {"party": Party.FARMERS, "basis_points": 3900},
]


def a_cluster_with_sales(session):
    villages = [
        factories.make_village(session, baseline_income_fen=100_000_000, baseline_year=2024) for _ in range(3)
    ]
    cluster = factories.make_cluster(session, villages=villages)
    brand = factories.make_brand(session, cluster=cluster)
    ledger.create_rule(session, name="seed 001", cluster_id=cluster.id, shares=SEED_001_SHARES)
    cooperative = factories.make_organisation(session)
    lots = [
        factories.make_lot(
            session,
            product=factories.make_product(session, cooperative=cooperative, brand=brand, village=village),
            status=LotStatus.ON_SALE,
        )
        for village in villages
    ]
    for n, amount in enumerate([128_001, 99_999, 7, 250_000, 33_333]):
        ledger.post_sale(
            session,
            source_type="order",
            source_id=f"sale-{n}",
            amount_fen=amount,
            currency="CNY",
            lot=lots[n % 3],
            memo="test sale",
        )
    ledger.post_reversal(
        session,
        source_type="refund",
        source_id="refund-1",
        of_source_type="order",
        of_source_id="sale-0",
        amount_fen=50_001,
        memo="dented tin",
    )
    return cluster, villages, lots


def test_income_figures_equal_the_ledger_lines_for_every_village(client, session, callers):
    cluster, villages, _ = a_cluster_with_sales(session)
    expected = defaultdict(int)
    for entry in session.scalars(sa.select(LedgerEntry).where(LedgerEntry.account == "village_collective")):
        expected[entry.village_id] += entry.credit_fen - entry.debit_fen
    today = datetime.now(UTC).date()
    figures = client.get(
        f"/api/v1/dashboard/clusters/{cluster.id}?from={today.year}-01-01", headers=callers.operator.headers
    ).get_json()
    by_village = {row["village_id"]: row["collective_income_fen"] for row in figures["villages"]}
    assert by_village == {village.id: expected[village.id] for village in villages}
    assert figures["collective_income_fen"] == sum(expected.values())
    assert figures["sales"]["paid_fen"] == 128_001 + 99_999 + 7 + 250_000 + 33_333
    assert figures["sales"]["refunded_fen"] == 50_001


def test_figures_are_compared_with_the_same_period_a_year_before(client, session, callers):
    cluster, villages, lots = a_cluster_with_sales(session)
    last_year = datetime(datetime.now(UTC).year - 1, 3, 1, tzinfo=UTC)
    session.add(
        LedgerEntry(
            posting="old",
            posted_at=last_year,
            source_type="order",
            source_id="old-sale",
            account="village_collective",
            village_id=villages[0].id,
            income_category="operating_income",
            credit_fen=12_345,
            currency="CNY",
        )
    )
    session.flush()
    year = datetime.now(UTC).year
    figures = client.get(
        f"/api/v1/dashboard/clusters/{cluster.id}?from={year}-01-01&to={year}-12-31",
        headers=callers.operator.headers,
    ).get_json()
    row = next(r for r in figures["villages"] if r["village_id"] == villages[0].id)
    assert row["previous_collective_income_fen"] == 12_345
    assert figures["previous_period"]["start"] == f"{year - 1}-01-01"


def test_targets_follow_the_seeds(client, session, callers):
    cluster, villages, _ = a_cluster_with_sales(session)
    figures = client.get(
        f"/api/v1/dashboard/clusters/{cluster.id}?from=2026-01-01&to=2026-12-31",
        headers=callers.operator.headers,
    ).get_json()
    row = figures["villages"][0]
    assert row["annual_target_fen"] == round(100_000_000 * 1.2**2)  # +20 %/yr from 2024
    assert row["income_line_fen"] == 120_000_000  # seed 004: 1.2 million yuan


def test_lots_are_counted_by_status(client, session, callers):
    cluster, villages, lots = a_cluster_with_sales(session)
    factories.make_lot(session, product=lots[0].product, status=LotStatus.RECALLED)
    figures = client.get(
        f"/api/v1/dashboard/clusters/{cluster.id}", headers=callers.operator.headers
    ).get_json()
    assert figures["lots_by_status"] == {"on_sale": 3, "recalled": 1}


def test_villages_are_a_geojson_feature_collection_with_their_figures(client, session, callers):
    cluster, villages, _ = a_cluster_with_sales(session)
    response = client.get(
        f"/api/v1/dashboard/villages.geojson?cluster_id={cluster.id}", headers=callers.operator.headers
    )
    assert response.mimetype == "application/geo+json"
    collection = response.get_json()
    assert collection["type"] == "FeatureCollection"
    assert {f["id"] for f in collection["features"]} == {v.id for v in villages}
    feature = collection["features"][0]
    assert feature["geometry"]["type"] == "Point" and len(feature["geometry"]["coordinates"]) == 2
    assert "collective_income_fen" in feature["properties"]


def test_only_operators_see_the_dashboard(client, session, callers):
    cluster, _, _ = a_cluster_with_sales(session)
    for caller in (callers.cooperative, callers.enterprise, callers.inspector):
        assert (
            client.get(f"/api/v1/dashboard/clusters/{cluster.id}", headers=caller.headers).status_code == 403
        )
    assert client.get("/api/v1/dashboard/villages.geojson").status_code == 401


def test_a_backwards_period_is_refused(client, session, callers):
    cluster, _, _ = a_cluster_with_sales(session)
    response = client.get(
        f"/api/v1/dashboard/clusters/{cluster.id}?from=2026-05-01&to=2026-04-01",
        headers=callers.operator.headers,
    )
    assert response.status_code == 422 and "to" in response.get_json()["errors"]["query"]


def test_lots_are_counted_by_their_latest_grade(client, session, callers):
    cluster, villages, lots = a_cluster_with_sales(session)
    standard = factories.make_standard(session, category=lots[0].product.category)
    factories.make_grade(session, lot=lots[0], standard=standard, sample=factories.simple_sample("7"))
    factories.make_grade(session, lot=lots[0], standard=standard, sample=factories.simple_sample("5"))
    factories.make_grade(session, lot=lots[1], sample=factories.simple_sample("7"))
    figures = client.get(
        f"/api/v1/dashboard/clusters/{cluster.id}", headers=callers.operator.headers
    ).get_json()
    assert figures["lots_by_grade"] == {"A": 1, "B": 1}


def test_the_figures_export_as_csv_xlsx_and_a_one_page_pdf(client, session, callers):
    import csv
    import io

    from openpyxl import load_workbook
    from pypdf import PdfReader

    cluster, villages, _ = a_cluster_with_sales(session)
    base = f"/api/v1/dashboard/clusters/{cluster.id}"
    figures = client.get(base, headers=callers.operator.headers).get_json()
    income = {row["name_zh"]: row["collective_income_fen"] for row in figures["villages"]}

    as_csv = client.get(f"{base}/villages.csv", headers=callers.operator.headers)
    assert as_csv.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(as_csv.get_data(as_text=True))))
    assert {row[1]: int(row[7]) for row in rows[1:]} == income

    as_xlsx = client.get(f"{base}/villages.xlsx", headers=callers.operator.headers)
    sheet = load_workbook(io.BytesIO(as_xlsx.data))["villages"]
    assert {row[1]: row[7] for row in sheet.iter_rows(min_row=2, values_only=True)} == income

    as_pdf = client.get(f"{base}/report.pdf", headers=callers.operator.headers)
    reader = PdfReader(io.BytesIO(as_pdf.data))
    text = reader.pages[0].extract_text()
    assert len(reader.pages) == 1
    assert cluster.name_zh in text and all(v.name_zh in text for v in villages)


def test_sales_are_summed_by_local_month(client, session, callers):
    cluster, villages, lots = a_cluster_with_sales(session)
    # 31 January 20:00 UTC is already 1 February in Asia/Shanghai.
    late_january = datetime(2026, 1, 31, 20, 0, tzinfo=UTC)
    session.add(
        LedgerEntry(
            posting="jan",
            posted_at=late_january,
            source_type="order",
            source_id="night-sale",
            account="cooperative",
            village_id=villages[0].id,
            credit_fen=5_000,
            currency="CNY",
        )
    )
    session.flush()
    figures = client.get(
        f"/api/v1/dashboard/clusters/{cluster.id}?from=2026-01-01&to=2026-02-28",
        headers=callers.operator.headers,
    ).get_json()
    assert figures["sales_by_month"] == [{"month": "2026-02", "net_sales_fen": 5_000}]


def test_accepted_contract_deliveries_are_counted_by_settled_grade_this_year_and_last(
    client, session, callers
):
    from orders.contracts import service as contracts

    cluster, villages, _ = a_cluster_with_sales(session)
    grower, enterprise = callers.cooperative.user, callers.enterprise.user
    category = factories.make_category(session)
    standard = factories.make_standard(
        session, category=category, definition=factories.graded_definition(*factories.CELERY_GRADES)
    )
    product = factories.make_product(
        session, cooperative=grower.organisation, category=category, village=villages[1]
    )
    year = datetime.now(UTC).year
    windows = [
        {"starts_on": date(year - 1, 1, 1), "ends_on": date(year, 12, 31), "quantity": Decimal("1000")}
    ]
    contract = factories.make_contract(
        session, enterprise_user=enterprise, grower_user=grower, product=product, windows=windows
    )

    def delivered(grade, quantity, on, received=None, receipt_grade=None):
        lot = factories.make_graded_lot(
            session, product=product, grade=grade, quantity=Decimal(quantity), standard=standard
        )
        delivery = contracts.deliver(
            session,
            actor=grower,
            contract_id=contract.id,
            lot_id=lot.id,
            window=1,
            quantity=Decimal(quantity),
            delivered_on=on,
        )
        if received is None:
            contracts.reject_delivery(
                session, actor=enterprise, contract_id=contract.id, delivery_id=delivery.id, reason="wilted"
            )
        else:
            contracts.accept_delivery(
                session,
                actor=enterprise,
                contract_id=contract.id,
                delivery_id=delivery.id,
                received_quantity=Decimal(received),
                receipt_grade=receipt_grade or grade,
            )

    delivered("一级", "100", date(year, 2, 1), received="99.5")  # 99.5 × 300 fen
    delivered("一级", "40", date(year, 3, 1), received="40", receipt_grade="二级")  # 40 × 250
    delivered("二级", "10.25", date(year, 3, 2), received="10.25")  # 10.25 × 250, half up
    delivered("一级", "5", date(year, 3, 3))  # rejected
    delivered("一级", "7", date(year - 1, 2, 1), received="7")  # last year: 7 × 300

    figures = client.get(
        f"/api/v1/dashboard/clusters/{cluster.id}?from={year}-01-01&to={year}-12-31",
        headers=callers.operator.headers,
    ).get_json()
    deliveries = figures["deliveries"]
    assert deliveries["by_grade"] == [
        {"grade": "一级", "unit": "kg", "deliveries": 1, "quantity": "99.500", "value_fen": 29_850},
        {"grade": "二级", "unit": "kg", "deliveries": 2, "quantity": "50.250", "value_fen": 12_563},
    ]
    assert (deliveries["accepted"], deliveries["rejected"]) == (3, 1)
    assert deliveries["accepted_value_fen"] == 29_850 + 12_563
    assert deliveries["previous"]["accepted_value_fen"] == 2_100
    assert deliveries["previous"]["by_grade"][0]["quantity"] == "7.000"
    row = next(r for r in figures["villages"] if r["village_id"] == villages[1].id)
    assert row["deliveries"] == {"accepted": 3, "rejected": 1, "accepted_value_fen": 42_413}


def test_codes_minted_scanned_and_suspected_are_counted_per_village_and_day(client, session, callers):
    from zoneinfo import ZoneInfo

    from marketplace.traceability import scans
    from marketplace.traceability import service as codes
    from marketplace.traceability.models import CodeLevel

    cluster, villages, lots = a_cluster_with_sales(session)
    zone = ZoneInfo("Asia/Shanghai")
    sku = factories.make_sku(session, product=lots[0].product)
    batch = codes.mint_codes(
        session,
        actor=callers.operator.user,
        lot_id=lots[0].id,
        sku_id=sku.id,
        level=CodeLevel.UNIT,
        quantity=4,
        keys=factories.SIGNING_KEYS,
    )
    minted = list(codes.batch_codes(session, batch=batch))
    year = datetime.now(UTC).year
    day_one = datetime(year, 1, 2, 4, tzinfo=UTC)
    day_two = datetime(year, 1, 3, 4, tzinfo=UTC)
    scanned = [
        (minted[0], day_one),
        (minted[0], day_two),
        (minted[1], day_two),
        (minted[2], day_two),
        (minted[2], day_two),
        (minted[2], day_two),
    ]
    scans.apply_scans(
        session,
        [scans.ScanRecord(code.id, True, at, None, f"client-{n}") for n, (code, at) in enumerate(scanned)],
        thresholds=scans.Thresholds(scan_count=2),
        zone=zone,
    )

    figures = client.get(
        f"/api/v1/dashboard/clusters/{cluster.id}?from={year}-01-01", headers=callers.operator.headers
    ).get_json()
    assert figures["codes"] | {"previous": None} == {
        "minted": 4,
        "scans": 6,
        "codes_first_scanned": 3,
        "suspected_copies": 1,
        "previous": None,
    }
    assert figures["scans_by_day"] == [
        {"day": f"{year}-01-02", "scans": 1, "codes_first_scanned": 1},
        {"day": f"{year}-01-03", "scans": 5, "codes_first_scanned": 2},
    ]
    by_village = {row["village_id"]: row["codes"]["scans"] for row in figures["villages"]}
    assert by_village == {villages[0].id: 6, villages[1].id: 0, villages[2].id: 0}
    feature = next(
        f
        for f in client.get(
            f"/api/v1/dashboard/villages.geojson?cluster_id={cluster.id}&from={year}-01-01",
            headers=callers.operator.headers,
        ).get_json()["features"]
        if f["id"] == villages[0].id
    )
    assert feature["properties"]["codes_scans"] == 6
    assert feature["properties"]["codes_minted"] == 4
    import csv
    import io

    exported = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    f"/api/v1/dashboard/clusters/{cluster.id}/villages.csv?from={year}-01-01",
                    headers=callers.operator.headers,
                ).get_data(as_text=True)
            )
        )
    )
    row = next(r for r in exported if r["村 ID Village id"] == str(villages[0].id))
    assert (row["扫码次数 Scans"], row["赋码数 Codes minted"], row["疑似复制码 Suspected copies"]) == (
        "6",
        "4",
        "1",
    )


def test_an_order_taking_from_two_lots_of_one_village_counts_once_for_it(client, session, callers):
    cluster, villages, lots = a_cluster_with_sales(session)
    second_lot = factories.make_lot(session, product=lots[0].product, status=LotStatus.ON_SALE)
    for lot in (lots[0], second_lot, lots[1]):
        ledger.post_sale(
            session,
            source_type="order",
            source_id="SH-TWO-LOTS",
            amount_fen=1_000,
            currency="CNY",
            lot=lot,
            memo="one order, three lots",
        )
    figures = client.get(
        f"/api/v1/dashboard/clusters/{cluster.id}", headers=callers.operator.headers
    ).get_json()
    orders = {row["village_id"]: row["sales"]["orders_paid"] for row in figures["villages"]}
    # a_cluster_with_sales posted sale-0 and sale-3 to the first village, sale-1 and sale-4 to
    # the second, sale-2 to the third.
    assert orders == {villages[0].id: 3, villages[1].id: 3, villages[2].id: 1}
