from __future__ import annotations

import marshmallow as ma
from flask import url_for
from flask_smorest.fields import Upload
from marshmallow import validate

from catalog.models import LotStatus
from marketplace.core.schemas import (
    Day,
    Moment,
    ObjectSchema,
    Partial,
    QuerySchema,
    Schema,
    fen_field,
    id_field,
    name_field,
    quantity_field,
    sort_field,
    text_field,
)
from marketplace.parties.schemas import SLUG

UNITS = ("g", "kg", "jin", "t", "each", "box", "ml", "l")
# GS1 "AI encodable character set 82" limited to what a lot code on a label needs.
LOT_CODE = validate.Regexp(
    r"^[A-Za-z0-9\-._/]{1,20}$", error="1 to 20 letters, digits or - . _ / (GS1 batch/lot)"
)


class BrandSchema(ObjectSchema):
    slug = ma.fields.String(required=True, validate=[validate.Length(min=2, max=64), SLUG])
    cluster_id = id_field(required=True)
    name_zh = name_field(100, required=True)
    name_en = name_field(100, required=True)
    slogan_zh = text_field(200)
    slogan_en = text_field(200)
    story_zh = text_field()
    story_en = text_field()
    logo_url = ma.fields.Method("_logo_url", dump_only=True)

    def _logo_url(self, brand) -> str | None:
        return url_for("catalog.BrandLogo", brand_id=brand.id) if brand.logo_sha256 else None


class BrandUpdateSchema(Partial, BrandSchema):
    """Only the fields that change."""


class BrandQuerySchema(QuerySchema):
    cluster_id = id_field(strict=False)
    sort = sort_field("name", "slug")


class LogoUploadSchema(Schema):
    logo = Upload(required=True, metadata={"description": "PNG, JPEG, WebP or GIF, at most 2 MB"})


class CategorySchema(ObjectSchema):
    slug = ma.fields.String(required=True, validate=[validate.Length(min=2, max=64), SLUG])
    name_zh = name_field(100, required=True)
    name_en = name_field(100, required=True)


class ProductSchema(ObjectSchema):
    brand_id = id_field(required=True)
    category_id = id_field(required=True)
    village_id = id_field(required=True)
    cooperative_id = id_field(metadata={"description": "your own when omitted; operators must give it"})
    name_zh = name_field(required=True)
    name_en = name_field(required=True)
    description_zh = text_field()
    description_en = text_field()


class ProductUpdateSchema(Partial, ProductSchema):
    cooperative_id = id_field(dump_only=True)


class ProductQuerySchema(QuerySchema):
    brand_id = id_field(strict=False)
    category_id = id_field(strict=False)
    cooperative_id = id_field(strict=False)
    village_id = id_field(strict=False)
    q = ma.fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "part of the Chinese or English name"},
    )
    sort = sort_field("name", "created_at")


class SkuSchema(ObjectSchema):
    product_id = id_field(required=True)
    name_zh = name_field(required=True)
    name_en = name_field(required=True)
    pack_size = quantity_field(required=True)
    pack_unit = ma.fields.String(required=True, validate=validate.OneOf(UNITS))
    price_fen = fen_field(required=True)
    currency = ma.fields.String(dump_only=True)
    gtin = ma.fields.String(
        required=True,
        validate=validate.Regexp(r"^(\d{8}|\d{12}|\d{13}|\d{14})$", error="8, 12, 13 or 14 digits"),
        metadata={"description": "stored and shown as GTIN-14"},
    )
    is_active = ma.fields.Boolean()


class SkuUpdateSchema(Partial, SkuSchema):
    product_id = id_field(dump_only=True)


class SkuQuerySchema(QuerySchema):
    product_id = id_field(strict=False)
    gtin = ma.fields.String(validate=validate.Regexp(r"^\d{8,14}$"))
    is_active = ma.fields.Boolean()
    sort = sort_field("price_fen", "name")


class LotSchema(ObjectSchema):
    product_id = id_field(required=True)
    village_id = id_field(metadata={"description": "the product's village when omitted"})
    cooperative_id = ma.fields.Integer(dump_only=True)
    lot_code = ma.fields.String(required=True, validate=LOT_CODE)
    harvested_on = Day(required=True)
    quantity = quantity_field(required=True)
    unit = ma.fields.String(required=True, validate=validate.OneOf(UNITS))
    stock_on_hand = quantity_field(dump_only=True)
    inputs_used = text_field(2000)
    status = ma.fields.Enum(LotStatus, by_value=True, dump_only=True)
    status_changed_at = ma.fields.AwareDateTime(dump_only=True)
    recall_reason = ma.fields.String(dump_only=True, allow_none=True)


class LotUpdateSchema(Partial, LotSchema):
    product_id = id_field(dump_only=True)
    village_id = id_field()


class LotQuerySchema(QuerySchema):
    product_id = id_field(strict=False)
    cooperative_id = id_field(strict=False)
    village_id = id_field(strict=False)
    status = ma.fields.Enum(LotStatus, by_value=True)
    sort = sort_field("harvested_on", "created_at", "stock_on_hand")


class LotStatusChangeSchema(Schema):
    status = ma.fields.Enum(LotStatus, by_value=True, required=True)
    reason = ma.fields.String(validate=validate.Length(min=1, max=2000))

    @ma.validates_schema
    def _recall_needs_reason(self, data, **kwargs):
        if data.get("status") is LotStatus.RECALLED and not data.get("reason"):
            raise ma.ValidationError("say why the lot is recalled", field_name="reason")


class BrandLicenceSchema(ObjectSchema):
    brand_id = id_field(required=True)
    licensee_id = id_field(
        required=True, metadata={"description": "the cooperative or strong-village company"}
    )
    category_id = id_field(
        allow_none=True,
        load_default=None,
        metadata={"description": "the product line the licence covers; null for every category of the brand"},
    )
    valid_from = Moment(required=True)
    valid_until = Moment(
        allow_none=True,
        load_default=None,
        metadata={"description": "the instant it ends; null: until revoked"},
    )
    note = text_field(2000)
    in_force = ma.fields.Boolean(dump_only=True, attribute="in_force_now")
    granted_by_id = ma.fields.Integer(dump_only=True, allow_none=True)
    revoked_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)
    revoked_by_id = ma.fields.Integer(dump_only=True, allow_none=True)
    revoke_reason = ma.fields.String(dump_only=True, allow_none=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)


class BrandLicenceQuerySchema(QuerySchema):
    brand_id = id_field(strict=False)
    licensee_id = id_field(strict=False)
    category_id = id_field(strict=False)
    in_force = ma.fields.Boolean(metadata={"description": "only licences in force now (or not)"})
    sort = sort_field("valid_from", "created_at")


class LicenceRevocationSchema(Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))
