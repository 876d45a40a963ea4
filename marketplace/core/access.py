"""The gate on views: `requires` lets a view run only for a signed-in caller of one of its roles.

Who a request's bearer token belongs to is accounts' to say, and accounts sits above a domain
that gates its views here (parties); the app hands accounts' check in as `Runtime.admit`. Until
it has, every gated view refuses: the gate fails closed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import Any

import flask_smorest

from marketplace.core.http import runtime


class GateNotWired(RuntimeError):
    """A gated view ran in an app that was never handed a check of its callers."""


def admit(*roles: enum.Enum) -> Any:
    """The caller, once its bearer token is valid and (when roles are given) it holds one of
    them; otherwise the 401 or 403 problem."""
    check = runtime().admit
    if check is None:
        raise GateNotWired("no check of callers was handed to this app: every gated view refuses")
    return check(*roles)


def current_user() -> Any:
    """The caller, or a 401 problem when there is no valid token."""
    return admit()


def requires(*roles: enum.Enum) -> Callable:
    """Let through callers with a valid token and one of these roles (any role when none given)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            admit(*roles)
            return view(*args, **kwargs)

        allowed = ", ".join(role.value for role in roles) or "any signed-in role"
        return flask_smorest.Blueprint.doc(
            security=[{"bearerAuth": []}],
            responses={"401": "UNAUTHORIZED", "403": "FORBIDDEN"},
            description=f"Roles: {allowed}.",
        )(wrapper)

    return decorator
