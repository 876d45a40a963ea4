"""Domain errors and their one rendering: RFC 9457 problem details."""

from __future__ import annotations

import http
import json
import logging
import re

import marshmallow as ma
from flask import Response, request
from werkzeug.exceptions import HTTPException, InternalServerError

PROBLEM_MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger("shanhai.errors")


class DomainError(Exception):
    """A use case refused: carries its HTTP status and a stable problem type."""

    status: int = 400
    title: str | None = None
    headers: dict[str, str] = {}

    def __init__(self, detail: str, **extensions) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    @classmethod
    def slug(cls) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "-", cls.__name__).lower()

    @classmethod
    def problem_type(cls) -> str:
        return f"urn:shanhai:problem:{cls.slug()}"

    @classmethod
    def problem_title(cls) -> str:
        return cls.title or re.sub(r"(?<!^)(?=[A-Z])", " ", cls.__name__).capitalize()


class BadRequest(DomainError):
    status = 400


class MalformedJson(BadRequest):
    """A body that is not JSON we can read: not UTF-8, not JSON, or nested beyond reason."""

    title = "Malformed JSON"


class Unauthorized(DomainError):
    status = 401
    headers = {"WWW-Authenticate": 'Bearer realm="shanhai"'}


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class InvalidState(Conflict):
    """The thing exists but is in a state that does not allow this."""


class InvalidInput(DomainError):
    """Input that is well-formed but not acceptable; names the offending fields."""

    status = 422

    def __init__(self, detail: str, *, errors: dict) -> None:
        super().__init__(detail, errors=errors)


class UnsupportedMediaType(DomainError):
    status = 415


class DatabaseBusy(DomainError):
    """Other writers held the database longer than a writer waits (SQLite's busy timeout)."""

    status = 503
    headers = {"Retry-After": "1"}


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error of this API is answered."""

    type = ma.fields.String(metadata={"description": "URI naming the kind of problem"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    instance = ma.fields.String(metadata={"description": "the request path"})
    errors = ma.fields.Dict(metadata={"description": "field → messages, for invalid input"})


def problem_response(
    status: int,
    *,
    title: str,
    detail: str | None = None,
    type_: str = "about:blank",
    headers: dict | None = None,
    **extensions,
) -> Response:
    body = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    body.update({key: value for key, value in extensions.items() if value is not None})
    try:
        text = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate echoed from the request cannot be UTF-8; a JSON \u escape of it can.
        text = json.dumps(body, default=str).encode("ascii")
    response = Response(text, status=status, mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def write_server_problem(sock, status: int, reason: str, message: str) -> None:
    """What gunicorn refuses before the app sees it (an over-long URI: 414, oversized headers:
    431, a malformed request line: 400) as the same problem+json as every other error: used in
    place of gunicorn.util.write_error, its HTML page (see gunicorn.conf.py)."""
    from gunicorn.util import write_nonblock

    body = json.dumps({"type": "about:blank", "title": reason, "status": status, "detail": message}).encode(
        "ascii"
    )
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: {PROBLEM_MEDIA_TYPE}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    write_nonblock(sock, head.encode("latin-1") + body)


def render_domain_error(error: DomainError) -> Response:
    return problem_response(
        error.status,
        title=error.problem_title(),
        detail=error.detail,
        type_=error.problem_type(),
        headers=error.headers,
        **error.extensions,
    )


def render_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        return render_unexpected(error)
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    detail = data.get("message") or _describe(status, errors, error.description)
    headers = dict(data.get("headers") or {})
    if status == 405 and error.get_response().headers.get("Allow"):
        headers["Allow"] = error.get_response().headers["Allow"]
    if status == 429:
        detail = f"Too many requests: at most {error.description}. Wait and try again."
    return problem_response(
        status,
        title=http.HTTPStatus(status).phrase,
        detail=detail,
        headers=headers,
        errors=_plain(errors) if errors else None,
    )


def render_unexpected(error: BaseException) -> Response:
    original = getattr(error, "original_exception", None) or error
    if not isinstance(original, InternalServerError):
        logger.exception("unhandled error on %s %s", request.method, request.path, exc_info=original)
    return problem_response(
        500, title="Internal Server Error", detail="Something went wrong on our side; nothing was saved."
    )


def _describe(status: int, errors, fallback: str | None) -> str:
    if errors and isinstance(errors, dict):
        fields = sorted(_field_paths(errors))
        return "Invalid input: " + ", ".join(fields[:20])
    if status == 400 and errors:
        return "The request body is not valid JSON."
    return fallback or http.HTTPStatus(status).description


def _field_paths(errors: dict, prefix: str = "") -> list[str]:
    paths = []
    for key, value in errors.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value and all(not isinstance(v, str) for v in value.values()):
            nested = _field_paths(value, path)
            paths.extend(nested or [path])
        else:
            paths.append(path)
    return paths


def _plain(value):
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)
