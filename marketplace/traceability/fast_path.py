"""The JSON scan of a genuine code, answered in front of Flask.

A region scanning one product at once is the busiest thing this service does, and the JSON scan
of a unit code is one indexed read and a queued count. Flask's request machinery and its
extensions cost several times that, so this WSGI layer answers that one request shape itself,
through the same pieces as the Flask view: the scan check and count (`authenticity`), the story
cache, the payload and Link header (`resolver`), the rate limit's own counters, the security
headers Talisman sets on every response, the request id, the metrics and the request log.

Everything else goes on to Flask unchanged: pages, linksets, redirects, HEAD and OPTIONS, codes
that are not genuine or malformed (Flask answers the 404 or 400), a spent rate limit (the 429),
any error, and every scan when scans are written at once rather than behind
(`SCAN_WRITE_BEHIND_SECONDS=0`) or when `SCAN_FAST_PATH=0`. Tests hold the two paths to the same
body and headers.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable

from flask import Flask, Response
from limits import parse as parse_limit
from werkzeug.wrappers import Request

from marketplace.core import observability
from marketplace.core.errors import problem_response
from marketplace.core.security import RATE_LIMIT_KEY_PREFIX, client_key
from marketplace.traceability import authenticity, digital_link, metrics, resolver
from marketplace.traceability.errors import MalformedDigitalLink

logger = logging.getLogger("shanhai.codes")

# What Flask's request log and metrics call this route, and Flask-Limiter its rate-limit scope.
RULE = "/01/<path:rest>"
ENDPOINT = f"{resolver.blp.name}.{resolver.DigitalLinkResource.__name__}"
STORY_MARKER = "\x00story\x00"


@functools.lru_cache(maxsize=8)
def _parsed_limit(limit: str):
    return parse_limit(limit)


class ScanFastPath:
    """WSGI middleware: answers GET /01/… asking for JSON of a genuine code, else calls `app`."""

    def __init__(self, flask_app: Flask, wsgi_app: Callable) -> None:
        self.flask_app = flask_app
        self.wsgi_app = wsgi_app
        self._security_headers: dict[bool, list[tuple[str, str]]] = {}
        self._code_reader: authenticity.CodeReader | None = None
        self._story_marker = flask_app.json.dumps(STORY_MARKER)  # as the app's JSON writes it
        self._copy_thresholds: tuple | None = None

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO", "").startswith("/01/"):
            counted: list[bool] = []
            try:
                answer = self._answer(environ, counted)
            except Exception:
                if counted:
                    # The scan is counted already: asking Flask again would count it twice.
                    logger.exception("the fast scan path failed after counting a scan")
                    with self.flask_app.request_context(environ):
                        failure = problem_response(
                            500,
                            title="Internal Server Error",
                            detail="the scan could not be answered; please scan again",
                        )
                    return failure(environ, start_response)
                # Nothing was counted: Flask repeats the request and answers any error itself.
                logger.exception("the fast scan path failed; Flask answers instead")
                answer = None
            if answer is not None:
                headers, body = answer
                start_response("200 OK", headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ: dict, counted: list[bool]) -> tuple[list[tuple[str, str]], bytes] | None:
        started = time.perf_counter()
        app = self.flask_app
        current = app.extensions["shanhai"]
        settings = current.settings
        recorder = resolver.scan_recorder(app)
        if not settings.scan_fast_path or recorder is None:
            return None
        try:
            link = digital_link.parse_path(resolver.raw_path_and_query(environ))
        except MalformedDigitalLink:
            return None  # Flask answers the problem
        # The query's other parameters, as the parser read them; a name written with escapes
        # (which Flask would decode) is left to Flask.
        parameters = link.parameters
        if (
            "linkType" in parameters
            or any("%" in name or "+" in name for name in parameters)
            or resolver.wanted_representation(None, environ.get("HTTP_ACCEPT", "")) != "json"
        ):
            return None
        result = authenticity.judge(
            link, keys=settings.signing_keys, find=self._reader(current.session_factory).find
        )
        if result.code is None:
            return None
        lang = resolver.language(parameters.get("lang"), environ.get("HTTP_ACCEPT_LANGUAGE", ""))
        stories = resolver.story_cache(app)
        entry = stories.cached(lot_id=result.code.lot_id, lang=lang)
        if entry is None:  # once a lot and language per SCAN_STORY_CACHE_SECONDS
            with current.session_factory() as session:
                entry = stories.get_with_json(session, lot_id=result.code.lot_id, lang=lang)
        story, story_json = entry
        address = environ.get("REMOTE_ADDR")
        window = self._take_rate_limit(
            current.limiter,
            client_key(
                environ.get("HTTP_AUTHORIZATION", ""), address, session_factory=current.session_factory
            ),
            settings.scan_rate_limit,
        )
        if window is False:
            return None
        counted.append(True)
        # With a recorder the scan is queued, not written: no session is needed.
        authenticity.count_scan(
            None,
            result,
            thresholds=self._thresholds(settings),
            zone=settings.zone,
            recorder=recorder,
            fingerprint=resolver.fingerprint(settings, address, environ.get("HTTP_USER_AGENT", "")),
            place=authenticity.coarse_place(parameters.get("lat"), parameters.get("lon")),
        )
        metrics.SCANS.labels(result.verdict.status).inc()
        links = resolver.code_links(result, story, settings.public_base_url)
        body = self._body(resolver.scan_payload(result, story, links, lang, settings.zone), story_json)
        request_id = observability.request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        headers = [
            ("Link", resolver.link_header(result, settings.public_base_url)),
            ("Content-Language", lang),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            *resolver.CORS_HEADERS.items(),
            ("Vary", "Accept, Accept-Language"),
        ]
        if window is not None:
            headers += window
        # As Talisman tells a secure request (its HSTS header goes only on those).
        secure = (
            environ.get("wsgi.url_scheme") in ("https", "wss")
            or environ.get("HTTP_X_FORWARDED_PROTO", "http") == "https"
        )
        headers += self._talisman_headers(current.talisman, secure)
        headers.append(("X-Request-ID", request_id))
        observability.record_request(
            method="GET",
            endpoint=RULE,
            path=Request(environ).path,
            status=200,
            started=started,
            request_id=request_id,
            user_id=None,
        )
        return headers, body

    def _thresholds(self, settings) -> authenticity.Thresholds:
        # Settings are fixed for an app's life: the thresholds are built once.
        if self._copy_thresholds is None or self._copy_thresholds[0] is not settings:
            self._copy_thresholds = (settings, resolver.thresholds(settings))
        return self._copy_thresholds[1]

    def _reader(self, factory) -> authenticity.CodeReader:
        if self._code_reader is None:
            self._code_reader = authenticity.CodeReader(factory)
        return self._code_reader

    def _body(self, payload: dict, story_json: str) -> bytes:
        """`app.json.dumps(payload)`, with the story's cached JSON (most of it) spliced in.

        The story's place is held by a marker string while the rest is dumped; JSON writes a
        NUL in any real string as \\u0000, so only the marker can match.
        """
        document = self.flask_app.json.dumps({**payload, "story": STORY_MARKER})
        return document.replace(self._story_marker, story_json, 1).encode()

    def _take_rate_limit(self, limiter, key: str, limit: str):
        """Count this scan against the same budget the Flask view uses; False when spent.

        Returns the rate-limit headers Flask-Limiter would add, or None when limits are off.
        """
        if limiter is None or not limiter.enabled:
            return None
        item = _parsed_limit(limit)
        identifiers = (RATE_LIMIT_KEY_PREFIX, key, ENDPOINT)
        strategy = limiter.limiter
        if not strategy.hit(item, *identifiers):
            return False
        reset, remaining = strategy.get_window_stats(item, *identifiers)
        reset_at = int(reset + 1)
        return [
            ("X-RateLimit-Limit", str(item.amount)),
            ("X-RateLimit-Remaining", str(remaining)),
            ("X-RateLimit-Reset", str(reset_at)),
            ("Retry-After", str(int(reset_at - time.time()))),
        ]

    def _talisman_headers(self, talisman, secure: bool) -> list[tuple[str, str]]:
        """The headers Talisman puts on a resolver response; they depend only on the scheme."""
        if talisman is None:
            return []
        if secure not in self._security_headers:
            scheme = "https" if secure else "http"
            response = Response()
            del response.headers["Content-Type"]
            with self.flask_app.test_request_context(base_url=f"{scheme}://scan.local/"):
                talisman._set_response_headers(response)
            self._security_headers[secure] = list(response.headers.items())
        return self._security_headers[secure]
