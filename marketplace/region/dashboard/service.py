"""Figures per cluster and village for a period, beside the same period a year before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog.models import Lot
from marketplace.parties import service as parties_service
from marketplace.parties.models import ClusterVillage, Village
from marketplace.traceability.models import Code, CodeBatch, ScanDay
from orders.contracts.models import Delivery, DeliveryStatus
from orders.ledger.models import LedgerDay
from orders.models import Allocation, Order, OrderLine
from quality.models import Grade

# Seed 002: a built cluster's neighbours grow collective operating income 20 % a year faster.
TARGET_GROWTH = 0.20
# Seed 004: every village's collective operating income above 1.2 million yuan by 2027.
INCOME_LINE_FEN = 120_000_000
QUANTUM = Decimal("0.001")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive

    def year_before(self) -> Period:
        return Period(_year_earlier(self.start), _year_earlier(self.end))

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The period's local days as UTC instants: the region counts days in its own zone."""
        return (
            datetime.combine(self.start, time(), zone).astimezone(UTC),
            datetime.combine(self.end, time(), zone).astimezone(UTC),
        )

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def _year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def cluster_figures(session: Session, *, cluster_id: int, period: Period, zone: ZoneInfo) -> dict:
    cluster = parties_service.get_cluster(session, cluster_id)
    village_ids = cluster.village_ids
    villages = village_rows(session, village_ids=village_ids, period=period, zone=zone)
    before = period.year_before()

    def totals(key: str) -> dict:
        return (
            {name: sum(row[key][name] for row in villages) for name in villages[0][key]} if villages else {}
        )

    sales = totals("sales")
    deliveries = totals("deliveries")
    codes = totals("codes")
    return {
        "cluster": {"id": cluster.id, "name_zh": cluster.name_zh, "name_en": cluster.name_en},
        "period": {"start": period.start, "end": period.end},
        "previous_period": {"start": before.start, "end": before.end},
        "sales": {
            **_cluster_sales(session, village_ids, period, zone, sales),
            "previous": _cluster_sales(session, village_ids, before, zone, totals("previous_sales")),
        },
        "deliveries": {
            **deliveries,
            "by_grade": deliveries_by_grade(session, village_ids, period),
            "previous": {
                **totals("previous_deliveries"),
                "by_grade": deliveries_by_grade(session, village_ids, before),
            },
        },
        "codes": {**codes, "previous": totals("previous_codes")},
        "collective_income_fen": sum(v["collective_income_fen"] for v in villages),
        "previous_collective_income_fen": sum(v["previous_collective_income_fen"] for v in villages),
        "sales_by_month": sales_by_month(session, village_ids, period),
        "scans_by_day": scans_by_day(session, village_ids, period),
        "lots_by_status": lots_by_status(session, village_ids),
        "lots_by_grade": lots_by_grade(session, village_ids),
        "villages": villages,
    }


def _orders_by_village(session: Session, village_ids: list[int] | None, period: Period) -> dict[int, int]:
    statement = (
        sa.select(LedgerDay.village_id, sa.func.sum(LedgerDay.orders_paid))
        .where(*_days_of(period, village_ids))
        .group_by(LedgerDay.village_id)
    )
    return {village_id: int(count) for village_id, count in session.execute(statement)}


def _cluster_sales(
    session: Session, village_ids: list[int], period: Period, zone: ZoneInfo, amounts: dict
) -> dict:
    # An order may take from several villages' lots: it is counted once for the cluster.
    return {
        "orders_paid": _orders_paid(session, village_ids, period, zone),
        "paid_fen": amounts.get("paid_fen", 0),
        "refunded_fen": amounts.get("refunded_fen", 0),
    }


def _orders_paid(session: Session, village_ids: list[int], period: Period, zone: ZoneInfo) -> int:
    start, end = period.bounds(zone)
    statement = (
        sa.select(sa.func.count(sa.distinct(Order.id)))
        .select_from(Order)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Allocation, Allocation.line_id == OrderLine.id)
        .join(Lot, Lot.id == Allocation.lot_id)
        .where(Order.paid_at >= start, Order.paid_at < end, Lot.village_id.in_(village_ids))
    )
    return session.scalar(statement) or 0


def village_rows(
    session: Session, *, village_ids: list[int] | None, period: Period, zone: ZoneInfo
) -> list[dict]:
    """Each village's figures for the period and a year before: income from the ledger against
    baseline and targets, sales, contract deliveries and codes, one grouped query each."""
    before = period.year_before()
    figures: dict[str, dict[str, dict]] = {
        when: {
            "income": _income_by_village(session, village_ids, span),
            "sales": _sales_by_village(session, village_ids, span),
            "orders": _orders_by_village(session, village_ids, span),
            "deliveries": _deliveries_by_village(session, village_ids, span),
            "codes": _codes_by_village(session, village_ids, span, zone),
        }
        for when, span in (("now", period), ("before", before))
    }
    statement = (
        sa.select(Village, ClusterVillage.cluster_id)
        .outerjoin(ClusterVillage, ClusterVillage.village_id == Village.id)
        .order_by(Village.id)
    )
    if village_ids is not None:
        statement = statement.where(Village.id.in_(village_ids))
    rows = []
    for village, cluster_id in session.execute(statement):
        years = max(period.start.year - village.baseline_year, 0)
        annual_target = round(village.baseline_income_fen * (1 + TARGET_GROWTH) ** max(years, 1))
        # Targets are yearly: a shorter period is compared with its share of the year.
        share = period.days / 365
        now, then = figures["now"], figures["before"]
        rows.append(
            {
                "village_id": village.id,
                "name_zh": village.name_zh,
                "name_en": village.name_en,
                "latitude": village.latitude,
                "longitude": village.longitude,
                "cluster_id": cluster_id,
                "baseline_income_fen": village.baseline_income_fen,
                "baseline_year": village.baseline_year,
                "annual_target_fen": annual_target,
                "period_target_fen": round(annual_target * share),
                "income_line_fen": INCOME_LINE_FEN,
                "collective_income_fen": now["income"].get(village.id, 0),
                "previous_collective_income_fen": then["income"].get(village.id, 0),
                "sales": _village_sales(now, village.id),
                "previous_sales": _village_sales(then, village.id),
                "deliveries": now["deliveries"].get(village.id, dict(NO_DELIVERIES)),
                "previous_deliveries": then["deliveries"].get(village.id, dict(NO_DELIVERIES)),
                "codes": now["codes"].get(village.id, dict(NO_CODES)),
                "previous_codes": then["codes"].get(village.id, dict(NO_CODES)),
            }
        )
    return rows


NO_DELIVERIES = {"accepted": 0, "rejected": 0, "accepted_value_fen": 0}
NO_CODES = {"minted": 0, "scans": 0, "codes_first_scanned": 0, "suspected_copies": 0}


def _village_sales(figures: dict, village_id: int) -> dict:
    paid, refunded = figures["sales"].get(village_id, (0, 0))
    return {"orders_paid": figures["orders"].get(village_id, 0), "paid_fen": paid, "refunded_fen": refunded}


def _income_by_village(session: Session, village_ids: list[int] | None, period: Period) -> dict[int, int]:
    """The collective's operating income per village: its ledger lines, summed per local day by
    the database as they are inserted (ledger_days)."""
    statement = (
        sa.select(LedgerDay.village_id, sa.func.sum(LedgerDay.collective_income_fen))
        .where(*_days_of(period, village_ids))
        .group_by(LedgerDay.village_id)
    )
    return {village_id: int(total) for village_id, total in session.execute(statement)}


def _days_of(period: Period, village_ids: list[int] | None) -> list:
    conditions = [LedgerDay.day >= period.start, LedgerDay.day < period.end]
    if village_ids is not None:
        conditions.append(LedgerDay.village_id.in_(village_ids))
    return conditions


def _sales_by_village(
    session: Session, village_ids: list[int] | None, period: Period
) -> dict[int, tuple[int, int]]:
    """(paid, refunded) fen per village: every party's share of each sale, as the ledger split it."""
    statement = (
        sa.select(LedgerDay.village_id, sa.func.sum(LedgerDay.sales_fen), sa.func.sum(LedgerDay.refunds_fen))
        .where(*_days_of(period, village_ids))
        .group_by(LedgerDay.village_id)
    )
    return {
        village_id: (int(paid), int(refunded)) for village_id, paid, refunded in session.execute(statement)
    }


def _deliveries_by_village(
    session: Session, village_ids: list[int] | None, period: Period
) -> dict[int, dict]:
    accepted = Delivery.status == DeliveryStatus.ACCEPTED
    statement = (
        sa.select(
            Lot.village_id,
            sa.func.count().filter(accepted),
            sa.func.count().filter(Delivery.status == DeliveryStatus.REJECTED),
            sa.func.coalesce(sa.func.sum(Delivery.amount_fen).filter(accepted), 0),
        )
        .select_from(Delivery)
        .join(Lot, Lot.id == Delivery.lot_id)
        .where(Delivery.delivered_on >= period.start, Delivery.delivered_on < period.end)
        .group_by(Lot.village_id)
    )
    if village_ids is not None:
        statement = statement.where(Lot.village_id.in_(village_ids))
    return {
        # coalesce(..., 0) is never NULL; SQLAlchemy types it as its first argument.
        village_id: {"accepted": count, "rejected": rejected, "accepted_value_fen": int(value)}  # type: ignore[arg-type]
        for village_id, count, rejected, value in session.execute(statement)
    }


def deliveries_by_grade(session: Session, village_ids: list[int], period: Period) -> list[dict]:
    """Accepted contract deliveries by the grade that was paid and the unit they were weighed in."""
    statement = (
        sa.select(
            Delivery.settled_grade,
            Lot.unit,
            sa.func.count(),
            sa.func.sum(Delivery.received_quantity),
            sa.func.sum(Delivery.amount_fen),
        )
        .select_from(Delivery)
        .join(Lot, Lot.id == Delivery.lot_id)
        .where(
            Lot.village_id.in_(village_ids),
            Delivery.status == DeliveryStatus.ACCEPTED,
            Delivery.delivered_on >= period.start,
            Delivery.delivered_on < period.end,
        )
        .group_by(Delivery.settled_grade, Lot.unit)
        .order_by(Delivery.settled_grade, Lot.unit)
    )
    return [
        {
            "grade": grade,
            "unit": unit,
            "deliveries": count,
            # Accepted deliveries always have both; SQLAlchemy types any SUM as nullable.
            "quantity": Decimal(quantity).quantize(QUANTUM),  # type: ignore[arg-type]
            "value_fen": int(value),  # type: ignore[arg-type]
        }
        for grade, unit, count, quantity, value in session.execute(statement)
    ]


def _codes_by_village(
    session: Session, village_ids: list[int] | None, period: Period, zone: ZoneInfo
) -> dict[int, dict]:
    start, end = period.bounds(zone)
    in_villages = (
        (lambda column: column.in_(village_ids)) if village_ids is not None else (lambda column: sa.true())
    )
    minted = (
        sa.select(Lot.village_id, sa.func.sum(CodeBatch.quantity))
        .select_from(CodeBatch)
        .join(Lot, Lot.id == CodeBatch.lot_id)
        .where(in_villages(Lot.village_id), CodeBatch.created_at >= start, CodeBatch.created_at < end)
        .group_by(Lot.village_id)
    )
    scanned = (
        sa.select(ScanDay.village_id, sa.func.sum(ScanDay.scans), sa.func.sum(ScanDay.codes_first_scanned))
        .where(in_villages(ScanDay.village_id), ScanDay.day >= period.start, ScanDay.day < period.end)
        .group_by(ScanDay.village_id)
    )
    suspected = (
        sa.select(Lot.village_id, sa.func.count())
        .select_from(Code)
        .join(Lot, Lot.id == Code.lot_id)
        .where(in_villages(Lot.village_id), Code.suspected_copy_at >= start, Code.suspected_copy_at < end)
        .group_by(Lot.village_id)
    )
    codes: dict[int, dict] = {}

    def row(village_id: int) -> dict:
        return codes.setdefault(village_id, dict(NO_CODES))

    for village_id, count in session.execute(minted):
        row(village_id)["minted"] = int(count)
    for village_id, scans, first in session.execute(scanned):
        row(village_id).update(scans=int(scans), codes_first_scanned=int(first))
    for village_id, count in session.execute(suspected):
        row(village_id)["suspected_copies"] = count
    return codes


def scans_by_day(session: Session, village_ids: list[int], period: Period) -> list[dict]:
    rows = session.execute(
        sa.select(ScanDay.day, sa.func.sum(ScanDay.scans), sa.func.sum(ScanDay.codes_first_scanned))
        .where(ScanDay.village_id.in_(village_ids), ScanDay.day >= period.start, ScanDay.day < period.end)
        .group_by(ScanDay.day)
        .order_by(ScanDay.day)
    )
    return [
        {"day": day, "scans": int(scans), "codes_first_scanned": int(first)} for day, scans, first in rows
    ]


def sales_by_month(session: Session, village_ids: list[int], period: Period) -> list[dict]:
    month = sa.func.substr(sa.cast(LedgerDay.day, sa.String), 1, 7)
    rows = session.execute(
        sa.select(month, sa.func.sum(LedgerDay.sales_fen - LedgerDay.refunds_fen))
        .where(*_days_of(period, village_ids))
        .group_by(month)
        .order_by(month)
    )
    return [{"month": label, "net_sales_fen": int(total)} for label, total in rows]


def lots_by_status(session: Session, village_ids: list[int]) -> dict[str, int]:
    rows = session.execute(
        sa.select(Lot.status, sa.func.count()).where(Lot.village_id.in_(village_ids)).group_by(Lot.status)
    )
    return {status.value: count for status, count in rows}


def lots_by_grade(session: Session, village_ids: list[int]) -> dict[str, int]:
    """Each lot counted once, under the grade of its latest grading."""
    latest = (
        sa.select(Grade.lot_id, sa.func.max(Grade.id).label("grade_id")).group_by(Grade.lot_id).subquery()
    )
    # Inline, not bound: PostgreSQL must see the same expression in SELECT and GROUP BY.
    grade = sa.func.coalesce(Grade.grade_code, sa.literal_column("'rejected'"))
    rows = session.execute(
        sa.select(grade, sa.func.count())
        .join(latest, latest.c.grade_id == Grade.id)
        .join(Lot, Lot.id == Grade.lot_id)
        .where(Lot.village_id.in_(village_ids))
        .group_by(grade)
    )
    return dict(rows.all())


def villages_geojson(session: Session, *, cluster_id: int | None, period: Period, zone: ZoneInfo) -> dict:
    village_ids = None
    if cluster_id is not None:
        village_ids = list(
            session.scalars(
                sa.select(ClusterVillage.village_id).where(ClusterVillage.cluster_id == cluster_id)
            )
        )
    features = []
    for row in village_rows(session, village_ids=village_ids, period=period, zone=zone):
        properties = {key: value for key, value in flat(row).items() if key not in ("latitude", "longitude")}
        features.append(
            {
                "type": "Feature",
                "id": row["village_id"],
                "geometry": {
                    "type": "Point",
                    "coordinates": [float(row["longitude"]), float(row["latitude"])],
                },
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def flat(row: dict) -> dict:
    """A village row with its nested figures spelt out ("sales_paid_fen"), for map clients and
    spreadsheets that take one value per column."""
    flattened = {}
    for key, value in row.items():
        if isinstance(value, dict):
            flattened.update({f"{key}_{name}": inner for name, inner in value.items()})
        else:
            flattened[key] = value
    return flattened


def default_period(today: date) -> Period:
    """This year so far, through today."""
    return Period(date(today.year, 1, 1), today + timedelta(days=1))
