from __future__ import annotations

from datetime import timedelta

from marketplace.accounts.access import current_user
from marketplace.core import db
from marketplace.core.access import requires
from marketplace.core.http import ApiView, Blueprint, SelectPage, download, runtime
from marketplace.parties.models import Role
from orders.contracts import call_offs, service, settlement
from orders.contracts.schemas import (
    AcceptanceSchema,
    AdvanceSchema,
    AmendmentCreateSchema,
    BankTransferReferenceSchema,
    BankTransferSchema,
    CallOffCreateSchema,
    ContractCreateSchema,
    ContractQuerySchema,
    ContractSchema,
    DeliveryCreateSchema,
    DeliveryQuerySchema,
    DeliverySchema,
    EndSchema,
    MarketPriceQuerySchema,
    MarketPriceSchema,
    ProgressQuerySchema,
    ProgressSchema,
    RejectionSchema,
    SettlementCreateSchema,
    SignatureSchema,
    StatementSchema,
    TermsRevisionSchema,
)
from orders.schemas import OUT_OF_STOCK, OrderSchema

blp = Blueprint(
    "contracts",
    __name__,
    url_prefix="/api/v1",
    description="Order-farming purchase contracts (订单农业): terms, signatures, "
    "deliveries, progress and settlements",
)

PARTIES = (Role.ENTERPRISE, Role.COOPERATIVE, Role.OPERATOR)
CONTRACT = "/contracts/<int:contract_id>"
SETTLEMENT = "/contract-settlements/<int:settlement_id>"


@blp.route("/contracts")
class Contracts(ApiView):
    @requires(*PARTIES)
    @blp.arguments(ContractQuerySchema, location="query")
    @blp.response(200, ContractSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List the contracts you are a party to (operators: all)"""
        return service.list_contracts(db.session(), actor=current_user(), **query)

    @requires(Role.ENTERPRISE)
    @blp.arguments(ContractCreateSchema)
    @blp.response(201, ContractSchema)
    def post(self, data):
        """Draft a purchase contract with a cooperative or strong-village company"""
        return service.draft_contract(db.session(), actor=current_user(), **data)


@blp.route(CONTRACT)
class ContractById(ApiView):
    @requires(*PARTIES)
    @blp.response(200, ContractSchema)
    def get(self, contract_id):
        """Get a contract with every version of its terms and their signatures"""
        return service.get_contract(db.session(), contract_id, actor=current_user())


@blp.route(f"{CONTRACT}/terms")
class ContractTerms(ApiView):
    @requires(Role.ENTERPRISE)
    @blp.arguments(TermsRevisionSchema)
    @blp.response(200, ContractSchema)
    def put(self, data, contract_id):
        """Revise the terms awaiting signatures; signed terms answer 409 (amend them instead)"""
        return service.revise_draft(
            db.session(), actor=current_user(), contract_id=contract_id, terms=data["terms"]
        )


@blp.route(f"{CONTRACT}/amendments")
class ContractAmendments(ApiView):
    @requires(Role.ENTERPRISE)
    @blp.arguments(AmendmentCreateSchema)
    @blp.response(201, ContractSchema)
    def post(self, data, contract_id):
        """Propose new terms for an active contract; they apply once both parties sign"""
        return service.propose_amendment(db.session(), actor=current_user(), contract_id=contract_id, **data)


@blp.route(f"{CONTRACT}/signatures")
class ContractSignatures(ApiView):
    @requires(Role.ENTERPRISE, Role.COOPERATIVE)
    @blp.arguments(SignatureSchema)
    @blp.response(200, ContractSchema)
    def post(self, data, contract_id):
        """Sign the pending version you read (its fingerprint); the second signature activates it"""
        return service.sign(
            db.session(),
            actor=current_user(),
            contract_id=contract_id,
            version=data["version"],
            fingerprint_seen=data["fingerprint"],
        )


@blp.route(f"{CONTRACT}/end")
class ContractEnd(ApiView):
    @requires(*PARTIES)
    @blp.arguments(EndSchema)
    @blp.response(200, ContractSchema)
    def post(self, data, contract_id):
        """Mark a contract fulfilled (the enterprise), or terminate it with a reason (either party)"""
        return service.end_contract(
            db.session(),
            actor=current_user(),
            contract_id=contract_id,
            status=data["outcome"],
            reason=data["reason"],
        )


@blp.route(f"{CONTRACT}/advances")
class ContractAdvances(ApiView):
    @requires(*PARTIES)
    @blp.response(200, AdvanceSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, contract_id):
        """List the inputs advanced to the grower"""
        return service.list_advances(db.session(), actor=current_user(), contract_id=contract_id)

    @requires(Role.ENTERPRISE)
    @blp.arguments(AdvanceSchema)
    @blp.response(201, AdvanceSchema)
    def post(self, data, contract_id):
        """Record an input advance (seedlings, feed, fertiliser…), deducted at settlement"""
        return service.record_advance(db.session(), actor=current_user(), contract_id=contract_id, **data)


@blp.route(f"{CONTRACT}/deliveries")
class ContractDeliveries(ApiView):
    @requires(*PARTIES)
    @blp.arguments(DeliveryQuerySchema, location="query")
    @blp.response(200, DeliverySchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query, contract_id):
        """List a contract's deliveries"""
        return service.list_deliveries(db.session(), actor=current_user(), contract_id=contract_id, **query)

    @requires(Role.COOPERATIVE)
    @blp.arguments(DeliveryCreateSchema)
    @blp.response(201, DeliverySchema)
    def post(self, data, contract_id):
        """Deliver a graded lot, whole or in part, against a window of an active contract"""
        return service.deliver(db.session(), actor=current_user(), contract_id=contract_id, **data)


@blp.route(f"{CONTRACT}/deliveries/<int:delivery_id>/acceptance")
class DeliveryAcceptance(ApiView):
    @requires(Role.ENTERPRISE)
    @blp.arguments(AcceptanceSchema)
    @blp.response(200, DeliverySchema)
    def post(self, data, contract_id, delivery_id):
        """Accept a delivery with the received quantity and grade; priced by the rule on its day"""
        return service.accept_delivery(
            db.session(), actor=current_user(), contract_id=contract_id, delivery_id=delivery_id, **data
        )


@blp.route(f"{CONTRACT}/deliveries/<int:delivery_id>/rejection")
class DeliveryRejection(ApiView):
    @requires(Role.ENTERPRISE)
    @blp.arguments(RejectionSchema)
    @blp.response(200, DeliverySchema)
    def post(self, data, contract_id, delivery_id):
        """Reject a delivery with a reason"""
        return service.reject_delivery(
            db.session(), actor=current_user(), contract_id=contract_id, delivery_id=delivery_id, **data
        )


@blp.route(f"{CONTRACT}/progress")
class ContractProgress(ApiView):
    @requires(*PARTIES)
    @blp.arguments(ProgressQuerySchema, location="query")
    @blp.response(200, ProgressSchema)
    def get(self, query, contract_id):
        """Contracted, delivered, accepted, rejected and outstanding, per window; late and short"""
        return service.progress(db.session(), actor=current_user(), contract_id=contract_id, **query)


@blp.route(f"{CONTRACT}/settlements")
class ContractSettlements(ApiView):
    @requires(*PARTIES)
    @blp.response(200, StatementSchema(many=True))
    def get(self, contract_id):
        """List a contract's settlement statements"""
        session = db.session()
        found = session.scalars(
            settlement.list_settlements(session, actor=current_user(), contract_id=contract_id)
        ).all()
        return [settlement.statement(item) for item in found]

    @requires(Role.ENTERPRISE)
    @blp.arguments(SettlementCreateSchema)
    @blp.response(201, StatementSchema)
    def post(self, data, contract_id):
        """Settle a period: accepted deliveries less advances and the deposit, in integer fen"""
        return settlement.statement(
            settlement.create_settlement(db.session(), actor=current_user(), contract_id=contract_id, **data)
        )


@blp.route(SETTLEMENT)
class SettlementById(ApiView):
    @requires(*PARTIES)
    @blp.response(200, StatementSchema)
    def get(self, settlement_id):
        """Get a settlement statement"""
        return settlement.statement(
            settlement.get_settlement(db.session(), settlement_id, actor=current_user())
        )


@blp.route(f"{SETTLEMENT}/pdf")
class SettlementPdf(ApiView):
    @requires(*PARTIES)
    @blp.response(200, content_type="application/pdf", description="the statement as a PDF")
    def get(self, settlement_id):
        """Download a settlement statement as a PDF"""
        found = settlement.get_settlement(db.session(), settlement_id, actor=current_user())
        return download(
            settlement.render_pdf(found),
            mimetype="application/pdf",
            filename=f"settlement-{settlement_id}.pdf",
            inline=True,
        )


@blp.route(f"{SETTLEMENT}/csv")
class SettlementCsv(ApiView):
    @requires(*PARTIES)
    @blp.response(200, content_type="text/csv", description="the statement as CSV")
    def get(self, settlement_id):
        """Download a settlement statement as CSV"""
        found = settlement.get_settlement(db.session(), settlement_id, actor=current_user())
        return download(
            settlement.render_csv(found), mimetype="text/csv", filename=f"settlement-{settlement_id}.csv"
        )


@blp.route(f"{SETTLEMENT}/payment")
class SettlementPayment(ApiView):
    @requires(Role.ENTERPRISE, Role.OPERATOR)
    @blp.arguments(BankTransferSchema)
    @blp.response(200, StatementSchema)
    def post(self, data, settlement_id):
        """Record the bank transfer that paid a statement; its deliveries post to the ledger"""
        return settlement.statement(
            settlement.mark_paid(db.session(), actor=current_user(), settlement_id=settlement_id, **data)
        )


@blp.route("/market-prices")
class MarketPrices(ApiView):
    @requires(*PARTIES)
    @blp.arguments(MarketPriceQuerySchema, location="query")
    @blp.response(200, MarketPriceSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List market reference prices, newest first"""
        return service.list_market_prices(db.session(), **query)

    @requires(Role.OPERATOR)
    @blp.arguments(MarketPriceSchema)
    @blp.response(201, MarketPriceSchema)
    def post(self, data):
        """Record a day's market reference price of a product at a grade (per unit)"""
        return service.record_market_price(db.session(), actor=current_user(), **data)


@blp.route(f"{CONTRACT}/call-offs")
class ContractCallOffs(ApiView):
    @requires(Role.ENTERPRISE)
    @blp.arguments(CallOffCreateSchema)
    @blp.response(201, OrderSchema)
    @blp.alt_response(409, **OUT_OF_STOCK)
    def post(self, data, contract_id):
        """Order against the contract: stock is reserved, priced by the contract, drawn down from it"""
        minutes = runtime().settings.reservation_minutes
        return call_offs.place_call_off(
            db.session(),
            actor=current_user(),
            contract_id=contract_id,
            lines=data["lines"],
            payment=data["payment"],
            card_hold=timedelta(minutes=minutes),
        )


@blp.route("/orders/<string(length=22):reference>/bank-transfer")
class CallOffBankTransfer(ApiView):
    @requires(Role.OPERATOR)
    @blp.arguments(BankTransferReferenceSchema)
    @blp.response(200, OrderSchema)
    def post(self, data, reference):
        """Record the bank transfer that paid an invoiced call-off: its stock is sold, the ledger posted"""
        return call_offs.record_bank_transfer(db.session(), reference=reference, **data)
