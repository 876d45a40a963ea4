from __future__ import annotations

from datetime import timedelta

import marshmallow as ma
from flask import request

from marketplace.accounts.access import bearer_token, current_user
from marketplace.core import db
from marketplace.core.access import requires
from marketplace.core.errors import PROBLEM_MEDIA_TYPE
from marketplace.core.http import ApiView, Blueprint, SelectPage, runtime
from marketplace.core.idempotency import idempotent
from marketplace.parties.models import Role
from orders import fulfilment, metrics, service
from orders.errors import OutOfStock, StripeEventMalformed
from orders.ledger import service as ledger
from orders.schemas import (
    CancelSchema,
    CardPaymentRequestSchema,
    CardPaymentSchema,
    CompletionSchema,
    FulfilmentSchema,
    LedgerEntrySchema,
    LedgerQuerySchema,
    OrderCreateSchema,
    OrderQuerySchema,
    OrderSchema,
    OutOfStockProblemSchema,
    RefundRequestSchema,
    RefundSchema,
    SellerOrderSchema,
    SharingRuleSchema,
    StripeEventSchema,
    WebhookAckSchema,
)
from orders.stripe_gateway import WebhookSignatureInvalid

blp = Blueprint(
    "orders",
    __name__,
    url_prefix="/api/v1",
    description="Orders, card payments, refunds, and the benefit-sharing ledger",
)


REFERENCE = "<string(length=22):reference>"


@blp.route("/orders")
class Orders(ApiView):
    @requires(Role.OPERATOR, Role.ENTERPRISE, Role.COOPERATIVE)
    @blp.arguments(OrderQuerySchema, location="query")
    @blp.response(200, OrderSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List the orders your organisation placed (operators: all); sellers: /seller-orders"""
        return service.list_orders(db.session(), actor=current_user(), **query)

    @idempotent
    @blp.arguments(OrderCreateSchema)
    @blp.response(201, OrderSchema)
    @blp.alt_response(
        409,
        schema=OutOfStockProblemSchema,
        content_type=PROBLEM_MEDIA_TYPE,
        description="Not enough stock for some lines (`short` names them), or a "
        "guest's unpaid orders already hold what a guest may hold",
    )
    def post(self, data):
        """Order SKUs: their stock is reserved for 15 minutes, or the order fails naming every short line"""
        buyer = current_user() if bearer_token() else None
        settings = runtime().settings
        try:
            order = service.place_order(
                db.session(),
                buyer=buyer,
                lines=data["lines"],
                email=data.get("email"),
                hold=timedelta(minutes=settings.reservation_minutes),
                currency=settings.currency,
                client_address=request.remote_addr,
                guest_limits=_guest_limits(settings),
            )
        except OutOfStock:
            metrics.ORDERS_REFUSED.inc()
            raise
        metrics.ORDERS_PLACED.inc()
        return order


def _guest_limits(settings) -> service.GuestLimits:
    return service.GuestLimits(
        packs_per_order=settings.guest_max_packs_per_order,
        packs_per_sku=settings.guest_max_packs_per_sku,
        open_orders_per_email=settings.guest_max_open_orders_per_email,
        open_orders_per_address=settings.guest_max_open_orders_per_address,
    )


@blp.route(f"/orders/{REFERENCE}")
class OrderByReference(ApiView):
    @blp.response(200, OrderSchema)
    def get(self, reference):
        """Get an order by its reference"""
        return service.get_order(db.session(), reference)


@blp.route(f"/orders/{REFERENCE}/cancel")
class OrderCancel(ApiView):
    @blp.arguments(CancelSchema)
    @blp.response(200, OrderSchema)
    def post(self, data, reference):
        """Cancel an unpaid order (its buyer or an operator); its reserved stock goes back on sale"""
        return service.cancel_order(
            db.session(),
            reference=reference,
            actor=current_user() if bearer_token() else None,
            reason=data.get("reason", "cancelled by the buyer"),
        )


@blp.route(f"/orders/{REFERENCE}/payments")
class OrderPayments(ApiView):
    @idempotent
    @blp.arguments(CardPaymentRequestSchema)
    @blp.response(201, CardPaymentSchema)
    @db.answer_after_commit
    def post(self, data, reference):
        """Start paying by card: returns the Stripe PaymentIntent's client secret (one per order)"""
        return service.start_card_payment(db.session(), reference=reference, gateway=runtime().stripe)


@blp.route(f"/orders/{REFERENCE}/refunds")
class OrderRefunds(ApiView):
    @requires(Role.OPERATOR)
    @idempotent
    @blp.arguments(RefundRequestSchema)
    @blp.response(201, RefundSchema)
    @db.answer_after_commit
    def post(self, data, reference):
        """Refund part or all of a paid order; never more than was captured"""
        return service.refund_order(db.session(), reference=reference, gateway=runtime().stripe, **data)


@blp.route(f"/orders/{REFERENCE}/fulfilment")
class OrderFulfilment(ApiView):
    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.arguments(FulfilmentSchema)
    @blp.response(200, OrderSchema)
    def post(self, data, reference):
        """Ship a paid order: a seller its own lines, an operator every line not shipped yet"""
        return fulfilment.fulfil_order(db.session(), actor=current_user(), reference=reference, **data)


@blp.route(f"/orders/{REFERENCE}/completion")
class OrderCompletion(ApiView):
    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.arguments(CompletionSchema)
    @blp.response(200, OrderSchema)
    def post(self, data, reference):
        """Mark a shipped order delivered and complete"""
        return fulfilment.complete_order(db.session(), actor=current_user(), reference=reference)


class SellerOrderPage(SelectPage):
    """Pages orders as the calling seller's part of each."""

    @property
    def items(self):
        seller_id = current_user().organisation_id
        return [fulfilment.seller_part(order, seller_id=seller_id) for order in super().items]


@blp.route("/seller-orders")
class SellerOrders(ApiView):
    @requires(Role.COOPERATIVE)
    @blp.arguments(OrderQuerySchema, location="query")
    @blp.response(200, SellerOrderSchema(many=True))
    @blp.paginate(SellerOrderPage)
    def get(self, query):
        """List your part of the orders holding your lots: your lines only, nothing of the buyer"""
        return fulfilment.list_seller_orders(db.session(), seller=current_user(), **query)


@blp.route("/seller-orders/<int:order_id>")
class SellerOrderById(ApiView):
    @requires(Role.COOPERATIVE)
    @blp.response(200, SellerOrderSchema)
    def get(self, order_id):
        """Get your part of an order"""
        return fulfilment.get_seller_order(db.session(), seller=current_user(), order_id=order_id)[1]


@blp.route("/seller-orders/<int:order_id>/shipment")
class SellerOrderShipment(ApiView):
    @requires(Role.COOPERATIVE)
    @blp.arguments(FulfilmentSchema)
    @blp.response(200, SellerOrderSchema)
    def post(self, data, order_id):
        """Ship your lines of a paid order; the order is fulfilled when every seller has shipped"""
        return fulfilment.ship_seller_order(db.session(), seller=current_user(), order_id=order_id, **data)


@blp.route("/seller-orders/<int:order_id>/completion")
class SellerOrderCompletion(ApiView):
    @requires(Role.COOPERATIVE)
    @blp.arguments(CompletionSchema)
    @blp.response(200, SellerOrderSchema)
    def post(self, data, order_id):
        """Mark a shipped order of yours alone delivered and complete (a mixed one: an operator)"""
        return fulfilment.complete_seller_order(db.session(), seller=current_user(), order_id=order_id)


@blp.route("/payments/stripe/webhook")
class StripeWebhook(ApiView):
    @blp.response(200, WebhookAckSchema)
    @blp.doc(
        parameters=[
            {"in": "header", "name": "Stripe-Signature", "required": True, "schema": {"type": "string"}}
        ],
        requestBody={"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
    )
    @db.answer_after_commit
    def post(self):
        """Stripe's events, verified by signature; each event id changes things at most once"""
        gateway = runtime().stripe
        try:
            event = gateway.verify_event(request.get_data(), request.headers.get("Stripe-Signature"))
        except WebhookSignatureInvalid:
            metrics.WEBHOOK_FAILURES.labels("signature").inc()
            raise
        event = _checked_event(event)
        session = db.session()
        try:
            outcome = service.handle_stripe_event(session, event=event, gateway=gateway)
        except service.DuplicateDelivery:
            # The other delivery's transaction wins; what ours queued for after it goes too.
            session.rollback()
            outcome = "duplicate"
        # Refunds the event decided are sent after the commit. If Stripe cannot be reached, the
        # error answer makes Stripe deliver the event again, and the repeat sends them.
        metrics.PAYMENTS.labels(outcome.split(":")[0]).inc()
        return {"received": True, "outcome": outcome}


def _checked_event(event) -> dict:
    try:
        return StripeEventSchema().load(event)
    except ma.ValidationError as error:
        metrics.WEBHOOK_FAILURES.labels("malformed").inc()
        raise StripeEventMalformed(
            "a signed event without the keys or shapes its type needs; "
            "it will not be accepted on retry either",
            errors={"json": error.messages},
        ) from None


@blp.route("/sharing-rules")
class SharingRules(ApiView):
    @blp.response(200, SharingRuleSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self):
        """List benefit-sharing rules (利益联结)"""
        return ledger.list_rules(db.session())

    @requires(Role.OPERATOR)
    @blp.arguments(SharingRuleSchema)
    @blp.response(201, SharingRuleSchema)
    def post(self, data):
        """Attach a sharing rule to a cluster or a product: shares sum to exactly 100 %"""
        return ledger.create_rule(db.session(), **data)


@blp.route("/ledger-entries")
class LedgerEntries(ApiView):
    @requires(Role.OPERATOR)
    @blp.arguments(LedgerQuerySchema, location="query")
    @blp.response(200, LedgerEntrySchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List ledger entries: every split of every sale and refund"""
        return ledger.list_entries(db.session(), **query)
