"""The HTTP shape shared by every domain: Api, Blueprint, the base view and the pager."""

from __future__ import annotations

import flask_smorest
import sqlalchemy as sa
from flask import request
from flask.views import MethodView
from flask_smorest.etag import _get_etag_ctx
from flask_smorest.pagination import Page

from marketplace import db
from marketplace.errors import ProblemSchema, render_http_exception


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        return render_http_exception(error)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with If-Match optional on writes.

    A client that sends If-Match gets optimistic concurrency (412 when the resource changed);
    one that does not is last-writer-wins, as most of our API clients are scripts.
    """

    DEFAULT_PAGINATION_PARAMETERS = {"page": 1, "page_size": 20, "max_page_size": 100}

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

    @property
    def items(self):
        statement: sa.Select = self.collection
        session = db.session()
        offset = self.page_params.first_item
        return session.scalars(statement.limit(self.page_params.page_size).offset(offset)).all()

    @property
    def item_count(self) -> int:
        statement: sa.Select = self.collection
        counted = sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())
        return db.session().scalar(counted)
