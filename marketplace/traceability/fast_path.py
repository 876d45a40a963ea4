"""The JSON scan of a genuine code, answered in front of Flask.

A region scanning one product at once is the busiest thing this service does, and the JSON scan
of a unit code is one indexed read and a queued count. Flask's request machinery and its
extensions cost several times that, so this WSGI layer answers that one request shape itself
with the resolver view's own pipeline (`scanning.Scanner.scan_json`: verdict, count, story,
payload and headers) and the edge every answer passes (`marketplace.core.edge`: the rate
limit's budget, security headers, request id, metrics and request log).

Everything else goes on to Flask unchanged: pages, linksets, redirects, HEAD and OPTIONS, codes
that are not genuine or malformed (Flask answers the 404 or 400), a spent rate limit (the 429),
any error, and every scan when scans are written at once rather than behind
(`SCAN_WRITE_BEHIND_SECONDS=0`) or when `SCAN_FAST_PATH=0`. Tests hold the two paths to the same
body and headers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from flask import Flask
from werkzeug.wrappers import Request

from marketplace.core import edge
from marketplace.core.errors import problem_response
from marketplace.core.security import client_key
from marketplace.traceability import digital_link, scanning
from marketplace.traceability.authenticity import ScanResult
from marketplace.traceability.errors import MalformedDigitalLink

logger = logging.getLogger("shanhai.codes")

Answer = tuple[list[tuple[str, str]], bytes]


class ScanFastPath:
    """WSGI middleware: answers GET /01/… asking for JSON of a genuine code, else calls `app`."""

    def __init__(self, flask_app: Flask, wsgi_app: Callable) -> None:
        self.flask_app = flask_app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO", "").startswith("/01/"):
            counted: list[bool] = []
            answer: Answer | None
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

    def _answer(self, environ: dict, counted: list[bool]) -> Answer | None:
        started = time.perf_counter()
        app = self.flask_app
        current = app.extensions["shanhai"]
        settings = current.settings
        scanner = scanning.scanner(app)
        if not settings.scan_fast_path or scanner.recorder is None:
            return None
        try:
            link = digital_link.parse_path(scanning.raw_path_and_query(environ))
        except MalformedDigitalLink:
            return None  # Flask answers the problem
        # The query's other parameters, as the parser read them; a name written with escapes
        # (which Flask would decode) is left to Flask.
        parameters = link.parameters
        if (
            "linkType" in parameters
            or any("%" in name or "+" in name for name in parameters)
            or scanning.wanted_representation(None, environ.get("HTTP_ACCEPT", "")) != "json"
        ):
            return None
        lang = scanning.language(parameters.get("lang"), environ.get("HTTP_ACCEPT_LANGUAGE", ""))
        address = environ.get("REMOTE_ADDR")
        the_edge = edge.of(app)
        budget: list[edge.Budget] = []

        def admit(result: ScanResult) -> bool:
            # Codes that are not ours are Flask's to answer (and count); so is a spent budget.
            if result.code is None:
                return False
            taken = the_edge.take(
                settings.scan_rate_limit,
                key=client_key(
                    environ.get("HTTP_AUTHORIZATION", ""), address, session_factory=current.session_factory
                ),
                scope=scanning.SCAN_RULE,
            )
            if taken is not None:
                if not taken.allowed:
                    return False
                budget.append(taken)
            counted.append(True)
            return True

        client = scanning.Client(
            address, environ.get("HTTP_USER_AGENT", ""), parameters.get("lat"), parameters.get("lon")
        )
        scan = scanner.scan_json(link, lang=lang, client=client, admit=admit)
        if scan.answer is None:
            return None
        request_id = edge.request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        headers = [
            *scan.answer.headers,
            *(budget[0].headers if budget else ()),
            *the_edge.security_headers(secure=edge.is_secure(environ)),
            ("X-Request-ID", request_id),
        ]
        edge.record_request(
            method="GET",
            endpoint=scanning.SCAN_RULE,
            path=Request(environ).path,
            status=200,
            started=started,
            request_id=request_id,
            user_id=None,
        )
        return headers, scan.answer.body
