"""The platform's half of the app: settings, database, the API shell, errors, observability and
security. `marketplace/app.py` builds the whole app on it with the domains."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import swagger_ui_bundle
from flask import Flask, current_app, request, send_from_directory
from flask.json.provider import DefaultJSONProvider
from flask_limiter import Limiter
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException

from marketplace.core import db
from marketplace.core.audit import track_writes
from marketplace.core.config import Settings
from marketplace.core.errors import (
    BadRequest,
    DatabaseBusy,
    DomainError,
    UnsupportedMediaType,
    render_domain_error,
    render_http_exception,
    render_unexpected,
)
from marketplace.core.http import Api, IdConverter
from marketplace.core.observability import configure_logging, init_observability
from marketplace.core.schemas import DecimalString
from marketplace.core.security import init_security


class JsonProvider(DefaultJSONProvider):
    """JSON as people read it: Chinese names unescaped, fields in the order the schema gives them."""

    ensure_ascii = False
    sort_keys = False


@dataclass
class Runtime:
    """What a request needs from the app: its settings, where sessions come from, and the gate."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    limiter: Limiter | None = None
    # Who the caller is and whether their role lets them through (core.access); the app hands
    # in accounts' check.
    admit: Callable[..., Any] | None = None


def create_platform_app(
    import_name: str,
    settings: Settings,
    *,
    session_factory: sessionmaker[Session] | None = None,
    runtime: type[Runtime] = Runtime,
    **runtime_fields: Any,
) -> tuple[Flask, Api]:
    """A Flask app with the platform wired and no domain yet: the API to register blueprints
    on. `secure` it once the domains have wrapped its WSGI app."""
    if not settings.testing:
        configure_logging(settings)
    app = Flask(import_name, static_folder="../static", static_url_path="/static")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        API_TITLE="Shanhai 山海",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/assets/",
        API_SPEC_OPTIONS={
            "info": {
                "description": "Regional farm-produce brand and marketplace. Every error is "
                "an RFC 9457 problem (application/problem+json). Lists are "
                "paged with ?page=&page_size= and report their total in the "
                "X-Pagination header."
            },
            "servers": [{"url": settings.public_base_url}],
        },
    )
    app.url_map.converters["int"] = IdConverter
    app.json = JsonProvider(app)

    if session_factory is None:
        engine = db.make_engine(settings.database_url, busy_timeout=settings.sqlite_busy_timeout_seconds)
        session_factory = db.make_session_factory(engine)
    track_writes(session_factory)
    app.extensions["shanhai"] = runtime(
        settings=settings,
        engine=session_factory.kw["bind"],
        session_factory=session_factory,
        **runtime_fields,
    )
    app.teardown_appcontext(db.close_session)

    api = Api(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.register_field(DecimalString, "string", "decimal")
    _register_error_handlers(app, settings)
    init_observability(app)
    app.before_request(_require_declared_media_type)

    @app.get("/api/docs/assets/<path:filename>")
    def swagger_assets(filename: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    return app, api


def secure(app: Flask) -> None:
    """Rate limits, security headers and proxy trust, outermost: last, after any WSGI wrapper."""
    runtime = app.extensions["shanhai"]
    runtime.limiter = init_security(app, runtime.settings)


def _register_error_handlers(app: Flask, settings: Settings) -> None:
    app.register_error_handler(DomainError, render_domain_error)
    app.register_error_handler(HTTPException, render_http_exception)
    app.register_error_handler(OperationalError, _render_database_error)
    if not settings.testing:
        # Under test an unexpected exception re-raises, so that it fails loudly.
        app.register_error_handler(Exception, render_unexpected)


def _render_database_error(error: OperationalError):
    if not db.is_busy(error):
        raise error
    return render_domain_error(
        DatabaseBusy("the database is busy with other writes; nothing was saved, try again in a moment")
    )


def _require_declared_media_type() -> None:
    """Answer 400 when a write lacks its body, 415 when the body is not of the type it reads."""
    if request.method not in {"POST", "PUT", "PATCH"} or not request.url_rule:
        return
    view_class = getattr(current_app.view_functions.get(request.url_rule.endpoint), "view_class", None)
    method = getattr(view_class, request.method.lower(), None)
    parameters = getattr(method, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    locations = {parameter.get("in") for parameter in parameters}
    if not (request.content_length or request.headers.get("Transfer-Encoding")):
        if locations & {"json", "files", "form"}:
            raise BadRequest("this request needs a body; see /api/docs")
        return
    if "json" in locations and not request.is_json:
        raise UnsupportedMediaType(f"send this body as application/json, not {request.mimetype or 'untyped'}")
    if locations & {"files", "form"} and request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType(
            f"send this body as multipart/form-data, not {request.mimetype or 'untyped'}"
        )
