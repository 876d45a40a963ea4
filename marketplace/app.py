"""The application factory: the platform's app (marketplace.core.factory) with the domains on it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from catalog.api import blp as catalog_blp
from marketplace import cli
from marketplace.accounts import access
from marketplace.accounts import service as auth_service
from marketplace.accounts.api import blp as auth_blp
from marketplace.core import factory, security
from marketplace.core.config import Settings
from marketplace.core.http import Api
from marketplace.parties.api import blp as parties_blp
from marketplace.region.audit.api import blp as audit_blp
from marketplace.region.dashboard.api import blp as dashboard_blp
from marketplace.traceability.api import blp as codes_blp
from marketplace.traceability.api import trace_blp
from marketplace.traceability.fast_path import ScanFastPath
from marketplace.traceability.resolver import blp as resolver_blp
from orders.api import blp as orders_blp
from orders.contracts.api import blp as contracts_blp
from orders.stripe_gateway import StripeGateway, StripeSettings
from quality.api import blp as quality_blp


@dataclass
class Runtime(factory.Runtime):
    """The platform's runtime, with the payment gateway orders takes its payments through."""

    stripe: StripeGateway | None = None


def create_app(
    settings: Settings | None = None, *, session_factory: sessionmaker[Session] | None = None
) -> Flask:
    settings = settings or Settings.from_env()
    security.use_token_owner(auth_service.token_owner_id, shape=auth_service.TOKEN_SHAPE)
    app, api = factory.create_platform_app(
        __name__,
        settings,
        session_factory=session_factory,
        runtime=Runtime,
        admit=access.admit,
        stripe=StripeGateway(
            StripeSettings(
                secret_key=settings.stripe_secret_key,
                webhook_secrets=settings.stripe_webhook_secrets,
                api_base=settings.stripe_api_base,
            )
        ),
    )
    _register_blueprints(api)
    _register_pages(app)
    # Inside the proxy fix that securing adds, so that it sees the client's address.
    app.wsgi_app = ScanFastPath(app, app.wsgi_app)  # type: ignore[method-assign]  # Flask's way to add middleware
    factory.secure(app)
    cli.register(app)
    return app


def _register_blueprints(api: Api) -> None:
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


def _register_pages(app: Flask) -> None:
    @app.get("/dashboard")
    def dashboard():
        return app.send_static_file("dashboard/index.html")

    @app.get("/")
    def index():
        return {
            "name": "Shanhai 山海",
            "api": "/api/v1",
            "openapi": "/api/openapi.json",
            "docs": "/api/docs",
            "dashboard": "/dashboard",
        }
