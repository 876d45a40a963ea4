"""The HTTP shape shared by every domain: Api, Blueprint, the base view and the pager."""

from __future__ import annotations

import http
import json

import flask_smorest
import marshmallow as ma
import sqlalchemy as sa
from flask import Response, current_app, make_response, request
from flask.views import MethodView
from flask_smorest.etag import ETAG_HEADER, IF_MATCH_HEADER, IF_NONE_MATCH_HEADER, _get_etag_ctx
from flask_smorest.pagination import Page
from webargs import core
from webargs.flaskparser import FlaskParser
from werkzeug.routing import IntegerConverter

from marketplace.core import db
from marketplace.core.errors import PROBLEM_MEDIA_TYPE, MalformedJson, ProblemSchema, render_http_exception

# No body of ours nests half as deep; Python's parser and every walk over the result recurse.
MAX_JSON_DEPTH = 32


def load_json(body: bytes | str):
    """A request body's JSON: a 400 problem when it is not UTF-8, not JSON or nested too deep."""
    try:
        value = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
    except RecursionError:
        raise MalformedJson(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels") from None
    except UnicodeDecodeError as error:
        raise MalformedJson(f"the body is not UTF-8: {error.reason} at byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise MalformedJson(
            f"the body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise MalformedJson(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
            pending.extend(
                (child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)
            )
    return value


class ArgumentsParser(FlaskParser):
    """webargs' parser with our JSON boundary: `load_json` for every JSON body."""

    def _raw_load_json(self, req):
        if not core.is_json(req.mimetype):
            return core.missing
        return load_json(req.get_data(cache=True))


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ProblemSchema

    def _init_spec(self, *args, **kwargs) -> None:
        super()._init_spec(*args, **kwargs)
        self.ma_plugin.converter.add_attribute_function(_decimal_as_string)

    def handle_http_exception(self, error):
        return render_http_exception(error)

    def _register_responses(self) -> None:
        # Every error is documented as what it is: application/problem+json.
        problem = {PROBLEM_MEDIA_TYPE: {"schema": self.ERROR_SCHEMA}}
        for status in http.HTTPStatus:
            response: dict[str, object] = {"description": status.phrase}
            if status >= 400:
                response["content"] = problem
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(
            "DEFAULT_ERROR", {"description": "An RFC 9457 problem", "content": problem}, lazy=True
        )

    def _register_etag_headers(self) -> None:
        # If-Match is optional here: see Blueprint below.
        self.spec.components.parameter("IF_NONE_MATCH", "header", IF_NONE_MATCH_HEADER, lazy=True)
        self.spec.components.parameter(
            "IF_MATCH",
            "header",
            {
                **IF_MATCH_HEADER,
                "required": False,
                "description": "the ETag you last read; the write fails with 412 if it changed since",
            },
            lazy=True,
        )
        self.spec.components.header("ETAG", ETAG_HEADER, lazy=True)

    def _register_pagination_header(self) -> None:
        self.spec.components.header(
            "PAGINATION",
            {
                "description": "JSON object: total, total_pages, first_page, last_page, page, "
                "previous_page, next_page",
                "schema": {"type": "string"},
            },
            lazy=True,
        )


def _decimal_as_string(self, field, **kwargs) -> dict:
    # apispec documents every Decimal as a number, even one that goes out as a string.
    if isinstance(field, ma.fields.Decimal) and field.as_string:
        return {"type": "string", "format": "decimal"}
    return {}


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with If-Match optional on writes.

    A client that sends If-Match gets optimistic concurrency (412 when the resource changed);
    one that does not is last-writer-wins, as most of our API clients are scripts.
    """

    DEFAULT_PAGINATION_PARAMETERS = {"page": 1, "page_size": 20, "max_page_size": 100}
    ARGUMENTS_PARSER = ArgumentsParser()

    def _check_precondition(self) -> None:
        return None

    def check_etag(self, etag_data, etag_schema=None) -> None:
        if request.if_match:
            super().check_etag(etag_data, etag_schema)
        else:
            _get_etag_ctx()["etag_checked"] = True


class ApiView(MethodView):
    """Every API resource: one transaction per request, committed when the view returns."""

    decorators = [db.transactional]


class SelectPage(Page):
    """Pages a SQLAlchemy Select; the total goes to the X-Pagination header."""

    # No table holds this many rows, and larger offsets overflow the databases' integers.
    MAX_OFFSET = 2**31

    @property
    def items(self):
        statement: sa.Select = self.collection
        offset = self.page_params.first_item
        if offset >= self.MAX_OFFSET:
            return []
        return db.session().scalars(statement.limit(self.page_params.page_size).offset(offset)).all()

    @property
    def item_count(self) -> int:
        statement: sa.Select = self.collection
        counted = sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())
        return db.session().execute(counted).scalar_one()


class IdConverter(IntegerConverter):
    """`<int:…>` in our URLs: ids beyond the databases' INTEGER are simply not found."""

    def __init__(self, map, fixed_digits=0, min=0, max=2**31 - 1, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def download(body, *, mimetype: str, filename: str, inline: bool = False) -> Response:
    """A file answer: the body with its type and the name a browser saves it under."""
    response = make_response(body)
    response.mimetype = mimetype
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


def runtime():
    """The current app's Runtime (marketplace.core.factory; the app's adds the Stripe gateway)."""
    return current_app.extensions["shanhai"]
