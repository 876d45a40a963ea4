"""Field shapes shared by every domain's schemas (the HTTP shape only)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

import marshmallow as ma
from marshmallow import validate


def _refuse_nul_characters(data):
    # PostgreSQL cannot store U+0000 in text, and no name or note needs it.
    if isinstance(data, str):
        if "\x00" in data:
            raise ma.ValidationError("must not contain NUL characters")
    elif isinstance(data, Mapping):
        for key, value in data.items():
            try:
                _refuse_nul_characters(value)
            except ma.ValidationError as error:
                raise ma.ValidationError(error.messages, field_name=str(key)) from error
    elif isinstance(data, list):
        for value in data:
            _refuse_nul_characters(value)


class Schema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    @ma.pre_load(pass_collection=True)
    def _no_nul_characters(self, data, **kwargs):
        _refuse_nul_characters(data)
        return data


class QuerySchema(Schema):
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


class DecimalString(ma.fields.Decimal):
    """A decimal carried as a string, so that no precision is lost on the way."""

    def __init__(self, *, places: int, minimum: Decimal, maximum: Decimal,
                 minimum_inclusive: bool = True, **kwargs) -> None:
        digits = len(str(int(max(abs(minimum), abs(maximum)))))
        sign = "-?" if minimum < 0 else ""
        self.pattern = re.compile(rf"{sign}\d{{1,{digits}}}(\.\d{{1,{places}}})?")
        above = ">=" if minimum_inclusive else ">"
        metadata = {"pattern": f"^{self.pattern.pattern}$",
                    "description": f"a decimal string, {above} {minimum} and <= {maximum}",
                    **kwargs.pop("metadata", {})}
        super().__init__(as_string=True, places=places, allow_nan=False, metadata=metadata,
                         validate=_decimal_range(minimum, maximum, minimum_inclusive), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        # Strings only: a JSON number may already have lost digits in the client's float.
        if not isinstance(value, str) or not self.pattern.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def _decimal_range(minimum: Decimal, maximum: Decimal, minimum_inclusive: bool):
    def check(value: Decimal) -> None:
        too_small = value < minimum if minimum_inclusive else value <= minimum
        if too_small or value > maximum:
            raise ma.ValidationError(f"must be between {minimum} and {maximum}")

    return check


def quantity_field(**kwargs) -> DecimalString:
    return DecimalString(places=3, minimum=Decimal(0), maximum=Decimal(10**10),
                         minimum_inclusive=False, **kwargs)


class ObjectSchema(Schema):
    id = ma.fields.Integer(dump_only=True)


class Partial:
    """Mix into an update schema: every field becomes optional, as a PATCH sends only changes."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)
