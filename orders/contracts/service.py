"""Use cases of purchase contracts: draft, sign, amend, end; market prices, advances, deliveries.

Prices are integer fen per contract unit. The rounding rule, everywhere: half up to the fen.
A market-linked unit price is round-half-up(market price × (1 + margin %)), then raised to the
grade's floor if below it; a line's amount is round-half-up(received quantity × unit price).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog import licences, units
from catalog import service as catalog_service
from marketplace.accounts import service as auth_service
from marketplace.accounts.models import User
from marketplace.core.db import rows_matched, sorted_by, utcnow
from marketplace.parties.models import Organisation, OrganisationKind, Role
from marketplace.traceability import trace as trace_service
from marketplace.traceability.models import EventType
from orders.contracts.errors import (
    AlreadySigned,
    ContractNotActive,
    ContractNotFound,
    ContractSigned,
    ContractTermsInvalid,
    DeliveryAlreadyDecided,
    DeliveryInvalid,
    DeliveryNotFound,
    GradeBelowContractMinimum,
    MarketPriceMissing,
    MarketPriceRecorded,
    NotAContractParty,
    NothingToSign,
    OverContractQuantity,
)
from orders.contracts.models import (
    Advance,
    Contract,
    ContractStatus,
    ContractVersion,
    Delivery,
    DeliveryStatus,
    MarketPrice,
)
from orders.contracts.terms import fingerprint
from quality import service as quality_service
from quality.models import Grade

GROWER_KINDS = (OrganisationKind.COOPERATIVE, OrganisationKind.STRONG_VILLAGE_COMPANY)
FIXED, MARKET = "fixed", "market"
HUNDRED = Decimal(100)


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _plain_decimal(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


def _invalid(field: str, message: str) -> ContractTermsInvalid:
    return ContractTermsInvalid(message, errors={"json": {field: [message]}})


def canonical_terms(session: Session, *, product_id: int, terms: dict) -> dict:
    """Check the terms and bring them to the one JSON shape that is signed and fingerprinted."""
    catalog_service.get_product(session, product_id)
    grades = list(terms["grades"])
    if len(set(grades)) != len(grades):
        raise _invalid("grades", "each grade appears once, best first")
    if terms["minimum_grade"] not in grades:
        raise _invalid("minimum_grade", "must be one of the contract's grades")
    if units.convert(Decimal(1), terms["unit"], "kg") is None and terms["unit"] not in units.COUNTS:
        raise _invalid("unit", f"unknown unit {terms['unit']}")
    rule = terms["price_rule"]
    kind = rule["kind"]
    priced = grades[: grades.index(terms["minimum_grade"]) + 1]
    floors = rule.get("floors_fen") or {}
    prices = rule.get("prices_fen") or {}
    if kind == FIXED and set(prices) != set(priced):
        raise _invalid("price_rule", f"a fixed rule prices exactly the grades {', '.join(priced)}")
    if kind == MARKET and (set(floors) != set(priced) or rule.get("margin_percent") is None):
        raise _invalid(
            "price_rule",
            f"a market-linked rule needs a margin and a floor for each of the grades {', '.join(priced)}",
        )
    if set(floors) - set(priced):
        raise _invalid("price_rule", "floors only for the contract's accepted grades")
    windows = sorted(terms["windows"], key=lambda w: w["starts_on"])
    for earlier, later in zip(windows, windows[1:], strict=False):
        if later["starts_on"] <= earlier["ends_on"]:
            raise _invalid("windows", "delivery windows must not overlap")
    for window in windows:
        if window["ends_on"] < window["starts_on"]:
            raise _invalid("windows", "a window ends on or after it starts")
    if sum(w["quantity"] for w in windows) != terms["quantity"]:
        raise _invalid("windows", "the windows' quantities must add up to the contracted quantity")
    return {
        "product_id": product_id,
        "season": terms["season"],
        "quantity": _plain_decimal(terms["quantity"]),
        "unit": terms["unit"],
        "tolerance_percent": _plain_decimal(terms["tolerance_percent"]),
        "grades": grades,
        "minimum_grade": terms["minimum_grade"],
        "windows": [
            {
                "starts_on": w["starts_on"].isoformat(),
                "ends_on": w["ends_on"].isoformat(),
                "quantity": _plain_decimal(w["quantity"]),
            }
            for w in windows
        ],
        "deposit_fen": terms.get("deposit_fen", 0),
        "currency": terms.get("currency", "CNY"),
        "price_rule": {
            "kind": kind,
            "prices_fen": dict(prices) if kind == FIXED else {},
            "margin_percent": (_plain_decimal(rule["margin_percent"]) if kind == MARKET else None),
            "floors_fen": dict(floors),
        },
    }


def maximum_quantity(terms: dict) -> Decimal:
    quantity = Decimal(terms["quantity"])
    return (quantity * (HUNDRED + Decimal(terms["tolerance_percent"])) / HUNDRED).quantize(Decimal("0.001"))


def get_contract(session: Session, contract_id: int, *, actor: User, for_update: bool = False) -> Contract:
    contract = session.get(Contract, contract_id, with_for_update=for_update)
    # Another organisations' contract is answered exactly as a missing one: ids cannot be probed.
    if contract is None or not auth_service.may_see(actor, contract.enterprise_id, contract.grower_id):
        raise ContractNotFound(f"contract {contract_id} does not exist")
    return contract


def list_contracts(
    session: Session, *, actor: User, status: ContractStatus | None = None, sort: str | None = None
) -> sa.Select:
    statement = sa.select(Contract)
    if actor.role is not Role.OPERATOR:
        statement = statement.where(
            sa.or_(
                Contract.enterprise_id == actor.organisation_id, Contract.grower_id == actor.organisation_id
            )
        )
    if status is not None:
        statement = statement.where(Contract.status == status)
    return sorted_by(statement, sort, {"created_at": Contract.created_at}, Contract.id.desc())


def draft_contract(
    session: Session, *, actor: User, grower_id: int, product_id: int, terms: dict
) -> Contract:
    """An enterprise drafts a contract with a cooperative or a strong-village company."""
    grower = session.get(Organisation, grower_id)
    if grower is None or grower.kind not in GROWER_KINDS:
        raise _invalid("grower_id", "must be a cooperative or a strong-village company")
    canonical = canonical_terms(session, product_id=product_id, terms=terms)
    contract = Contract(
        enterprise_id=actor.organisation_id,
        grower_id=grower_id,
        product_id=product_id,
        status=ContractStatus.DRAFT,
        versions=[ContractVersion(number=1, terms=canonical, reason="draft")],
    )
    session.add(contract)
    session.flush()
    return contract


def revise_draft(session: Session, *, actor: User, contract_id: int, terms: dict) -> Contract:
    """Change the terms awaiting signatures; signed terms refuse with a 409."""
    contract = get_contract(session, contract_id, actor=actor, for_update=True)
    _ensure_enterprise(actor, contract)
    pending = contract.pending
    if pending is None:
        raise ContractSigned(
            f"contract {contract_id}'s terms are signed (fingerprint "
            f"{contract.latest.fingerprint}); propose an amendment instead",
            fingerprint=contract.latest.fingerprint,
        )
    pending.terms = canonical_terms(session, product_id=contract.product_id, terms=terms)
    _clear_signatures(pending)
    session.flush()
    return contract


def propose_amendment(
    session: Session, *, actor: User, contract_id: int, terms: dict, reason: str
) -> Contract:
    contract = get_contract(session, contract_id, actor=actor, for_update=True)
    _ensure_enterprise(actor, contract)
    if contract.status is not ContractStatus.ACTIVE:
        raise ContractNotActive(
            f"contract {contract_id} is {contract.status.value}; only an "
            "active contract is amended (a draft is revised)"
        )
    if contract.pending is not None:
        raise ContractSigned(f"amendment {contract.pending.number} awaits signatures already")
    canonical = canonical_terms(session, product_id=contract.product_id, terms=terms)
    if maximum_quantity(canonical) < contract.accepted_quantity:
        raise _invalid("quantity", "below what has already been accepted")
    contract.versions.append(
        ContractVersion(number=contract.latest.number + 1, terms=canonical, reason=reason)
    )
    session.flush()
    return contract


def sign(session: Session, *, actor: User, contract_id: int, version: int, fingerprint_seen: str) -> Contract:
    """A party signs the pending terms it has read; the second signature puts them in force."""
    contract = get_contract(session, contract_id, actor=actor, for_update=True)
    pending = contract.pending
    if pending is None or pending.number != version:
        raise NothingToSign(f"version {version} of contract {contract_id} is not awaiting signatures")
    if contract.status in (ContractStatus.FULFILLED, ContractStatus.TERMINATED):
        raise ContractNotActive(f"contract {contract_id} is {contract.status.value}")
    if fingerprint_seen != fingerprint(pending.terms):
        raise ContractSigned(
            "the terms changed since you read them; read them again", fingerprint=fingerprint(pending.terms)
        )
    now = utcnow()
    if actor.organisation_id == contract.enterprise_id and actor.role is Role.ENTERPRISE:
        if pending.enterprise_signed_at is not None:
            raise AlreadySigned("the enterprise has signed these terms already")
        pending.enterprise_signed_by_id, pending.enterprise_signed_at = actor.id, now
    elif actor.organisation_id == contract.grower_id and actor.role is Role.COOPERATIVE:
        if pending.grower_signed_at is not None:
            raise AlreadySigned("the grower has signed these terms already")
        pending.grower_signed_by_id, pending.grower_signed_at = actor.id, now
    else:
        raise NotAContractParty("only the enterprise and the grower sign")
    if pending.enterprise_signed_at and pending.grower_signed_at:
        if maximum_quantity(pending.terms) < contract.accepted_quantity:
            raise OverContractQuantity(
                f"{contract.accepted_quantity} is drawn down already, more "
                "than these terms allow; amend them again"
            )
        pending.signed_at = now
        pending.fingerprint = fingerprint(pending.terms)
        contract.current_version = pending.number
        contract.maximum_quantity = maximum_quantity(pending.terms)
        contract.status = ContractStatus.ACTIVE
    session.flush()
    return contract


def end_contract(
    session: Session, *, actor: User, contract_id: int, status: ContractStatus, reason: str
) -> Contract:
    """Fulfilled (by the enterprise or an operator) or terminated with a reason (by either party)."""
    contract = get_contract(session, contract_id, actor=actor, for_update=True)
    if status is ContractStatus.FULFILLED:
        _ensure_enterprise(actor, contract)
        if contract.status is not ContractStatus.ACTIVE:
            raise ContractNotActive(f"contract {contract_id} is {contract.status.value}")
    elif contract.status not in (ContractStatus.DRAFT, ContractStatus.ACTIVE):
        raise ContractNotActive(f"contract {contract_id} is {contract.status.value} already")
    open_deliveries = session.scalar(
        sa.select(sa.func.count())
        .select_from(Delivery)
        .where(Delivery.contract_id == contract.id, Delivery.status == DeliveryStatus.DELIVERED)
    )
    if open_deliveries:
        raise ContractNotActive(f"{open_deliveries} deliveries await acceptance or rejection")
    contract.status, contract.ended_at, contract.end_reason = status, utcnow(), reason
    session.flush()
    return contract


def _ensure_enterprise(actor: User, contract: Contract) -> None:
    if actor.role is Role.OPERATOR:
        return
    if actor.role is not Role.ENTERPRISE or actor.organisation_id != contract.enterprise_id:
        raise NotAContractParty(f"only the enterprise of contract {contract.id} does this")


def _ensure_grower(actor: User, contract: Contract) -> None:
    if actor.role is not Role.COOPERATIVE or actor.organisation_id != contract.grower_id:
        raise NotAContractParty(f"only the grower of contract {contract.id} delivers")


def _clear_signatures(version: ContractVersion) -> None:
    version.enterprise_signed_by_id = version.enterprise_signed_at = None
    version.grower_signed_by_id = version.grower_signed_at = None


def _active_terms(contract: Contract) -> dict:
    if contract.status is not ContractStatus.ACTIVE:
        raise ContractNotActive(f"contract {contract.id} is {contract.status.value}, not active")
    version = contract.terms_in_force
    if version is None:
        raise ContractNotActive(f"contract {contract.id} has no terms in force")
    return version.terms


def record_market_price(
    session: Session,
    *,
    actor: User,
    product_id: int,
    grade_code: str,
    unit: str,
    priced_on: date,
    price_fen: int,
    source: str = "",
) -> MarketPrice:
    catalog_service.get_product(session, product_id)
    price = session.scalar(
        sa.select(MarketPrice).where(
            MarketPrice.product_id == product_id,
            MarketPrice.grade_code == grade_code,
            MarketPrice.unit == unit,
            MarketPrice.priced_on == priced_on,
        )
    )
    if price is not None:
        raise MarketPriceRecorded(
            f"the {grade_code} price of {priced_on} is recorded already "
            f"({price.price_fen} fen); prices that were used are not rewritten"
        )
    price = MarketPrice(
        product_id=product_id,
        grade_code=grade_code,
        unit=unit,
        priced_on=priced_on,
        price_fen=price_fen,
        source=source,
        entered_by_id=actor.id,
    )
    session.add(price)
    session.flush()
    return price


def list_market_prices(session: Session, *, product_id: int | None = None) -> sa.Select:
    statement = sa.select(MarketPrice)
    if product_id is not None:
        statement = statement.where(MarketPrice.product_id == product_id)
    return statement.order_by(MarketPrice.priced_on.desc(), MarketPrice.id.desc())


def unit_price(session: Session, *, terms: dict, grade: str, on: date) -> tuple[int, str]:
    """The rule's price per unit for a grade on a day, and how it was reached."""
    rule = terms["price_rule"]
    floor = rule["floors_fen"].get(grade)
    if rule["kind"] == FIXED:
        price, basis = rule["prices_fen"][grade], f"fixed {grade} price {rule['prices_fen'][grade]}"
    else:
        market = session.scalar(
            sa.select(MarketPrice)
            .where(
                MarketPrice.product_id == terms["product_id"],
                MarketPrice.grade_code == grade,
                MarketPrice.unit == terms["unit"],
                MarketPrice.priced_on <= on,
            )
            .order_by(MarketPrice.priced_on.desc())
            .limit(1)
        )
        if market is None:
            raise MarketPriceMissing(f"no {grade} market price per {terms['unit']} on or before {on}")
        margin = Decimal(rule["margin_percent"])
        price = round_half_up(market.price_fen * (HUNDRED + margin) / HUNDRED)
        basis = f"market {grade} {market.price_fen} of {market.priced_on} × (1 + {margin} %) = {price}"
    if floor is not None and price < floor:
        return floor, f"{basis}; below the floor, the floor {floor} applies"
    return price, basis


def record_advance(
    session: Session,
    *,
    actor: User,
    contract_id: int,
    kind,
    amount_fen: int,
    given_on: date,
    description: str = "",
) -> Advance:
    contract = get_contract(session, contract_id, actor=actor)
    _ensure_enterprise(actor, contract)
    _active_terms(contract)
    advance = Advance(
        contract_id=contract.id, kind=kind, amount_fen=amount_fen, given_on=given_on, description=description
    )
    session.add(advance)
    session.flush()
    return advance


def list_advances(session: Session, *, actor: User, contract_id: int) -> sa.Select:
    get_contract(session, contract_id, actor=actor)
    return sa.select(Advance).where(Advance.contract_id == contract_id).order_by(Advance.id)


def _rank(terms: dict, grade: str) -> int:
    return terms["grades"].index(grade)


def deliver(
    session: Session,
    *,
    actor: User,
    contract_id: int,
    lot_id: int,
    window: int,
    quantity: Decimal,
    delivered_on: date,
) -> Delivery:
    """The grower delivers a graded lot, whole or in part, against a window of an active contract."""
    contract = get_contract(session, contract_id, actor=actor)
    _ensure_grower(actor, contract)
    terms = _active_terms(contract)
    if not 1 <= window <= len(terms["windows"]):
        raise DeliveryInvalid(
            f"the contract has windows 1 to {len(terms['windows'])}",
            errors={"json": {"window": ["no such window"]}},
        )
    lot = catalog_service.get_lot(session, lot_id, for_update=True)
    if lot.cooperative_id != contract.grower_id or lot.product_id != contract.product_id:
        raise DeliveryInvalid(
            f"lot {lot_id} is not the grower's {terms['season']} product",
            errors={"json": {"lot_id": ["not a lot of this contract's product"]}},
        )
    # Delivered produce carries the brand and credits its village: only what the grower may sell.
    licences.ensure_may_carry(
        session, grower_id=lot.cooperative_id, product=lot.product, village_id=lot.village_id
    )
    grade = quality_service.current_grade(session, lot.id)
    if grade is None or grade.grade_code not in terms["grades"]:
        raise DeliveryInvalid(
            f"lot {lot_id} has no grade of this contract",
            errors={"json": {"lot_id": ["grade the lot first"]}},
        )
    in_lot_unit = units.convert(quantity, terms["unit"], lot.unit)
    # What leaves the farm leaves the lot's stock, so it cannot also be sold in the shop.
    if in_lot_unit is None or not catalog_service.take_stock(session, lot_id=lot.id, quantity=in_lot_unit):
        raise DeliveryInvalid(
            f"lot {lot_id} has less than {quantity} {terms['unit']} in stock",
            errors={"json": {"quantity": ["more than the lot has in stock"]}},
        )
    delivery = Delivery(
        contract_id=contract.id,
        lot_id=lot.id,
        window=window,
        delivered_on=delivered_on,
        quantity=quantity,
        lot_grade=grade.grade_code,
        status=DeliveryStatus.DELIVERED,
        delivered_by_id=actor.id,
    )
    session.add(delivery)
    session.flush()
    return delivery


def get_delivery(
    session: Session, *, actor: User, contract_id: int, delivery_id: int, for_update: bool = False
) -> tuple[Contract, Delivery]:
    contract = get_contract(session, contract_id, actor=actor)
    delivery = session.get(Delivery, delivery_id, with_for_update=for_update)
    if delivery is None or delivery.contract_id != contract.id:
        raise DeliveryNotFound(f"contract {contract_id} has no delivery {delivery_id}")
    return contract, delivery


def list_deliveries(
    session: Session, *, actor: User, contract_id: int, status: DeliveryStatus | None = None
) -> sa.Select:
    get_contract(session, contract_id, actor=actor)
    statement = sa.select(Delivery).where(Delivery.contract_id == contract_id)
    if status is not None:
        statement = statement.where(Delivery.status == status)
    return statement.order_by(Delivery.id)


def accept_delivery(
    session: Session,
    *,
    actor: User,
    contract_id: int,
    delivery_id: int,
    received_quantity: Decimal,
    receipt_grade: str,
    reinspection_grade_id: int | None = None,
) -> Delivery:
    """Accept at the governing grade: the lower of lot and receipt, unless a re-inspection rules."""
    contract, delivery = get_delivery(
        session, actor=actor, contract_id=contract_id, delivery_id=delivery_id, for_update=True
    )
    _ensure_enterprise(actor, contract)
    terms = _active_terms(contract)
    if delivery.status is not DeliveryStatus.DELIVERED:
        raise DeliveryAlreadyDecided(f"delivery {delivery_id} is {delivery.status.value} already")
    if receipt_grade not in terms["grades"]:
        raise DeliveryInvalid(
            f"{receipt_grade} is not a grade of this contract",
            errors={"json": {"receipt_grade": ["not a grade of the contract"]}},
        )
    if reinspection_grade_id is not None:
        reinspection = session.get(Grade, reinspection_grade_id)
        if (
            reinspection is None
            or reinspection.lot_id != delivery.lot_id
            or reinspection.graded_at < delivery.created_at
            or reinspection.grade_code is None
            or reinspection.grade_code not in terms["grades"]
        ):
            raise DeliveryInvalid(
                "a re-inspection is a grade of this lot made after delivery",
                errors={"json": {"reinspection_grade_id": ["not a re-inspection"]}},
            )
        governing = reinspection.grade_code
    else:
        governing = max(delivery.lot_grade, receipt_grade, key=lambda g: _rank(terms, g))
    if _rank(terms, governing) > _rank(terms, terms["minimum_grade"]):
        raise GradeBelowContractMinimum(
            f"{governing} is below the contract's minimum "
            f"{terms['minimum_grade']}: reject the delivery instead"
        )
    price, basis = unit_price(session, terms=terms, grade=governing, on=delivery.delivered_on)
    # A conditional update, so that two acceptances at the same moment cannot both fit.
    taken = rows_matched(
        session.execute(
            sa.update(Contract)
            .where(
                Contract.id == contract.id,
                Contract.accepted_quantity + received_quantity <= Contract.maximum_quantity,
            )
            .values(accepted_quantity=Contract.accepted_quantity + received_quantity)
            .execution_options(synchronize_session=False)
        )
    )
    if not taken:
        session.refresh(contract)
        raise OverContractQuantity(
            f"accepting {received_quantity} {terms['unit']} would exceed the contracted "
            f"{terms['quantity']} plus {terms['tolerance_percent']} % tolerance "
            f"({contract.maximum_quantity}); {contract.accepted_quantity} accepted so far"
        )
    session.refresh(contract)
    delivery.status = DeliveryStatus.ACCEPTED
    delivery.received_quantity = received_quantity
    delivery.receipt_grade = receipt_grade
    delivery.reinspection_grade_id = reinspection_grade_id
    delivery.settled_grade = governing
    delivery.contract_version = contract.current_version
    delivery.unit_price_fen = price
    delivery.amount_fen = round_half_up(received_quantity * price)
    delivery.price_basis = basis[:500]
    delivery.decided_by_id, delivery.decided_at = actor.id, utcnow()
    session.flush()
    _record_receipt(session, delivery=delivery, contract=contract)
    return delivery


def _record_receipt(session: Session, *, delivery: Delivery, contract: Contract) -> None:
    """The enterprise's acceptance is a "receiving" event on the lot's hash-chained trace."""
    trace_service.add_event(
        session,
        lot=delivery.lot,
        actor_organisation_id=contract.enterprise_id,
        event_type=EventType.RECEIVING,
        occurred_at=delivery.decided_at,
        quantity=str(delivery.received_quantity),
        unit=(contract.terms_in_force or contract.latest).terms["unit"],
        details={
            "contract_id": contract.id,
            "delivery_id": delivery.id,
            "settled_grade": delivery.settled_grade,
            "unit_price_fen": delivery.unit_price_fen,
        },
    )


def reject_delivery(
    session: Session, *, actor: User, contract_id: int, delivery_id: int, reason: str
) -> Delivery:
    contract, delivery = get_delivery(
        session, actor=actor, contract_id=contract_id, delivery_id=delivery_id, for_update=True
    )
    _ensure_enterprise(actor, contract)
    if delivery.status is not DeliveryStatus.DELIVERED:
        raise DeliveryAlreadyDecided(f"delivery {delivery_id} is {delivery.status.value} already")
    delivery.status = DeliveryStatus.REJECTED
    terms = (contract.terms_in_force or contract.latest).terms
    in_lot_unit = units.convert(delivery.quantity, terms["unit"], delivery.lot.unit)
    if in_lot_unit is None:
        raise DeliveryInvalid(
            f"lot {delivery.lot_id} counts in {delivery.lot.unit}, which {terms['unit']} do not convert to",
            errors={"json": {"delivery_id": ["its unit does not convert to the lot's"]}},
        )
    catalog_service.return_stock(session, lot_id=delivery.lot_id, quantity=in_lot_unit)
    delivery.rejection_reason = reason
    delivery.decided_by_id, delivery.decided_at = actor.id, utcnow()
    session.flush()
    return delivery


def progress(session: Session, *, actor: User, contract_id: int, on: date | None = None) -> dict:
    """Per window and in total: contracted, delivered, accepted, rejected, outstanding; flags."""
    contract = get_contract(session, contract_id, actor=actor)
    version = contract.terms_in_force or contract.latest
    terms = version.terms
    on = on or utcnow().date()
    tolerance = Decimal(terms["tolerance_percent"])
    deliveries = session.scalars(sa.select(Delivery).where(Delivery.contract_id == contract.id)).all()
    windows = []
    for number, window in enumerate(terms["windows"], start=1):
        mine = [d for d in deliveries if d.window == number]
        contracted = Decimal(window["quantity"])
        ends_on = date.fromisoformat(window["ends_on"])
        accepted = sum(
            (
                d.received_quantity
                for d in mine
                if d.status is DeliveryStatus.ACCEPTED and d.received_quantity is not None
            ),
            Decimal(0),
        )
        windows.append(
            {
                "window": number,
                "starts_on": window["starts_on"],
                "ends_on": window["ends_on"],
                "contracted": contracted,
                "delivered": sum((d.quantity for d in mine), Decimal(0)),
                "accepted": accepted,
                "rejected": sum(
                    (d.quantity for d in mine if d.status is DeliveryStatus.REJECTED), Decimal(0)
                ),
                "outstanding": max(contracted - accepted, Decimal(0)),
                "late": any(d.delivered_on > ends_on for d in mine),
                "short": on > ends_on and accepted < contracted * (HUNDRED - tolerance) / HUNDRED,
            }
        )
    total = {
        key: sum((w[key] for w in windows), Decimal(0))
        for key in ("contracted", "delivered", "accepted", "rejected", "outstanding")
    }
    return {
        "contract_id": contract.id,
        "unit": terms["unit"],
        "as_of": on,
        "maximum": maximum_quantity(terms),
        **total,
        "late": any(w["late"] for w in windows),
        "short": any(w["short"] for w in windows),
        "windows": windows,
    }
