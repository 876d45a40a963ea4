"""Authenticity: read a scanned Digital Link, check its signature, count scans, flag copies."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.codes import digital_link, signing
from marketplace.codes.errors import MalformedDigitalLink
from marketplace.codes.models import Code, CodeLevel, Scan
from marketplace.codes.service import SIGNATURE_PARAMETER, find_code
from marketplace.db import utcnow


@dataclass(frozen=True)
class Thresholds:
    scan_count: int = 20
    distinct_places: int = 3
    place_window: timedelta = timedelta(hours=24)


@dataclass
class Verdict:
    status: str  # genuine | suspected_copy | not_genuine
    reason: str
    first_scanned_at: datetime | None = None
    scan_count: int = 0

    @property
    def genuine(self) -> bool:
        return self.status != "not_genuine"


@dataclass
class ScanResult:
    link: digital_link.DigitalLink
    verdict: Verdict
    code: Code | None = None
    extra: dict = field(default_factory=dict)


def client_fingerprint(*, secret: str, address: str, user_agent: str) -> str:
    """A keyed hash of the client: tells repeat scanners apart without keeping an address."""
    material = f"{address}\n{user_agent}".encode()
    return hmac.new(secret.encode(), material, hashlib.sha256).hexdigest()[:32]


def coarse_place(latitude: str | None, longitude: str | None) -> str | None:
    """A tenth of a degree (about 10 km): enough to see copies spread, not to find a person."""
    try:
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return f"{lat:.1f},{lon:.1f}"


def verify_uri(uri: str, *, base_url: str, keys) -> bool:
    """Is this whole URI a code we signed, on our own host? Any malformed URI is not."""
    try:
        link = digital_link.parse(uri)
    except MalformedDigitalLink:
        return False
    if not uri.startswith(base_url.rstrip("/") + "/01/"):
        return False
    return signing.verify(link.element_string(), link.parameters.get(SIGNATURE_PARAMETER), keys)


def check(session: Session, *, path_and_query: str, keys) -> ScanResult:
    """Read a scanned path; the verdict says whether it is a code we minted and signed."""
    link = digital_link.parse_path(path_and_query)
    code = find_code(session, identifier=link.identifier)
    if code is None:
        return ScanResult(link, Verdict("not_genuine", "no such code was ever issued"))
    if not _signed(link, keys):
        return ScanResult(link, Verdict("not_genuine", "the code's signature does not match"))
    status = "suspected_copy" if code.suspected_copy_at else "genuine"
    return ScanResult(link, Verdict(status, code.suspected_copy_reason or "signature verified",
                                    code.first_scanned_at, code.scan_count), code)


def _signed(link: digital_link.DigitalLink, keys) -> bool:
    return signing.verify(link.element_string(), link.parameters.get(SIGNATURE_PARAMETER), keys)


def scan(session: Session, *, path_and_query: str, keys, thresholds: Thresholds,
         fingerprint: str, place: str | None = None, record: bool = True) -> ScanResult:
    """Check a code and, when it is genuine and `record` holds, count this scan.

    The signature is checked before the database is touched, and the counter update is the
    transaction's first statement: on SQLite a transaction that reads first and writes later
    cannot wait for the write lock, so under load it would fail instead of queueing.
    """
    link = digital_link.parse_path(path_and_query)
    if not record or not _signed(link, keys):
        return check(session, path_and_query=path_and_query, keys=keys)
    now = utcnow()
    counted = session.execute(
        sa.update(Code).where(Code.identifier == link.identifier)
        .values(scan_count=Code.scan_count + 1,
                first_scanned_at=sa.func.coalesce(Code.first_scanned_at, now),
                last_scanned_at=now)
        .returning(Code.id, Code.scan_count, Code.first_scanned_at)
        .execution_options(synchronize_session=False)).first()
    if counted is None:
        return ScanResult(link, Verdict("not_genuine", "no such code was ever issued"))
    code_id, count, first = counted
    session.add(Scan(code_id=code_id, scanned_at=now, place=place, client_fingerprint=fingerprint,
                     genuine=True))
    code = session.get(Code, code_id, populate_existing=True)
    reason = code.suspected_copy_reason
    if code.level is CodeLevel.UNIT and code.suspected_copy_at is None:
        reason = _copy_reason(session, code=code, count=count, place=place, now=now,
                              thresholds=thresholds)
        if reason:
            code.suspected_copy_at, code.suspected_copy_reason = now, reason
    session.flush()
    status = "suspected_copy" if reason else "genuine"
    return ScanResult(link, Verdict(status, reason or "signature verified", first, count), code)


def _copy_reason(session: Session, *, code: Code, count: int, place: str | None, now: datetime,
                 thresholds: Thresholds) -> str | None:
    if count > thresholds.scan_count:
        return f"scanned {count} times, more than {thresholds.scan_count}"
    if place is None:
        return None
    session.flush()
    places = session.scalar(
        sa.select(sa.func.count(sa.distinct(Scan.place)))
        .where(Scan.code_id == code.id, Scan.place.is_not(None),
               Scan.scanned_at >= now - thresholds.place_window))
    if places > thresholds.distinct_places:
        hours = int(thresholds.place_window.total_seconds() // 3600)
        return f"scanned in {places} places within {hours} h, more than {thresholds.distinct_places}"
    return None
