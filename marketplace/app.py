"""The application factory: the one place that wires settings, database, API and commands."""

from __future__ import annotations

from dataclasses import dataclass

import swagger_ui_bundle
from flask import Flask, current_app, request, send_from_directory
from flask_limiter import Limiter
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException

from marketplace import cli
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
from marketplace.traceability.fast_path import ScanFastPath
from orders.stripe_gateway import StripeGateway, StripeSettings


@dataclass
class Runtime:
    """What a request needs from the app: its settings and where sessions come from."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    limiter: Limiter | None = None
    stripe: StripeGateway | None = None


def create_app(
    settings: Settings | None = None, *, session_factory: sessionmaker[Session] | None = None
) -> Flask:
    settings = settings or Settings.from_env()
    if not settings.testing:
        configure_logging(settings)
    app = Flask(__name__, static_folder="../static", static_url_path="/static")
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
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    if session_factory is None:
        engine = db.make_engine(settings.database_url, busy_timeout=settings.sqlite_busy_timeout_seconds)
        session_factory = db.make_session_factory(engine)
    track_writes(session_factory)
    app.extensions["shanhai"] = Runtime(
        settings=settings,
        engine=session_factory.kw["bind"],
        session_factory=session_factory,
        stripe=StripeGateway(
            StripeSettings(
                secret_key=settings.stripe_secret_key,
                webhook_secrets=settings.stripe_webhook_secrets,
                api_base=settings.stripe_api_base,
            )
        ),
    )
    app.teardown_appcontext(db.close_session)

    api = Api(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.register_field(DecimalString, "string", "decimal")
    _register_blueprints(api)
    _register_error_handlers(app, settings)
    init_observability(app)
    app.before_request(_require_declared_media_type)
    _register_pages(app)
    # Inside the proxy fix that init_security adds, so that it sees the client's address.
    app.wsgi_app = ScanFastPath(app, app.wsgi_app)
    runtime = app.extensions["shanhai"]
    runtime.limiter = init_security(app, settings)
    cli.register(app)
    return app


def _register_blueprints(api: Api) -> None:
    from catalog.api import blp as catalog_blp
    from marketplace.accounts.api import blp as auth_blp
    from marketplace.parties.api import blp as parties_blp
    from marketplace.region.audit.api import blp as audit_blp
    from marketplace.region.dashboard.api import blp as dashboard_blp
    from marketplace.traceability.api import blp as codes_blp
    from marketplace.traceability.api import trace_blp
    from marketplace.traceability.resolver import blp as resolver_blp
    from orders.api import blp as orders_blp
    from orders.contracts.api import blp as contracts_blp
    from quality.api import blp as quality_blp

    for blueprint in (
        auth_blp,
        parties_blp,
        catalog_blp,
        quality_blp,
        codes_blp,
        trace_blp,
        resolver_blp,
        orders_blp,
        contracts_blp,
        dashboard_blp,
        audit_blp,
    ):
        api.register_blueprint(blueprint)


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
    view_class = getattr(current_app.view_functions.get(request.endpoint), "view_class", None)
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


def _register_pages(app: Flask) -> None:
    @app.get("/api/docs/assets/<path:filename>")
    def swagger_assets(filename: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    @app.get("/dashboard")
    def dashboard():
        return send_from_directory(app.static_folder, "dashboard/index.html")

    @app.get("/")
    def index():
        return {
            "name": "Shanhai 山海",
            "api": "/api/v1",
            "openapi": "/api/openapi.json",
            "docs": "/api/docs",
            "dashboard": "/dashboard",
        }
