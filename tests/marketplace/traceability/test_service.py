"""Signatures, minting and authenticity without HTTP."""

from __future__ import annotations

import csv
import io
import string
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from catalog.models import LotStatus
from marketplace.parties.errors import NotYours
from marketplace.traceability import authenticity, digital_link, scans, service, signing
from marketplace.traceability.errors import LotNotCodable, SkuNotOfLot
from marketplace.traceability.models import Code, CodeLevel, ScanDay
from marketplace.traceability.scans import Thresholds
from tests import factories

BASE = "http://shanhai.test"
KEYS = factories.SIGNING_KEYS
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def coded(session, callers):
    lot, sku = factories.make_coded_lot(session, cooperative=callers.cooperative.organisation)
    return lot, sku


def mint(session, callers, coded, quantity=5, level=CodeLevel.UNIT, keys=KEYS):
    lot, sku = coded
    batch = service.mint_codes(
        session,
        actor=callers.cooperative.user,
        lot_id=lot.id,
        sku_id=sku.id,
        level=level,
        quantity=quantity,
        keys=keys,
    )
    return batch, list(service.batch_codes(session, batch=batch))


def uri_of(session, code):
    return service.code_render_inputs(session, code=code, base_url=BASE)[0]


def test_the_newest_key_signs_and_every_older_key_still_verifies():
    signature = signing.sign("(01)09520123456788(10)L1", KEYS)
    assert signature.startswith("k2.")
    older = signing.sign("(01)09520123456788(10)L1", KEYS[1:])
    assert signing.verify("(01)09520123456788(10)L1", older, KEYS)
    assert not signing.verify("(01)09520123456788(10)L2", signature, KEYS)
    assert not signing.verify("(01)09520123456788(10)L1", signature, KEYS[1:])
    assert not signing.verify("(01)09520123456788(10)L1", "", KEYS)
    assert not signing.verify("(01)09520123456788(10)L1", "k9." + signature[3:], KEYS)


def test_minting_unit_codes_gives_unique_random_signed_serials(session, callers, coded):
    batch, codes = mint(session, callers, coded, quantity=200)
    assert batch.quantity == 200 and len(codes) == 200
    serials = [code.serial for code in codes]
    assert len(set(serials)) == 200
    assert all(len(s) == service.SERIAL_LENGTH and set(s) <= set(service.SERIAL_ALPHABET) for s in serials)
    # Random, not sequential: no two neighbours share a long prefix.
    assert sum(a[:4] == b[:4] for a, b in zip(serials, serials[1:], strict=False)) < 5
    assert all(
        signing.verify(
            service.signed_content(
                gtin=code.gtin, lot_code=code.lot_code, serial=code.serial, attributes="7007=260401"
            ),
            code.signature,
            KEYS,
        )
        for code in codes
    )


def test_minting_again_never_repeats_a_serial(session, callers, coded, monkeypatch):
    _, first = mint(session, callers, coded, quantity=20)
    taken = [code.serial for code in first]
    # The first draw collides with ten taken serials; only the fresh ones are kept.
    draws = iter([taken[:10] + ["FRESH2345678"], ["FRESH3456789"]])
    real = service._new_serials
    monkeypatch.setattr(service, "_new_serials", lambda count: next(draws, None) or real(count))
    _, second = mint(session, callers, coded, quantity=2)
    assert not {code.serial for code in second} & set(taken)
    assert len({code.serial for code in second}) == 2


def test_a_lot_code_is_minted_once_and_minting_it_again_returns_the_same_code(session, callers, coded):
    _, first = mint(session, callers, coded, level=CodeLevel.LOT)
    _, again = mint(session, callers, coded, level=CodeLevel.LOT)
    assert len(first) == 1 and [c.id for c in again] == [first[0].id]
    assert first[0].serial is None and first[0].level is CodeLevel.LOT


def test_a_cooperative_cannot_mint_codes_for_another_cooperatives_lot(session, callers, coded):
    lot, sku = coded
    with pytest.raises(NotYours):
        service.mint_codes(
            session,
            actor=callers.other_cooperative.user,
            lot_id=lot.id,
            sku_id=sku.id,
            level=CodeLevel.UNIT,
            quantity=1,
            keys=KEYS,
        )


def test_codes_carry_a_sku_of_the_lots_own_product(session, callers, coded):
    lot, _ = coded
    other_sku = factories.make_sku(
        session, product=factories.make_product(session, cooperative=callers.cooperative.organisation)
    )
    with pytest.raises(SkuNotOfLot):
        service.mint_codes(
            session,
            actor=callers.cooperative.user,
            lot_id=lot.id,
            sku_id=other_sku.id,
            level=CodeLevel.UNIT,
            quantity=1,
            keys=KEYS,
        )


def test_a_recalled_lot_gets_no_new_codes(session, callers):
    lot, sku = factories.make_coded_lot(
        session, cooperative=callers.cooperative.organisation, status=LotStatus.RECALLED
    )
    with pytest.raises(LotNotCodable):
        service.mint_codes(
            session,
            actor=callers.cooperative.user,
            lot_id=lot.id,
            sku_id=sku.id,
            level=CodeLevel.UNIT,
            quantity=1,
            keys=KEYS,
        )


def test_a_batch_exports_as_csv_with_one_parseable_signed_uri_per_code(session, callers, coded):
    batch, codes = mint(session, callers, coded, quantity=7)
    text = "".join(service.batch_csv(session, batch_id=batch.id, base_url=BASE))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 7
    assert {row["serial"] for row in rows} == {code.serial for code in codes}
    for row in rows:
        link = digital_link.parse(row["uri"])
        assert link.serial == row["serial"] and link.attribute("7007") == "260401"
        assert authenticity.verify_uri(row["uri"], base_url=BASE, keys=KEYS)


def _flips(uri: str):
    alphabet = string.ascii_letters + string.digits
    for index, char in enumerate(uri):
        replacement = alphabet[(alphabet.find(char) + 1) % len(alphabet)] if char in alphabet else "x"
        yield index, uri[:index] + replacement + uri[index + 1 :]


def test_a_single_flipped_character_anywhere_in_a_code_is_not_genuine(session, callers, coded):
    _, codes = mint(session, callers, coded, quantity=1)
    uri = uri_of(session, codes[0])
    assert authenticity.verify_uri(uri, base_url=BASE, keys=KEYS)
    for index, flipped in _flips(uri):
        path = flipped[len(BASE) :] if flipped.startswith(BASE) else None
        assert not authenticity.verify_uri(flipped, base_url=BASE, keys=KEYS), (index, flipped)
        if path:
            try:
                result = authenticity.check(session, path_and_query=path, keys=KEYS)
            except Exception as error:  # malformed: the resolver answers 400
                assert type(error).__name__ == "MalformedDigitalLink"
            else:
                assert result.verdict.status == "not_genuine", (index, flipped)


def test_the_first_scan_is_genuine_and_counts_go_up(session, callers, coded):
    _, codes = mint(session, callers, coded, quantity=1)
    path = uri_of(session, codes[0])[len(BASE) :]
    first = scans.scan(
        session, zone=ZONE, path_and_query=path, keys=KEYS, thresholds=Thresholds(), fingerprint="a"
    )
    assert first.verdict.status == "genuine" and first.verdict.scan_count == 1
    assert first.verdict.first_scanned_at is not None
    second = scans.scan(
        session, zone=ZONE, path_and_query=path, keys=KEYS, thresholds=Thresholds(), fingerprint="b"
    )
    assert second.verdict.scan_count == 2
    assert second.verdict.first_scanned_at == first.verdict.first_scanned_at


def test_a_code_scanned_more_often_than_the_threshold_is_flagged_as_a_copy(session, callers, coded):
    _, codes = mint(session, callers, coded, quantity=2)
    path = uri_of(session, codes[0])[len(BASE) :]
    thresholds = Thresholds(scan_count=3)
    verdicts = [
        scans.scan(
            session, zone=ZONE, path_and_query=path, keys=KEYS, thresholds=thresholds, fingerprint=str(i)
        ).verdict.status
        for i in range(5)
    ]
    assert verdicts == ["genuine"] * 3 + ["suspected_copy"] * 2
    suspected = session.scalars(service.list_suspected_codes(session)).all()
    assert [code.id for code in suspected] == [codes[0].id]


def test_a_code_scanned_from_too_many_places_within_the_window_is_flagged(session, callers, coded):
    _, codes = mint(session, callers, coded, quantity=1)
    path = uri_of(session, codes[0])[len(BASE) :]
    thresholds = Thresholds(scan_count=100, distinct_places=2, place_window=timedelta(hours=1))
    statuses = []
    for place in ["30.2,120.3", "30.2,120.3", "31.2,121.5", "39.9,116.4"]:
        result = scans.scan(
            session,
            zone=ZONE,
            path_and_query=path,
            keys=KEYS,
            thresholds=thresholds,
            fingerprint="x",
            place=place,
        )
        statuses.append(result.verdict.status)
    assert statuses == ["genuine", "genuine", "genuine", "suspected_copy"]
    assert "3 places" in result.verdict.reason


def test_lot_codes_are_never_flagged_as_copies_because_every_pack_carries_them(session, callers, coded):
    _, codes = mint(session, callers, coded, level=CodeLevel.LOT)
    path = uri_of(session, codes[0])[len(BASE) :]
    for i in range(4):
        result = scans.scan(
            session,
            zone=ZONE,
            path_and_query=path,
            keys=KEYS,
            thresholds=Thresholds(scan_count=2),
            fingerprint=str(i),
        )
    assert result.verdict.status == "genuine" and result.verdict.scan_count == 4


def test_a_scan_keeps_a_hashed_fingerprint_and_a_coarse_place_never_the_address(session, callers, coded):
    _, codes = mint(session, callers, coded, quantity=1)
    fingerprint = scans.client_fingerprint(secret="s", address="203.0.113.9", user_agent="UA")
    place = scans.coarse_place("30.2456", "120.3123")
    scans.scan(
        session,
        zone=ZONE,
        path_and_query=uri_of(session, codes[0])[len(BASE) :],
        keys=KEYS,
        thresholds=Thresholds(),
        fingerprint=fingerprint,
        place=place,
    )
    row = session.execute(sa.text("select place, client_fingerprint from scans")).one()
    assert row.place == "30.2,120.3"
    assert "203.0.113.9" not in row.client_fingerprint and len(row.client_fingerprint) == 32
    assert scans.coarse_place("91", "0") is None and scans.coarse_place("x", "1") is None


def test_a_signature_made_with_a_retired_key_is_not_genuine(session, callers, coded):
    _, codes = mint(session, callers, coded, quantity=1, keys=(("k0", b"retired-key-retired-key-0000"),))
    path = uri_of(session, codes[0])[len(BASE) :]
    assert authenticity.check(session, path_and_query=path, keys=KEYS).verdict.status == "not_genuine"


def test_codes_minted_under_an_old_key_stay_genuine_after_rotation(session, callers, coded):
    _, codes = mint(session, callers, coded, quantity=1, keys=KEYS[1:])
    path = uri_of(session, codes[0])[len(BASE) :]
    assert "s=k1." in path
    assert authenticity.check(session, path_and_query=path, keys=KEYS).verdict.status == "genuine"
    assert session.scalar(sa.select(sa.func.count()).select_from(Code)) == 1


def test_the_write_behind_recorder_counts_queued_scans_and_writes_them_in_one_go(session, callers, coded):
    _, codes = mint(session, callers, coded, quantity=2)
    written: list[list[scans.ScanRecord]] = []

    def write(records):
        written.append(records)
        scans.apply_scans(session, records, thresholds=Thresholds(scan_count=2), zone=ZONE)

    recorder = scans.ScanRecorder(write=write, interval=3600)
    path = uri_of(session, codes[0])[len(BASE) :]
    verdicts = [
        scans.scan(
            session,
            zone=ZONE,
            path_and_query=path,
            keys=KEYS,
            fingerprint="f",
            thresholds=Thresholds(scan_count=2),
            recorder=recorder,
        ).verdict
        for _ in range(3)
    ]
    assert [v.scan_count for v in verdicts] == [1, 2, 3]
    assert [v.status for v in verdicts] == ["genuine", "genuine", "suspected_copy"]
    assert written == []
    recorder.flush()
    assert len(written) == 1 and len(written[0]) == 3
    session.expire_all()
    stored = session.get(Code, codes[0].id)
    assert stored.scan_count == 3 and stored.suspected_copy_at is not None
    after = scans.scan(
        session,
        zone=ZONE,
        path_and_query=path,
        keys=KEYS,
        fingerprint="f",
        thresholds=Thresholds(scan_count=2),
        recorder=recorder,
    ).verdict
    assert after.scan_count == 4 and after.status == "suspected_copy"
    recorder.flush()
    session.expire_all()
    assert session.get(Code, codes[0].id).scan_count == 4


def test_a_failed_write_keeps_the_scans_for_the_next_try(session, callers, coded):
    _, codes = mint(session, callers, coded, quantity=1)
    attempts = []

    def write(records):
        attempts.append(len(records))
        if len(attempts) == 1:
            raise RuntimeError("database is locked")

    recorder = scans.ScanRecorder(write=write, interval=3600)
    path = uri_of(session, codes[0])[len(BASE) :]
    for _ in range(2):
        scans.scan(
            session,
            zone=ZONE,
            path_and_query=path,
            keys=KEYS,
            fingerprint="f",
            thresholds=Thresholds(),
            recorder=recorder,
        )
    recorder.flush()
    verdict = scans.scan(
        session,
        zone=ZONE,
        path_and_query=path,
        keys=KEYS,
        fingerprint="f",
        thresholds=Thresholds(),
        recorder=recorder,
    ).verdict
    assert verdict.scan_count == 3
    recorder.flush()
    assert attempts == [2, 3]


def test_scans_are_counted_per_village_and_local_day_as_a_recount_from_the_scans_would(
    session, callers, coded
):
    _, codes = mint(session, callers, coded, quantity=3)
    other_village = factories.make_village(session)
    _, other_codes = mint(
        session,
        callers,
        factories.make_coded_lot(
            session, cooperative=callers.cooperative.organisation, village_id=other_village.id
        ),
        quantity=1,
    )
    lot_village = coded[0].village_id
    # 23:30 and 00:30 in Shanghai on either side of midnight: two local days, one UTC day.
    evening = datetime(2026, 5, 1, 15, 30, tzinfo=UTC)
    records = [
        scans.ScanRecord(codes[0].id, True, evening, None, "a"),
        scans.ScanRecord(codes[0].id, True, evening + timedelta(hours=1), None, "b"),
        scans.ScanRecord(codes[1].id, True, evening + timedelta(hours=1), None, "c"),
        scans.ScanRecord(other_codes[0].id, True, evening, None, "d"),
    ]
    scans.apply_scans(session, records[:2], thresholds=Thresholds(), zone=ZONE)
    scans.apply_scans(session, records[2:], thresholds=Thresholds(), zone=ZONE)
    scans.apply_scans(session, records[1:2], thresholds=Thresholds(), zone=ZONE)

    def scan_days():
        rows = session.execute(
            sa.select(ScanDay.village_id, ScanDay.day, ScanDay.scans, ScanDay.codes_first_scanned).order_by(
                ScanDay.village_id, ScanDay.day
            )
        )
        return [tuple(row) for row in rows]

    counted = scan_days()
    assert counted == [
        (lot_village, date(2026, 5, 1), 1, 1),
        (lot_village, date(2026, 5, 2), 3, 1),
        (other_village.id, date(2026, 5, 1), 1, 1),
    ]
    assert scans.rebuild_scan_days(session, zone=ZONE) == 3
    assert scan_days() == counted
