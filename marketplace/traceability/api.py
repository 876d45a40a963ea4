"""The codes API for cooperatives and operators: mint, list, export, render, watch copies."""

from __future__ import annotations

from flask import Response, current_app, make_response, stream_with_context

from catalog import service as catalog_service
from marketplace.accounts import service as auth_service
from marketplace.accounts.access import current_user
from marketplace.core import db
from marketplace.core.access import requires
from marketplace.core.http import ApiView, Blueprint, SelectPage, download, runtime
from marketplace.parties.models import Role
from marketplace.traceability import export, rendering, service, trace
from marketplace.traceability.schemas import (
    ChainQuerySchema,
    ChainReportSchema,
    CodeBatchQuerySchema,
    CodeBatchSchema,
    CodeMintSchema,
    CodeSchema,
    LabelSheetQuerySchema,
    QrQuerySchema,
    SuspectedCodeQuerySchema,
    TraceEventCreateSchema,
    TraceEventSchema,
)

blp = Blueprint(
    "codes",
    __name__,
    url_prefix="/api/v1",
    description="Collaboration codes (山海协作码): signed GS1 Digital Link QR codes",
)


@blp.route("/lots/<int:lot_id>/codes")
class LotCodes(ApiView):
    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.arguments(CodeMintSchema)
    @blp.response(201, CodeBatchSchema)
    def post(self, data, lot_id):
        """Mint one lot code or up to 100,000 unit codes for one of your lots"""
        return service.mint_codes(
            db.session(), actor=current_user(), lot_id=lot_id, keys=runtime().settings.signing_keys, **data
        )


@blp.route("/code-batches")
class CodeBatches(ApiView):
    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.arguments(CodeBatchQuerySchema, location="query")
    @blp.response(200, CodeBatchSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List minted code batches (yours, or all for operators)"""
        return service.list_batches(db.session(), actor=current_user(), **query)


@blp.route("/code-batches/<int:batch_id>")
class CodeBatchById(ApiView):
    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.response(200, CodeBatchSchema)
    def get(self, batch_id):
        """Get a code batch"""
        return service.get_batch(db.session(), actor=current_user(), batch_id=batch_id)


def _stream(produce, mimetype: str, filename: str) -> Response:
    """Stream what `produce(session)` yields from a session of its own: the request's session
    is closed when the view returns, long before a 100,000-code download ends."""
    factory = runtime().session_factory

    def chunks():
        with factory() as own_session:
            yield from produce(own_session)

    response = Response(stream_with_context(chunks()), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@blp.route("/code-batches/<int:batch_id>/codes.csv")
class CodeBatchCsv(ApiView):
    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.response(200, content_type="text/csv", description="one row per code, with its URI")
    def get(self, batch_id):
        """Export a batch's codes as CSV (streamed)"""
        session = db.session()
        service.get_batch(session, actor=current_user(), batch_id=batch_id)
        base_url = runtime().settings.public_base_url
        return _stream(
            lambda own: service.batch_csv(own, batch_id=batch_id, base_url=base_url),
            "text/csv",
            f"codes-{batch_id}.csv",
        )


@blp.route("/code-batches/<int:batch_id>/labels.pdf")
class CodeBatchLabels(ApiView):
    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.arguments(LabelSheetQuerySchema, location="query")
    @blp.response(200, content_type="application/pdf", description="A4 label sheets")
    def get(self, query, batch_id):
        """Download print-ready A4 label sheets of a batch, at most LABEL_SHEET_MAX_LABELS
        labels a request (PDF, streamed)"""
        session = db.session()
        batch = service.get_batch(session, actor=current_user(), batch_id=batch_id)
        settings = runtime().settings
        base_url = settings.public_base_url
        first = query["first"]
        count = service.label_sheet_count(
            batch, first=first, count=query.get("count"), max_labels=settings.label_sheet_max_labels
        )

        def produce(own):
            labels, logo = service.batch_labels(
                own, batch_id=batch_id, base_url=base_url, first=first, count=count
            )
            yield from rendering.label_sheet_pdf(labels, logo_png=logo)

        return _stream(produce, "application/pdf", f"labels-{batch_id}.pdf")


def _qr(code_id: int, query: dict, *, svg: bool) -> Response:
    session = db.session()
    code = service.get_code(session, actor=current_user(), code_id=code_id)
    uri, logo = service.code_render_inputs(session, code=code, base_url=runtime().settings.public_base_url)
    logo = logo if query["logo"] else None
    if svg:
        response = make_response(rendering.render_svg(uri, size=query["size"], logo_png=logo))
        response.mimetype = "image/svg+xml"
    else:
        response = make_response(rendering.render_png(uri, size=query["size"], logo_png=logo))
        response.mimetype = "image/png"
    response.headers["X-Code-Uri"] = uri
    return response


@blp.route("/codes/<int:code_id>")
class CodeById(ApiView):
    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.response(200, CodeSchema)
    def get(self, code_id):
        """Get a code and its scan counters"""
        return service.get_code(db.session(), actor=current_user(), code_id=code_id)


@blp.route("/codes/<int:code_id>/qr.png")
class CodeQrPng(ApiView):
    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.arguments(QrQuerySchema, location="query")
    @blp.response(200, content_type="image/png", description="QR, error correction H, logo")
    def get(self, query, code_id):
        """Render one code as a PNG QR image"""
        return _qr(code_id, query, svg=False)


@blp.route("/codes/<int:code_id>/qr.svg")
class CodeQrSvg(ApiView):
    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.arguments(QrQuerySchema, location="query")
    @blp.response(200, content_type="image/svg+xml", description="QR, error correction H, logo")
    def get(self, query, code_id):
        """Render one code as an SVG QR image"""
        return _qr(code_id, query, svg=True)


@blp.route("/codes/suspected")
class SuspectedCodes(ApiView):
    @requires(Role.OPERATOR)
    @blp.arguments(SuspectedCodeQuerySchema, location="query")
    @blp.response(200, CodeSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List codes flagged as likely copies"""
        return service.list_suspected_codes(db.session(), **query)


trace_blp = Blueprint(
    "trace",
    __name__,
    url_prefix="/api/v1",
    description="Trace events (EPCIS 2.0 style), hash-chained and exportable",
)


def _base_url() -> str:
    return runtime().settings.public_base_url


@trace_blp.route("/lots/<int:lot_id>/trace-events")
class LotTraceEvents(ApiView):
    @trace_blp.response(200, TraceEventSchema(many=True))
    @trace_blp.paginate(SelectPage)
    def get(self, lot_id):
        """List a lot's trace events in chain order"""
        catalog_service.get_lot(db.session(), lot_id)
        return trace.list_events(db.session(), lot_id=lot_id)

    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @trace_blp.arguments(TraceEventCreateSchema)
    @trace_blp.response(201, TraceEventSchema)
    def post(self, data, lot_id):
        """Record packing, shipping, receiving or a retail sale of one of your lots"""
        session = db.session()
        lot = catalog_service.get_lot(session, lot_id, for_update=True)
        actor = current_user()
        auth_service.ensure_owner(actor, lot.cooperative_id, f"lot {lot_id}")
        if "quantity" in data:
            data["quantity"] = str(data["quantity"])
        return trace.add_event(session, lot=lot, actor_organisation_id=actor.organisation_id, **data)


@trace_blp.route("/lots/<int:lot_id>/trace.jsonld")
class LotTraceEpcis(ApiView):
    @trace_blp.response(200, content_type="application/ld+json", description="an EPCIS 2.0 JSON-LD document")
    def get(self, lot_id):
        """Export a lot's trace as an EPCIS 2.0 JSON-LD document"""
        document = export.epcis_document(db.session(), lot_id=lot_id, base_url=_base_url())
        response = current_app.response_class(
            current_app.json.dumps(document), mimetype="application/ld+json"
        )
        return response


@trace_blp.route("/lots/<int:lot_id>/trace.csv")
class LotTraceCsv(ApiView):
    @trace_blp.response(200, content_type="text/csv", description="FSMA 204-style CSV, one row per event")
    def get(self, lot_id):
        """Export a lot's critical tracking events as a sortable CSV (FSMA 204 style)"""
        return download(
            export.fsma_csv(db.session(), lot_id=lot_id),
            mimetype="text/csv",
            filename=f"lot-{lot_id}-trace.csv",
        )


@trace_blp.route("/trace/verification")
class ChainVerification(ApiView):
    @requires(Role.OPERATOR)
    @trace_blp.arguments(ChainQuerySchema, location="query")
    @trace_blp.response(200, ChainReportSchema)
    def get(self, query):
        """Verify the hash chains (one lot or all) and name the first broken link"""
        return trace.verify_chain(db.session(), **query)
