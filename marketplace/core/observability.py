"""Request ids, structured logs, Prometheus metrics, and the health endpoints."""

from __future__ import annotations

import hmac
import logging
import logging.config
import os
import time

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from marketplace.core import edge
from marketplace.core import migrations as schema
from marketplace.core.config import Settings
from marketplace.core.errors import problem_response

logger = logging.getLogger("shanhai.requests")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            try:
                record.request_id = g.get("request_id")
            except RuntimeError:
                record.request_id = None
        return True


def configure_logging(settings: Settings) -> None:
    formatter = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
        if settings.log_format == "json"
        else {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"}
    )
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"request_id": {"()": RequestIdFilter}},
            "formatters": {"default": formatter},
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "default",
                    "filters": ["request_id"],
                }
            },
            "root": {"level": "INFO", "handlers": ["stderr"]},
        }
    )


def init_observability(app: Flask) -> None:
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/readyz", "readyz", readyz)
    app.add_url_rule("/metrics", "metrics", metrics)


def _start_request() -> None:
    g.request_id = edge.request_id(request.headers.get("X-Request-ID", ""))
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    rid = g.get("request_id") or edge.request_id("")
    response.headers["X-Request-ID"] = rid
    user = g.get("current_user")
    edge.record_request(
        method=request.method,
        endpoint=request.url_rule.rule if request.url_rule else "unmatched",
        path=request.path,
        status=response.status_code,
        started=g.get("request_started"),
        request_id=rid,
        user_id=user.id if user is not None else None,
    )
    return response


def healthz():
    """The process is up."""
    return {"status": "ok"}


def readyz():
    """The database answers and its schema is at the latest migration."""
    engine = current_app.extensions["shanhai"].engine
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            revision = schema.current_revision(connection)
    except sa.exc.SQLAlchemyError as error:
        logger.warning("database not ready: %s", type(error).__name__)
        return problem_response(503, title="Service Unavailable", detail="the database does not answer")
    head = schema.head_revision()
    if revision != head:
        return problem_response(
            503, title="Service Unavailable", detail=f"the database is at migration {revision}, not {head}"
        )
    return {"status": "ready", "revision": revision}


def metrics():
    """Prometheus metrics; summed across gunicorn workers when PROMETHEUS_MULTIPROC_DIR is set.

    They tell anyone how busy the service is and which routes fail, so they are served only to
    a scraper bearing METRICS_TOKEN (Prometheus: `authorization: {credentials: ...}`)."""
    token = current_app.extensions["shanhai"].settings.metrics_token
    if not token:
        return problem_response(
            404,
            title="Not Found",
            detail="metrics are served only when METRICS_TOKEN is set; scrape them with it as a bearer token",
        )
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return problem_response(
            401,
            title="Unauthorized",
            detail="send 'Authorization: Bearer <METRICS_TOKEN>'",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
