"""Who is calling: the bearer token of the current request, and the `requires` gate for views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

import flask_smorest
from flask import g, request, url_for

from marketplace.accounts import service
from marketplace.accounts.errors import InvalidCredentials, MissingCredentials
from marketplace.accounts.models import Role, User
from marketplace.core import db
from marketplace.core.audit import set_actor


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


def requires(*roles: Role) -> Callable:
    """Let through callers with a valid token and one of these roles (any role when none given)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if roles:
                service.ensure_role(user, *roles)
            return view(*args, **kwargs)

        allowed = ", ".join(role.value for role in roles) or "any signed-in role"
        return flask_smorest.Blueprint.doc(
            security=[{"bearerAuth": []}],
            responses={"401": "UNAUTHORIZED", "403": "FORBIDDEN"},
            description=f"Roles: {allowed}.",
        )(wrapper)

    return decorator
