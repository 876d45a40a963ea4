"""Request ids, health and readiness, metrics across workers, and logs that keep secrets out."""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
import urllib.request

import pytest

from marketplace.app import create_app
from marketplace.core import migrations as schema
from marketplace.core.db import make_engine, make_session_factory
from marketplace.parties.models import OrganisationKind, Role
from tests import factories
from tests.conftest import METRICS_TOKEN, gunicorn_server, server_environment


def test_a_request_id_is_generated_and_returned(client):
    response = client.get("/api/v1/clusters")
    assert len(response.headers["X-Request-ID"]) == 32


def test_a_callers_request_id_is_kept_and_a_malformed_one_replaced(client):
    assert (
        client.get("/healthz", headers={"X-Request-ID": "edge-7f3a9c21"}).headers["X-Request-ID"]
        == "edge-7f3a9c21"
    )
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"})
    assert replaced.headers["X-Request-ID"] != "bad id <script>"


def test_healthz_answers_while_the_process_is_up(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def app_on(settings, engine):
    return create_app(settings, session_factory=make_session_factory(engine))


def test_readyz_needs_the_schema_at_the_latest_migration(settings, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    client = app_on(settings, engine).test_client()
    behind = client.get("/readyz")
    assert behind.status_code == 503 and behind.mimetype == "application/problem+json"
    schema.upgrade(engine)
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["revision"] == schema.head_revision()


class TcpProxy:
    """A loopback forwarder we can cut, to take the database away without stopping it."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = None
        self._listener = None
        self._sockets: list[socket.socket] = []

    def start(self, port: int = 0) -> None:
        self._listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1)
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    (b if source is a else a).sendall(data)
        except OSError:
            return

    def stop(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone would not.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._sockets.clear()


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_readyz_turns_503_while_postgresql_is_unreachable_and_recovers(settings, engine):
    url = engine.url
    proxy = TcpProxy((url.host, url.port or 5432))
    proxy.start()
    proxied = make_engine(
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        connect_args={"connect_timeout": 2},
    )
    client = app_on(settings, proxied).test_client()
    try:
        assert client.get("/readyz").status_code == 200
        port = proxy.port
        proxy.stop()
        assert client.get("/readyz").status_code == 503
        proxy.start(port)
        assert client.get("/readyz").status_code == 200
    finally:
        proxy.stop()
        proxied.dispose()


def test_metrics_add_up_requests_across_gunicorn_workers(tmp_path):
    env = server_environment(tmp_path, WEB_CONCURRENCY="2", METRICS_TOKEN=METRICS_TOKEN)
    with gunicorn_server(env) as base:
        for _ in range(40):
            urllib.request.urlopen(f"{base}/api/v1/categories", timeout=5).read()
        scrape = urllib.request.Request(
            f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        text = urllib.request.urlopen(scrape, timeout=5).read().decode()
    lines = [
        line
        for line in text.splitlines()
        if line.startswith("shanhai_http_requests_total{")
        and 'endpoint="/api/v1/categories"' in line
        and 'status="200"' in line
    ]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in lines) == 40
    assert "shanhai_http_request_duration_seconds_bucket" in text


def test_metrics_are_served_only_to_a_scraper_bearing_the_metrics_token(client):
    for headers in ({}, {"Authorization": "Bearer guess"}, {"Authorization": f"Basic {METRICS_TOKEN}"}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
        assert "shanhai_http_requests_total" not in refused.get_data(as_text=True)
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200
    assert "shanhai_http_requests_total" in scraped.get_data(as_text=True)


def test_without_a_metrics_token_metrics_are_not_served_at_all(settings, session_factory):
    client = create_app(
        settings.with_overrides(metrics_token=""), session_factory=session_factory
    ).test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_a_metrics_token_cannot_be_guessed_faster_than_the_read_limit(settings, session_factory):
    client = create_app(
        settings.with_overrides(read_rate_limit="3 per minute"), session_factory=session_factory
    ).test_client()
    guesses = [
        client.get("/metrics", headers={"Authorization": f"Bearer guess-{number}"}).status_code
        for number in range(4)
    ]
    assert guesses == [401, 401, 401, 429]


def test_request_logs_carry_the_request_id_and_no_secrets(client, session, caplog):
    user = factories.make_user(
        session,
        role=Role.OPERATOR,
        organisation=factories.make_organisation(session, OrganisationKind.OPERATOR),
    )
    with caplog.at_level(logging.INFO, logger="shanhai"):
        signed_in = client.post(
            "/api/v1/auth/token", json={"email": user.email, "password": factories.PASSWORD}
        )
        token = signed_in.get_json()["access_token"]
        me = client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "trace-me-0001"}
        )
    records = [r for r in caplog.records if r.name == "shanhai.requests"]
    assert any(r.request_id == "trace-me-0001" and r.status == 200 and r.user_id == user.id for r in records)
    everything = " ".join(str(vars(r)) for r in caplog.records)
    assert token not in everything and factories.PASSWORD not in everything
    assert me.status_code == 200


def test_json_logs_are_one_object_per_line(settings, capsys):
    from marketplace.core.observability import configure_logging

    configure_logging(settings.with_overrides(log_format="json"))
    try:
        logging.getLogger("shanhai.requests").info("request", extra={"status": 204})
        line = capsys.readouterr().err.strip().splitlines()[-1]
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    import json

    record = json.loads(line)
    assert record["message"] == "request" and record["status"] == 204 and record["level"] == "INFO"
