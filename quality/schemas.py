from __future__ import annotations

import marshmallow as ma
from flask import url_for
from marshmallow import validate

from catalog.models import LotStatus
from marketplace.core.schemas import (
    Day,
    ObjectSchema,
    Partial,
    QuerySchema,
    Schema,
    id_field,
    name_field,
    quantity_field,
    text_field,
)
from quality.grading import UNITS
from quality.models import CERTIFICATE_BASES
from quality.sampling import AQLS, LEVELS

KEY = ma.fields.String(validate=validate.Length(min=1, max=64))


def _decimal(low: int = 0, high: int = 10**9, **kwargs) -> ma.fields.Decimal:
    # The bounds go to the OpenAPI document as numbers; apispec would render a Range on a
    # Decimal field as strings, which no client can read as bounds.
    def within(value) -> None:
        if not low <= value <= high:
            raise ma.ValidationError(f"must be between {low} and {high}")

    metadata = {"minimum": low, "maximum": high, **kwargs.pop("metadata", {})}
    return ma.fields.Decimal(allow_nan=False, validate=within, metadata=metadata, **kwargs)


class StandardSchema(ObjectSchema):
    category_id = id_field(required=True)
    code = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "e.g. GB/T 18650; versions share it"},
    )
    version = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    title_zh = name_field(required=True)
    title_en = name_field(required=True)
    effective_from = Day(required=True)
    source = text_field()
    definition = ma.fields.Dict(
        required=True,
        metadata={
            "description": "grades best to worst, each a list of criteria; see quality/standards/*.json"
        },
    )
    published_at = ma.fields.AwareDateTime(dump_only=True)
    is_published = ma.fields.Boolean(dump_only=True)
    grade_codes = ma.fields.List(ma.fields.String(), dump_only=True)


class StandardUpdateSchema(Partial, StandardSchema):
    """Only the fields that change; only drafts change."""


class StandardPublishSchema(Schema):
    effective_from = Day(metadata={"description": "overrides the draft's date"})


class StandardQuerySchema(QuerySchema):
    category_id = id_field(strict=False)
    code = ma.fields.String(validate=validate.Length(min=1, max=64))
    published = ma.fields.Boolean()


class CurrentStandardQuerySchema(QuerySchema):
    category_id = id_field(strict=False, required=True)
    on = Day(metadata={"description": "the day; today when omitted"})
    code = ma.fields.String(validate=validate.Length(min=1, max=64))


class SamplingRequestSchema(Schema):
    lot_size = ma.fields.Integer(required=True, strict=True, validate=validate.Range(min=2, max=10**9))
    level = ma.fields.String(load_default="II", validate=validate.OneOf(LEVELS))
    aql = ma.fields.String(
        required=True,
        validate=validate.OneOf([str(v) for v in AQLS]),
        metadata={"description": "acceptance quality limit, percent nonconforming"},
    )


class SamplingPlanQuerySchema(QuerySchema):
    lot_size = ma.fields.Integer(required=True, validate=validate.Range(min=2, max=10**9))
    level = ma.fields.String(load_default="II", validate=validate.OneOf(LEVELS))
    aql = ma.fields.String(required=True, validate=validate.OneOf([str(v) for v in AQLS]))


class SamplingPlanSchema(Schema):
    lot_size = ma.fields.Integer()
    inspection_level = ma.fields.String()
    aql = ma.fields.String()
    code_letter = ma.fields.String()
    plan_code_letter = ma.fields.String()
    sample_size = ma.fields.Integer()
    accept = ma.fields.Integer(metadata={"description": "accept with at most this many nonconforming"})
    reject = ma.fields.Integer(metadata={"description": "reject with at least this many"})
    inspect_all = ma.fields.Boolean()


class MeasurementSchema(Schema):
    unit = ma.fields.String(required=True, validate=validate.OneOf(list(UNITS)))
    values = ma.fields.List(
        _decimal(-(10**6), 10**9),
        required=True,
        validate=validate.Length(min=1, max=10_000),
        metadata={"description": "one value per unit measured, or one for the sample"},
    )


class UnitClassesSchema(Schema):
    basis = ma.fields.String(required=True, validate=validate.OneOf(["count", "weight"]))
    unit = ma.fields.String(validate=validate.OneOf(list(UNITS)))
    counts = ma.fields.Dict(
        keys=KEY,
        values=_decimal(),
        required=True,
        metadata={"description": "units (or their weight) per unit category"},
    )


class LabResultSchema(Schema):
    method = ma.fields.String(validate=validate.Length(max=200))
    inhibition_percent = _decimal(0, 100, metadata={"description": "enzyme inhibition rate, %"})
    retests = ma.fields.List(_decimal(0, 100), validate=validate.Length(max=10))
    passed = ma.fields.Boolean()

    @ma.validates_schema
    def _one_kind(self, data, **kwargs):
        if ("inhibition_percent" in data) == ("passed" in data):
            raise ma.ValidationError("give inhibition_percent or passed")


class PhotoUploadSchema(Schema):
    filename = ma.fields.String(validate=validate.Length(max=200))
    content_base64 = ma.fields.String(
        required=True, validate=validate.Length(min=1), metadata={"description": "JPEG, PNG or WebP, base64"}
    )


class PhotoSchema(Schema):
    id = ma.fields.Integer()
    media_type = ma.fields.String()
    width = ma.fields.Integer()
    height = ma.fields.Integer()
    sha256 = ma.fields.String()
    url = ma.fields.Function(
        lambda photo: url_for(
            "quality.InspectionPhotoById", inspection_id=photo.inspection_id, photo_id=photo.id
        )
    )


class InspectionCreateSchema(Schema):
    sample_size = ma.fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**6))
    sampling = ma.fields.Nested(
        SamplingRequestSchema,
        metadata={"description": "ISO 2859-1: the sample must be at least the plan's size"},
    )
    measurements = ma.fields.Dict(keys=KEY, values=ma.fields.Nested(MeasurementSchema))
    unit_classes = ma.fields.Nested(UnitClassesSchema)
    lab_results = ma.fields.Dict(keys=KEY, values=ma.fields.Nested(LabResultSchema))
    sensory = ma.fields.Dict(
        keys=KEY,
        values=_decimal(0, 100),
        metadata={"description": "tea: appearance, liquor_colour, aroma, taste, infused_leaf"},
    )
    photos = ma.fields.List(ma.fields.Nested(PhotoUploadSchema), validate=validate.Length(max=10))
    note = text_field(2000)


class InspectionSchema(ObjectSchema):
    lot_id = ma.fields.Integer()
    inspector_id = ma.fields.Integer()
    inspected_at = ma.fields.AwareDateTime()
    sample_size = ma.fields.Integer()
    sampling_plan = ma.fields.Dict(allow_none=True)
    measurements = ma.fields.Dict()
    unit_classes = ma.fields.Dict(allow_none=True)
    lab_results = ma.fields.Dict()
    sensory = ma.fields.Dict()
    note = ma.fields.String()
    photos = ma.fields.List(ma.fields.Nested(PhotoSchema))


class GradeRequestSchema(Schema):
    standard_id = id_field(
        metadata={"description": "the version in force on the inspection day when omitted"}
    )


class GradeSchema(ObjectSchema):
    lot_id = ma.fields.Integer()
    inspection_id = ma.fields.Integer()
    standard_id = ma.fields.Integer()
    standard_code = ma.fields.String(attribute="standard.code")
    standard_version = ma.fields.String(attribute="standard.version")
    grade = ma.fields.String(attribute="grade_code", allow_none=True)
    grade_rank = ma.fields.Integer(allow_none=True)
    rejected = ma.fields.Boolean()
    residue_result = ma.fields.String(
        metadata={"description": "negative, positive, unconfirmed, missing or not_required"}
    )
    summary = ma.fields.String()
    explanation = ma.fields.List(
        ma.fields.Dict(),
        metadata={"description": "each grade from the best down to the one given: criterion by criterion"},
    )
    graded_by_id = ma.fields.Integer()
    graded_at = ma.fields.AwareDateTime()


class BrandMinimumGradeSchema(ObjectSchema):
    brand_id = id_field(required=True)
    standard_code = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    grade_code = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    set_at = ma.fields.AwareDateTime(dump_only=True)


class BrandMinimumQuerySchema(QuerySchema):
    brand_id = id_field(strict=False)


class CertificateCreateSchema(Schema):
    basis = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(list(CERTIFICATE_BASES))),
        required=True,
        validate=validate.Length(min=1, max=3),
        metadata={"description": "承诺依据: self_test, commissioned_test, quality_control"},
    )
    quantity = quantity_field(metadata={"description": "the whole lot when omitted"})
    contact_phone = ma.fields.String(validate=validate.Length(min=3, max=40))
    issued_on = Day()


class CertificateSchema(ObjectSchema):
    number = ma.fields.String()
    lot_id = ma.fields.Integer()
    lot_code = ma.fields.String(attribute="lot.lot_code")
    lot_status = ma.fields.Enum(LotStatus, by_value=True, attribute="lot.status")
    recall_reason = ma.fields.String(attribute="lot.recall_reason", allow_none=True)
    product_name = ma.fields.String()
    quantity = ma.fields.Decimal(as_string=True)
    unit = ma.fields.String()
    origin = ma.fields.String()
    producer = ma.fields.String()
    contact_phone = ma.fields.String()
    issued_on = ma.fields.Date()
    basis = ma.fields.List(ma.fields.String())
    commitment = ma.fields.String()
    grade = ma.fields.String(attribute="grade.grade_code")
    standard_code = ma.fields.String(attribute="grade.standard.code")
    standard_version = ma.fields.String(attribute="grade.standard.version")
    residue_result = ma.fields.String(attribute="grade.residue_result")
    pdf_url = ma.fields.Function(
        lambda certificate: url_for("quality.CertificatePdf", certificate_id=certificate.id)
    )


class LotQualitySchema(Schema):
    lot_id = ma.fields.Integer()
    status = ma.fields.Enum(LotStatus, by_value=True)
    recalled = ma.fields.Boolean()
    recall_reason = ma.fields.String(allow_none=True)
    saleable = ma.fields.Boolean()
    not_saleable_because = ma.fields.String(allow_none=True)
    grade = ma.fields.Nested(GradeSchema, allow_none=True)
    inspection = ma.fields.Nested(InspectionSchema, allow_none=True)
    certificates = ma.fields.List(ma.fields.Nested(CertificateSchema))
