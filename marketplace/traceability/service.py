"""Use cases of the collaboration codes: mint, list, export and look up signed codes."""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog import licences
from catalog import service as catalog_service
from catalog.models import Lot, LotStatus
from marketplace.accounts import service as auth_service
from marketplace.accounts.models import User
from marketplace.core.db import insert_on_conflict, sorted_by
from marketplace.core.spreadsheets import CsvWriter
from marketplace.parties.models import Role
from marketplace.traceability import digital_link, signing
from marketplace.traceability.errors import (
    CodeBatchNotFound,
    CodeNotFound,
    LabelSheetTooLarge,
    LotNotCodable,
    SerialSpaceExhausted,
    SkuNotOfLot,
    TooManyCodes,
)
from marketplace.traceability.models import MAX_UNIT_CODES, Code, CodeBatch, CodeLevel
from marketplace.traceability.rendering import Label

# 31 symbols without 0/O/1/I/L, 12 of them: over 59 random bits per serial.
SERIAL_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SERIAL_LENGTH = 12
SIGNATURE_PARAMETER = "s"
KEYS = tuple[tuple[str, bytes], ...]


def new_serial() -> str:
    return "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(SERIAL_LENGTH))


def _new_serials(count: int) -> list[str]:
    # secrets.token_bytes in one call is far faster than secrets.choice per character.
    raw = secrets.token_bytes(count * SERIAL_LENGTH)
    size = len(SERIAL_ALPHABET)
    alphabet = SERIAL_ALPHABET
    # 256 is not a multiple of 31; bytes above the last full multiple are re-drawn below.
    limit = 256 - 256 % size
    serials = []
    for start in range(0, len(raw), SERIAL_LENGTH):
        chunk = raw[start : start + SERIAL_LENGTH]
        if any(byte >= limit for byte in chunk):
            serials.append(new_serial())
        else:
            serials.append("".join(alphabet[byte % size] for byte in chunk))
    return serials


def identifier_of(*, gtin: str, lot_code: str, serial: str | None) -> str:
    return digital_link.DigitalLink(gtin=gtin, lot=lot_code, serial=serial).identifier


def attribute_pairs(attributes: str) -> tuple[tuple[str, str], ...]:
    pairs = (item.split("=", 1) for item in attributes.split("&") if item)
    return tuple((ai, value) for ai, value in pairs)


def signed_content(*, gtin: str, lot_code: str, serial: str | None, attributes: str) -> str:
    """What a signature covers: the element string of the identifier and its printed attributes,
    so that changing any character of the printed code, the harvest date included, breaks it."""
    return digital_link.DigitalLink(
        gtin=gtin, lot=lot_code, serial=serial, attributes=attribute_pairs(attributes)
    ).element_string()


def code_uri(code: Code, *, base_url: str, attributes: str | None = None) -> str:
    """The URI printed on the label: the Digital Link, its attributes and the signature."""
    attributes = code.batch.attributes if attributes is None else attributes
    return digital_link.build(
        base_url,
        gtin=code.gtin,
        lot=code.lot_code,
        serial=code.serial,
        attributes=list(attribute_pairs(attributes)),
        parameters={SIGNATURE_PARAMETER: code.signature},
    )


def _ensure_can_manage(actor: User, lot: Lot) -> None:
    auth_service.ensure_owner(actor, lot.cooperative_id, f"lot {lot.id}")


def mint_codes(
    session: Session, *, actor: User, lot_id: int, sku_id: int, level: CodeLevel, quantity: int, keys: KEYS
) -> CodeBatch:
    """Mint one lot code or N unit codes with random, never repeated serials."""
    lot = catalog_service.get_lot(session, lot_id)
    _ensure_can_manage(actor, lot)
    if lot.status is LotStatus.RECALLED:
        raise LotNotCodable(f"lot {lot_id} was recalled; no new codes are minted for it")
    # A code makes the scan page vouch for the brand: only a licensed grower's lot from one of
    # its villages gets one, also when an operator mints for it.
    licences.ensure_may_carry(
        session, grower_id=lot.cooperative_id, product=lot.product, village_id=lot.village_id
    )
    sku = catalog_service.get_sku(session, sku_id)
    if sku.product_id != lot.product_id:
        raise SkuNotOfLot(
            f"SKU {sku_id} is not a pack of lot {lot_id}'s product",
            errors={"json": {"sku_id": ["is not a SKU of the lot's product"]}},
        )
    if level is CodeLevel.LOT:
        quantity = 1
    elif not 1 <= quantity <= MAX_UNIT_CODES:
        raise TooManyCodes(
            f"mint 1 to {MAX_UNIT_CODES} unit codes at a time",
            errors={"json": {"quantity": [f"must be 1 to {MAX_UNIT_CODES}"]}},
        )
    attributes = f"7007={lot.harvested_on:%y%m%d}"
    batch = CodeBatch(
        lot_id=lot.id,
        sku_id=sku.id,
        level=level,
        quantity=quantity,
        attributes=attributes,
        minted_by_id=actor.id,
    )
    session.add(batch)
    session.flush()
    if level is CodeLevel.LOT:
        identifier = identifier_of(gtin=sku.gtin, lot_code=lot.lot_code, serial=None)
        existing = session.scalar(sa.select(Code).where(Code.identifier == identifier))
        if existing is None:
            content = signed_content(gtin=sku.gtin, lot_code=lot.lot_code, serial=None, attributes=attributes)
            session.add(
                Code(
                    identifier=identifier,
                    batch_id=batch.id,
                    lot_id=lot.id,
                    gtin=sku.gtin,
                    lot_code=lot.lot_code,
                    serial=None,
                    signature=signing.sign(content, keys),
                )
            )
            session.flush()
        return batch
    # The element string is built by hand here: 100,000 of them must take milliseconds.
    head = f"^01{sku.gtin}10{lot.lot_code}^21"
    tail = "^" + "".join(ai + value for ai, value in attribute_pairs(attributes))
    insert = insert_on_conflict(session, Code).on_conflict_do_nothing()
    minted = 0
    for _attempt in range(10):
        # The unique indexes decide which serials are free: asking first would read back a
        # million stored serials once a GTIN has that many. A clash (one in 10^13) is re-drawn.
        serials = list(dict.fromkeys(_new_serials(quantity - minted)))[: quantity - minted]
        rows = [
            {
                "identifier": f"(01){sku.gtin}(10){lot.lot_code}(21){serial}",
                "batch_id": batch.id,
                "lot_id": lot.id,
                "gtin": sku.gtin,
                "lot_code": lot.lot_code,
                "serial": serial,
                "signature": signing.sign(head + serial + tail, keys),
                "scan_count": 0,
            }
            for serial in serials
        ]
        for start in range(0, len(rows), 5000):
            session.execute(insert, rows[start : start + 5000])
        minted = session.execute(sa.select(sa.func.count()).where(Code.batch_id == batch.id)).scalar_one()
        if minted == quantity:
            session.flush()
            return batch
    raise SerialSpaceExhausted("could not draw unused serials; try again")


def get_batch(session: Session, *, actor: User, batch_id: int) -> CodeBatch:
    """A batch of the actor's organisation; another's is answered exactly as a missing one."""
    batch = session.get(CodeBatch, batch_id)
    if batch is None or not auth_service.may_see(actor, batch.lot.cooperative_id):
        raise CodeBatchNotFound(f"code batch {batch_id} does not exist")
    return batch


def list_batches(
    session: Session, *, actor: User, lot_id: int | None = None, sort: str | None = None
) -> sa.Select:
    statement = sa.select(CodeBatch)
    if lot_id is not None:
        statement = statement.where(CodeBatch.lot_id == lot_id)
    if actor.role is not Role.OPERATOR:
        statement = statement.join(Lot, Lot.id == CodeBatch.lot_id).where(
            Lot.cooperative_id == actor.organisation_id
        )
    return sorted_by(statement, sort, {"created_at": CodeBatch.created_at}, CodeBatch.id)


def batch_codes(
    session: Session, *, batch: CodeBatch, first: int = 1, count: int | None = None
) -> Iterator[Code]:
    """The codes of a batch (a lot batch shows its lot's one code), streamed in id order;
    `count` of them from the `first` (1-based) when given."""
    if batch.level is CodeLevel.LOT:
        statement = sa.select(Code).where(
            Code.lot_id == batch.lot_id, Code.serial.is_(None), Code.gtin == batch.sku.gtin
        )
    else:
        statement = sa.select(Code).where(Code.batch_id == batch.id).order_by(Code.id)
    if first > 1 or count is not None:
        statement = statement.offset(first - 1).limit(count)
    yield from session.scalars(statement.execution_options(yield_per=2000))


def label_sheet_count(batch: CodeBatch, *, first: int, count: int | None, max_labels: int) -> int:
    """How many labels a sheet from the `first` code holds; refused beyond `max_labels`, since
    a sheet is drawn while its request waits (the label issue will draw large ones behind)."""
    size = 1 if batch.level is CodeLevel.LOT else batch.quantity
    if first > size:
        raise LabelSheetTooLarge(
            f"batch {batch.id} has {size} codes; there is no code {first}",
            errors={"query": {"first": [f"must be 1 to {size}"]}},
        )
    count = min(count, size - first + 1) if count is not None else size - first + 1
    if count > max_labels:
        parts = f"?first={first}&count={max_labels}, then ?first={first + max_labels}&count={max_labels}"
        raise LabelSheetTooLarge(
            f"a label sheet holds at most {max_labels} labels and {count} were asked for: ask "
            f"for them in parts ({parts}, and so on) or export codes.csv for a label printer",
            errors={"query": {"count": [f"must be at most {max_labels}"]}},
        )
    return count


def batch_csv(session: Session, *, batch_id: int, base_url: str) -> Iterator[str]:
    """CSV rows of a batch for a label printer, streamed: header first."""
    batch = session.get(CodeBatch, batch_id)
    if batch is None:
        raise CodeBatchNotFound(f"code batch {batch_id} does not exist")
    buffer = io.StringIO()
    writer = CsvWriter(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(["code_id", "gtin", "lot", "serial", "uri", "product", "sku"])
    yield flush()
    attributes = _batch_attributes(session, batch)
    product, sku = batch.lot.product.name_zh, batch.sku.name_zh
    for index, code in enumerate(batch_codes(session, batch=batch)):
        writer.writerow(
            [
                code.id,
                code.gtin,
                code.lot_code,
                code.serial or "",
                code_uri(code, base_url=base_url, attributes=attributes),
                product,
                sku,
            ]
        )
        if index % 500 == 499:
            yield flush()
    yield flush()


def _batch_attributes(session: Session, batch: CodeBatch) -> str:
    # A lot batch shows the lot code minted first, with the attributes it was signed with.
    if batch.level is CodeLevel.LOT:
        code = next(batch_codes(session, batch=batch), None)
        return code.batch.attributes if code else batch.attributes
    return batch.attributes


def get_code(session: Session, *, actor: User, code_id: int) -> Code:
    """A code of the actor's organisation; another's is answered exactly as a missing one."""
    code = session.get(Code, code_id)
    if code is None or not auth_service.may_see(
        actor, catalog_service.get_lot(session, code.lot_id).cooperative_id
    ):
        raise CodeNotFound(f"code {code_id} does not exist")
    return code


def list_suspected_codes(session: Session, *, lot_id: int | None = None) -> sa.Select:
    """Codes the authenticity check flagged as likely copies, newest flag first."""
    statement = sa.select(Code).where(Code.suspected_copy_at.is_not(None))
    if lot_id is not None:
        statement = statement.where(Code.lot_id == lot_id)
    return statement.order_by(Code.suspected_copy_at.desc(), Code.id)


def _brand_logo(session: Session, lot: Lot) -> bytes | None:
    brand = lot.product.brand
    return brand.logo_png if brand.logo_sha256 else None


def code_render_inputs(session: Session, *, code: Code, base_url: str) -> tuple[str, bytes | None]:
    """The URI to encode and the brand logo to put in the middle of the symbol."""
    lot = catalog_service.get_lot(session, code.lot_id)
    return code_uri(code, base_url=base_url), _brand_logo(session, lot)


def batch_labels(session: Session, *, batch_id: int, base_url: str, first: int = 1, count: int | None = None):
    """Labels of a batch (`count` from the `first`), produced lazily, and the brand logo."""
    batch = session.get(CodeBatch, batch_id)
    if batch is None:
        raise CodeBatchNotFound(f"code batch {batch_id} does not exist")
    lot = batch.lot
    product = lot.product.name_zh
    attributes = _batch_attributes(session, batch)

    def labels():
        for code in batch_codes(session, batch=batch, first=first, count=count):
            yield Label(
                uri=code_uri(code, base_url=base_url, attributes=attributes),
                product=product,
                lot=code.lot_code,
                serial=code.serial,
            )

    return labels(), _brand_logo(session, lot)
