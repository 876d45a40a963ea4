from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from marketplace.codes.models import CodeLevel
from marketplace.codes.service import MAX_UNIT_CODES
from marketplace.schemas import ObjectSchema, QuerySchema, Schema, id_field, sort_field


class CodeMintSchema(Schema):
    sku_id = id_field(required=True, metadata={"description": "the SKU whose GTIN the codes carry"})
    level = ma.fields.Enum(CodeLevel, by_value=True, required=True,
                           metadata={"description": "lot: one code for the lot; unit: one per pack"})
    quantity = ma.fields.Integer(strict=True, load_default=1,
                                 validate=validate.Range(min=1, max=MAX_UNIT_CODES))


class CodeBatchSchema(ObjectSchema):
    lot_id = ma.fields.Integer()
    sku_id = ma.fields.Integer()
    level = ma.fields.Enum(CodeLevel, by_value=True)
    quantity = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()
    csv_url = ma.fields.Function(lambda batch: f"/api/v1/code-batches/{batch.id}/codes.csv")
    labels_url = ma.fields.Function(lambda batch: f"/api/v1/code-batches/{batch.id}/labels.pdf")


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
    first = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_UNIT_CODES),
                              metadata={"description": "the batch's code to start from (1 is its first)"})
    count = ma.fields.Integer(validate=validate.Range(min=1, max=MAX_UNIT_CODES),
                              metadata={"description": "labels on this sheet; at most "
                                                       "LABEL_SHEET_MAX_LABELS (105 by default)"})


class QrQuerySchema(QuerySchema):
    size = ma.fields.Integer(load_default=512, validate=validate.Range(min=64, max=4096))
    logo = ma.fields.Boolean(load_default=True)
