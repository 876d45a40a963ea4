"""Rate limits, security headers and proxy trust: one policy, applied in one place."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
import weakref
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_talisman import Talisman
from limits.storage import MemoryStorage
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.middleware.proxy_fix import ProxyFix

from marketplace.core.config import Settings
from marketplace.core.rate_limits import SCHEME as SQLITE_SCHEME

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# /metrics is not exempt: its token must not be guessable at any speed.
EXEMPT_PATHS = ("/healthz", "/readyz", "/static/", "/api/docs")

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
DOCS_POLICY = {
    **PAGE_POLICY,
    "script-src": ["'self'", "'unsafe-inline'"],
    "style-src": ["'self'", "'unsafe-inline'"],
}


def page_policy(settings: Settings) -> dict:
    """The pages' CSP; a configured map tile server is the one other origin images come from."""
    if not settings.map_tile_url:
        return PAGE_POLICY
    tiles = urlsplit(settings.map_tile_url)
    return {**PAGE_POLICY, "img-src": [*PAGE_POLICY["img-src"], f"{tiles.scheme}://{tiles.netloc}"]}


RATE_LIMIT_KEY_PREFIX = "shanhai"


class SteadyMemoryStorage(MemoryStorage):
    """limits' in-process storage, swept of expired entries once a second by one thread.

    The library's own sweeps with a 10 ms timer that it starts again whenever the last one has
    ended: under steady traffic that is a new thread every few requests, and waiting for each
    to start cost the scan path more than the rate limit itself. Counting is unchanged (a
    moving window checks its entries' times whatever the sweep does); only the sweep is steady.
    Used when no Redis is configured (`storage_uri="steady-memory://"`).
    """

    STORAGE_SCHEME = ["steady-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        with _SWEEP_LOCK:
            _STEADY_STORAGES.add(self)
            if _sweeper is None or not _sweeper.is_alive():
                _start_sweeper()
            # The parent class starts a timer of its own only while this one is not alive.
            self.timer = _sweeper

    def sweep(self) -> None:
        self._MemoryStorage__expire_events()


SWEEP_SECONDS = 1.0
_STEADY_STORAGES: weakref.WeakSet[SteadyMemoryStorage] = weakref.WeakSet()
_SWEEP_LOCK = threading.Lock()
_sweeper: threading.Thread | None = None


def _sweep_forever() -> None:
    while True:
        time.sleep(SWEEP_SECONDS)
        for storage in list(_STEADY_STORAGES):
            storage.sweep()


def _start_sweeper() -> None:
    global _sweeper
    _sweeper = threading.Thread(target=_sweep_forever, name="rate-limit-sweep", daemon=True)
    _sweeper.start()
    for storage in list(_STEADY_STORAGES):
        storage.timer = _sweeper


def _after_fork() -> None:
    # A forked worker has no threads but the one that forked: it needs a sweeper of its own.
    if _sweeper is not None:
        _start_sweeper()


os.register_at_fork(after_in_child=_after_fork)


def init_security(app: Flask, settings: Settings) -> tuple[Limiter, Talisman]:
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
        )
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

        app.view_functions["api-docs.openapi_swagger_ui"] = talisman(content_security_policy=DOCS_POLICY)(
            swagger_ui
        )
    limiter = Limiter(
        key_func=rate_limit_key,
        app=app,
        storage_uri=rate_limit_storage_uri(settings),
        key_prefix=RATE_LIMIT_KEY_PREFIX,
        headers_enabled=True,
        default_limits=[_limit_for_request],
        default_limits_exempt_when=_exempt,
        strategy="moving-window",
    )
    return limiter, talisman


def rate_limit_storage_uri(settings: Settings) -> str:
    """Redis when configured (shared by every server); else a file every worker of this server
    shares; in-process counts only when neither is set (tests)."""
    if settings.redis_url:
        return settings.redis_url
    if settings.rate_limit_file:
        return f"{SQLITE_SCHEME}://{settings.rate_limit_file}"
    return "steady-memory://"


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
    """Signed-in callers are limited per user, everyone else per client address."""
    return client_key(
        request.headers.get("Authorization", ""),
        request.remote_addr,
        session_factory=current_app.extensions["shanhai"].session_factory,
        token_request=request.endpoint == "auth.Token",
    )


def client_key(
    authorization: str, address: str | None, *, session_factory: sessionmaker, token_request: bool = False
) -> str:
    """Whose budget a request spends: its user's when its bearer token verifies, else its
    address's. A token that does not verify counts as no token, so that inventing tokens
    buys no budget (the Flask view and the fast scan path both key here)."""
    if not token_request and authorization[:7].lower() == "bearer ":
        user_id = verified_user_id(authorization[7:].strip(), session_factory)
        if user_id is not None:
            return f"user:{user_id}"
    return "address:" + (address or "unknown")


# Who a token verifies as, remembered this long: a signed-in caller's requests cost one read
# of the token every IDENTITY_SECONDS, not one each. Authentication itself never uses this
# (a revoked token is refused at once); only which budget a request spends may lag.
IDENTITY_SECONDS = 30.0
IDENTITY_CACHE_SIZE = 10_000
_identities: dict[str, tuple[float, int | None]] = {}

# Who a token belongs to is accounts' to say, and the shape of a token too: the app hands both in.
TokenOwner = Callable[[Session, str], int | None]
_token_owner: tuple[TokenOwner, re.Pattern[str]] | None = None


def use_token_owner(owner: TokenOwner, *, shape: re.Pattern[str]) -> None:
    """Hand in the lookup of a token's user id, and the shape a token must have to be looked up."""
    global _token_owner
    _token_owner = (owner, shape)


def verified_user_id(raw_token: str, session_factory: sessionmaker) -> int | None:
    if _token_owner is None:
        raise RuntimeError("no token lookup was handed in (use_token_owner): whose budget is unknown")
    token_owner_id, token_shape = _token_owner
    if not token_shape.fullmatch(raw_token):
        return None  # not even shaped like a token: no read
    digest = hashlib.sha256(raw_token.encode()).hexdigest()
    now = time.monotonic()
    known = _identities.get(digest)
    if known is not None and known[0] > now:
        return known[1]
    with session_factory() as session:
        user_id = token_owner_id(session, raw_token)
    if len(_identities) >= IDENTITY_CACHE_SIZE:
        _identities.clear()  # a flood of invented tokens: start again rather than grow
    _identities[digest] = (now + IDENTITY_SECONDS, user_id)
    return user_id
