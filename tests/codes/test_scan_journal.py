"""Scans answered 200 survive the death of the worker that answered them (the scan journal)."""

from __future__ import annotations

import http.client
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.auth.models import Role
from marketplace.codes import authenticity
from marketplace.codes import service as codes_service
from marketplace.codes.models import Code, CodeLevel, Scan, ScanDay, ScanJournalSegment
from marketplace.config import Settings
from marketplace.db import make_session_factory
from tests import factories
from tests.codes.test_fast_path import committed_database
from tests.conftest import free_port, gunicorn_server

SECRET = "journal-test"


def _workers(master_pid: int) -> list[int]:
    """The gunicorn master's children, from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master_pid:
                children.append(int(entry.name))
    return children


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_workers_killed_under_scan_load_lose_no_answered_scan_and_count_none_twice(tmp_path, kind):
    with committed_database(kind, tmp_path) as engine:
        url = engine.url.render_as_string(hide_password=False)
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET,
               "CODE_SIGNING_KEYS": "j1:am91cm5hbC10ZXN0LXNpZ25pbmcta2V5LTMyLWJ5dGVz",
               "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "SHANHAI_LOAD_DEMO": "0",
               "SHANHAI_INSTANCE_PATH": str(tmp_path), "PORT": str(port), "WEB_CONCURRENCY": "3",
               "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
               # Every scan from this one address must be answered, not refused.
               "RATE_LIMIT_SCANS": "1000000 per minute"}
        factory = make_session_factory(engine)
        with factory() as session:
            organisation = factories.make_organisation(session)
            user = factories.make_user(session, role=Role.COOPERATIVE, organisation=organisation)
            lot, sku = factories.make_coded_lot(session, cooperative=organisation)
            codes_service.mint_codes(session, actor=user, lot_id=lot.id, sku_id=sku.id,
                                     level=CodeLevel.UNIT, quantity=20,
                                     keys=Settings.from_env(env).signing_keys)
            session.commit()
            paths = [codes_service.code_uri(code, base_url="")
                     for code in session.scalars(sa.select(Code))]
        answered: list[str] = []
        unanswered: list[str] = []
        stop = threading.Event()

        def scan(thread: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            number = 0
            while not stop.is_set() and number < 5000:
                number += 1
                # A user agent of its own: each scan's stored fingerprint names the scan.
                agent = f"probe-{thread}-{number}"
                try:
                    connection.request("GET", paths[number % len(paths)],
                                       headers={"Accept": "application/json", "User-Agent": agent})
                    response = connection.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    unanswered.append(agent)  # its worker died under it: no answer came
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    continue
                (answered if response.status == 200 else unanswered).append(agent)
            connection.close()

        pid_file = tmp_path / "gunicorn.pid"
        log = tmp_path / "gunicorn.log"
        with log.open("w") as log_file, gunicorn_server(env, "--pid", str(pid_file),
                                                        stderr=log_file):
            threads = [threading.Thread(target=scan, args=(number,)) for number in range(6)]
            for thread in threads:
                thread.start()
            killed = []
            try:
                for _ in range(2):  # two workers, one after the other, each mid-load
                    time.sleep(1.5)
                    victim = _workers(int(pid_file.read_text()))[0]
                    os.kill(victim, signal.SIGKILL)
                    killed.append(victim)
                time.sleep(1.5)
            finally:
                stop.set()
                for thread in threads:
                    thread.join()
        assert len(killed) == 2 and len(answered) > 200
        # The killed workers' queued scans were written from their journals by live workers.
        assert "drained" in log.read_text()
        fingerprints = {authenticity.client_fingerprint(secret=SECRET, address="127.0.0.1",
                                                        user_agent=agent): agent
                        for agent in answered + unanswered}
        with factory() as session:
            stored = Counter(session.scalars(sa.select(Scan.client_fingerprint)))
            counted = session.scalar(sa.select(sa.func.sum(Code.scan_count)))
            per_day = session.scalar(sa.select(sa.func.sum(ScanDay.scans)))
            offsets_left = session.scalar(sa.select(sa.func.count()).select_from(ScanJournalSegment))
        lost = [agent for agent in answered
                if stored[authenticity.client_fingerprint(secret=SECRET, address="127.0.0.1",
                                                          user_agent=agent)] == 0]
        assert lost == [], f"{len(lost)} of {len(answered)} answered scans were lost"
        assert [fingerprints.get(f) for f, times in stored.items() if times > 1] == []
        assert set(stored) <= set(fingerprints)
        # The counters agree with the scans: nothing counted twice, nothing half-written.
        assert counted == per_day == sum(stored.values())
        # Stopped cleanly, the workers left no journal behind, and no offset of one.
        assert sorted(p.name for p in (tmp_path / "scan-journal").rglob("*.scans")) == []
        assert offsets_left == 0
