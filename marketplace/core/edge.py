"""What every answer carries at the edge of the service, in one place for Flask's hooks and for
the scan fast path (marketplace/traceability/fast_path.py), which answers in front of Flask.

The rate limit's budget and headers (counted by Flask-Limiter's own rate limiter, through
the public API of `limits`), the security headers (our policy: CSP, frame and content-type
options, referrer and permissions policies, HSTS on secure requests), the CORS of answers any
page may read, the request id, and each request's metrics and log line.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import time
from typing import NamedTuple
from urllib.parse import urlsplit

from flask import Flask
from flask_limiter import Limiter
from limits import RateLimitItem, parse
from prometheus_client import Counter, Histogram

from marketplace.core.config import Settings

Headers = tuple[tuple[str, str], ...]

logger = logging.getLogger("shanhai.requests")
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{8,128}")

REQUESTS = Counter("shanhai_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "shanhai_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

RATE_LIMIT_KEY_PREFIX = "shanhai"

# Any page may read what these answers say (a code's story, for one). Browsers read these
# headers on the actual response ...
PUBLIC_READ_CORS: Headers = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", "Link, Location"),
)
# ... and these only on the answer to a preflight (OPTIONS), so only that answer carries them.
PUBLIC_READ_PREFLIGHT: Headers = (
    ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
    ("Access-Control-Allow-Headers", "Accept, Accept-Language"),
    ("Access-Control-Max-Age", "86400"),
)

PAGE_POLICY: dict[str, str | list[str]] = {
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
DOCS_POLICY: dict[str, str | list[str]] = {
    **PAGE_POLICY,
    "script-src": ["'self'", "'unsafe-inline'"],
    "style-src": ["'self'", "'unsafe-inline'"],
}
PERMISSIONS_POLICY = {"geolocation": "(self)", "camera": "()", "microphone": "()"}
HSTS_SECONDS = 31536000


def page_policy(settings: Settings) -> dict[str, str | list[str]]:
    """The pages' CSP; a configured map tile server is the one other origin images come from."""
    if not settings.map_tile_url:
        return PAGE_POLICY
    tiles = urlsplit(settings.map_tile_url)
    return {**PAGE_POLICY, "img-src": [*PAGE_POLICY["img-src"], f"{tiles.scheme}://{tiles.netloc}"]}


def _policy(policy: dict[str, str | list[str]]) -> str:
    return "; ".join(
        f"{name} {value if isinstance(value, str) else ' '.join(value)}" for name, value in policy.items()
    )


def _security_headers(settings: Settings, *, secure: bool, docs: bool) -> Headers:
    headers = [
        ("Permissions-Policy", ", ".join(f"{name}={value}" for name, value in PERMISSIONS_POLICY.items())),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Security-Policy", _policy(DOCS_POLICY if docs else page_policy(settings))),
    ]
    # TLS ends at the proxy in front of us; it redirects, we announce HSTS, on secure requests.
    if settings.is_production and secure:
        headers.append(("Strict-Transport-Security", f"max-age={HSTS_SECONDS}; includeSubDomains"))
    headers.append(("Referrer-Policy", "strict-origin-when-cross-origin"))
    return tuple(headers)


def is_secure(environ: dict) -> bool:
    """Whether the client's request came over TLS (to us, or to the proxy in front of us)."""
    return (
        environ.get("wsgi.url_scheme") in ("https", "wss")
        or environ.get("HTTP_X_FORWARDED_PROTO", "http") == "https"
    )


class Budget(NamedTuple):
    """One request's take from a rate limit: whether it may go on, and the headers telling
    what is left."""

    allowed: bool
    limit: RateLimitItem
    headers: Headers


@functools.lru_cache(maxsize=16)
def _parsed(limit: str) -> RateLimitItem:
    return parse(limit)


class Edge:
    """The edge of one app: its security headers, worked out once, and its rate limiter."""

    def __init__(self, settings: Settings, limiter: Limiter | None) -> None:
        self.limiter = limiter
        self._security = {
            (secure, docs): _security_headers(settings, secure=secure, docs=docs)
            for secure in (False, True)
            for docs in (False, True)
        }

    def security_headers(self, *, secure: bool, docs: bool = False) -> Headers:
        return self._security[secure, docs]

    def take(self, limit: str, *, key: str, scope: str) -> Budget | None:
        """Spend one request of `key`'s budget for `scope`; None when rate limits are off.

        The budget is counted by the same rate limiter (and storage) as Flask-Limiter's limits,
        so it is shared by every worker the storage is shared by."""
        if self.limiter is None or not self.limiter.enabled:
            return None
        item = _parsed(limit)
        identifiers = (RATE_LIMIT_KEY_PREFIX, key, scope)
        strategy = self.limiter.limiter
        allowed = strategy.hit(item, *identifiers)
        reset, remaining = strategy.get_window_stats(item, *identifiers)
        reset_at = int(reset + 1)
        return Budget(
            allowed,
            item,
            (
                ("X-RateLimit-Limit", str(item.amount)),
                ("X-RateLimit-Remaining", str(remaining)),
                ("X-RateLimit-Reset", str(reset_at)),
                ("Retry-After", str(int(reset_at - time.time()))),
            ),
        )


def of(app: Flask) -> Edge:
    return app.extensions["shanhai.edge"]


def request_id(given: str) -> str:
    """The client's X-Request-ID when it is a sensible one, else a new id."""
    # An id must be unique, not secret: the random module (reseeded in every forked worker)
    # costs no system call, which os.urandom does on each of these requests.
    return given if REQUEST_ID_PATTERN.fullmatch(given) else f"{random.getrandbits(128):032x}"


def record_request(
    *,
    method: str,
    endpoint: str,
    path: str,
    status: int,
    started: float | None,
    request_id: str,
    user_id: int | None,
) -> None:
    """Count, time and log one answered request."""
    elapsed = time.perf_counter() - started if started else 0.0
    requests, latency = _request_metrics(method, endpoint, status)
    requests.inc()
    latency.observe(elapsed)
    # The path, never the query string or headers: nothing secret is logged.
    logger.info(
        "request",
        extra={
            "request_id": request_id,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
            "user_id": user_id,
        },
    )


@functools.lru_cache(maxsize=1024)
def _request_metrics(method: str, endpoint: str, status: int) -> tuple[Counter, Histogram]:
    # Endpoints are route templates, so the label sets are few: each is looked up once.
    return REQUESTS.labels(method, endpoint, str(status)), LATENCY.labels(method, endpoint)
