"""Purchase contracts through the service layer: terms, signatures, deliveries, settlement."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.parties.models import OrganisationKind, Role
from orders.contracts import service, settlement
from orders.contracts.errors import (
    ContractNotFound,
    ContractSigned,
    DeductionsExceedDeliveries,
    GradeBelowContractMinimum,
    NotAContractParty,
    OverContractQuantity,
    SettlementAlreadyPaid,
)
from orders.contracts.models import AdvanceKind, ContractStatus, DeliveryStatus
from orders.ledger.models import LedgerEntry, Party
from orders.ledger.service import create_rule
from tests.factories import (
    CELERY_GRADES,
    graded_definition,
    make_category,
    make_contract,
    make_graded_lot,
    make_organisation,
    make_product,
    make_standard,
    make_user,
)


@pytest.fixture
def people(session):
    grower = make_organisation(session, OrganisationKind.COOPERATIVE)
    enterprise = make_organisation(session, OrganisationKind.ENTERPRISE)
    return {
        "grower": make_user(session, role=Role.COOPERATIVE, organisation=grower),
        "enterprise": make_user(session, role=Role.ENTERPRISE, organisation=enterprise),
        "operator": make_user(
            session, role=Role.OPERATOR, organisation=make_organisation(session, OrganisationKind.OPERATOR)
        ),
        "stranger": make_user(
            session,
            role=Role.ENTERPRISE,
            organisation=make_organisation(session, OrganisationKind.ENTERPRISE),
        ),
    }


def celery_product_and_standard(session, grower):
    category = make_category(session)
    standard = make_standard(session, category=category, definition=graded_definition(*CELERY_GRADES))
    product = make_product(session, cooperative=grower.organisation, category=category)
    return product, standard


def test_the_seed_celery_contract_settles_exactly_to_the_fen(session, people):
    """Seed 003: 3000 mu × 7000 jin/mu at a cost of 0.7 yuan/jin; a 300-tonne contract of it.

    Market-linked at +10 % with floors per grade (一级 1.30, 二级 1.00, 三级 0.75 yuan/jin, all
    above the 0.70 cost). Figures by hand, round half up to the fen:
      1. 一级, market 150 → 150 × 1.10 = 165 fen/jin; 99,850.5 jin × 165 = 16,475,332.5 → 16,475,333
      2. lot 二级 received as 三级: the lower governs; market 60 → 66 < floor 75, so 75;
         149,999.7 jin × 75 = 11,249,977.5 → 11,249,978
      3. 二级, market 113 → 124.3 → 124; 120,000.25 jin × 124 = 14,880,031
      4. rejected: nothing.
    Gross 42,605,342; less seedlings 3,000,000, fertiliser 1,250,050, deposit 5,000,000
    = 33,355,292 fen due.
    """
    grower, enterprise, operator = people["grower"], people["enterprise"], people["operator"]
    product, standard = celery_product_and_standard(session, grower)
    contract = make_contract(
        session,
        enterprise_user=enterprise,
        grower_user=grower,
        product=product,
        quantity=Decimal("600000"),
        unit="jin",
        tolerance_percent=Decimal("5"),
        minimum_grade="三级",
        deposit_fen=5_000_000,
        windows=[
            {"starts_on": date(2026, 10, 1), "ends_on": date(2026, 10, 15), "quantity": Decimal("300000")},
            {"starts_on": date(2026, 10, 16), "ends_on": date(2026, 10, 31), "quantity": Decimal("300000")},
        ],
        price_rule={
            "kind": "market",
            "margin_percent": Decimal("10"),
            "floors_fen": {"一级": 130, "二级": 100, "三级": 75},
        },
    )
    assert contract.maximum_quantity == Decimal("630000.000")
    for grade, on, price in (
        ("一级", date(2026, 10, 8), 150),
        ("三级", date(2026, 10, 18), 60),
        ("二级", date(2026, 10, 22), 113),
        ("一级", date(2026, 10, 1), 900),
    ):
        service.record_market_price(
            session,
            actor=operator,
            product_id=product.id,
            grade_code=grade,
            unit="jin",
            priced_on=on,
            price_fen=price,
        )

    def delivered(grade, quantity, on, window):
        lot = make_graded_lot(
            session, product=product, grade=grade, quantity=Decimal(quantity), standard=standard, unit="jin"
        )
        return service.deliver(
            session,
            actor=grower,
            contract_id=contract.id,
            lot_id=lot.id,
            window=window,
            quantity=Decimal(quantity),
            delivered_on=on,
        )

    first = delivered("一级", "100000", date(2026, 10, 10), 1)
    second = delivered("二级", "150000", date(2026, 10, 20), 2)
    third = delivered("二级", "120000.25", date(2026, 10, 25), 2)
    fourth = delivered("一级", "5000", date(2026, 10, 26), 2)
    accept = {"actor": enterprise, "contract_id": contract.id}
    service.accept_delivery(
        session, **accept, delivery_id=first.id, received_quantity=Decimal("99850.5"), receipt_grade="一级"
    )
    service.accept_delivery(
        session, **accept, delivery_id=second.id, received_quantity=Decimal("149999.7"), receipt_grade="三级"
    )
    service.accept_delivery(
        session, **accept, delivery_id=third.id, received_quantity=Decimal("120000.25"), receipt_grade="二级"
    )
    service.reject_delivery(session, **accept, delivery_id=fourth.id, reason="rotten on arrival")
    for kind, amount in ((AdvanceKind.SEEDLINGS, 3_000_000), (AdvanceKind.FERTILISER, 1_250_050)):
        service.record_advance(
            session,
            actor=enterprise,
            contract_id=contract.id,
            kind=kind,
            amount_fen=amount,
            given_on=date(2026, 8, 1),
        )

    issued = settlement.create_settlement(
        session,
        actor=enterprise,
        contract_id=contract.id,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
    )
    statement = settlement.statement(issued)

    assert [(line["grade"], line["unit_price_fen"], line["amount_fen"]) for line in statement["lines"]] == [
        ("一级", 165, 16_475_333),
        ("三级", 75, 11_249_978),
        ("二级", 124, 14_880_031),
    ]
    assert "below the floor" in statement["lines"][1]["price_basis"]
    assert [d["amount_fen"] for d in statement["deductions"]] == [3_000_000, 1_250_050, 5_000_000]
    assert statement["gross_fen"] == 42_605_342
    assert statement["deductions_fen"] == 9_250_050
    assert statement["total_due_fen"] == 33_355_292
    assert fourth.status is DeliveryStatus.REJECTED
    assert "round-half-up" in statement["rounding_rule"]


def test_a_paid_settlement_posts_balanced_ledger_lines_by_the_contracts_own_rule(session, people):
    grower, enterprise = people["grower"], people["enterprise"]
    product, standard = celery_product_and_standard(session, grower)
    contract = make_contract(session, enterprise_user=enterprise, grower_user=grower, product=product)
    create_rule(
        session,
        name="contract split",
        contract_id=contract.id,
        shares=[
            {"party": Party.FARMERS, "basis_points": 6000},
            {"party": Party.COOPERATIVE, "basis_points": 4000},
        ],
    )
    lot = make_graded_lot(session, product=product, grade="一级", quantity=Decimal("500"), standard=standard)
    delivery = service.deliver(
        session,
        actor=grower,
        contract_id=contract.id,
        lot_id=lot.id,
        window=1,
        quantity=Decimal("333.333"),
        delivered_on=date(2026, 10, 3),
    )
    service.accept_delivery(
        session,
        actor=enterprise,
        contract_id=contract.id,
        delivery_id=delivery.id,
        received_quantity=Decimal("333.333"),
        receipt_grade="一级",
    )
    issued = settlement.create_settlement(
        session,
        actor=enterprise,
        contract_id=contract.id,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
    )
    settlement.mark_paid(
        session, actor=enterprise, settlement_id=issued.id, bank_reference="ICBC-20261101-0001"
    )

    entries = session.scalars(
        sa.select(LedgerEntry).where(
            LedgerEntry.source_type == "settlement", LedgerEntry.source_id == str(issued.id)
        )
    ).all()
    # 333.333 kg × 300 fen = 99,999.9 → 100,000 fen; 60 % / 40 %.
    assert sum(e.debit_fen for e in entries) == sum(e.credit_fen for e in entries) == 100_000
    assert sorted(e.credit_fen for e in entries if e.credit_fen) == [40_000, 60_000]
    with pytest.raises(SettlementAlreadyPaid):
        settlement.mark_paid(session, actor=enterprise, settlement_id=issued.id, bank_reference="again")


def test_signed_terms_are_fingerprinted_and_refuse_revision(session, people):
    contract = make_contract(session, enterprise_user=people["enterprise"], grower_user=people["grower"])
    version = contract.terms_in_force

    assert contract.status is ContractStatus.ACTIVE
    assert version.fingerprint == service.fingerprint(version.terms)
    assert version.enterprise_signed_by_id == people["enterprise"].id
    assert version.grower_signed_by_id == people["grower"].id
    with pytest.raises(ContractSigned):
        service.revise_draft(
            session,
            actor=people["enterprise"],
            contract_id=contract.id,
            terms=service_terms(quantity=Decimal("2000")),
        )


def service_terms(**overrides):
    from tests.factories import contract_terms

    terms = contract_terms(**overrides)
    if "quantity" in overrides:
        terms["windows"] = [{**terms["windows"][0], "quantity": overrides["quantity"]}]
    return terms


def test_an_amendment_applies_only_once_both_parties_sign_and_history_stays(session, people):
    enterprise, grower = people["enterprise"], people["grower"]
    contract = make_contract(session, enterprise_user=enterprise, grower_user=grower)
    first_fingerprint = contract.terms_in_force.fingerprint
    service.propose_amendment(
        session,
        actor=enterprise,
        contract_id=contract.id,
        terms=service_terms(quantity=Decimal("2000")),
        reason="more celery",
    )
    pending = contract.pending
    service.sign(
        session,
        actor=enterprise,
        contract_id=contract.id,
        version=2,
        fingerprint_seen=service.fingerprint(pending.terms),
    )
    assert contract.current_version == 1
    assert contract.maximum_quantity == Decimal("1050.000")

    service.sign(
        session,
        actor=grower,
        contract_id=contract.id,
        version=2,
        fingerprint_seen=service.fingerprint(pending.terms),
    )

    assert contract.current_version == 2
    assert contract.maximum_quantity == Decimal("2100.000")
    assert [v.number for v in contract.versions] == [1, 2]
    assert contract.versions[0].fingerprint == first_fingerprint != contract.versions[1].fingerprint


def test_a_signature_on_terms_other_than_those_read_is_refused(session, people):
    contract = make_contract(
        session, enterprise_user=people["enterprise"], grower_user=people["grower"], signed=False
    )
    with pytest.raises(ContractSigned):
        service.sign(
            session, actor=people["grower"], contract_id=contract.id, version=1, fingerprint_seen="0" * 64
        )


def test_only_the_parties_and_operators_see_a_contract(session, people):
    contract = make_contract(session, enterprise_user=people["enterprise"], grower_user=people["grower"])
    for who in ("enterprise", "grower", "operator"):
        assert service.get_contract(session, contract.id, actor=people[who]) is contract
    with pytest.raises(ContractNotFound):  # answered as a missing contract: ids cannot be probed
        service.get_contract(session, contract.id, actor=people["stranger"])
    assert session.scalars(service.list_contracts(session, actor=people["stranger"])).all() == []


def test_the_enterprise_cannot_deliver_and_the_grower_cannot_accept(session, people):
    enterprise, grower = people["enterprise"], people["grower"]
    product, standard = celery_product_and_standard(session, grower)
    contract = make_contract(session, enterprise_user=enterprise, grower_user=grower, product=product)
    lot = make_graded_lot(session, product=product, grade="一级", quantity=Decimal("10"), standard=standard)
    with pytest.raises(NotAContractParty):
        service.deliver(
            session,
            actor=enterprise,
            contract_id=contract.id,
            lot_id=lot.id,
            window=1,
            quantity=Decimal("10"),
            delivered_on=date(2026, 10, 2),
        )
    delivery = service.deliver(
        session,
        actor=grower,
        contract_id=contract.id,
        lot_id=lot.id,
        window=1,
        quantity=Decimal("10"),
        delivered_on=date(2026, 10, 2),
    )
    with pytest.raises(NotAContractParty):
        service.accept_delivery(
            session,
            actor=grower,
            contract_id=contract.id,
            delivery_id=delivery.id,
            received_quantity=Decimal("10"),
            receipt_grade="一级",
        )


def test_a_lower_receipt_grade_governs_unless_a_reinspection_says_otherwise(session, people):
    from tests.factories import make_grade, simple_sample

    enterprise, grower = people["enterprise"], people["grower"]
    product, standard = celery_product_and_standard(session, grower)
    contract = make_contract(
        session,
        enterprise_user=enterprise,
        grower_user=grower,
        product=product,
        minimum_grade="三级",
        price_rule={"kind": "fixed", "prices_fen": {"一级": 300, "二级": 250, "三级": 200}},
    )
    lot = make_graded_lot(session, product=product, grade="一级", quantity=Decimal("20"), standard=standard)
    kept, checked = (
        service.deliver(
            session,
            actor=grower,
            contract_id=contract.id,
            lot_id=lot.id,
            window=1,
            quantity=Decimal("10"),
            delivered_on=date(2026, 10, 2),
        )
        for _ in range(2)
    )
    service.accept_delivery(
        session,
        actor=enterprise,
        contract_id=contract.id,
        delivery_id=kept.id,
        received_quantity=Decimal("10"),
        receipt_grade="三级",
    )
    reinspection = make_grade(session, lot=lot, standard=standard, sample=simple_sample("7"))
    service.accept_delivery(
        session,
        actor=enterprise,
        contract_id=contract.id,
        delivery_id=checked.id,
        received_quantity=Decimal("10"),
        receipt_grade="三级",
        reinspection_grade_id=reinspection.id,
    )

    assert (kept.settled_grade, kept.amount_fen) == ("三级", 2000)
    assert (checked.settled_grade, checked.amount_fen) == ("二级", 2500)


def test_a_delivery_below_the_minimum_grade_cannot_be_accepted(session, people):
    enterprise, grower = people["enterprise"], people["grower"]
    product, standard = celery_product_and_standard(session, grower)
    contract = make_contract(session, enterprise_user=enterprise, grower_user=grower, product=product)
    lot = make_graded_lot(session, product=product, grade="三级", quantity=Decimal("10"), standard=standard)
    delivery = service.deliver(
        session,
        actor=grower,
        contract_id=contract.id,
        lot_id=lot.id,
        window=1,
        quantity=Decimal("10"),
        delivered_on=date(2026, 10, 2),
    )
    with pytest.raises(GradeBelowContractMinimum):
        service.accept_delivery(
            session,
            actor=enterprise,
            contract_id=contract.id,
            delivery_id=delivery.id,
            received_quantity=Decimal("10"),
            receipt_grade="三级",
        )


def test_acceptance_stops_at_the_contracted_quantity_plus_tolerance(session, people):
    enterprise, grower = people["enterprise"], people["grower"]
    product, standard = celery_product_and_standard(session, grower)
    contract = make_contract(session, enterprise_user=enterprise, grower_user=grower, product=product)
    deliveries = []
    for quantity in ("1000", "50", "0.001"):
        lot = make_graded_lot(
            session, product=product, grade="一级", quantity=Decimal(quantity), standard=standard
        )
        deliveries.append(
            service.deliver(
                session,
                actor=grower,
                contract_id=contract.id,
                lot_id=lot.id,
                window=1,
                quantity=Decimal(quantity),
                delivered_on=date(2026, 10, 2),
            )
        )
    for delivery in deliveries[:2]:
        service.accept_delivery(
            session,
            actor=enterprise,
            contract_id=contract.id,
            delivery_id=delivery.id,
            received_quantity=delivery.quantity,
            receipt_grade="一级",
        )
    with pytest.raises(OverContractQuantity):
        service.accept_delivery(
            session,
            actor=enterprise,
            contract_id=contract.id,
            delivery_id=deliveries[2].id,
            received_quantity=Decimal("0.001"),
            receipt_grade="一级",
        )
    assert contract.accepted_quantity == Decimal("1050.000")


def test_progress_counts_each_window_and_flags_late_and_short_ones(session, people):
    enterprise, grower = people["enterprise"], people["grower"]
    product, standard = celery_product_and_standard(session, grower)
    contract = make_contract(
        session,
        enterprise_user=enterprise,
        grower_user=grower,
        product=product,
        windows=[
            {"starts_on": date(2026, 10, 1), "ends_on": date(2026, 10, 15), "quantity": Decimal("600")},
            {"starts_on": date(2026, 10, 16), "ends_on": date(2026, 10, 31), "quantity": Decimal("400")},
        ],
    )
    lot = make_graded_lot(session, product=product, grade="一级", quantity=Decimal("1000"), standard=standard)
    late = service.deliver(
        session,
        actor=grower,
        contract_id=contract.id,
        lot_id=lot.id,
        window=1,
        quantity=Decimal("300"),
        delivered_on=date(2026, 10, 17),
    )
    refused = service.deliver(
        session,
        actor=grower,
        contract_id=contract.id,
        lot_id=lot.id,
        window=2,
        quantity=Decimal("100"),
        delivered_on=date(2026, 10, 20),
    )
    service.accept_delivery(
        session,
        actor=enterprise,
        contract_id=contract.id,
        delivery_id=late.id,
        received_quantity=Decimal("290"),
        receipt_grade="一级",
    )
    service.reject_delivery(
        session,
        actor=enterprise,
        contract_id=contract.id,
        delivery_id=refused.id,
        reason="outside the agreed hours",
    )

    report = service.progress(session, actor=grower, contract_id=contract.id, on=date(2026, 10, 20))

    first, second = report["windows"]
    assert (first["contracted"], first["delivered"], first["accepted"], first["outstanding"]) == (
        Decimal("600"),
        Decimal("300"),
        Decimal("290"),
        Decimal("310"),
    )
    assert first["late"] and first["short"]
    assert (second["rejected"], second["late"], second["short"]) == (Decimal("100"), False, False)
    assert report["accepted"] == Decimal("290") and report["rejected"] == Decimal("100")


def test_deductions_larger_than_the_deliveries_are_refused(session, people):
    enterprise, grower = people["enterprise"], people["grower"]
    product, standard = celery_product_and_standard(session, grower)
    contract = make_contract(
        session, enterprise_user=enterprise, grower_user=grower, product=product, deposit_fen=1_000_000
    )
    lot = make_graded_lot(session, product=product, grade="一级", quantity=Decimal("10"), standard=standard)
    delivery = service.deliver(
        session,
        actor=grower,
        contract_id=contract.id,
        lot_id=lot.id,
        window=1,
        quantity=Decimal("10"),
        delivered_on=date(2026, 10, 2),
    )
    service.accept_delivery(
        session,
        actor=enterprise,
        contract_id=contract.id,
        delivery_id=delivery.id,
        received_quantity=Decimal("10"),
        receipt_grade="一级",
    )
    with pytest.raises(DeductionsExceedDeliveries):
        settlement.create_settlement(
            session,
            actor=enterprise,
            contract_id=contract.id,
            period_start=date(2026, 10, 1),
            period_end=date(2026, 10, 31),
        )


def test_a_delivery_takes_stock_off_the_lot_and_a_rejection_puts_it_back(session, people):
    from orders.contracts.errors import DeliveryInvalid

    enterprise, grower = people["enterprise"], people["grower"]
    product, standard = celery_product_and_standard(session, grower)
    contract = make_contract(session, enterprise_user=enterprise, grower_user=grower, product=product)
    lot = make_graded_lot(session, product=product, grade="一级", quantity=Decimal("100"), standard=standard)
    delivery = service.deliver(
        session,
        actor=grower,
        contract_id=contract.id,
        lot_id=lot.id,
        window=1,
        quantity=Decimal("70"),
        delivered_on=date(2026, 10, 2),
    )
    assert lot.stock_on_hand == Decimal("30")
    with pytest.raises(DeliveryInvalid):
        service.deliver(
            session,
            actor=grower,
            contract_id=contract.id,
            lot_id=lot.id,
            window=1,
            quantity=Decimal("31"),
            delivered_on=date(2026, 10, 2),
        )

    service.reject_delivery(
        session,
        actor=enterprise,
        contract_id=contract.id,
        delivery_id=delivery.id,
        reason="below minimum grade on arrival",
    )

    assert lot.stock_on_hand == Decimal("100")


def test_each_acceptance_is_a_receiving_event_on_the_lots_chained_trace(session, people):
    from marketplace.traceability import trace as trace_service
    from marketplace.traceability.models import EventType

    enterprise, grower = people["enterprise"], people["grower"]
    product, standard = celery_product_and_standard(session, grower)
    contract = make_contract(session, enterprise_user=enterprise, grower_user=grower, product=product)
    lot = make_graded_lot(session, product=product, grade="二级", quantity=Decimal("800"), standard=standard)
    delivery = service.deliver(
        session,
        actor=grower,
        contract_id=contract.id,
        lot_id=lot.id,
        window=1,
        quantity=Decimal("800"),
        delivered_on=date(2026, 10, 2),
    )
    service.accept_delivery(
        session,
        actor=enterprise,
        contract_id=contract.id,
        delivery_id=delivery.id,
        received_quantity=Decimal("790"),
        receipt_grade="二级",
    )
    last = trace_service.lot_events(session, lot_id=lot.id)[-1]
    assert last.event_type is EventType.RECEIVING
    assert last.actor_organisation_id == contract.enterprise_id
    assert last.quantity == "790.000"
    assert trace_service.verify_chain(session, lot_id=lot.id).first_broken is None
