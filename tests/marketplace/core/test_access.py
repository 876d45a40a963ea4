from __future__ import annotations

import pytest

from marketplace.core import access, security
from marketplace.parties.models import Role


def test_a_gated_view_refuses_everyone_when_the_app_was_handed_no_check_of_callers(app):
    app.extensions["shanhai"].admit = None

    @access.requires(Role.OPERATOR)
    def view():
        return "let through"

    with app.test_request_context("/"), pytest.raises(access.GateNotWired):
        view()


def test_the_gate_asks_the_check_it_was_handed_for_the_view_s_roles(app):
    asked = []
    app.extensions["shanhai"].admit = lambda *roles: asked.append(roles) or "caller"

    @access.requires(Role.OPERATOR, Role.INSPECTOR)
    def view():
        return access.current_user()

    with app.test_request_context("/"):
        assert view() == "caller"
    assert asked == [(Role.OPERATOR, Role.INSPECTOR), ()]


def test_whose_budget_a_token_spends_is_not_guessed_without_the_token_lookup(monkeypatch, session_factory):
    monkeypatch.setattr(security, "_token_owner", None)

    with pytest.raises(RuntimeError, match="use_token_owner"):
        security.client_key("Bearer " + "a" * 43, "203.0.113.9", session_factory=session_factory)
