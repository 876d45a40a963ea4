from __future__ import annotations

from decimal import Decimal

import marshmallow as ma
from marshmallow import validate

from marketplace.core.schemas import (
    Day,
    DecimalString,
    ObjectSchema,
    QuerySchema,
    Schema,
    fen_field,
    id_field,
    name_field,
    quantity_field,
    sort_field,
)
from orders.contracts.models import (
    AdvanceKind,
    CallOffPayment,
    ContractStatus,
    DeliveryStatus,
    SettlementStatus,
)
from orders.contracts.terms import fingerprint

UNITS = ("g", "kg", "jin", "t", "each", "box")


def grade_field(**kwargs) -> ma.fields.String:
    return ma.fields.String(validate=validate.Length(min=1, max=32), **kwargs)


def percent_field(**kwargs) -> DecimalString:
    return DecimalString(places=2, minimum=Decimal(0), maximum=Decimal(100), **kwargs)


class WindowSchema(Schema):
    starts_on = Day(required=True)
    ends_on = Day(required=True)
    quantity = quantity_field(required=True)


class PriceRuleSchema(Schema):
    kind = ma.fields.String(
        required=True,
        validate=validate.OneOf(["fixed", "market"]),
        metadata={
            "description": "fixed: a price per grade; market: the "
            "operator's market price × (1 + margin), never below floors"
        },
    )
    prices_fen = ma.fields.Dict(
        keys=grade_field(),
        values=fen_field(),
        validate=validate.Length(max=20),
        metadata={"description": "fixed rule: grade → fen per unit"},
    )
    margin_percent = DecimalString(
        places=2, minimum=Decimal(-100), maximum=Decimal(100), minimum_inclusive=False
    )
    floors_fen = ma.fields.Dict(
        keys=grade_field(),
        values=fen_field(),
        validate=validate.Length(max=20),
        metadata={"description": "grade → floor price (保底价) per unit"},
    )


class TermsSchema(Schema):
    season = name_field(100, required=True)
    quantity = quantity_field(required=True)
    unit = ma.fields.String(required=True, validate=validate.OneOf(UNITS))
    tolerance_percent = percent_field(required=True)
    grades = ma.fields.List(
        grade_field(),
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "the grades this contract buys, best first"},
    )
    minimum_grade = grade_field(required=True)
    windows = ma.fields.List(
        ma.fields.Nested(WindowSchema), required=True, validate=validate.Length(min=1, max=52)
    )
    deposit_fen = fen_field(load_default=0)
    currency = ma.fields.String(load_default="CNY", validate=validate.OneOf(["CNY"]))
    price_rule = ma.fields.Nested(PriceRuleSchema, required=True)


class ContractCreateSchema(Schema):
    grower_id = id_field(required=True)
    product_id = id_field(required=True)
    terms = ma.fields.Nested(TermsSchema, required=True)


class TermsRevisionSchema(Schema):
    terms = ma.fields.Nested(TermsSchema, required=True)


class AmendmentCreateSchema(Schema):
    terms = ma.fields.Nested(TermsSchema, required=True)
    reason = name_field(500, required=True)


class SignatureSchema(Schema):
    version = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10_000))
    fingerprint = ma.fields.String(
        required=True,
        validate=validate.Regexp(r"^[0-9a-f]{64}$"),
        metadata={"description": "SHA-256 of the terms you read"},
    )


class EndSchema(Schema):
    outcome = ma.fields.Enum(
        ContractStatus,
        by_value=True,
        required=True,
        validate=validate.OneOf([ContractStatus.FULFILLED, ContractStatus.TERMINATED]),
    )
    reason = name_field(500, required=True)


class ContractVersionSchema(Schema):
    number = ma.fields.Integer()
    terms = ma.fields.Dict()
    reason = ma.fields.String()
    created_at = ma.fields.AwareDateTime()
    pending_fingerprint = ma.fields.Method(
        "_pending_fingerprint", metadata={"description": "what signers send back"}
    )
    fingerprint = ma.fields.String(allow_none=True)
    enterprise_signed_by_id = ma.fields.Integer(allow_none=True)
    enterprise_signed_at = ma.fields.AwareDateTime(allow_none=True)
    grower_signed_by_id = ma.fields.Integer(allow_none=True)
    grower_signed_at = ma.fields.AwareDateTime(allow_none=True)
    signed_at = ma.fields.AwareDateTime(allow_none=True)

    def _pending_fingerprint(self, version) -> str:
        return fingerprint(version.terms)


class ContractSchema(ObjectSchema):
    enterprise_id = ma.fields.Integer()
    grower_id = ma.fields.Integer()
    product_id = ma.fields.Integer()
    status = ma.fields.Enum(ContractStatus, by_value=True)
    current_version = ma.fields.Integer(allow_none=True)
    maximum_quantity = quantity_field()
    accepted_quantity = DecimalString(places=3, minimum=Decimal(0), maximum=Decimal(10**11))
    ended_at = ma.fields.AwareDateTime(allow_none=True)
    end_reason = ma.fields.String(allow_none=True)
    versions = ma.fields.List(ma.fields.Nested(ContractVersionSchema))
    created_at = ma.fields.AwareDateTime()


class ContractQuerySchema(QuerySchema):
    status = ma.fields.Enum(ContractStatus, by_value=True)
    sort = sort_field("created_at")


class MarketPriceSchema(ObjectSchema):
    product_id = id_field(required=True)
    grade_code = grade_field(required=True)
    unit = ma.fields.String(required=True, validate=validate.OneOf(UNITS))
    priced_on = Day(required=True)
    price_fen = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10**13))
    source = ma.fields.String(load_default="", validate=validate.Length(max=200))
    entered_by_id = ma.fields.Integer(dump_only=True)


class MarketPriceQuerySchema(QuerySchema):
    product_id = id_field(strict=False)


class AdvanceSchema(ObjectSchema):
    kind = ma.fields.Enum(AdvanceKind, by_value=True, required=True)
    description = ma.fields.String(load_default="", validate=validate.Length(max=500))
    amount_fen = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10**13))
    given_on = Day(required=True)
    settlement_id = ma.fields.Integer(dump_only=True, allow_none=True)


class DeliveryCreateSchema(Schema):
    lot_id = id_field(required=True)
    window = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=52))
    quantity = quantity_field(required=True)
    delivered_on = Day(required=True)


class AcceptanceSchema(Schema):
    received_quantity = quantity_field(required=True)
    receipt_grade = grade_field(required=True)
    reinspection_grade_id = id_field(allow_none=True)


class RejectionSchema(Schema):
    reason = name_field(500, required=True)


class DeliverySchema(ObjectSchema):
    contract_id = ma.fields.Integer()
    lot_id = ma.fields.Integer()
    window = ma.fields.Integer()
    delivered_on = ma.fields.Date()
    quantity = quantity_field()
    lot_grade = ma.fields.String()
    status = ma.fields.Enum(DeliveryStatus, by_value=True)
    received_quantity = quantity_field(allow_none=True)
    receipt_grade = ma.fields.String(allow_none=True)
    reinspection_grade_id = ma.fields.Integer(allow_none=True)
    settled_grade = ma.fields.String(allow_none=True)
    contract_version = ma.fields.Integer(allow_none=True)
    unit_price_fen = fen_field(allow_none=True)
    amount_fen = fen_field(allow_none=True)
    price_basis = ma.fields.String(allow_none=True)
    rejection_reason = ma.fields.String(allow_none=True)
    decided_at = ma.fields.AwareDateTime(allow_none=True)
    settlement_id = ma.fields.Integer(allow_none=True)


class DeliveryQuerySchema(QuerySchema):
    status = ma.fields.Enum(DeliveryStatus, by_value=True)


def _amount(**kwargs) -> DecimalString:
    return DecimalString(places=3, minimum=Decimal(0), maximum=Decimal(10**11), **kwargs)


class WindowProgressSchema(Schema):
    window = ma.fields.Integer()
    starts_on = ma.fields.String()
    ends_on = ma.fields.String()
    contracted = _amount()
    delivered = _amount()
    accepted = _amount()
    rejected = _amount()
    outstanding = _amount()
    late = ma.fields.Boolean()
    short = ma.fields.Boolean()


class ProgressSchema(Schema):
    contract_id = ma.fields.Integer()
    unit = ma.fields.String()
    as_of = ma.fields.Date()
    maximum = _amount()
    contracted = _amount()
    delivered = _amount()
    accepted = _amount()
    rejected = _amount()
    outstanding = _amount()
    late = ma.fields.Boolean()
    short = ma.fields.Boolean()
    windows = ma.fields.List(ma.fields.Nested(WindowProgressSchema))


class ProgressQuerySchema(QuerySchema):
    on = Day(metadata={"description": "judge late and short as of this day (today)"})


class SettlementCreateSchema(Schema):
    period_start = Day(required=True)
    period_end = Day(required=True)


class StatementLineSchema(Schema):
    delivery_id = ma.fields.Integer()
    lot_id = ma.fields.Integer()
    delivered_on = ma.fields.Date()
    quantity = quantity_field()
    grade = ma.fields.String()
    unit_price_fen = fen_field()
    amount_fen = fen_field()
    price_basis = ma.fields.String()


class DeductionSchema(Schema):
    kind = ma.fields.String()
    description = ma.fields.String()
    amount_fen = fen_field()


class StatementSchema(Schema):
    settlement_id = ma.fields.Integer()
    contract_id = ma.fields.Integer()
    period_start = ma.fields.Date()
    period_end = ma.fields.Date()
    unit = ma.fields.String()
    currency = ma.fields.String()
    lines = ma.fields.List(ma.fields.Nested(StatementLineSchema))
    deductions = ma.fields.List(ma.fields.Nested(DeductionSchema))
    gross_fen = fen_field()
    deductions_fen = fen_field()
    total_due_fen = fen_field()
    rounding_rule = ma.fields.String()
    status = ma.fields.String(validate=validate.OneOf([s.value for s in SettlementStatus]))
    paid_at = ma.fields.AwareDateTime(allow_none=True)
    bank_reference = ma.fields.String(allow_none=True)


class BankTransferSchema(Schema):
    bank_reference = name_field(100, required=True)


class CallOffLineSchema(Schema):
    sku_id = id_field(required=True)
    quantity = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10_000))


class CallOffCreateSchema(Schema):
    lines = ma.fields.List(
        ma.fields.Nested(CallOffLineSchema), required=True, validate=validate.Length(min=1, max=50)
    )
    payment = ma.fields.Enum(
        CallOffPayment,
        by_value=True,
        required=True,
        metadata={
            "description": "invoice: bank transfer recorded by an operator; card: the order's card payment"
        },
    )


class BankTransferReferenceSchema(Schema):
    bank_reference = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
