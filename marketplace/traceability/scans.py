"""Scans: count each scan of a genuine code, keep the per-village days, flag copies.

Recording a scan (the scan row, the code's counters and the copy check) is done by
`apply_scans`, either at once in the request's transaction or, in production, by a
`ScanRecorder` that writes the scans of the last half second in one transaction: a region
scanning at once must not queue on a write lock per scan. Before a queued scan is answered it is
appended to its process's scan journal (`journal`), from which the scans of a process killed
before its write are drained.
"""

from __future__ import annotations

import atexit
import functools
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog.models import Lot
from marketplace.core.db import insert_on_conflict, utcnow
from marketplace.traceability import journal
from marketplace.traceability.authenticity import ScanResult, Verdict, check, find_code
from marketplace.traceability.journal import DeadSegment, ScanJournal
from marketplace.traceability.models import Code, CodeLevel, Scan, ScanDay

logger = logging.getLogger("shanhai.codes")


@dataclass(frozen=True)
class Thresholds:
    scan_count: int = 20
    distinct_places: int = 3
    place_window: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class ScanRecord:
    code_id: int
    unit: bool
    scanned_at: datetime
    place: str | None
    fingerprint: str


def client_fingerprint(*, secret: str, address: str, user_agent: str) -> str:
    """A keyed hash of the client: tells repeat scanners apart without keeping an address."""
    material = f"{address}\n{user_agent}".encode()
    return hmac.digest(secret.encode(), material, "sha256").hex()[:32]


def coarse_place(latitude: str | None, longitude: str | None) -> str | None:
    """A tenth of a degree (about 10 km): enough to see copies spread, not to find a person."""
    if latitude is None or longitude is None:
        return None
    try:
        lat, lon = float(latitude), float(longitude)
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return f"{lat:.1f},{lon:.1f}"


# A mapped class's table (declared as a FromClause, which has no update()).
_CODES = cast(sa.Table, Code.__table__)
_WHEN = _CODES.c.last_scanned_at.type
_BUMP_COUNTERS = (
    _CODES.update()
    .where(_CODES.c.id == sa.bindparam("code_id"))
    .values(
        scan_count=_CODES.c.scan_count + sa.bindparam("added"),
        first_scanned_at=sa.func.coalesce(_CODES.c.first_scanned_at, sa.bindparam("first", type_=_WHEN)),
        last_scanned_at=sa.bindparam("last", type_=_WHEN),
    )
)

_FLAG_COPY = (
    _CODES.update()
    .where(_CODES.c.id == sa.bindparam("code_id"))
    .values(suspected_copy_at=sa.bindparam("at", type_=_WHEN), suspected_copy_reason=sa.bindparam("reason"))
)


def scan(
    session: Session,
    *,
    path_and_query: str,
    keys,
    thresholds: Thresholds,
    zone: ZoneInfo,
    fingerprint: str,
    place: str | None = None,
    record: bool = True,
    recorder: ScanRecorder | None = None,
) -> ScanResult:
    """Check a code and, when it is genuine and `record` holds, count this scan."""
    result = check(session, path_and_query=path_and_query, keys=keys)
    if record:
        count_scan(
            session,
            result,
            thresholds=thresholds,
            zone=zone,
            fingerprint=fingerprint,
            place=place,
            recorder=recorder,
        )
    return result


def count_scan(
    session: Session | None,
    result: ScanResult,
    *,
    thresholds: Thresholds,
    zone: ZoneInfo,
    fingerprint: str,
    place: str | None = None,
    recorder: ScanRecorder | None = None,
) -> None:
    """Count a checked scan of a genuine code and bring its verdict up to date.

    Without a recorder the scan is written in `session` at once; with one it is queued (no
    session needed) and the verdict adds the scans this process has not written yet.
    """
    if result.code is None:
        return
    code = result.code
    entry = ScanRecord(code.id, code.level is CodeLevel.UNIT, utcnow(), place, fingerprint)
    verdict = result.verdict
    if recorder is None:
        if session is None:
            raise ValueError("a scan written at once needs a session")
        flags = apply_scans(session, [entry], thresholds=thresholds, zone=zone)
        row = find_code(session, result.link.identifier)
        assert row is not None  # it was read for this scan, and codes are never deleted
        reason = flags.get(code.id) or row.suspected_copy_reason
        result.verdict = Verdict(
            "suspected_copy" if row.suspected_copy_at else "genuine",
            reason or "signature verified",
            row.first_scanned_at,
            row.scan_count,
        )
        return
    pending_count, pending_first = recorder.add(entry)
    count = verdict.scan_count + pending_count
    first = verdict.first_scanned_at or pending_first
    status, reason = verdict.status, verdict.reason
    if status == "genuine" and entry.unit and count > thresholds.scan_count:
        status, reason = "suspected_copy", f"scanned {count} times, more than {thresholds.scan_count}"
    result.verdict = Verdict(status, reason, first, count)


def apply_scans(
    session: Session, records: list[ScanRecord], *, thresholds: Thresholds, zone: ZoneInfo
) -> dict[int, str]:
    """Write scans, bump each code's counters once, count them per village and local day, and
    flag unit codes that look copied.

    Returns the reasons of the codes flagged now. Only flushes: the caller owns the commit.
    """
    if not records:
        return {}
    session.connection().execute(
        sa.insert(Scan),
        [
            {
                "code_id": r.code_id,
                "scanned_at": r.scanned_at,
                "place": r.place,
                "client_fingerprint": r.fingerprint,
                "genuine": True,
            }
            for r in records
        ],
    )
    per_code: dict[int, list[ScanRecord]] = {}
    for record in records:
        per_code.setdefault(record.code_id, []).append(record)
    code_ids = sorted(per_code)
    # One statement run for every code, in id order (two writers never wait on each other's
    # rows in opposite orders), then one read of the new counters per 900 codes.
    session.connection().execute(
        _BUMP_COUNTERS,
        [
            {
                "code_id": code_id,
                "added": len(per_code[code_id]),
                "first": per_code[code_id][0].scanned_at,
                "last": per_code[code_id][-1].scanned_at,
            }
            for code_id in code_ids
        ],
    )
    counters: dict[int, sa.Row[int, int, datetime | None, int]] = {}
    for start in range(0, len(code_ids), 900):
        counters.update(
            (row.id, row)
            for row in session.connection().execute(
                sa.select(Code.id, Code.scan_count, Code.suspected_copy_at, Code.lot_id).where(
                    Code.id.in_(code_ids[start : start + 900])
                )
            )
        )
    flagged: dict[int, str] = {}
    lots: dict[int, list[ScanRecord]] = {}
    first_scans: dict[int, list[ScanRecord]] = {}
    flags: list[dict] = []
    for code_id in code_ids:
        scans = per_code[code_id]
        _, count, already_flagged, lot_id = counters[code_id]
        lots.setdefault(lot_id, []).extend(scans)
        if count == len(scans):
            first_scans.setdefault(lot_id, []).append(scans[0])
        if not scans[0].unit or already_flagged is not None:
            continue
        last = scans[-1].scanned_at
        reason = _copy_reason(
            session,
            code_id=code_id,
            count=count,
            now=last,
            any_place=any(s.place for s in scans),
            thresholds=thresholds,
        )
        if reason:
            flags.append({"code_id": code_id, "at": last, "reason": reason})
            flagged[code_id] = reason
    if flags:  # one statement for all of them: a copied label can flag thousands at once
        session.connection().execute(_FLAG_COPY, flags)
    _count_scan_days(session, lots, first_scans, zone)
    session.flush()
    return flagged


def _count_scan_days(
    session: Session,
    lots: dict[int, list[ScanRecord]],
    first_scans: dict[int, list[ScanRecord]],
    zone: ZoneInfo,
) -> None:
    villages = dict(session.execute(sa.select(Lot.id, Lot.village_id).where(Lot.id.in_(sorted(lots)))).all())
    days: dict[tuple[int, date], list[int]] = {}
    for counted, column in ((lots, 0), (first_scans, 1)):
        for lot_id, scans in counted.items():
            for record in scans:
                key = (villages[lot_id], record.scanned_at.astimezone(zone).date())
                days.setdefault(key, [0, 0])[column] += 1
    statement = insert_on_conflict(session, ScanDay)
    statement = statement.on_conflict_do_update(
        index_elements=[ScanDay.village_id, ScanDay.day],
        set_={
            "scans": ScanDay.scans + statement.excluded.scans,
            "codes_first_scanned": ScanDay.codes_first_scanned + statement.excluded.codes_first_scanned,
        },
    )
    # In key order, so that two writers never wait on each other's rows in opposite orders.
    session.execute(
        statement,
        [
            {"village_id": village_id, "day": day, "scans": scans, "codes_first_scanned": first}
            for (village_id, day), (scans, first) in sorted(days.items())
        ],
    )


def local_date(session: Session, column, zone: ZoneInfo):
    """The local calendar day of a UTC timestamp column, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.timezone(zone.key, column), sa.Date)
    # SQLite has no zone database; our zones keep one offset all year (Asia/Shanghai: +8 h).
    offset = datetime.now(zone).utcoffset() or timedelta()
    hours = int(offset.total_seconds() // 3600)
    return sa.type_coerce(sa.func.date(column, f"{hours:+d} hours"), sa.Date)


def rebuild_scan_days(session: Session, *, zone: ZoneInfo) -> int:
    """Recount every village's scans per day from the scans themselves; returns the rows written.

    For repair and for data loaded in bulk: `apply_scans` keeps the counts current otherwise.
    """
    session.execute(sa.delete(ScanDay))
    scan_day = local_date(session, Scan.scanned_at, zone).label("day")
    scans = (
        sa.select(Lot.village_id, scan_day, sa.func.count().label("scans"))
        .join(Code, Code.id == Scan.code_id)
        .join(Lot, Lot.id == Code.lot_id)
        .where(Scan.genuine.is_(True))
        .group_by(Lot.village_id, scan_day)
    ).subquery()
    first_day = local_date(session, Code.first_scanned_at, zone).label("day")
    firsts = {
        (village_id, day): count
        for village_id, day, count in session.execute(
            sa.select(Lot.village_id, first_day, sa.func.count())
            .join(Lot, Lot.id == Code.lot_id)
            .where(Code.first_scanned_at.is_not(None))
            .group_by(Lot.village_id, first_day)
        )
    }
    rows = [
        {
            "village_id": village_id,
            "day": day,
            "scans": count,
            "codes_first_scanned": firsts.get((village_id, day), 0),
        }
        for village_id, day, count in session.execute(sa.select(scans))
    ]
    for start in range(0, len(rows), 5000):
        session.execute(sa.insert(ScanDay), rows[start : start + 5000])
    session.flush()
    return len(rows)


def _copy_reason(
    session: Session, *, code_id: int, count: int, now: datetime, any_place: bool, thresholds: Thresholds
) -> str | None:
    if count > thresholds.scan_count:
        return f"scanned {count} times, more than {thresholds.scan_count}"
    if not any_place:
        return None
    places = (
        session.scalar(
            sa.select(sa.func.count(sa.distinct(Scan.place))).where(
                Scan.code_id == code_id,
                Scan.place.is_not(None),
                Scan.scanned_at >= now - thresholds.place_window,
            )
        )
        or 0
    )
    if places > thresholds.distinct_places:
        hours = int(thresholds.place_window.total_seconds() // 3600)
        return f"scanned in {places} places within {hours} h, more than {thresholds.distinct_places}"
    return None


@dataclass
class ScanRecorder:
    """Queues this process's scans and writes them together, at most `interval` seconds late.

    `write(records)` runs `apply_scans` in a transaction of its own; a failed write is logged
    and its scans are put back, so that a busy database delays counts but loses none.

    With a `journal` each scan is also appended to this process's journal file before `add`
    returns (before the scan is answered), and `write(records, then)` must run `then(session)`
    in the same transaction: it moves the journal's offsets, so that the scans of a process
    killed before its write are drained from its file by a live recorder, once (see
    `journal`). The recorder's thread drains such files when it starts and every
    `sweep_interval` seconds.
    """

    write: Callable[..., None]
    interval: float = 0.5
    max_batch: int = 2000
    journal: ScanJournal | None = None
    sweep_interval: float | None = 5.0  # None: the thread never drains; call `drain`
    _pending: list[ScanRecord] = field(default_factory=list)
    _per_code: dict[int, tuple[int, datetime]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # One write at a time: a batch's journal offsets must match the scans it holds.
    _writing: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _pid: int | None = None

    def add(self, record: ScanRecord) -> tuple[int, datetime | None]:
        """Queue a scan; returns how many of this code's scans are queued and the first one's time.

        With a journal, the scan is in this process's journal file when this returns (an
        OSError, such as a full disk, queues nothing)."""
        self._ensure_thread()
        scan_journal = self.journal
        line = None if scan_journal is None else encode_scan(record)
        with self._lock:
            if scan_journal is not None and line is not None:
                scan_journal.append(line)
            self._pending.append(record)
            count, first = self._per_code.get(record.code_id, (0, record.scanned_at))
            self._per_code[record.code_id] = (count + 1, first)
            if len(self._pending) >= self.max_batch:
                self._wake.set()
        return count + 1, first

    def start(self) -> None:
        """Start this process's writer thread now (it drains dead processes' journals first)."""
        self._ensure_thread()

    def flush(self) -> None:
        with self._writing:
            with self._lock:
                batch, self._pending = self._pending, []
                counts, self._per_code = self._per_code, {}
                offsets = self.journal.pending() if self.journal is not None else {}
                forget = self.journal.take_forgotten() if self.journal is not None else []
            if not batch and not forget:
                return
            try:
                if self.journal is None:
                    self.write(batch)
                else:
                    self.write(
                        batch, functools.partial(journal.record_offsets, offsets=offsets, forget=forget)
                    )
            except Exception:
                logger.exception("writing %d scans failed; they are retried", len(batch))
                with self._lock:
                    self._pending[:0] = batch
                    for code_id, (count, first) in counts.items():
                        later, _ = self._per_code.get(code_id, (0, first))
                        self._per_code[code_id] = (count + later, first)
                    if self.journal is not None:
                        self.journal.give_back_forgotten(forget)
                return
            if self.journal is not None:
                with self._lock:
                    self.journal.written(offsets)

    def drain(self) -> int:
        """Write the scans in journal files of processes that are gone; returns how many."""
        if self.journal is None:
            return 0
        drained = 0
        with self._writing:
            for dead in self.journal.dead_segments():
                try:
                    drained += self._drain(self.journal, dead)
                except Exception:
                    logger.exception("draining the scan journal %s failed; it is retried", dead.name)
                    dead.close()
        return drained

    def _drain(self, scan_journal: ScanJournal, dead: DeadSegment) -> int:
        found: list[int] = []
        self.write([], lambda session: found.append(journal.written_offset(session, dead.name)))
        offset, drained = found[0], 0
        while True:
            lines, end = dead.read(offset, self.max_batch)
            if end == offset:
                break
            records = []
            for line in lines:
                try:
                    records.append(ScanRecord(*journal.decode(line)))
                except ValueError:
                    logger.error("a line of the scan journal %s is unreadable: %r", dead.name, line)
            self.write(records, functools.partial(journal.record_offsets, offsets={dead.name: (offset, end)}))
            offset, drained = end, drained + len(records)
        with self._lock:
            scan_journal.retire(dead)
        if drained:
            logger.info("drained %d scans from the scan journal %s", drained, dead.name)
        return drained

    def close(self) -> None:
        """At a clean exit: write what is queued, then let this process's journal files go."""
        self.flush()
        if self.journal is None or self._pid != os.getpid():
            return
        self.drain()
        with self._lock:
            self.journal.close()
        self.flush()  # forgets the rows of the files just removed

    def _ensure_thread(self) -> None:
        # gunicorn forks workers after the app is built: each process needs its own thread.
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is not None and self._pid == os.getpid():
                return
            if self._pid is not None:
                # A fork's copy of its parent's queue: those scans are the parent's to write.
                self._pending, self._per_code = [], {}
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="scan-recorder", daemon=True)
            self._thread.start()
            atexit.register(self.close)

    def _run(self) -> None:
        every = self.sweep_interval
        sweep = time.monotonic()
        while True:
            if self.journal is not None and every is not None and time.monotonic() >= sweep:
                sweep = time.monotonic() + every
                try:
                    self.drain()
                except Exception:
                    logger.exception("looking for scan journals to drain failed")
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()


def encode_scan(record: ScanRecord) -> bytes:
    return journal.encode(record.code_id, record.unit, record.scanned_at, record.place, record.fingerprint)
