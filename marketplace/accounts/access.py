"""Who is calling: the bearer token of the current request, checked for the core's `requires` gate."""

from __future__ import annotations

from flask import g, request, url_for

from marketplace.accounts import service
from marketplace.accounts.errors import InvalidCredentials, MissingCredentials
from marketplace.accounts.models import User
from marketplace.core import db
from marketplace.core.audit import set_actor
from marketplace.parties.models import Role


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def current_user() -> User:
    """The caller, or a 401 problem when there is no valid token."""
    if "current_user" not in g:
        raw = bearer_token()
        if raw is None:
            token_url = url_for("auth.Token")
            raise MissingCredentials(f"send 'Authorization: Bearer <token>' from POST {token_url}")
        user = service.authenticate(db.session(), raw)
        if user is None:
            raise InvalidCredentials("the token is unknown, expired or revoked")
        g.current_user = user
        set_actor(db.session(), user_id=user.id, organisation_id=user.organisation_id)
    return g.current_user


def admit(*roles: Role) -> User:
    """The caller, once its token is valid and (when roles are given) it holds one of them; the
    app hands this to the core's gate, whose `requires` every domain's views use."""
    user = current_user()
    if roles:
        service.ensure_role(user, *roles)
    return user
