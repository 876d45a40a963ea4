from __future__ import annotations

import marshmallow as ma

from marketplace.core.schemas import Moment, ObjectSchema, QuerySchema, id_field, sort_field


class AuditEventSchema(ObjectSchema):
    occurred_at = ma.fields.AwareDateTime()
    action = ma.fields.String()
    entity = ma.fields.String()
    entity_id = ma.fields.String()
    changes = ma.fields.Dict()
    user_id = ma.fields.Integer(allow_none=True)
    organisation_id = ma.fields.Integer(allow_none=True)
    request_id = ma.fields.String(allow_none=True)
    method = ma.fields.String(allow_none=True)
    path = ma.fields.String(allow_none=True)


class AuditEventQuerySchema(QuerySchema):
    entity = ma.fields.String(metadata={"description": "table name, e.g. lots"})
    entity_id = ma.fields.String()
    user_id = id_field(strict=False)
    request_id = ma.fields.String()
    since = Moment()
    until = Moment()
    sort = sort_field("occurred_at")
