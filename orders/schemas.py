from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from marketplace.core.errors import ProblemSchema
from marketplace.core.schemas import (
    ObjectSchema,
    QuerySchema,
    Schema,
    fen_field,
    id_field,
    quantity_field,
    sort_field,
)
from orders.ledger.models import Party
from orders.models import AllocationState, OrderStatus, PaymentStatus, RefundStatus


class OrderLineInputSchema(Schema):
    sku_id = id_field(required=True)
    quantity = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10_000))


class OrderCreateSchema(Schema):
    lines = ma.fields.List(
        ma.fields.Nested(OrderLineInputSchema), required=True, validate=validate.Length(min=1, max=50)
    )
    email = ma.fields.Email(
        validate=validate.Length(max=254),
        metadata={"description": "required for guests, who need no account"},
    )


class ShortLineSchema(Schema):
    sku_id = ma.fields.Integer()
    requested = ma.fields.Integer(metadata={"description": "packs asked for"})
    available = ma.fields.Integer(
        metadata={"description": "packs that could be held; told only to signed-in buyers"}
    )


class OutOfStockProblemSchema(ProblemSchema):
    """The problem for an order that cannot be held whole."""

    short = ma.fields.List(
        ma.fields.Nested(ShortLineSchema),
        metadata={
            "description": "every line that is short; absent when a guest's holds are what is exceeded"
        },
    )


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
    lines = ma.fields.List(
        ma.fields.Nested(OrderLineSchema), metadata={"description": "the seller's own lines only"}
    )


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
    carrier = ma.fields.String(
        allow_none=True, metadata={"description": "the last parcel's; each line has its own"}
    )
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
    external_id = ma.fields.String(
        allow_none=True, metadata={"description": "Stripe's refund id, once Stripe answered"}
    )
    status = ma.fields.Enum(RefundStatus, by_value=True)
    amount_fen = fen_field()
    reason = ma.fields.String()
    failure_message = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    settled_at = ma.fields.AwareDateTime(allow_none=True)


class CancelSchema(Schema):
    reason = ma.fields.String(validate=validate.Length(min=1, max=200))


OUT_OF_STOCK = {
    "schema": OutOfStockProblemSchema,
    "content_type": "application/problem+json",
    "description": "a conflict; when stock is short, `short` names every short line",
}


class WebhookAckSchema(Schema):
    received = ma.fields.Boolean()
    outcome = ma.fields.String()


class _StripeObjectSchema(Schema):
    class Meta:
        # Stripe sends far more than we read; the rest passes through untouched.
        unknown = ma.INCLUDE


def _stripe_id(**kwargs) -> ma.fields.String:
    # Ids are stored in String(100) columns.
    return ma.fields.String(validate=validate.Length(min=1, max=100), **kwargs)


def _stripe_amount(**kwargs) -> ma.fields.Integer:
    return ma.fields.Integer(strict=True, validate=validate.Range(min=0, max=10**13), **kwargs)


class _PaymentErrorSchema(_StripeObjectSchema):
    message = ma.fields.String(allow_none=True)


class _PaymentIntentSchema(_StripeObjectSchema):
    id = _stripe_id(required=True)
    amount = _stripe_amount(allow_none=True)
    amount_received = _stripe_amount(allow_none=True)
    last_payment_error = ma.fields.Nested(_PaymentErrorSchema, allow_none=True)


class _RefundSchema(_StripeObjectSchema):
    id = _stripe_id(required=True)
    amount = _stripe_amount(required=True)


class _RefundListSchema(_StripeObjectSchema):
    data = ma.fields.List(ma.fields.Nested(_RefundSchema))


class _ChargeSchema(_StripeObjectSchema):
    payment_intent = _stripe_id(allow_none=True)
    refunds = ma.fields.Nested(_RefundListSchema, allow_none=True)


class _EventDataSchema(_StripeObjectSchema):
    object = ma.fields.Dict(required=True)


# What each event type we act on must carry; other types are acknowledged and ignored.
STRIPE_OBJECT_SCHEMAS = {
    "payment_intent.succeeded": _PaymentIntentSchema,
    "payment_intent.payment_failed": _PaymentIntentSchema,
    "payment_intent.canceled": _PaymentIntentSchema,
    "charge.refunded": _ChargeSchema,
}


class StripeEventSchema(_StripeObjectSchema):
    """A signed Stripe event, checked for the keys and shapes our handlers read."""

    id = _stripe_id(required=True)
    type = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    data = ma.fields.Nested(_EventDataSchema, required=True)

    @ma.post_load
    def _object_of_its_type(self, event: dict, **kwargs) -> dict:
        schema = STRIPE_OBJECT_SCHEMAS.get(event["type"])
        if schema is not None:
            try:
                event["data"]["object"] = schema().load(event["data"]["object"])
            except ma.ValidationError as error:
                raise ma.ValidationError({"data": {"object": error.messages}}) from error
        return event


class SharingShareSchema(Schema):
    party = ma.fields.Enum(Party, by_value=True, required=True)
    basis_points = ma.fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=1, max=10_000),
        metadata={"description": "1 % = 100 basis points"},
    )


class SharingRuleSchema(ObjectSchema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    cluster_id = id_field(allow_none=True)
    product_id = id_field(allow_none=True)
    contract_id = id_field(allow_none=True)
    guaranteed_party = ma.fields.Enum(Party, by_value=True, allow_none=True)
    guaranteed_fen = fen_field(load_default=0)
    shares = ma.fields.List(
        ma.fields.Nested(SharingShareSchema), required=True, validate=validate.Length(min=1, max=6)
    )
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
