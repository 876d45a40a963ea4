from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from marketplace.errors import ProblemSchema
from marketplace.schemas import (
    ObjectSchema,
    QuerySchema,
    Schema,
    fen_field,
    id_field,
    quantity_field,
    sort_field,
)
from orders.ledger_models import Party
from orders.models import AllocationState, OrderStatus, PaymentStatus, RefundStatus


class OrderLineInputSchema(Schema):
    sku_id = id_field(required=True)
    quantity = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10_000))


class OrderCreateSchema(Schema):
    lines = ma.fields.List(ma.fields.Nested(OrderLineInputSchema), required=True,
                           validate=validate.Length(min=1, max=50))
    email = ma.fields.Email(validate=validate.Length(max=254),
                            metadata={"description": "required for guests, who need no account"})


class ShortLineSchema(Schema):
    sku_id = ma.fields.Integer()
    requested = ma.fields.Integer(metadata={"description": "packs asked for"})
    available = ma.fields.Integer(metadata={
        "description": "packs that could be held; told only to signed-in buyers"})


class OutOfStockProblemSchema(ProblemSchema):
    """The problem for an order that cannot be held whole."""

    short = ma.fields.List(ma.fields.Nested(ShortLineSchema), metadata={
        "description": "every line that is short; absent when a guest's holds are what is exceeded"})


class AllocationSchema(Schema):
    lot_id = ma.fields.Integer()
    packs = ma.fields.Integer()
    quantity = quantity_field()
    state = ma.fields.Enum(AllocationState, by_value=True)


class OrderLineSchema(ObjectSchema):
    sku_id = ma.fields.Integer()
    quantity = ma.fields.Integer()
    unit_price_fen = fen_field()
    total_fen = fen_field()
    allocations = ma.fields.List(ma.fields.Nested(AllocationSchema))
    shipped_at = ma.fields.AwareDateTime(allow_none=True)
    carrier = ma.fields.String(allow_none=True)
    tracking_number = ma.fields.String(allow_none=True)


class SellerOrderSchema(ObjectSchema):
    """A seller's part of an order: its own lines; not the buyer, the reference nor other sellers."""

    status = ma.fields.Enum(OrderStatus, by_value=True)
    currency = ma.fields.String()
    created_at = ma.fields.AwareDateTime()
    paid_at = ma.fields.AwareDateTime(allow_none=True)
    fulfilled_at = ma.fields.AwareDateTime(allow_none=True)
    completed_at = ma.fields.AwareDateTime(allow_none=True)
    cancelled_at = ma.fields.AwareDateTime(allow_none=True)
    lines = ma.fields.List(ma.fields.Nested(OrderLineSchema),
                           metadata={"description": "the seller's own lines only"})


class PaymentSummarySchema(ObjectSchema):
    provider = ma.fields.String()
    external_id = ma.fields.String()
    amount_fen = fen_field()
    captured_fen = fen_field()
    status = ma.fields.Enum(PaymentStatus, by_value=True)
    failure_message = ma.fields.String(allow_none=True)


class OrderSchema(ObjectSchema):
    reference = ma.fields.String(metadata={"description": "unguessable; also lets a guest see and pay"})
    status = ma.fields.Enum(OrderStatus, by_value=True)
    email = ma.fields.String(allow_none=True)
    buyer_organisation_id = ma.fields.Integer(allow_none=True)
    currency = ma.fields.String()
    total_fen = fen_field()
    captured_fen = fen_field()
    refunded_fen = fen_field()
    reserved_until = ma.fields.AwareDateTime()
    paid_at = ma.fields.AwareDateTime(allow_none=True)
    fulfilled_at = ma.fields.AwareDateTime(allow_none=True)
    carrier = ma.fields.String(allow_none=True, metadata={"description": "the last parcel's; "
                                                          "each line has its own"})
    tracking_number = ma.fields.String(allow_none=True)
    completed_at = ma.fields.AwareDateTime(allow_none=True)
    cancelled_at = ma.fields.AwareDateTime(allow_none=True)
    cancel_reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    lines = ma.fields.List(ma.fields.Nested(OrderLineSchema))
    payments = ma.fields.List(ma.fields.Nested(PaymentSummarySchema))


class OrderQuerySchema(QuerySchema):
    status = ma.fields.Enum(OrderStatus, by_value=True)
    sort = sort_field("created_at")


class CardPaymentSchema(Schema):
    payment_intent_id = ma.fields.String()
    client_secret = ma.fields.String()
    amount_fen = fen_field()
    currency = ma.fields.String()


class CardPaymentRequestSchema(Schema):
    method = ma.fields.String(required=True, validate=validate.OneOf(["card"]))


class FulfilmentSchema(Schema):
    carrier = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    tracking_number = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))


class CompletionSchema(Schema):
    note = ma.fields.String(validate=validate.Length(max=200))


class RefundRequestSchema(Schema):
    amount_fen = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10**13))
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))


class RefundSchema(ObjectSchema):
    external_id = ma.fields.String(allow_none=True,
                                   metadata={"description": "Stripe's refund id, once Stripe answered"})
    status = ma.fields.Enum(RefundStatus, by_value=True)
    amount_fen = fen_field()
    reason = ma.fields.String()
    failure_message = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    settled_at = ma.fields.AwareDateTime(allow_none=True)


class CancelSchema(Schema):
    reason = ma.fields.String(validate=validate.Length(min=1, max=200))


class WebhookAckSchema(Schema):
    received = ma.fields.Boolean()
    outcome = ma.fields.String()


class SharingShareSchema(Schema):
    party = ma.fields.Enum(Party, by_value=True, required=True)
    basis_points = ma.fields.Integer(strict=True, required=True,
                                     validate=validate.Range(min=1, max=10_000),
                                     metadata={"description": "1 % = 100 basis points"})


class SharingRuleSchema(ObjectSchema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    cluster_id = id_field(allow_none=True)
    product_id = id_field(allow_none=True)
    contract_id = id_field(allow_none=True)
    guaranteed_party = ma.fields.Enum(Party, by_value=True, allow_none=True)
    guaranteed_fen = fen_field(load_default=0)
    shares = ma.fields.List(ma.fields.Nested(SharingShareSchema), required=True,
                            validate=validate.Length(min=1, max=6))
    created_at = ma.fields.AwareDateTime(dump_only=True)


class LedgerEntrySchema(ObjectSchema):
    posting = ma.fields.String()
    posted_at = ma.fields.AwareDateTime()
    source_type = ma.fields.String()
    source_id = ma.fields.String()
    account = ma.fields.String()
    village_id = ma.fields.Integer(allow_none=True)
    organisation_id = ma.fields.Integer(allow_none=True)
    income_category = ma.fields.String(allow_none=True)
    debit_fen = fen_field()
    credit_fen = fen_field()
    currency = ma.fields.String()
    memo = ma.fields.String()


class LedgerQuerySchema(QuerySchema):
    village_id = id_field(strict=False)
    organisation_id = id_field(strict=False)
    account = ma.fields.String(validate=validate.Length(max=40))
    source_type = ma.fields.String(validate=validate.OneOf(["order", "sale", "refund", "delivery"]))
    source_id = ma.fields.String(validate=validate.Length(max=64))
    sort = sort_field("posted_at")
