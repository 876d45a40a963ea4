from __future__ import annotations

import json

import marshmallow as ma
from marshmallow import validate

from marketplace.schemas import Moment, ObjectSchema, Schema, quantity_field
from marketplace.trace.models import EventType

REPORTABLE = [EventType.PACKING, EventType.SHIPPING, EventType.RECEIVING, EventType.RETAIL_SELLING]


class TraceEventCreateSchema(Schema):
    event_type = ma.fields.Enum(EventType, by_value=True, required=True,
                                validate=validate.OneOf(REPORTABLE),
                                metadata={"description": "packing, shipping, receiving or retail_selling; "
                                                         "the lifecycle records the others"})
    occurred_at = Moment(metadata={"description": "defaults to now"})
    place = ma.fields.String(validate=validate.Length(min=1, max=200))
    quantity = quantity_field()
    unit = ma.fields.String(validate=validate.Length(min=1, max=16))
    details = ma.fields.Dict(keys=ma.fields.String(validate=validate.Length(max=64)),
                             values=ma.fields.String(validate=validate.Length(max=500)),
                             validate=validate.Length(max=20))


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
