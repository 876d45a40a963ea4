"""A backup taken while writes are running restores to a consistent database."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from marketplace.core import migrations as schema
from marketplace.core.backup import BackupError, backup_sqlite, restore_sqlite
from marketplace.core.db import make_engine, make_session_factory, unit_of_work
from marketplace.parties.models import Organisation, OrganisationKind, Village


def write_pairs(factory, stop: threading.Event, written: list[int]) -> None:
    """Each transaction adds a village and an organisation in it: a torn copy would split them."""
    n = 0
    while not stop.is_set():
        n += 1
        with unit_of_work(factory) as session:
            village = Village(
                name_zh=f"备份村{n}",
                name_en=f"Backup {n}",
                township_zh="镇",
                township_en="Town",
                county_zh="区",
                county_en="County",
                latitude=30,
                longitude=120,
                baseline_income_fen=1,
                baseline_year=2024,
            )
            session.add(village)
            session.flush()
            session.add(
                Organisation(
                    kind=OrganisationKind.COOPERATIVE,
                    name_zh=f"备份社{n}",
                    name_en=f"Backup {n}",
                    village_id=village.id,
                )
            )
        written.append(n)


def counts(engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            connection.scalar(sa.select(sa.func.count()).select_from(Village)),
            connection.scalar(sa.select(sa.func.count()).select_from(Organisation)),
        )


def test_a_backup_taken_during_writes_restores_consistently(tmp_path):
    live = make_engine(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    schema.upgrade(live)
    factory = make_session_factory(live)
    stop, written = threading.Event(), []
    writer = threading.Thread(target=write_pairs, args=(factory, stop, written))
    writer.start()
    try:
        while len(written) < 20:
            stop.wait(0.01)
        before_backup = len(written)
        backup_sqlite(live, tmp_path / "backup.sqlite3")
        after_backup = len(written)
        while len(written) < after_backup + 20:
            stop.wait(0.01)
    finally:
        stop.set()
        writer.join()

    restored = make_engine(f"sqlite:///{tmp_path / 'restored.sqlite3'}")
    restore_sqlite(restored, tmp_path / "backup.sqlite3")
    villages, organisations = counts(restored)
    assert villages == organisations
    # A commit lands a moment before the writer counts it, hence the + 1.
    assert before_backup <= villages <= after_backup + 1 < len(written)
    with restored.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert schema.current_revision(connection) == schema.head_revision()
    assert counts(live) == (len(written), len(written))


def test_a_damaged_backup_is_refused_and_nothing_is_replaced(tmp_path):
    live = make_engine(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    schema.upgrade(live)
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    with pytest.raises(BackupError):
        restore_sqlite(live, damaged)
    with live.connect() as connection:
        assert schema.current_revision(connection) == schema.head_revision()


def test_backups_never_overwrite_an_existing_file(tmp_path):
    live = make_engine(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    schema.upgrade(live)
    (tmp_path / "taken.sqlite3").write_text("precious")
    with pytest.raises(BackupError, match="already exists"):
        backup_sqlite(live, tmp_path / "taken.sqlite3")
    assert (tmp_path / "taken.sqlite3").read_text() == "precious"
