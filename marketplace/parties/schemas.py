from __future__ import annotations

from decimal import Decimal

import marshmallow as ma
from marshmallow import validate

from marketplace.core.schemas import (
    Day,
    DecimalString,
    ObjectSchema,
    Partial,
    QuerySchema,
    Schema,
    fen_field,
    id_field,
    name_field,
    sort_field,
    text_field,
)
from marketplace.parties.models import OrganisationKind

SLUG = validate.Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", error="lower-case letters, digits and dashes")


class VillageSchema(ObjectSchema):
    name_zh = name_field(100, required=True)
    name_en = name_field(100, required=True)
    township_zh = name_field(100, required=True)
    township_en = name_field(100, required=True)
    county_zh = name_field(100, required=True)
    county_en = name_field(100, required=True)
    latitude = DecimalString(places=6, minimum=Decimal(-90), maximum=Decimal(90), required=True)
    longitude = DecimalString(places=6, minimum=Decimal(-180), maximum=Decimal(180), required=True)
    baseline_income_fen = fen_field(required=True)
    baseline_year = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1949, max=2100))
    cluster_id = ma.fields.Integer(dump_only=True, allow_none=True)


class VillageUpdateSchema(Partial, VillageSchema):
    """Only the fields that change."""


class VillageQuerySchema(QuerySchema):
    cluster_id = id_field(strict=False)
    county = ma.fields.String()
    township = ma.fields.String()
    sort = sort_field("name", "baseline_income_fen")


class OrganisationSchema(ObjectSchema):
    kind = ma.fields.Enum(OrganisationKind, by_value=True, required=True)
    name_zh = name_field(required=True)
    name_en = name_field(required=True)
    village_id = id_field(allow_none=True)
    contact_phone = ma.fields.String(
        allow_none=True,
        validate=validate.Regexp(
            r"^\+?[0-9][0-9 ()-]{4,38}$", error="a phone number of digits, spaces and dashes"
        ),
    )


class OrganisationUpdateSchema(Partial, OrganisationSchema):
    kind = ma.fields.Enum(OrganisationKind, by_value=True, dump_only=True)


class OrganisationQuerySchema(QuerySchema):
    kind = ma.fields.Enum(OrganisationKind, by_value=True)
    village_id = id_field(strict=False)
    sort = sort_field("name")


class ClusterSchema(ObjectSchema):
    slug = ma.fields.String(required=True, validate=[validate.Length(min=2, max=64), SLUG])
    name_zh = name_field(required=True)
    name_en = name_field(required=True)
    description_zh = text_field()
    description_en = text_field()
    key_village_id = id_field(required=True)
    village_ids = ma.fields.List(id_field(), required=True, validate=validate.Length(min=1, max=200))
    operator_id = id_field(required=True)


class ClusterUpdateSchema(Partial, ClusterSchema):
    """Only the fields that change."""


class ClusterQuerySchema(QuerySchema):
    sort = sort_field("name", "slug")


class PairingSchema(ObjectSchema):
    village_id = id_field(required=True)
    enterprise_id = id_field(required=True)
    since = Day(required=True)
    note_zh = text_field(2000)


class PairingQuerySchema(QuerySchema):
    village_id = id_field(strict=False)
    enterprise_id = id_field(strict=False)


class VillageMembershipSchema(Schema):
    organisation_id = ma.fields.Integer(dump_only=True)
    village_id = id_field(required=True)
    since = Day(required=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)
