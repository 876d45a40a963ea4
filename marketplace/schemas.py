"""Field shapes shared by every domain's schemas (the HTTP shape only)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate


class Schema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class QuerySchema(ma.Schema):
    class Meta:
        # Pagination parameters share the query string with the filters.
        unknown = ma.EXCLUDE


def sort_field(*keys: str) -> ma.fields.String:
    choices = [*keys, *(f"-{key}" for key in keys)]
    return ma.fields.String(validate=validate.OneOf(choices),
                            metadata={"description": "sort key; prefix with - for descending"})


def name_field(max_length: int = 200, **kwargs) -> ma.fields.String:
    return ma.fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


def text_field(max_length: int = 5000) -> ma.fields.String:
    return ma.fields.String(validate=validate.Length(max=max_length))



def id_field(**kwargs) -> ma.fields.Integer:
    """An id; strict (no "12" for 12) in JSON bodies, pass strict=False for query strings."""
    return ma.fields.Integer(**{"strict": True, "validate": validate.Range(min=1, max=2**31 - 1),
                                **kwargs})


def fen_field(**kwargs) -> ma.fields.Integer:
    return ma.fields.Integer(strict=True, validate=validate.Range(min=0, max=10**13),
                             metadata={"description": "an amount in fen (1 yuan = 100 fen)"}, **kwargs)


def quantity_field(**kwargs) -> ma.fields.Decimal:
    return ma.fields.Decimal(as_string=True, places=3, allow_nan=False,
                             validate=validate.Range(min=0, min_inclusive=False, max=10**10), **kwargs)


class ObjectSchema(Schema):
    id = ma.fields.Integer(dump_only=True)


class Partial:
    """Mix into an update schema: every field becomes optional, as a PATCH sends only changes."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)
