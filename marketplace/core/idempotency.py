"""Idempotency-Key for POSTs that create or move money: a retry gets the first answer."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from functools import wraps

import flask_smorest
import sqlalchemy as sa
from flask import Response, make_response, request
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core import db
from marketplace.core.db import Base, utcnow
from marketplace.core.errors import Conflict, InvalidInput

KEY_HEADER = "Idempotency-Key"


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (sa.UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(200))
    key: Mapped[str] = mapped_column(sa.String(255))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[int]
    body: Mapped[str] = mapped_column(sa.Text)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyKeyReused(Conflict):
    title = "Idempotency key reused with another request"


def idempotent(view: Callable) -> Callable:
    """Replay the stored answer for a repeated key; refuse the key with a different body."""

    @flask_smorest.Blueprint.doc(
        parameters=[
            {
                "in": "header",
                "name": KEY_HEADER,
                "required": False,
                "description": "retry safely: the same key and body get the first answer again",
                "schema": {"type": "string", "maxLength": 255},
            }
        ]
    )
    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(KEY_HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not 1 <= len(key) <= 255 or not key.isprintable():
            raise InvalidInput(
                "the Idempotency-Key must be 1 to 255 printable characters",
                errors={"headers": {KEY_HEADER: ["1 to 255 printable characters"]}},
            )
        session = db.session()
        scope = f"{request.method} {request.path} {_caller()}"
        digest = hashlib.sha256(request.get_data() or b"").hexdigest()
        earlier = session.scalar(
            sa.select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
        )
        if earlier is not None:
            if earlier.request_hash != digest:
                raise IdempotencyKeyReused(f"the key {key!r} was first used with another body")
            replay = make_response(earlier.body, earlier.status)
            replay.content_type = earlier.content_type
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        response: Response = make_response(view(*args, **kwargs))
        try:
            with session.begin_nested():
                session.add(
                    IdempotencyRecord(
                        scope=scope,
                        key=key,
                        request_hash=digest,
                        status=response.status_code,
                        body=response.get_data(as_text=True),
                        content_type=response.content_type,
                    )
                )
        except sa.exc.IntegrityError as error:
            # Another request with this key committed first; ours is undone with this raise.
            raise IdempotencyKeyReused(f"a request with the key {key!r} is already done") from error
        return response

    return wrapper


def _caller() -> str:
    header = request.headers.get("Authorization", "")
    if header:
        return "token:" + hashlib.sha256(header.encode()).hexdigest()[:32]
    return "anonymous"
