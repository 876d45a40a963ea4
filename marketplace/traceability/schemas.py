from __future__ import annotations

import json

import marshmallow as ma
from flask import url_for
from marshmallow import validate

from marketplace.core.schemas import (
    Moment,
    ObjectSchema,
    QuerySchema,
    Schema,
    id_field,
    quantity_field,
    sort_field,
)
from marketplace.traceability.models import MAX_UNIT_CODES, CodeLevel, EventType


class CodeMintSchema(Schema):
    sku_id = id_field(required=True, metadata={"description": "the SKU whose GTIN the codes carry"})
    level = ma.fields.Enum(
        CodeLevel,
        by_value=True,
        required=True,
        metadata={"description": "lot: one code for the lot; unit: one per pack"},
    )
    quantity = ma.fields.Integer(
        strict=True, load_default=1, validate=validate.Range(min=1, max=MAX_UNIT_CODES)
    )


class CodeBatchSchema(ObjectSchema):
    lot_id = ma.fields.Integer()
    sku_id = ma.fields.Integer()
    level = ma.fields.Enum(CodeLevel, by_value=True)
    quantity = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()
    csv_url = ma.fields.Function(lambda batch: url_for("codes.CodeBatchCsv", batch_id=batch.id))
    labels_url = ma.fields.Function(lambda batch: url_for("codes.CodeBatchLabels", batch_id=batch.id))


class CodeBatchQuerySchema(QuerySchema):
    lot_id = id_field(strict=False)
    sort = sort_field("created_at")


class CodeSchema(ObjectSchema):
    lot_id = ma.fields.Integer()
    gtin = ma.fields.String()
    lot_code = ma.fields.String()
    serial = ma.fields.String(allow_none=True)
    scan_count = ma.fields.Integer()
    first_scanned_at = ma.fields.AwareDateTime(allow_none=True)
    last_scanned_at = ma.fields.AwareDateTime(allow_none=True)
    suspected_copy_at = ma.fields.AwareDateTime(allow_none=True)
    suspected_copy_reason = ma.fields.String(allow_none=True)


class SuspectedCodeQuerySchema(QuerySchema):
    lot_id = id_field(strict=False)


class LabelSheetQuerySchema(QuerySchema):
    first = ma.fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_UNIT_CODES),
        metadata={"description": "the batch's code to start from (1 is its first)"},
    )
    count = ma.fields.Integer(
        validate=validate.Range(min=1, max=MAX_UNIT_CODES),
        metadata={"description": "labels on this sheet; at most LABEL_SHEET_MAX_LABELS (105 by default)"},
    )


class QrQuerySchema(QuerySchema):
    size = ma.fields.Integer(load_default=512, validate=validate.Range(min=64, max=4096))
    logo = ma.fields.Boolean(load_default=True)


REPORTABLE = [EventType.PACKING, EventType.SHIPPING, EventType.RECEIVING, EventType.RETAIL_SELLING]


class TraceEventCreateSchema(Schema):
    event_type = ma.fields.Enum(
        EventType,
        by_value=True,
        required=True,
        validate=validate.OneOf(REPORTABLE),
        metadata={
            "description": "packing, shipping, receiving or retail_selling; the lifecycle records the others"
        },
    )
    occurred_at = Moment(metadata={"description": "defaults to now"})
    place = ma.fields.String(validate=validate.Length(min=1, max=200))
    quantity = quantity_field()
    unit = ma.fields.String(validate=validate.Length(min=1, max=16))
    details = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.Length(max=64)),
        values=ma.fields.String(validate=validate.Length(max=500)),
        validate=validate.Length(max=20),
    )


class TraceEventSchema(ObjectSchema):
    lot_id = ma.fields.Integer()
    sequence = ma.fields.Integer()
    event_type = ma.fields.Enum(EventType, by_value=True)
    disposition = ma.fields.String()
    occurred_at = ma.fields.AwareDateTime()
    recorded_at = ma.fields.AwareDateTime()
    actor_organisation_id = ma.fields.Integer(allow_none=True)
    place = ma.fields.String()
    quantity = ma.fields.String(allow_none=True)
    unit = ma.fields.String(allow_none=True)
    details = ma.fields.Function(lambda event: json.loads(event.details))
    previous_hash = ma.fields.String()
    hash = ma.fields.String()


class BrokenLinkSchema(Schema):
    event_id = ma.fields.Integer()
    lot_id = ma.fields.Integer()
    sequence = ma.fields.Integer()
    reason = ma.fields.String()


class ChainReportSchema(Schema):
    intact = ma.fields.Boolean()
    events_checked = ma.fields.Integer()
    lots_checked = ma.fields.Integer()
    first_broken = ma.fields.Nested(BrokenLinkSchema, allow_none=True)


class ChainQuerySchema(ma.Schema):
    lot_id = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
