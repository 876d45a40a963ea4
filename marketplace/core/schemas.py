"""Field shapes shared by every domain's schemas (the HTTP shape only)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import current_app, has_app_context
from marshmallow import validate

from marketplace.core.config import Settings


def _storable_text_problem(text: str) -> str | None:
    # PostgreSQL cannot store U+0000 in text, and no name or note needs it. A lone surrogate
    # (JSON's "\ud800") is not Unicode text at all: no database or response can encode it.
    if "\x00" in text:
        return "must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text, without lone surrogates such as \\ud800"
    return None


def _refuse_unstorable_text(data):
    if isinstance(data, str):
        problem = _storable_text_problem(data)
        if problem:
            raise ma.ValidationError(problem)
    elif isinstance(data, Mapping):
        for key, value in data.items():
            name = str(key).encode("utf-8", "backslashreplace").decode("utf-8")
            problem = _storable_text_problem(str(key))
            if problem:
                raise ma.ValidationError(f"this key {problem}", field_name=name)
            try:
                _refuse_unstorable_text(value)
            except ma.ValidationError as error:
                raise ma.ValidationError(error.messages, field_name=name) from error
    elif isinstance(data, list):
        for value in data:
            _refuse_unstorable_text(value)


class Schema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    @ma.pre_load(pass_collection=True)
    def _no_unstorable_text(self, data, **kwargs):
        _refuse_unstorable_text(data)
        return data


class QuerySchema(Schema):
    class Meta:
        # Pagination parameters share the query string with the filters.
        unknown = ma.EXCLUDE


def sort_field(*keys: str) -> ma.fields.String:
    choices = [*keys, *(f"-{key}" for key in keys)]
    return ma.fields.String(
        validate=validate.OneOf(choices), metadata={"description": "sort key; prefix with - for descending"}
    )


def name_field(max_length: int = 200, **kwargs) -> ma.fields.String:
    return ma.fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


def text_field(max_length: int = 5000) -> ma.fields.String:
    return ma.fields.String(validate=validate.Length(max=max_length))


def id_field(**kwargs) -> ma.fields.Integer:
    """An id; strict (no "12" for 12) in JSON bodies, pass strict=False for query strings."""
    return ma.fields.Integer(**{"strict": True, "validate": validate.Range(min=1, max=2**31 - 1), **kwargs})


def fen_field(**kwargs) -> ma.fields.Integer:
    return ma.fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=10**13),
        metadata={"description": "an amount in fen (1 yuan = 100 fen)"},
        **kwargs,
    )


def business_date_bounds() -> tuple[date, date]:
    """The first and the last day a date read from a request may fall on (settings)."""
    settings = current_app.extensions["shanhai"].settings if has_app_context() else Settings
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    return (settings.business_dates_from, date(today.year + settings.business_dates_years_ahead, 12, 31))


def _check_plausible(field: ma.fields.Field, day: date) -> None:
    # Far from year 1 and 9999, so that moving between zones can never overflow.
    earliest, latest = business_date_bounds()
    if not earliest <= day <= latest:
        raise field.make_error("implausible", earliest=earliest.isoformat(), latest=latest.isoformat())


_BOUNDS_NOTE = (
    "between BUSINESS_DATES_FROM (1990-01-01) and the end of the year "
    "BUSINESS_DATES_YEARS_AHEAD (10) years from now"
)


class _DocumentedBounds(ma.fields.Field):
    """Puts the business-date bounds into a date field's documented description."""

    def __init__(self, **kwargs) -> None:
        metadata = kwargs.pop("metadata", {})
        metadata["description"] = "; ".join(filter(None, [metadata.get("description"), _BOUNDS_NOTE]))
        super().__init__(metadata=metadata, **kwargs)


class Day(_DocumentedBounds, ma.fields.Date):
    """A calendar day read from a request: only within the plausible bounds of the settings."""

    default_error_messages = {"implausible": "must be a day from {earliest} to {latest}"}

    def _deserialize(self, value, attr, data, **kwargs) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        _check_plausible(self, day)
        return day


class Moment(_DocumentedBounds, ma.fields.AwareDateTime):
    """A time with its offset read from a request: its day within the settings' bounds."""

    default_error_messages = {"implausible": "must be a time from {earliest} to {latest}"}

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        _check_plausible(self, moment.date())
        return moment


class DecimalString(ma.fields.Decimal):
    """A decimal carried as a string, so that no precision is lost on the way."""

    def __init__(
        self, *, places: int, minimum: Decimal, maximum: Decimal, minimum_inclusive: bool = True, **kwargs
    ) -> None:
        digits = len(str(int(max(abs(minimum), abs(maximum)))))
        sign = "-?" if minimum < 0 else ""
        self.pattern = re.compile(rf"{sign}\d{{1,{digits}}}(\.\d{{1,{places}}})?")
        above = ">=" if minimum_inclusive else ">"
        metadata = {
            "pattern": f"^{self.pattern.pattern}$",
            "description": f"a decimal string, {above} {minimum} and <= {maximum}",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(
            as_string=True,
            places=places,
            allow_nan=False,
            metadata=metadata,
            validate=_decimal_range(minimum, maximum, minimum_inclusive),
            **kwargs,
        )

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
    return DecimalString(
        places=3, minimum=Decimal(0), maximum=Decimal(10**10), minimum_inclusive=False, **kwargs
    )


class ObjectSchema(Schema):
    id = ma.fields.Integer(dump_only=True)


class Partial:
    """Mix into an update schema: every field becomes optional, as a PATCH sends only changes."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)
