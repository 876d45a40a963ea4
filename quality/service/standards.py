"""Standards as versioned data: drafts, publication, the version in force; sampling plans."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog import service as catalog_service
from marketplace.core.db import utcnow
from quality import grading, sampling
from quality.errors import (
    InvalidSamplingPlan,
    InvalidStandard,
    NoCurrentStandard,
    StandardNotFound,
    StandardPublished,
    StandardVersionTaken,
)
from quality.models import QualityStandard
from quality.standards import shipped_standards


def get_standard(session: Session, standard_id: int) -> QualityStandard:
    standard = session.get(QualityStandard, standard_id)
    if standard is None:
        raise StandardNotFound(f"quality standard {standard_id} does not exist")
    return standard


def list_standards(
    session: Session,
    *,
    category_id: int | None = None,
    code: str | None = None,
    published: bool | None = None,
) -> sa.Select:
    statement = sa.select(QualityStandard)
    if category_id is not None:
        statement = statement.where(QualityStandard.category_id == category_id)
    if code is not None:
        statement = statement.where(QualityStandard.code == code)
    if published is not None:
        column = QualityStandard.published_at
        statement = statement.where(column.is_not(None) if published else column.is_(None))
    return statement.order_by(QualityStandard.code, QualityStandard.effective_from, QualityStandard.id)


def create_standard(
    session: Session, *, category_id: int, code: str, version: str, definition: dict, **fields
) -> QualityStandard:
    """Draft a standard version; it can be changed until it is published."""
    catalog_service.get_category(session, category_id)
    _check_definition(definition)
    taken = session.scalar(
        sa.select(QualityStandard.id).where(QualityStandard.code == code, QualityStandard.version == version)
    )
    if taken is not None:
        raise StandardVersionTaken(f"{code} version {version} already exists; give a new version")
    standard = QualityStandard(
        category_id=category_id, code=code, version=version, definition=definition, **fields
    )
    session.add(standard)
    session.flush()
    return standard


def update_standard(session: Session, *, standard_id: int, changes: dict) -> QualityStandard:
    standard = get_standard(session, standard_id)
    _ensure_draft(standard)
    if "category_id" in changes:
        catalog_service.get_category(session, changes["category_id"])
    if "definition" in changes:
        _check_definition(changes["definition"])
    code, version = changes.get("code", standard.code), changes.get("version", standard.version)
    taken = session.scalar(
        sa.select(QualityStandard.id).where(
            QualityStandard.code == code,
            QualityStandard.version == version,
            QualityStandard.id != standard.id,
        )
    )
    if taken is not None:
        raise StandardVersionTaken(f"{code} version {version} already exists")
    for key, value in changes.items():
        setattr(standard, key, value)
    session.flush()
    return standard


def publish_standard(
    session: Session, *, standard_id: int, effective_from: date | None = None
) -> QualityStandard:
    """Publish a version: from its effective date it supersedes the versions before it."""
    standard = get_standard(session, standard_id)
    _ensure_draft(standard)
    if effective_from is not None:
        standard.effective_from = effective_from
    standard.published_at = utcnow()
    session.flush()
    return standard


def current_standard(
    session: Session, *, category_id: int, on: date, code: str | None = None
) -> QualityStandard | None:
    """The published version in force on a day: the one with the latest effective date before it."""
    statement = (
        sa.select(QualityStandard)
        .where(
            QualityStandard.category_id == category_id,
            QualityStandard.published_at.is_not(None),
            QualityStandard.effective_from <= on,
        )
        .order_by(
            QualityStandard.effective_from.desc(),
            QualityStandard.published_at.desc(),
            QualityStandard.id.desc(),
        )
        .limit(1)
    )
    if code is not None:
        statement = statement.where(QualityStandard.code == code)
    return session.scalar(statement)


def get_current_standard(
    session: Session, *, category_id: int, on: date | None = None, code: str | None = None
) -> QualityStandard:
    on = on or utcnow().date()
    standard = current_standard(session, category_id=category_id, on=on, code=code)
    if standard is None:
        raise NoCurrentStandard(
            f"no published standard for category {category_id} is in force on {on.isoformat()}"
        )
    return standard


def publish_shipped_standards(session: Session, *, category_ids: dict[str, int]) -> list[QualityStandard]:
    """Publish the standards shipped as data (for categories present), skipping those already there."""
    published = []
    for data in shipped_standards():
        if data["category"] not in category_ids:
            continue
        existing = session.scalar(
            sa.select(QualityStandard).where(
                QualityStandard.code == data["code"], QualityStandard.version == data["version"]
            )
        )
        if existing is None:
            existing = create_standard(
                session,
                category_id=category_ids[data["category"]],
                code=data["code"],
                version=data["version"],
                title_zh=data["title_zh"],
                title_en=data["title_en"],
                effective_from=date.fromisoformat(data["effective_from"]),
                source=data["source"],
                definition={
                    key: value
                    for key, value in data.items()
                    if key
                    not in {"code", "version", "category", "title_zh", "title_en", "effective_from", "source"}
                },
            )
            publish_standard(session, standard_id=existing.id)
        published.append(existing)
    return published


def _ensure_draft(standard: QualityStandard) -> None:
    if standard.is_published:
        raise StandardPublished(
            f"{standard.code} version {standard.version} is published and "
            "cannot change; draft a new version instead"
        )


def _check_definition(definition: dict) -> None:
    try:
        grading.validate_definition(definition)
    except grading.DefinitionError as error:
        raise InvalidStandard(
            "the standard cannot be graded with as written", errors={"json": {"definition": error.errors}}
        ) from None


def plan_sample(*, lot_size: int, level: str = "II", aql: str = "2.5") -> sampling.SamplingPlan:
    try:
        return sampling.sampling_plan(lot_size, level, aql)
    except sampling.SamplingError as error:
        raise InvalidSamplingPlan(str(error), errors={"query": {"aql": [str(error)]}}) from None
