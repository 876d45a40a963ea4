from __future__ import annotations

from flask import current_app

from catalog import service as catalog_service
from marketplace import db
from marketplace.auth import service as auth_service
from marketplace.auth.access import current_user, requires
from marketplace.auth.models import Role
from marketplace.http import ApiView, Blueprint, SelectPage, download, runtime
from marketplace.trace import export, service
from marketplace.trace.schemas import (
    ChainQuerySchema,
    ChainReportSchema,
    TraceEventCreateSchema,
    TraceEventSchema,
)

blp = Blueprint("trace", __name__, url_prefix="/api/v1",
                description="Trace events (EPCIS 2.0 style), hash-chained and exportable")


def _base_url() -> str:
    return runtime().settings.public_base_url


@blp.route("/lots/<int:lot_id>/trace-events")
class LotTraceEvents(ApiView):
    @blp.response(200, TraceEventSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, lot_id):
        """List a lot's trace events in chain order"""
        catalog_service.get_lot(db.session(), lot_id)
        return service.list_events(db.session(), lot_id=lot_id)

    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.arguments(TraceEventCreateSchema)
    @blp.response(201, TraceEventSchema)
    def post(self, data, lot_id):
        """Record packing, shipping, receiving or a retail sale of one of your lots"""
        session = db.session()
        lot = catalog_service.get_lot(session, lot_id, for_update=True)
        actor = current_user()
        auth_service.ensure_owner(actor, lot.cooperative_id, f"lot {lot_id}")
        if "quantity" in data:
            data["quantity"] = str(data["quantity"])
        return service.add_event(session, lot=lot, actor_organisation_id=actor.organisation_id,
                                 **data)


@blp.route("/lots/<int:lot_id>/trace.jsonld")
class LotTraceEpcis(ApiView):
    @blp.response(200, content_type="application/ld+json",
                  description="an EPCIS 2.0 JSON-LD document")
    def get(self, lot_id):
        """Export a lot's trace as an EPCIS 2.0 JSON-LD document"""
        document = export.epcis_document(db.session(), lot_id=lot_id, base_url=_base_url())
        response = current_app.response_class(
            current_app.json.dumps(document), mimetype="application/ld+json")
        return response


@blp.route("/lots/<int:lot_id>/trace.csv")
class LotTraceCsv(ApiView):
    @blp.response(200, content_type="text/csv", description="FSMA 204-style CSV, one row per event")
    def get(self, lot_id):
        """Export a lot's critical tracking events as a sortable CSV (FSMA 204 style)"""
        return download(export.fsma_csv(db.session(), lot_id=lot_id), mimetype="text/csv",
                        filename=f"lot-{lot_id}-trace.csv")


@blp.route("/trace/verification")
class ChainVerification(ApiView):
    @requires(Role.OPERATOR)
    @blp.arguments(ChainQuerySchema, location="query")
    @blp.response(200, ChainReportSchema)
    def get(self, query):
        """Verify the hash chains (one lot or all) and name the first broken link"""
        return service.verify_chain(db.session(), **query)
