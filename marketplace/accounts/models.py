from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import Base, utcnow
from marketplace.core.models import Timestamped, enum_column
from marketplace.parties.models import Organisation, OrganisationKind, Role

# Which kinds of organisation a role's users may belong to.
ROLE_ORGANISATION_KINDS: dict[Role, set[OrganisationKind]] = {
    Role.OPERATOR: {OrganisationKind.OPERATOR},
    Role.COOPERATIVE: {OrganisationKind.COOPERATIVE, OrganisationKind.STRONG_VILLAGE_COMPANY},
    Role.ENTERPRISE: {OrganisationKind.ENTERPRISE},
    Role.INSPECTOR: {OrganisationKind.INSPECTION_BODY, OrganisationKind.OPERATOR},
}


class User(Timestamped, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)

    organisation: Mapped[Organisation] = relationship()


class AccessToken(Base):
    """A bearer token; only its SHA-256 is stored, so a leaked table grants nothing."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
