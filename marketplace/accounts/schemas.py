from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from marketplace.core.schemas import ObjectSchema, QuerySchema, Schema, id_field, name_field
from marketplace.parties.models import Role
from marketplace.parties.schemas import OrganisationSchema


class TokenRequestSchema(Schema):
    email = ma.fields.Email(required=True, validate=validate.Length(max=254))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))


class TokenSchema(Schema):
    access_token = ma.fields.String()
    token_type = ma.fields.String()
    expires_at = ma.fields.AwareDateTime()


class UserSchema(ObjectSchema):
    email = ma.fields.Email(required=True, validate=validate.Length(max=254))
    display_name = name_field(100, required=True)
    role = ma.fields.Enum(Role, by_value=True, required=True)
    organisation_id = id_field(required=True)
    is_active = ma.fields.Boolean(dump_only=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)


class UserCreateSchema(UserSchema):
    password = ma.fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=10, max=200, error="use 10 to 200 characters"),
    )


class UserQuerySchema(QuerySchema):
    organisation_id = id_field(strict=False)
    role = ma.fields.Enum(Role, by_value=True)


class MeSchema(Schema):
    user = ma.fields.Nested(UserSchema)
    role = ma.fields.Enum(Role, by_value=True)
    organisation = ma.fields.Nested(OrganisationSchema)
