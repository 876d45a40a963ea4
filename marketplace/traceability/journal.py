"""The scan journal: a scan is appended to a file of its process before it is answered.

Scans are written to the database behind, in batches (`scans.ScanRecorder`); a worker
killed between answering a scan and writing its batch would lose it. So each process first
appends every scan it answers, one line, to a segment file of its own in the journal folder, with
one `os.write` on an O_APPEND descriptor: once the write returns, the kernel keeps the bytes
whatever becomes of the process (kill -9, an OOM kill, gunicorn's timeout). A power cut is
another matter: that would take an fsync per scan, which this path cannot afford.

While it lives, a process holds an exclusive `flock` on each of its segments; the kernel drops
the lock when the process dies, however it dies. A segment that nobody holds is therefore a dead
process's (or an unlinked one): a live recorder takes its lock and drains it into the database.

Offset/commit protocol. The table `scan_journal_segments` keeps, per segment, how many of its
bytes are in the database, and that offset is moved in the same transaction that writes those
scans, by a compare-and-set from the offset the batch starts at. A batch is therefore written
exactly once, whoever writes it and wherever a process stops: the transaction commits (offset
and scans both) or neither. A segment whose every byte is written is unlinked, and only then is
its row deleted; a crash between the two leaves a row and no file, which is harmless (names are
never reused), never a file without its offset.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import time
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.core.db import utcnow
from marketplace.traceability.models import ScanJournalSegment

logger = logging.getLogger("shanhai.codes")

SUFFIX = ".scans"
# A segment is closed and a new one begun beyond this size (about 30,000 scans).
SEGMENT_BYTES = 4 * 1024 * 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# A mapped class's table (declared as a FromClause, which has no insert()).
_SEGMENTS = cast(sa.Table, ScanJournalSegment.__table__)


class JournalConflict(RuntimeError):
    """A segment's offset in the database is not where this batch starts: someone else wrote it."""


def encode(code_id: int, unit: bool, scanned_at: datetime, place: str | None, fingerprint: str) -> bytes:
    """One scan as one line; none of its fields can hold a tab or a newline."""
    micros = (scanned_at - _EPOCH) // _MICROSECOND
    return f"{code_id}\t{1 if unit else 0}\t{micros}\t{place or ''}\t{fingerprint}\n".encode()


def decode(line: bytes) -> tuple[int, bool, datetime, str | None, str]:
    code_id, unit, micros, place, fingerprint = line.decode().split("\t")
    return (int(code_id), unit == "1", _EPOCH + int(micros) * _MICROSECOND, place or None, fingerprint)


@dataclass(eq=False)
class Segment:
    """One of this process's segment files, open for appending and locked."""

    name: str
    path: Path
    fd: int
    size: int = 0  # bytes appended
    written: int = 0  # bytes whose scans are in the database


@dataclass(eq=False)
class DeadSegment:
    """A segment left by a process that is gone, locked by this one for draining."""

    name: str
    path: Path
    fd: int

    def read(self, offset: int, limit: int) -> tuple[list[bytes], int]:
        """Up to `limit` whole lines from `offset`, and the offset after them. A last line
        without its newline is a write the process died in: its scan was never answered."""
        lines: list[bytes] = []
        end = offset
        while len(lines) < limit:
            chunk = os.pread(self.fd, 256 * 1024, end)
            cut = chunk.rfind(b"\n")
            if cut < 0:
                break
            for line in chunk[:cut].split(b"\n"):
                if len(lines) == limit:
                    break
                lines.append(line)
                end += len(line) + 1
        return lines, end

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@dataclass(eq=False)
class ScanJournal:
    """This process's segments in `folder`, and the dead ones it finds there."""

    folder: Path
    segment_bytes: int = SEGMENT_BYTES
    _segments: list[Segment] = field(default_factory=list)  # oldest first; the last is current
    _forget: list[str] = field(default_factory=list)  # unlinked segments whose rows remain
    _pid: int | None = None

    def append(self, line: bytes) -> None:
        """Append one scan's line; the caller serialises calls (the recorder's lock)."""
        segment = self._current()
        try:
            done = os.write(segment.fd, line)
        except OSError:
            os.ftruncate(segment.fd, segment.size)  # no torn line before the next one
            raise
        if done != len(line):  # a full disk: no scan is half kept
            os.ftruncate(segment.fd, segment.size)
            raise OSError(errno.ENOSPC, "the scan journal's disk is full", str(segment.path))
        segment.size += done

    def pending(self) -> dict[str, tuple[int, int]]:
        """Per segment with scans not yet written: (written, appended) offsets. Called under the
        same lock as `append`, together with taking the queued scans those bytes hold."""
        self._adopt()
        return {
            segment.name: (segment.written, segment.size)
            for segment in self._segments
            if segment.size > segment.written
        }

    def written(self, offsets: dict[str, tuple[int, int]]) -> None:
        """A transaction with these offsets committed: segments closed and wholly written go."""
        self._adopt()
        for segment in self._segments:
            if segment.name in offsets:
                segment.written = offsets[segment.name][1]
        current = self._segments[-1] if self._segments else None
        for segment in [s for s in self._segments if s is not current and s.written == s.size]:
            self._retire(segment.path, segment.fd, segment.name)
            self._segments.remove(segment)

    def take_forgotten(self) -> list[str]:
        self._adopt()
        names, self._forget = self._forget, []
        return names

    def give_back_forgotten(self, names: list[str]) -> None:
        self._forget[:0] = names

    def close(self) -> None:
        """At a clean exit, after the last write: every segment is written, so all go."""
        self._adopt()
        for segment in self._segments:
            if segment.written == segment.size:
                self._retire(segment.path, segment.fd, segment.name)
            else:
                os.close(segment.fd)  # unlocked: the next live recorder drains what is left
        self._segments = []

    def dead_segments(self) -> Iterator[DeadSegment]:
        """Segments no live process holds, each locked while the caller drains it."""
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            return
        self._adopt()
        mine = {segment.name for segment in self._segments}
        for entry in entries:
            if entry.name.startswith(".") and entry.name.endswith(".new"):
                _remove_if_abandoned(entry)
                continue
            if not entry.name.endswith(SUFFIX) or entry.name in mine:
                continue
            try:
                fd = os.open(entry.path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                # Still the file of that name? A drainer unlinks a segment before unlocking it.
                if os.stat(entry.path).st_ino != os.fstat(fd).st_ino:
                    raise FileNotFoundError(entry.path)
            except OSError:  # held by a live process, or gone meanwhile
                os.close(fd)
                continue
            yield DeadSegment(entry.name, Path(entry.path), fd)

    def retire(self, dead: DeadSegment) -> None:
        """A dead segment wholly written: unlinked, then its row forgotten."""
        fd, dead.fd = dead.fd, -1
        self._retire(dead.path, fd, dead.name)

    def _retire(self, path: Path, fd: int, name: str) -> None:
        try:
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)
        self._forget.append(name)

    def _adopt(self) -> None:
        if self._pid != os.getpid():
            # A fork's copy: the parent's segments (and their locks) stay the parent's.
            for segment in self._segments:
                os.close(segment.fd)
            self._segments, self._forget, self._pid = [], [], os.getpid()

    def _current(self) -> Segment:
        self._adopt()
        if not self._segments or self._segments[-1].size >= self.segment_bytes:
            self._segments.append(self._open())
        return self._segments[-1]

    def _open(self) -> Segment:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{os.getpid()}-{uuid.uuid4().hex}{SUFFIX}"
        # Made and locked under a name drainers ignore, then renamed: no drainer ever sees it
        # unlocked (the lock belongs to the file, and stays across the rename).
        hidden = self.folder / f".{name}.new"
        fd = os.open(hidden, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(hidden, self.folder / name)
        except BaseException:
            os.close(fd)
            hidden.unlink(missing_ok=True)
            raise
        return Segment(name, self.folder / name, fd)


def _remove_if_abandoned(entry: os.DirEntry) -> None:
    """A segment being made whose maker died before naming it: it holds no scan."""
    try:
        if time.time() - entry.stat().st_mtime < 60:
            return  # perhaps still being made
        fd = os.open(entry.path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.unlink(entry.path)
    except OSError:
        pass
    finally:
        os.close(fd)


def written_offset(session: Session, name: str) -> int:
    """How many of a segment's bytes are in the database (0 for one never written)."""
    return session.scalar(sa.select(_SEGMENTS.c.written_bytes).where(_SEGMENTS.c.name == name)) or 0


def record_offsets(
    session: Session, offsets: dict[str, tuple[int, int]], forget: Collection[str] = ()
) -> None:
    """Move each segment's offset from its batch's start to its end, in the caller's
    transaction; `JournalConflict` (the caller rolls back) when it is not at the start."""
    now = utcnow()
    for name, (start, end) in sorted(offsets.items()):
        if start == 0:
            # Its first batch: a row already there (someone wrote it) fails the insert.
            try:
                session.execute(_SEGMENTS.insert().values(name=name, written_bytes=end, updated_at=now))
            except sa.exc.IntegrityError as error:
                raise JournalConflict(f"segment {name} was written by another process") from error
            continue
        moved = (
            session.connection()
            .execute(
                _SEGMENTS.update()
                .where(_SEGMENTS.c.name == name, _SEGMENTS.c.written_bytes == start)
                .values(written_bytes=end, updated_at=now)
            )
            .rowcount
        )
        if moved != 1:
            raise JournalConflict(f"segment {name} is not at offset {start}")
    if forget:
        session.execute(_SEGMENTS.delete().where(_SEGMENTS.c.name.in_(sorted(forget))))
