"""Rate limits, security headers and proxy trust: one policy, applied in one place."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

from marketplace.config import Settings

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
EXEMPT_PATHS = ("/healthz", "/readyz", "/metrics", "/static/", "/api/docs")

PAGE_POLICY = {
    "default-src": "'self'",
    "img-src": ["'self'", "data:"],
    "style-src": "'self'",
    "script-src": "'self'",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "object-src": "'none'",
}
# flask-smorest's Swagger UI page starts itself with an inline script and inline styles.
DOCS_POLICY = {**PAGE_POLICY, "script-src": ["'self'", "'unsafe-inline'"],
               "style-src": ["'self'", "'unsafe-inline'"]}


def page_policy(settings: Settings) -> dict:
    """The pages' CSP; a configured map tile server is the one other origin images come from."""
    if not settings.map_tile_url:
        return PAGE_POLICY
    tiles = urlsplit(settings.map_tile_url)
    return {**PAGE_POLICY, "img-src": [*PAGE_POLICY["img-src"], f"{tiles.scheme}://{tiles.netloc}"]}


def init_security(app: Flask, settings: Settings) -> Limiter:
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,
                                x_proto=settings.trusted_proxies, x_host=settings.trusted_proxies)
    talisman = Talisman(
        app,
        # TLS ends at the proxy in front of us; it redirects, we announce HSTS.
        force_https=False,
        strict_transport_security=settings.is_production,
        strict_transport_security_max_age=31536000,
        session_cookie_secure=settings.is_production,
        session_cookie_http_only=True,
        frame_options="DENY",
        content_security_policy=page_policy(settings),
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy={"geolocation": "(self)", "camera": "()", "microphone": "()"},
    )
    docs_view = app.view_functions.get("api-docs.openapi_swagger_ui")
    if docs_view is not None:
        def swagger_ui(*args, **kwargs):
            return docs_view(*args, **kwargs)

        app.view_functions["api-docs.openapi_swagger_ui"] = talisman(
            content_security_policy=DOCS_POLICY)(swagger_ui)
    return Limiter(
        key_func=rate_limit_key,
        app=app,
        storage_uri=settings.redis_url or "memory://",
        key_prefix="shanhai",
        headers_enabled=True,
        default_limits=[_limit_for_request],
        default_limits_exempt_when=_exempt,
        strategy="moving-window",
    )


def _settings() -> Settings:
    return current_app.extensions["shanhai"].settings


def _limit_for_request() -> str:
    settings = _settings()
    if request.endpoint == "auth.Token" and request.method == "POST":
        return settings.token_rate_limit
    if request.blueprint == "resolver":
        # Per phone or network: a viral product scanned by a whole town still gets through.
        return settings.scan_rate_limit
    if request.method in WRITE_METHODS:
        return settings.write_rate_limit
    return settings.read_rate_limit


def _exempt() -> bool:
    return request.path.startswith(EXEMPT_PATHS)


def rate_limit_key() -> str:
    """Signed-in callers are limited per token, everyone else per client address."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer ") and request.endpoint != "auth.Token":
        return "token:" + hashlib.sha256(header[7:].strip().encode()).hexdigest()[:32]
    return "address:" + (request.remote_addr or "unknown")
