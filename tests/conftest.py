"""Infrastructure fixtures only: settings, databases, sessions, the app, its client and callers.

Every test that touches the database runs once on SQLite and once on PostgreSQL. Each test runs
inside a transaction on one connection that is rolled back afterwards; the app's own commits
become savepoints of it.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from blinker import NamedSignal
from PIL import Image, ImageDraw
from sqlalchemy.orm import Session, sessionmaker

from marketplace.app import create_app
from marketplace.core import migrations as schema
from marketplace.core.config import PROJECT_ROOT, Settings
from marketplace.core.db import make_engine
from tests import factories

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


STRIPE_WEBHOOK_SECRET = "whsec_test_" + "s" * 24
METRICS_TOKEN = "metrics-token-for-tests"


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """A stateful fake Stripe server on loopback; the real stripe SDK talks HTTP to it."""
    for _attempt in range(3):
        server, port = start_localstripe()
        if server is not None:
            break
    else:
        pytest.fail("localstripe did not start in three attempts")
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn_server(env: dict, *options: str, stderr=subprocess.DEVNULL) -> Iterator[str]:
    """gunicorn as `make run` starts it (gunicorn.conf.py, env["PORT"]), with `options` added;
    yields its base URL once /healthz answers and stops it gracefully (SIGTERM) afterwards."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", *options, "wsgi:app"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        base = f"http://127.0.0.1:{env['PORT']}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def server_environment(tmp_path: Path, database_url: str | None = None, **variables: str | None) -> dict:
    """The environment `make run` gives gunicorn, for a server of a test's own: a migrated SQLite
    file in tmp_path (or `database_url`), a free PORT, instance folder and metrics in tmp_path, no
    demo; then `variables` set, or removed where None."""
    if database_url is None:
        database_url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
        engine = make_engine(database_url)
        schema.upgrade(engine)
        engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-server-secret",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "SHANHAI_LOAD_DEMO": "0",
        "SHANHAI_INSTANCE_PATH": str(tmp_path),
        "PORT": str(port),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    for name, value in variables.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def start_localstripe() -> tuple[subprocess.Popen | None, int]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("localstripe_server.py")), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Generous: on a busy two-core machine aiohttp's import alone can take seconds.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server, port
        except OSError:
            time.sleep(0.1)
    server.kill()
    server.wait(timeout=10)
    return None, port


@pytest.fixture
def tile_server() -> Iterator[tuple[str, list[str]]]:
    """A stand-in for a region's own XYZ tile server on a closed network: one PNG for every
    tile, and a list of the tiles the browser asked for."""
    image = Image.new("RGB", (256, 256), (226, 236, 214))
    ImageDraw.Draw(image).rectangle((0, 0, 255, 255), outline=(160, 180, 150))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    tile = buffer.getvalue()
    requested: list[str] = []

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self):
            requested.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(tile)))
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", requested
    server.shutdown()


@pytest.fixture(scope="session")
def settings(localstripe) -> Settings:
    return Settings(
        database_url="sqlite://",
        secret_key="test-secret-key",
        testing=True,
        public_base_url="http://shanhai.test",
        load_demo=False,
        stripe_secret_key="sk_test_shanhai",
        stripe_api_base=localstripe,
        stripe_webhook_secrets=(STRIPE_WEBHOOK_SECRET,),
        metrics_token=METRICS_TOKEN,
        # Scans written in their request and stories built afresh, so that a test sees its
        # scan in the database at once; the scan tests ask for production's queue and cache.
        scan_write_behind_seconds=0,
        scan_story_cache_seconds=0,
    )


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(request, tmp_path_factory) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "shanhai.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        schema.upgrade(engine)
        yield engine
        engine.dispose()
        return
    yield from _postgres_engine()


def _postgres_engine() -> Iterator[sa.Engine]:
    with postgres_database() as engine:
        yield engine


@contextmanager
def postgres_database(revision: str = "head") -> Iterator[sa.Engine]:
    """A new PostgreSQL database of its own, migrated to `revision`, dropped afterwards."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"shanhai_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true and is not reachable: {error}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}")
    engine = make_engine(
        admin.url.set(database=name).render_as_string(hide_password=False), pool_size=20, max_overflow=40
    )
    try:
        schema.upgrade(engine, revision)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def connection(engine) -> Iterator[sa.Connection]:
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def session_factory(connection) -> sessionmaker[Session]:
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def session(session_factory) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def app(settings, session_factory):
    return create_app(settings, session_factory=session_factory)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def disconnect() -> Iterator[Callable[[NamedSignal], None]]:
    """Disconnect every receiver of a signal for one test, as if the domain answering it were
    missing; they are connected again afterwards."""
    taken: list[tuple[NamedSignal, Callable]] = []

    def take(sent: NamedSignal) -> None:
        for held in list(sent.receivers.values()):
            receiver = held() if isinstance(held, weakref.ref) else held
            sent.disconnect(receiver)
            taken.append((sent, receiver))

    yield take
    for sent, receiver in taken:
        sent.connect(receiver)


@pytest.fixture
def callers(session) -> factories.Callers:
    """One signed-in user per role, plus a second cooperative, with their auth headers."""
    return factories.make_callers(session)


@pytest.fixture
def api_schema(app):
    import schemathesis

    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


def require_redis() -> str:
    """The test Redis's URL; a skip without it, a failure under CI=true."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        if IN_CI:
            pytest.fail(f"Redis is required under CI=true and is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return REDIS_URL


def unique_client_address() -> str:
    """A client address no other test run uses: for counts kept in the shared test Redis."""
    return "10." + ".".join(str(part) for part in uuid.uuid4().bytes[:3])
