"""Accounts and tokens: who is asking, and may they."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from marketplace.accounts.errors import (
    EmailTaken,
    InvalidCredentials,
    RoleDoesNotFitOrganisation,
    RoleNotAllowed,
    UserNotFound,
    WeakPassword,
)
from marketplace.accounts.models import ROLE_ORGANISATION_KINDS, AccessToken, User
from marketplace.core.db import utcnow
from marketplace.parties import service as parties_service
from marketplace.parties.errors import NotYours
from marketplace.parties.models import Role

_hasher = PasswordHasher()
TOKEN_BYTES = 32
# What secrets.token_urlsafe(TOKEN_BYTES) makes: anything else is no token of ours.
TOKEN_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{{len(secrets.token_urlsafe(TOKEN_BYTES))}}}")
# Verifying against this when the e-mail is unknown keeps both answers equally slow.
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# zxcvbn's scores: 0 and 1 fall to an online guessing attack (under 10^6 guesses); 2 withstands
# a throttled one, which sign-in is (rate limits, Argon2).
MIN_PASSWORD_SCORE = 2
SERVICE_WORDS = ("shanhai", "山海", "marketplace")


def ensure_strong_password(password: str, *, email: str = "", display_name: str = "") -> None:
    """Refuse what attackers try first, as NIST SP 800-63B (5.1.1.2) asks of a new password:
    common and breached passwords, repeated or sequential characters, dictionary words, and
    words of the context (the service, the account's e-mail and name). zxcvbn checks against
    its lists of 30,000 common passwords and of words, and scores the rest."""
    local_part = email.partition("@")[0]
    user_inputs = [*SERVICE_WORDS, email, local_part, *display_name.split()]
    # zxcvbn refuses to score more than 72 characters; the first 72 decide.
    result = zxcvbn(password[:72], user_inputs=[word for word in user_inputs if word])
    if result["score"] >= MIN_PASSWORD_SCORE:
        return
    reason = result["feedback"]["warning"] or "it is short for how predictable it is"
    message = f"too easy to guess: {reason.rstrip('.')}. Use a few unrelated words, or more"
    raise WeakPassword(f"this password is {message}", errors={"json": {"password": [message]}})


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session, *, email: str, password: str, display_name: str, role: Role, organisation_id: int
) -> User:
    organisation = parties_service.get_organisation(session, organisation_id)
    if organisation.kind not in ROLE_ORGANISATION_KINDS[role]:
        raise RoleDoesNotFitOrganisation(
            f"a {role.value} cannot belong to a {organisation.kind.value}",
            errors={"json": {"role": [f"does not fit organisation kind {organisation.kind.value}"]}},
        )
    email = normalise_email(email)
    ensure_strong_password(password, email=email, display_name=display_name)
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise EmailTaken(f"an account for {email} already exists")
    user = User(
        email=email,
        password_hash=hash_password(password),
        display_name=display_name,
        role=role,
        organisation=organisation,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound(f"user {user_id} does not exist")
    return user


def list_users(
    session: Session, *, organisation_id: int | None = None, role: Role | None = None
) -> sa.Select:
    statement = sa.select(User).order_by(User.id)
    if organisation_id is not None:
        statement = statement.where(User.organisation_id == organisation_id)
    if role is not None:
        statement = statement.where(User.role == role)
    return statement


def issue_token(
    session: Session, *, email: str, password: str, lifetime: timedelta
) -> tuple[str, AccessToken]:
    """Exchange an e-mail and password for a bearer token; the raw token is shown only once."""
    user = session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None or not user.is_active:
        _verify(_UNKNOWN_USER_HASH, password)
        raise InvalidCredentials("the e-mail or password is wrong")
    if not _verify(user.password_hash, password):
        raise InvalidCredentials("the e-mail or password is wrong")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    token = AccessToken(user=user, token_hash=_digest(raw), expires_at=utcnow() + lifetime)
    session.add(token)
    session.flush()
    return raw, token


def authenticate(session: Session, raw_token: str, *, now: datetime | None = None) -> User | None:
    """The active user behind a bearer token, or None when it is unknown, expired or revoked."""
    now = now or utcnow()
    token = session.scalar(sa.select(AccessToken).where(AccessToken.token_hash == _digest(raw_token)))
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    return token.user if token.user.is_active else None


def token_owner_id(session: Session, raw_token: str, *, now: datetime | None = None) -> int | None:
    """The id of the active user a bearer token verifies as, or None; one indexed read."""
    if not TOKEN_SHAPE.fullmatch(raw_token):
        return None
    return session.scalar(
        sa.select(User.id)
        .join(AccessToken, AccessToken.user_id == User.id)
        .where(
            AccessToken.token_hash == _digest(raw_token),
            AccessToken.revoked_at.is_(None),
            AccessToken.expires_at > (now or utcnow()),
            User.is_active.is_(True),
        )
    )


def revoke_token(session: Session, raw_token: str) -> None:
    token = session.scalar(sa.select(AccessToken).where(AccessToken.token_hash == _digest(raw_token)))
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()


def ensure_role(actor: User, *roles: Role) -> None:
    if actor.role not in roles:
        allowed = ", ".join(role.value for role in roles)
        raise RoleNotAllowed(f"this needs the role {allowed}; you are {actor.role.value}")


def ensure_owner(actor: User, organisation_id: int, what: str) -> None:
    """Operators act for the whole region; everyone else only for their own organisation.

    For what anyone may read (products, lots): a 403 tells nothing new. What only its owner
    may even see is answered as missing instead (`may_see`), so that ids cannot be probed."""
    if not may_see(actor, organisation_id):
        raise NotYours(f"{what} belongs to another organisation")


def may_see(actor: User, *organisation_ids: int) -> bool:
    """Whether the actor may see what these organisations hold: operators see everything."""
    return actor.role is Role.OPERATOR or actor.organisation_id in organisation_ids


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()
