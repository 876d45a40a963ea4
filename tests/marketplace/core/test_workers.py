"""gunicorn's workers as `make run` configures them: recycled and stopped without losing scans."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import urllib.request

import sqlalchemy as sa

from marketplace.core.config import PROJECT_ROOT, Settings
from marketplace.core.db import make_engine, make_session_factory
from marketplace.traceability.models import Code, Scan
from tests import factories
from tests.conftest import gunicorn_server, server_environment


def test_scans_queued_in_a_worker_are_written_when_it_is_recycled_or_stopped(tmp_path):
    env = server_environment(
        tmp_path,
        CODE_SIGNING_KEYS="w1:d29ya2Vycy10ZXN0LXNpZ25pbmcta2V5LTMyLWJ5dGVz",
        WEB_CONCURRENCY="1",
        # Queued scans are written only when their worker leaves, never on a timer.
        SCAN_WRITE_BEHIND_SECONDS="3600",
    )
    engine = make_engine(env["DATABASE_URL"])
    factory = make_session_factory(engine)
    with factory() as session:
        paths = factories.make_unit_code_paths(session, quantity=3, keys=Settings.from_env(env).signing_keys)
    log = tmp_path / "gunicorn.log"
    answers = []
    # One worker, replaced after every 4 requests: 10 scans go through three of them.
    with (
        log.open("w") as log_file,
        gunicorn_server(
            env, "--max-requests", "4", "--max-requests-jitter", "0", "--log-level", "info", stderr=log_file
        ) as base,
    ):
        for number in range(10):
            request = urllib.request.Request(base + paths[number % 3], headers={"Accept": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                answers.append(response.status)
    assert answers == [200] * 10
    logged = log.read_text()
    assert logged.count("Autorestarting worker") >= 2
    # gunicorn's own lines (with their process ids) format: nothing in the app breaks them.
    assert "Logging error" not in logged and "Booting worker" in logged
    with factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Scan)) == 10
        assert sorted(session.scalars(sa.select(Code.scan_count))) == [3, 3, 4]
    engine.dispose()


def test_a_worker_that_fails_leaves_with_its_own_exit_code_and_a_clean_one_runs_exit_handlers(tmp_path):
    # gunicorn calls worker_exit from a `finally` around the worker's sys.exit; the hook's quick
    # exit must not turn a failed worker's code (3 = boot error: the master stops) into 0.
    def leave(code: int) -> subprocess.CompletedProcess:
        script = textwrap.dedent(f"""
            import atexit, runpy, sys
            atexit.register(lambda: open({str(tmp_path / f"handled-{code}")!r}, "w").close())
            hooks = runpy.run_path("gunicorn.conf.py")
            try:
                try:
                    sys.exit({code})
                except SystemExit:
                    raise
            finally:
                hooks["worker_exit"](None, None)
        """)
        return subprocess.run(
            [sys.executable, "-c", script],
            cwd=PROJECT_ROOT,
            capture_output=True,
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "m")},
        )

    assert leave(0).returncode == 0
    assert leave(3).returncode == 3
    assert (tmp_path / "handled-0").exists() and (tmp_path / "handled-3").exists()
