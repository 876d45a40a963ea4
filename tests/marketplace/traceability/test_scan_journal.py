"""Scans answered 200 survive the death of the worker that answered them (the scan journal)."""

from __future__ import annotations

import functools
import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from marketplace.core import db
from marketplace.core.config import PROJECT_ROOT, Settings
from marketplace.core.db import make_session_factory
from marketplace.traceability import journal, scans
from marketplace.traceability import service as codes_service
from marketplace.traceability.journal import ScanJournal
from marketplace.traceability.models import Code, CodeLevel, Scan, ScanDay, ScanJournalSegment
from marketplace.traceability.scans import Thresholds
from tests import factories
from tests.conftest import gunicorn_server, server_environment
from tests.marketplace.traceability.test_fast_path import committed_database

SECRET = "journal-test"
ZONE = ZoneInfo("Asia/Shanghai")


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
        env = server_environment(
            tmp_path,
            engine.url.render_as_string(hide_password=False),
            SECRET_KEY=SECRET,
            CODE_SIGNING_KEYS="j1:am91cm5hbC10ZXN0LXNpZ25pbmcta2V5LTMyLWJ5dGVz",
            WEB_CONCURRENCY="3",
            # Every scan from this one address must be answered, not refused.
            RATE_LIMIT_SCANS="1000000 per minute",
        )
        port = int(env["PORT"])
        factory = make_session_factory(engine)
        with factory() as session:
            paths = factories.make_unit_code_paths(
                session, quantity=20, keys=Settings.from_env(env).signing_keys
            )
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
                    connection.request(
                        "GET",
                        paths[number % len(paths)],
                        headers={"Accept": "application/json", "User-Agent": agent},
                    )
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
        with log.open("w") as log_file, gunicorn_server(env, "--pid", str(pid_file), stderr=log_file):
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
        fingerprints = {
            scans.client_fingerprint(secret=SECRET, address="127.0.0.1", user_agent=agent): agent
            for agent in answered + unanswered
        }
        with factory() as session:
            stored = Counter(session.scalars(sa.select(Scan.client_fingerprint)))
            counted = session.scalar(sa.select(sa.func.sum(Code.scan_count)))
            per_day = session.scalar(sa.select(sa.func.sum(ScanDay.scans)))
            offsets_left = session.scalar(sa.select(sa.func.count()).select_from(ScanJournalSegment))
        lost = [
            agent
            for agent in answered
            if stored[scans.client_fingerprint(secret=SECRET, address="127.0.0.1", user_agent=agent)] == 0
        ]
        assert lost == [], f"{len(lost)} of {len(answered)} answered scans were lost"
        assert [fingerprints.get(f) for f, times in stored.items() if times > 1] == []
        assert set(stored) <= set(fingerprints)
        # The counters agree with the scans: nothing counted twice, nothing half-written.
        assert counted == per_day == sum(stored.values())
        # Stopped cleanly, the workers left no journal behind, and no offset of one.
        assert sorted(p.name for p in (tmp_path / "scan-journal").rglob("*.scans")) == []
        assert offsets_left == 0


# A process that journals scans and is killed (SIGKILL) before writing any of them; its last
# write is cut short, as a write the process died in would be.
DYING_PROCESS = """
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from marketplace.traceability import journal
scans = journal.ScanJournal(Path(sys.argv[1]))
for number in range(int(sys.argv[3])):
    scans.append(journal.encode(int(sys.argv[2]), True, datetime.now(UTC), "30.2,120.1",
                                f"dead-{number}"))
os.write(scans._segments[-1].fd, sys.argv[2].encode() + b"\\t1\\t17")
os.kill(os.getpid(), signal.SIGKILL)
"""


class Killed(Exception):
    """Stands for the death of the process at that point: the drainer's lock goes with it."""


def journal_writer(session_factory, crash: str | None = None, calls: list | None = None):
    """The recorder's `write` as the app builds it, able to die at one point of a drain."""
    calls = [] if calls is None else calls

    def write(records, then=None):
        calls.append(len(records))
        with db.unit_of_work(session_factory) as session:
            scans.apply_scans(session, records, thresholds=Thresholds(), zone=ZONE)
            if records and crash == "between the scans and their offset":
                raise Killed
            if records and crash == "in the second batch" and len([c for c in calls if c]) == 2:
                raise Killed
            if then is not None:
                then(session)
        if records and crash == "between the commit and the unlink":
            raise Killed

    return write


def dead_segment(folder: Path, code_id: int, scans: int) -> Path:
    died = subprocess.run(
        [sys.executable, "-c", DYING_PROCESS, str(folder), str(code_id), str(scans)], cwd=PROJECT_ROOT
    )
    assert died.returncode == -signal.SIGKILL
    (segment,) = folder.glob("*.scans")
    return segment


def scans_of(session, code_id: int) -> Counter:
    session.expire_all()
    return Counter(session.scalars(sa.select(Scan.client_fingerprint).where(Scan.code_id == code_id)))


@pytest.fixture
def unit_code(session, callers):
    lot, sku = factories.make_coded_lot(session, cooperative=callers.cooperative.organisation)
    codes_service.mint_codes(
        session,
        actor=callers.cooperative.user,
        lot_id=lot.id,
        sku_id=sku.id,
        level=CodeLevel.UNIT,
        quantity=1,
        keys=factories.SIGNING_KEYS,
    )
    session.flush()
    return session.scalar(sa.select(Code).where(Code.lot_id == lot.id))


@pytest.mark.parametrize(
    "crash",
    ["between the scans and their offset", "between the commit and the unlink", "in the second batch"],
)
def test_a_dead_process_s_scans_are_drained_once_even_when_a_drainer_dies_midway(
    session, session_factory, unit_code, tmp_path, crash
):
    folder = tmp_path / "journal"
    segment = dead_segment(folder, unit_code.id, 5)
    first = scans.ScanRecorder(
        write=journal_writer(session_factory, crash),
        max_batch=2 if crash == "in the second batch" else 10,
        journal=ScanJournal(folder),
    )
    first.drain()  # dies where `crash` says; its lock on the file goes with it
    assert segment.exists()
    written_before = sum(scans_of(session, unit_code.id).values())
    assert (
        written_before
        == {
            "between the scans and their offset": 0,
            "between the commit and the unlink": 5,
            "in the second batch": 2,
        }[crash]
    )
    calls: list[int] = []
    second = scans.ScanRecorder(
        write=journal_writer(session_factory, calls=calls), max_batch=2, journal=ScanJournal(folder)
    )
    assert second.drain() == 5 - written_before
    # Every scan the dead process answered is written, once; its torn last line never was one.
    assert scans_of(session, unit_code.id) == Counter(f"dead-{number}" for number in range(5))
    assert session.get(Code, unit_code.id).scan_count == 5
    assert session.scalar(sa.select(sa.func.sum(ScanDay.scans))) == 5
    assert not segment.exists()
    second.flush()  # the file went first; its offset goes with the next write
    assert session.scalar(sa.select(sa.func.count()).select_from(ScanJournalSegment)) == 0
    assert second.drain() == 0


def test_a_live_process_s_journal_is_left_to_it_and_an_offset_moves_only_from_where_it_is(
    session, session_factory, unit_code, tmp_path
):
    folder = tmp_path / "journal"
    record = scans.ScanRecord(unit_code.id, True, datetime.now(UTC), None, "live")
    live = scans.ScanRecorder(
        write=journal_writer(session_factory), interval=3600, sweep_interval=None, journal=ScanJournal(folder)
    )
    live.add(record)
    live.add(record)
    (segment,) = folder.glob("*.scans")
    # On disk when add returns, that is before the scan is answered.
    assert segment.read_bytes().count(b"\tlive\n") == 2
    other = scans.ScanRecorder(write=journal_writer(session_factory), journal=ScanJournal(folder))
    assert other.drain() == 0 and segment.exists()
    size = segment.stat().st_size
    # A batch claiming bytes someone else wrote is refused, scans and all.
    write = journal_writer(session_factory)
    with pytest.raises(journal.JournalConflict):
        write([record], functools.partial(journal.record_offsets, offsets={segment.name: (size // 2, size)}))
    assert scans_of(session, unit_code.id) == Counter()
    live.flush()
    assert scans_of(session, unit_code.id) == Counter({"live": 2})
    with pytest.raises(journal.JournalConflict):
        write([record], functools.partial(journal.record_offsets, offsets={segment.name: (0, size)}))
    assert session.get(Code, unit_code.id).scan_count == 2
    assert other.drain() == 0
    live.close()
    assert not segment.exists()
    assert session.scalar(sa.select(sa.func.count()).select_from(ScanJournalSegment)) == 0


def test_a_journal_moves_to_a_new_file_as_it_grows_and_a_failed_write_keeps_its_offsets(
    session, session_factory, unit_code, tmp_path
):
    folder = tmp_path / "journal"
    calls: list[int] = []
    write = journal_writer(session_factory, calls=calls)

    def fails_once(records, then=None):
        if not calls:
            calls.append(-1)
            raise RuntimeError("database is locked")
        write(records, then)

    records = [
        scans.ScanRecord(unit_code.id, True, datetime.now(UTC), None, f"grow-{number}") for number in range(7)
    ]
    line = len(scans.encode_scan(records[0]))
    recorder = scans.ScanRecorder(
        write=fails_once,
        interval=3600,
        sweep_interval=None,
        journal=ScanJournal(folder, segment_bytes=2 * line),
    )
    for record in records[:6]:  # two lines a file: three files
        recorder.add(record)
    assert len(list(folder.glob("*.scans"))) == 3
    recorder.flush()  # fails: everything stays, files and queue
    assert len(list(folder.glob("*.scans"))) == 3 and scans_of(session, unit_code.id) == Counter()
    recorder.flush()
    # Written: the two full files go; the one still appended to stays.
    assert scans_of(session, unit_code.id) == Counter(f"grow-{number}" for number in range(6))
    assert len(list(folder.glob("*.scans"))) == 1
    recorder.add(records[6])
    recorder.close()
    assert list(folder.glob("*.scans")) == []
    assert sum(scans_of(session, unit_code.id).values()) == 7
    assert session.scalar(sa.select(sa.func.count()).select_from(ScanJournalSegment)) == 0
