"""Figures per cluster and village for a period, beside the same period a year before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog.models import Lot
from marketplace.parties import service as parties_service
from marketplace.parties.models import ClusterVillage, Village
from orders.ledger import CLEARING, OPERATING_INCOME
from orders.ledger_models import LedgerEntry, Party
from orders.models import Allocation, Order, OrderLine
from quality.models import Grade

# Seed 002: a built cluster's neighbours grow collective operating income 20 % a year faster.
TARGET_GROWTH = 0.20
# Card and call-off orders, offline sales recorded in the ledger, and refunds of either.
SALES_SOURCES = ("order", "sale", "refund")
# Seed 004: every village's collective operating income above 1.2 million yuan by 2027.
INCOME_LINE_FEN = 120_000_000


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive

    def year_before(self) -> Period:
        return Period(_year_earlier(self.start), _year_earlier(self.end))

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The period's local days as UTC instants: the region counts days in its own zone."""
        return (datetime.combine(self.start, time(), zone).astimezone(UTC),
                datetime.combine(self.end, time(), zone).astimezone(UTC))

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
    now = _figures(session, village_ids, period, zone)
    before = _figures(session, village_ids, period.year_before(), zone)
    villages = village_rows(session, village_ids=village_ids, period=period, zone=zone)
    return {
        "cluster": {"id": cluster.id, "name_zh": cluster.name_zh, "name_en": cluster.name_en},
        "period": {"start": period.start, "end": period.end},
        "previous_period": {"start": period.year_before().start, "end": period.year_before().end},
        "sales": {**now["sales"], "previous": before["sales"]},
        "collective_income_fen": sum(v["collective_income_fen"] for v in villages),
        "previous_collective_income_fen": sum(v["previous_collective_income_fen"] for v in villages),
        "sales_by_month": sales_by_month(session, village_ids, period, zone),
        "lots_by_status": lots_by_status(session, village_ids),
        "lots_by_grade": lots_by_grade(session, village_ids),
        "villages": villages,
    }


def _figures(session: Session, village_ids: list[int], period: Period, zone: ZoneInfo) -> dict:
    start, end = period.bounds(zone)
    paid = (sa.select(sa.func.count(sa.distinct(Order.id)))
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Allocation, Allocation.line_id == OrderLine.id)
            .join(Lot, Lot.id == Allocation.lot_id)
            .where(Lot.village_id.in_(village_ids), Order.paid_at >= start, Order.paid_at < end))
    money = (sa.select(LedgerEntry.source_type,
                       sa.func.coalesce(sa.func.sum(LedgerEntry.credit_fen - LedgerEntry.debit_fen), 0))
             .where(LedgerEntry.village_id.in_(village_ids), LedgerEntry.account != CLEARING,
                    LedgerEntry.source_type.in_(SALES_SOURCES),
                    LedgerEntry.posted_at >= start, LedgerEntry.posted_at < end)
             .group_by(LedgerEntry.source_type))
    amounts = dict(session.execute(money).all())
    return {"sales": {"orders_paid": session.scalar(paid) or 0,
                      "paid_fen": int(amounts.get("order", 0)) + int(amounts.get("sale", 0)),
                      "refunded_fen": -int(amounts.get("refund", 0))}}


def village_rows(session: Session, *, village_ids: list[int] | None, period: Period,
                 zone: ZoneInfo) -> list[dict]:
    """Each village's collective operating income from the ledger, against baseline and targets."""
    income_now = _income_by_village(session, village_ids, period, zone)
    income_before = _income_by_village(session, village_ids, period.year_before(), zone)
    statement = sa.select(Village).order_by(Village.id)
    if village_ids is not None:
        statement = statement.where(Village.id.in_(village_ids))
    rows = []
    for village in session.scalars(statement):
        years = max(period.start.year - village.baseline_year, 0)
        annual_target = round(village.baseline_income_fen * (1 + TARGET_GROWTH) ** max(years, 1))
        # Targets are yearly: a shorter period is compared with its share of the year.
        share = period.days / 365
        rows.append({
            "village_id": village.id, "name_zh": village.name_zh, "name_en": village.name_en,
            "latitude": village.latitude, "longitude": village.longitude,
            "cluster_id": village.cluster_id,
            "baseline_income_fen": village.baseline_income_fen,
            "baseline_year": village.baseline_year,
            "annual_target_fen": annual_target,
            "period_target_fen": round(annual_target * share),
            "income_line_fen": INCOME_LINE_FEN,
            "collective_income_fen": income_now.get(village.id, 0),
            "previous_collective_income_fen": income_before.get(village.id, 0),
        })
    return rows


def _income_by_village(session: Session, village_ids: list[int] | None, period: Period,
                       zone: ZoneInfo) -> dict[int, int]:
    start, end = period.bounds(zone)
    statement = (sa.select(LedgerEntry.village_id,
                           sa.func.sum(LedgerEntry.credit_fen - LedgerEntry.debit_fen))
                 .where(LedgerEntry.account == Party.VILLAGE_COLLECTIVE.value,
                        LedgerEntry.income_category == OPERATING_INCOME,
                        LedgerEntry.posted_at >= start, LedgerEntry.posted_at < end)
                 .group_by(LedgerEntry.village_id))
    if village_ids is not None:
        statement = statement.where(LedgerEntry.village_id.in_(village_ids))
    return {village_id: int(total) for village_id, total in session.execute(statement)}


def local_month(session: Session, column, zone: ZoneInfo):
    """The local calendar month of a UTC timestamp column, as 'YYYY-MM', in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone(zone.key, column), "YYYY-MM")
    # SQLite has no zone database; our zones keep one offset all year (Asia/Shanghai: +8 h).
    hours = int(datetime.now(zone).utcoffset().total_seconds() // 3600)
    return sa.func.strftime("%Y-%m", column, f"{hours:+d} hours")


def sales_by_month(session: Session, village_ids: list[int], period: Period,
                   zone: ZoneInfo) -> list[dict]:
    start, end = period.bounds(zone)
    month = local_month(session, LedgerEntry.posted_at, zone)
    rows = session.execute(
        sa.select(month, sa.func.sum(LedgerEntry.credit_fen - LedgerEntry.debit_fen))
        .where(LedgerEntry.village_id.in_(village_ids), LedgerEntry.account != CLEARING,
               LedgerEntry.source_type.in_(SALES_SOURCES),
               LedgerEntry.posted_at >= start, LedgerEntry.posted_at < end)
        .group_by(month).order_by(month))
    return [{"month": label, "net_sales_fen": int(total)} for label, total in rows]


def lots_by_status(session: Session, village_ids: list[int]) -> dict[str, int]:
    rows = session.execute(sa.select(Lot.status, sa.func.count()).where(Lot.village_id.in_(village_ids))
                           .group_by(Lot.status))
    return {status.value: count for status, count in rows}


def lots_by_grade(session: Session, village_ids: list[int]) -> dict[str, int]:
    """Each lot counted once, under the grade of its latest grading."""
    latest = (sa.select(Grade.lot_id, sa.func.max(Grade.id).label("grade_id"))
              .group_by(Grade.lot_id).subquery())
    # Inline, not bound: PostgreSQL must see the same expression in SELECT and GROUP BY.
    grade = sa.func.coalesce(Grade.grade_code, sa.literal_column("'rejected'"))
    rows = session.execute(
        sa.select(grade, sa.func.count())
        .join(latest, latest.c.grade_id == Grade.id)
        .join(Lot, Lot.id == Grade.lot_id)
        .where(Lot.village_id.in_(village_ids))
        .group_by(grade))
    return dict(rows.all())


def villages_geojson(session: Session, *, cluster_id: int | None, period: Period,
                     zone: ZoneInfo) -> dict:
    village_ids = None
    if cluster_id is not None:
        village_ids = list(session.scalars(sa.select(ClusterVillage.village_id)
                                           .where(ClusterVillage.cluster_id == cluster_id)))
    features = []
    for row in village_rows(session, village_ids=village_ids, period=period, zone=zone):
        properties = {key: value for key, value in row.items() if key not in ("latitude", "longitude")}
        features.append({"type": "Feature", "id": row["village_id"],
                         "geometry": {"type": "Point",
                                      "coordinates": [float(row["longitude"]), float(row["latitude"])]},
                         "properties": properties})
    return {"type": "FeatureCollection", "features": features}


def default_period(today: date) -> Period:
    """This year so far, through today."""
    return Period(date(today.year, 1, 1), today + timedelta(days=1))
