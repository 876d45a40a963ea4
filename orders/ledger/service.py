"""Splitting money by a sharing rule, and posting balanced, append-only ledger entries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog.models import Lot, Product
from marketplace.core.db import sorted_by, utcnow
from marketplace.core.errors import InvalidInput, NotFound
from marketplace.parties.models import Cluster, ClusterVillage, Pairing
from orders.ledger.models import LedgerEntry, Party, SharingRule, SharingShare

FULL = 10_000
CLEARING = "payments_clearing"
OPERATING_INCOME = "operating_income"
# Used where neither the product nor its cluster has a rule: the grower keeps the sale.
DEFAULT_SHARES = ((Party.COOPERATIVE, FULL),)


class SharingRuleInvalid(InvalidInput):
    pass


class SharingRuleNotFound(NotFound):
    pass


def largest_remainder(amount: int, weights: list[int]) -> list[int]:
    """Split a whole number of fen by weights so that the parts add up to exactly `amount`.

    Each part gets the floor of its exact share; the fen left over go one each to the parts
    with the largest fractional remainders, earlier parts first on ties.
    """
    total = sum(weights)
    if amount < 0 or total <= 0 or any(weight < 0 for weight in weights):
        raise ValueError("a non-negative amount split by non-negative weights with a positive sum")
    floors = [amount * weight // total for weight in weights]
    remainders = [amount * weight % total for weight in weights]
    left = amount - sum(floors)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        floors[index] += 1
    return floors


def split(
    amount: int,
    shares: list[tuple[Party, int]],
    *,
    guaranteed_party: Party | None = None,
    guaranteed_fen: int = 0,
) -> dict[Party, int]:
    """How much of `amount` each party gets: any guarantee first, then shares of the rest."""
    first = min(guaranteed_fen, amount) if guaranteed_party else 0
    parts = largest_remainder(amount - first, [points for _, points in shares])
    result: dict[Party, int] = {}
    if first and guaranteed_party is not None:
        result[guaranteed_party] = first
    for (party, _), part in zip(shares, parts, strict=True):
        result[party] = result.get(party, 0) + part
    return result


def create_rule(
    session: Session,
    *,
    name: str,
    shares: list[dict],
    cluster_id: int | None = None,
    product_id: int | None = None,
    contract_id: int | None = None,
    guaranteed_party: Party | None = None,
    guaranteed_fen: int = 0,
) -> SharingRule:
    if [cluster_id, product_id, contract_id].count(None) != 2:
        raise SharingRuleInvalid(
            "a rule attaches to exactly one cluster, product or contract",
            errors={"json": {"cluster_id": ["give cluster_id or product_id"]}},
        )
    if sum(share["basis_points"] for share in shares) != FULL:
        raise SharingRuleInvalid(
            "the shares must add up to exactly 100 % (10000 basis points)",
            errors={"json": {"shares": ["must sum to 10000 basis points"]}},
        )
    if len({share["party"] for share in shares}) != len(shares):
        raise SharingRuleInvalid("each party appears once", errors={"json": {"shares": ["repeated party"]}})
    if (guaranteed_party is None) != (guaranteed_fen == 0):
        raise SharingRuleInvalid(
            "a guarantee needs both a party and an amount",
            errors={"json": {"guaranteed_fen": ["goes with guaranteed_party"]}},
        )
    rule = SharingRule(
        name=name,
        cluster_id=cluster_id,
        product_id=product_id,
        contract_id=contract_id,
        guaranteed_party=guaranteed_party,
        guaranteed_fen=guaranteed_fen,
        shares=[
            SharingShare(position=i, party=s["party"], basis_points=s["basis_points"])
            for i, s in enumerate(shares)
        ],
    )
    session.add(rule)
    session.flush()
    return rule


def list_rules(session: Session) -> sa.Select:
    return sa.select(SharingRule).order_by(SharingRule.id)


def rule_for(session: Session, product: Product, *, contract_id: int | None = None) -> SharingRule | None:
    """The newest rule of the contract (if any), else of the product, else of its brand's cluster."""
    for column, value in (
        (SharingRule.contract_id, contract_id),
        (SharingRule.product_id, product.id),
        (SharingRule.cluster_id, product.brand.cluster_id),
    ):
        if value is None:
            continue
        rule = session.scalar(
            sa.select(SharingRule).where(column == value).order_by(SharingRule.id.desc()).limit(1)
        )
        if rule is not None:
            return rule
    return None


@dataclass(frozen=True)
class Recipient:
    account: str
    village_id: int | None
    organisation_id: int | None
    income_category: str | None


def post_sale(
    session: Session,
    *,
    source_type: str,
    source_id: str,
    amount_fen: int,
    currency: str,
    lot: Lot,
    memo: str,
    contract_id: int | None = None,
    posted_at: datetime | None = None,
) -> str:
    """Post money received for produce of `lot`: clearing is debited, each party credited."""
    rule = rule_for(session, lot.product, contract_id=contract_id)
    shares = [(share.party, share.basis_points) for share in rule.shares] if rule else list(DEFAULT_SHARES)
    parts = split(
        amount_fen,
        shares,
        guaranteed_party=rule.guaranteed_party if rule else None,
        guaranteed_fen=rule.guaranteed_fen if rule else 0,
    )
    posting = str(uuid.uuid4())
    posted_at = posted_at or utcnow()
    entries = [
        LedgerEntry(
            posting=posting,
            posted_at=posted_at,
            source_type=source_type,
            source_id=source_id,
            account=CLEARING,
            debit_fen=amount_fen,
            currency=currency,
            memo=memo,
        )
    ]
    for party, part in parts.items():
        if part == 0:
            continue
        recipient = _recipient(session, party, lot)
        entries.append(
            LedgerEntry(
                posting=posting,
                posted_at=posted_at,
                source_type=source_type,
                source_id=source_id,
                account=recipient.account,
                village_id=recipient.village_id,
                organisation_id=recipient.organisation_id,
                income_category=recipient.income_category,
                credit_fen=part,
                currency=currency,
                memo=memo,
            )
        )
    if amount_fen > 0:
        session.add_all(entries)
        session.flush()
    return posting


@dataclass(frozen=True)
class Sale:
    lot: Lot
    amount_fen: int
    memo: str


def post_sales(
    session: Session,
    *,
    source_type: str,
    source_id: str,
    currency: str,
    sales: list[Sale],
    contract_id: int | None = None,
) -> None:
    """Post the sales one payment pays for, village by village, then lot by lot.

    Each credit line makes the ledger_days trigger lock its village's day row; two payments
    that touch the same villages must lock them in the same order or PostgreSQL may deadlock.
    """
    for sale in sorted(sales, key=lambda sale: (sale.lot.village_id, sale.lot.id)):
        post_sale(
            session,
            source_type=source_type,
            source_id=source_id,
            amount_fen=sale.amount_fen,
            currency=currency,
            lot=sale.lot,
            memo=sale.memo,
            contract_id=contract_id,
        )


def post_reversal(
    session: Session,
    *,
    source_type: str,
    source_id: str,
    of_source_type: str,
    of_source_id: str,
    amount_fen: int,
    memo: str,
) -> str | None:
    """Reverse `amount_fen` of earlier postings, spread over their parties in proportion."""
    credits = session.scalars(
        sa.select(LedgerEntry)
        .where(
            LedgerEntry.source_type == of_source_type,
            LedgerEntry.source_id == of_source_id,
            LedgerEntry.credit_fen > 0,
        )
        .order_by(LedgerEntry.id)
    ).all()
    if amount_fen <= 0 or not credits:
        return None
    parts = largest_remainder(amount_fen, [entry.credit_fen for entry in credits])
    posting = str(uuid.uuid4())
    currency = credits[0].currency
    entries = [
        LedgerEntry(
            posting=posting,
            source_type=source_type,
            source_id=source_id,
            account=CLEARING,
            credit_fen=amount_fen,
            currency=currency,
            memo=memo,
        )
    ]
    for entry, part in zip(credits, parts, strict=True):
        if part:
            entries.append(
                LedgerEntry(
                    posting=posting,
                    source_type=source_type,
                    source_id=source_id,
                    account=entry.account,
                    village_id=entry.village_id,
                    organisation_id=entry.organisation_id,
                    income_category=entry.income_category,
                    debit_fen=part,
                    currency=currency,
                    memo=memo,
                )
            )
    session.add_all(entries)
    session.flush()
    return posting


def list_entries(
    session: Session,
    *,
    village_id: int | None = None,
    organisation_id: int | None = None,
    account: str | None = None,
    source_type: str | None = None,
    source_id: str | None = None,
    sort: str | None = None,
) -> sa.Select:
    statement = sa.select(LedgerEntry)
    for column, value in (
        (LedgerEntry.village_id, village_id),
        (LedgerEntry.organisation_id, organisation_id),
        (LedgerEntry.account, account),
        (LedgerEntry.source_type, source_type),
        (LedgerEntry.source_id, source_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    return sorted_by(statement, sort, {"posted_at": LedgerEntry.posted_at}, LedgerEntry.id)


def _recipient(session: Session, party: Party, lot: Lot) -> Recipient:
    village_id = lot.village_id
    if party is Party.VILLAGE_COLLECTIVE:
        return Recipient(party.value, village_id, None, OPERATING_INCOME)
    if party in (Party.VILLAGE_GROUP, Party.FARMERS):
        return Recipient(party.value, village_id, None, None)
    if party is Party.COOPERATIVE:
        return Recipient(party.value, village_id, lot.cooperative_id, None)
    cluster = session.scalar(
        sa.select(Cluster).join(ClusterVillage).where(ClusterVillage.village_id == village_id)
    )
    operator_id = cluster.operator_id if cluster else None
    if party is Party.ENTERPRISE:
        enterprise_id = session.scalar(
            sa.select(Pairing.enterprise_id)
            .where(Pairing.village_id == village_id)
            .order_by(Pairing.id)
            .limit(1)
        )
        if enterprise_id is not None:
            return Recipient(party.value, village_id, enterprise_id, None)
        # No paired enterprise: its share is held by the cluster's operator for the village.
        return Recipient(Party.OPERATOR.value, village_id, operator_id, None)
    return Recipient(party.value, village_id, operator_id, None)
