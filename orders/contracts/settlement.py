"""Settlement statements of a contract: lines, deductions, total due; as JSON, PDF and CSV.

Amounts are integer fen. Each line's amount was fixed at acceptance as
round-half-up(received quantity × unit price); the statement adds and subtracts whole fen only.
"""

from __future__ import annotations

import io
from datetime import date

import sqlalchemy as sa
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from sqlalchemy.orm import Session

from marketplace.accounts import service as auth_service
from marketplace.accounts.models import User
from marketplace.core.db import utcnow
from marketplace.core.pdf import CJK_FONT, register_cjk_font
from marketplace.core.spreadsheets import CsvWriter
from orders.contracts import service
from orders.contracts.errors import (
    ContractNotActive,
    DeductionsExceedDeliveries,
    NotAContractParty,
    NothingToSettle,
    SettlementAlreadyPaid,
    SettlementNotFound,
)
from orders.contracts.models import (
    Advance,
    Contract,
    Delivery,
    DeliveryStatus,
    Settlement,
    SettlementStatus,
)
from orders.ledger import service as ledger

ROUNDING_RULE = (
    "amounts in integer fen; each line = round-half-up(received quantity × unit "
    "price per unit); market-linked unit price = round-half-up(market price × "
    "(1 + margin %)), never below the grade's floor"
)
SOURCE = "settlement"


def _terms_in_force(contract: Contract) -> dict:
    version = contract.terms_in_force
    if version is None:
        raise ContractNotActive(f"contract {contract.id} has no terms in force")
    return version.terms


def _accepted_amount(delivery: Delivery) -> int:
    """What an accepted delivery is worth; acceptance prices every delivery it takes."""
    if delivery.amount_fen is None:
        raise NothingToSettle(f"delivery {delivery.id} is not priced; accept it before settling")
    return delivery.amount_fen


def create_settlement(
    session: Session, *, actor: User, contract_id: int, period_start: date, period_end: date
) -> Settlement:
    """Settle the accepted, unsettled deliveries of a period, less unsettled advances and deposit."""
    contract = service.get_contract(session, contract_id, actor=actor, for_update=True)
    service._ensure_enterprise(actor, contract)
    if period_end < period_start:
        raise NothingToSettle("the period ends before it starts")
    deliveries = session.scalars(
        sa.select(Delivery)
        .where(
            Delivery.contract_id == contract.id,
            Delivery.status == DeliveryStatus.ACCEPTED,
            Delivery.settlement_id.is_(None),
            Delivery.delivered_on >= period_start,
            Delivery.delivered_on <= period_end,
        )
        .order_by(Delivery.delivered_on, Delivery.id)
    ).all()
    if not deliveries:
        raise NothingToSettle(
            f"contract {contract_id} has no unsettled accepted deliveries from {period_start} to {period_end}"
        )
    advances = session.scalars(
        sa.select(Advance)
        .where(
            Advance.contract_id == contract.id,
            Advance.settlement_id.is_(None),
            Advance.given_on <= period_end,
        )
        .order_by(Advance.id)
    ).all()
    terms = _terms_in_force(contract)
    # The deposit was paid once, so it is deducted once: at the contract's first settlement.
    deposit_taken = session.scalar(
        sa.select(sa.func.count())
        .select_from(Settlement)
        .where(Settlement.contract_id == contract.id, Settlement.deposit_fen > 0)
    )
    deposit = 0 if deposit_taken else terms["deposit_fen"]
    gross = sum(_accepted_amount(d) for d in deliveries)
    advanced = sum(a.amount_fen for a in advances)
    if advanced + deposit > gross:
        raise DeductionsExceedDeliveries(
            f"deductions of {advanced + deposit} fen exceed the {gross} fen delivered; settle a longer period"
        )
    settlement = Settlement(
        contract_id=contract.id,
        period_start=period_start,
        period_end=period_end,
        gross_fen=gross,
        advances_fen=advanced,
        deposit_fen=deposit,
        total_due_fen=gross - advanced - deposit,
        currency=terms["currency"],
        status=SettlementStatus.ISSUED,
    )
    session.add(settlement)
    session.flush()
    settled: list[Delivery | Advance] = [*deliveries, *advances]
    for item in settled:
        item.settlement_id = settlement.id
    session.flush()
    session.refresh(settlement)
    return settlement


def get_settlement(
    session: Session, settlement_id: int, *, actor: User, for_update: bool = False
) -> Settlement:
    settlement = session.get(Settlement, settlement_id, with_for_update=for_update)
    if settlement is None or not auth_service.may_see(
        actor, settlement.contract.enterprise_id, settlement.contract.grower_id
    ):
        raise SettlementNotFound(f"settlement {settlement_id} does not exist")
    return settlement


def list_settlements(session: Session, *, actor: User, contract_id: int) -> sa.Select:
    service.get_contract(session, contract_id, actor=actor)
    return sa.select(Settlement).where(Settlement.contract_id == contract_id).order_by(Settlement.id)


def mark_paid(session: Session, *, actor: User, settlement_id: int, bank_reference: str) -> Settlement:
    """Record the bank transfer; each settled delivery posts its amount through the ledger."""
    settlement = get_settlement(session, settlement_id, actor=actor, for_update=True)
    try:
        service._ensure_enterprise(actor, settlement.contract)
    except NotAContractParty:
        raise NotAContractParty("the enterprise or an operator records the payment") from None
    if settlement.status is SettlementStatus.PAID:
        raise SettlementAlreadyPaid(
            f"settlement {settlement_id} was paid on "
            f"{settlement.paid_at:%Y-%m-%d} ({settlement.bank_reference})"
        )
    ledger.post_sales(
        session,
        source_type=SOURCE,
        source_id=str(settlement.id),
        currency=settlement.currency,
        contract_id=settlement.contract_id,
        sales=[
            ledger.Sale(
                lot=delivery.lot,
                amount_fen=_accepted_amount(delivery),
                memo=f"contract {settlement.contract_id} delivery {delivery.id}",
            )
            for delivery in settlement.deliveries
        ],
    )
    settlement.status = SettlementStatus.PAID
    settlement.paid_at = utcnow()
    settlement.bank_reference = bank_reference
    session.flush()
    return settlement


def statement(settlement: Settlement) -> dict:
    """The statement as data: shared by the JSON, the CSV and the PDF."""
    terms = _terms_in_force(settlement.contract)
    return {
        "settlement_id": settlement.id,
        "contract_id": settlement.contract_id,
        "period_start": settlement.period_start,
        "period_end": settlement.period_end,
        "unit": terms["unit"],
        "currency": settlement.currency,
        "lines": [
            {
                "delivery_id": d.id,
                "lot_id": d.lot_id,
                "delivered_on": d.delivered_on,
                "quantity": d.received_quantity,
                "grade": d.settled_grade,
                "unit_price_fen": d.unit_price_fen,
                "amount_fen": d.amount_fen,
                "price_basis": d.price_basis,
            }
            for d in settlement.deliveries
        ],
        "deductions": [
            *(
                {"kind": f"advance: {a.kind.value}", "description": a.description, "amount_fen": a.amount_fen}
                for a in settlement.advances
            ),
            *(
                [
                    {
                        "kind": "deposit",
                        "description": "deposit paid at signing",
                        "amount_fen": settlement.deposit_fen,
                    }
                ]
                if settlement.deposit_fen
                else []
            ),
        ],
        "gross_fen": settlement.gross_fen,
        "deductions_fen": settlement.advances_fen + settlement.deposit_fen,
        "total_due_fen": settlement.total_due_fen,
        "rounding_rule": ROUNDING_RULE,
        "status": settlement.status.value,
        "paid_at": settlement.paid_at,
        "bank_reference": settlement.bank_reference,
    }


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def render_csv(settlement: Settlement) -> str:
    data = statement(settlement)
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.writerow(
        [
            "kind",
            "delivery_id",
            "delivered_on",
            "grade",
            f"quantity_{data['unit']}",
            "unit_price_fen",
            "amount_fen",
            "note",
        ]
    )
    for line in data["lines"]:
        writer.writerow(
            [
                "delivery",
                line["delivery_id"],
                line["delivered_on"].isoformat(),
                line["grade"],
                line["quantity"],
                line["unit_price_fen"],
                line["amount_fen"],
                line["price_basis"],
            ]
        )
    for deduction in data["deductions"]:
        writer.writerow(
            [
                "deduction",
                "",
                "",
                "",
                "",
                "",
                -deduction["amount_fen"],
                f"{deduction['kind']} {deduction['description']}".strip(),
            ]
        )
    writer.writerow(["total_due", "", "", "", "", "", data["total_due_fen"], ROUNDING_RULE])
    return out.getvalue()


def render_pdf(settlement: Settlement) -> bytes:
    register_cjk_font()
    data = statement(settlement)
    out = io.BytesIO()
    width, height = A4
    page = canvas.Canvas(out, pagesize=A4, invariant=1)
    page.setTitle(f"结算单 Settlement {settlement.id}")
    page.setFont(CJK_FONT, 15)
    page.drawCentredString(width / 2, height - 18 * mm, "订单农业结算单 Contract settlement statement")
    page.setFont(CJK_FONT, 9)
    y = height - 28 * mm
    for text in (
        f"合同 Contract {data['contract_id']}  结算单 No. {data['settlement_id']}",
        f"期间 Period {data['period_start']} – {data['period_end']}  单位 Unit {data['unit']}",
    ):
        page.drawString(15 * mm, y, text)
        y -= 6 * mm
    y -= 2 * mm
    columns = (15, 35, 60, 80, 110, 135)
    for x, title in zip(
        columns, ("交付 No.", "日期 Date", "等级 Grade", "数量 Qty", "单价 fen", "金额 yuan"), strict=True
    ):
        page.drawString(x * mm, y, title)
    y -= 6 * mm
    for line in data["lines"]:
        if y < 30 * mm:
            page.showPage()
            page.setFont(CJK_FONT, 9)
            y = height - 20 * mm
        for x, value in zip(
            columns,
            (
                str(line["delivery_id"]),
                line["delivered_on"].isoformat(),
                line["grade"],
                str(line["quantity"]),
                str(line["unit_price_fen"]),
                yuan(line["amount_fen"]),
            ),
            strict=True,
        ):
            page.drawString(x * mm, y, value)
        y -= 5.5 * mm
    y -= 3 * mm
    page.drawString(15 * mm, y, f"货款合计 Gross: {yuan(data['gross_fen'])}")
    y -= 6 * mm
    for deduction in data["deductions"]:
        page.drawString(15 * mm, y, f"扣除 Less {deduction['kind']}: {yuan(deduction['amount_fen'])}")
        y -= 6 * mm
    page.setFont(CJK_FONT, 11)
    page.drawString(15 * mm, y, f"应付合计 Total due: {yuan(data['total_due_fen'])} {data['currency']}")
    y -= 8 * mm
    page.setFont(CJK_FONT, 7)
    page.drawString(15 * mm, y, "Rounding: " + ROUNDING_RULE[:150])
    if data["bank_reference"]:
        y -= 6 * mm
        page.setFont(CJK_FONT, 9)
        page.drawString(
            15 * mm, y, f"已付 Paid {data['paid_at']:%Y-%m-%d}, bank transfer {data['bank_reference']}"
        )
    page.showPage()
    page.save()
    return out.getvalue()
