"""The after-commit queue: what a transaction queues runs once it is committed, in order, and
never when it rolls back; a failing callback is logged and undoes nothing."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from flask import jsonify

from marketplace.core import db
from marketplace.core.idempotency import IdempotencyRecord


def record(session, key: str) -> None:
    session.add(
        IdempotencyRecord(scope="test", key=key, request_hash="-", status=200, body="", content_type="-")
    )
    session.flush()


def keys_on_record(session_factory) -> list[str]:
    with session_factory() as session:
        return list(session.scalars(sa.select(IdempotencyRecord.key).order_by(IdempotencyRecord.id)))


def test_callbacks_run_after_the_commit_in_the_order_they_were_queued(app, session_factory):
    seen = []

    def committed_when_run(name):
        def callback():
            seen.append((name, keys_on_record(session_factory)))
            return name

        return callback

    with app.app_context(), db.unit_of_work() as session:
        record(session, "written")
        first = db.after_commit(session, committed_when_run("first"))
        second = db.after_commit(session, committed_when_run("second"))
        assert seen == []
    assert seen == [("first", ["written"]), ("second", ["written"])]
    assert (first.result(), second.result()) == ("first", "second")


def test_callbacks_of_a_transaction_that_rolls_back_never_run(app, session_factory):
    ran = []
    with pytest.raises(RuntimeError), app.app_context(), db.unit_of_work() as session:
        record(session, "undone")
        queued = db.after_commit(session, lambda: ran.append("sent"))
        raise RuntimeError("the command fails")
    assert ran == [] and keys_on_record(session_factory) == []
    with pytest.raises(RuntimeError, match="did not commit"):
        queued.result()


def test_a_savepoint_that_rolls_back_takes_only_its_own_callbacks(app):
    ran = []
    with app.app_context(), db.unit_of_work() as session:
        record(session, "kept")
        db.after_commit(session, lambda: ran.append("before"))
        with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
            db.after_commit(session, lambda: ran.append("in the savepoint"))
            record(session, "kept")
        db.after_commit(session, lambda: ran.append("after"))
    assert ran == ["before", "after"]


def test_a_failing_callback_is_logged_and_undoes_neither_the_commit_nor_the_others(
    app, session_factory, caplog
):
    def fails():
        raise ValueError("Stripe is down")

    ran = []
    with caplog.at_level(logging.ERROR, logger="shanhai.db"), app.app_context(), db.unit_of_work() as session:
        record(session, "committed")
        failing = db.after_commit(session, fails)
        db.after_commit(session, lambda: ran.append("next"))
    assert ran == ["next"]
    assert keys_on_record(session_factory) == ["committed"]
    assert "Stripe is down" in caplog.text
    with pytest.raises(ValueError, match="Stripe is down"):
        failing.result()


def test_callbacks_run_once_though_the_session_commits_again(app):
    ran = []
    with app.app_context(), db.unit_of_work() as session:
        db.after_commit(session, lambda: ran.append("once"))
        session.commit()
        db.run_after_commit(session)
    assert ran == ["once"]


def test_a_request_answers_with_what_its_callback_returned_or_raised(app, session_factory):
    calls = []

    @db.answer_after_commit
    def answer(fail: bool):
        session = db.session()
        record(session, f"request {len(calls)}")

        def callback():
            calls.append(keys_on_record(session_factory))
            if fail:
                raise ValueError("no answer from Stripe")
            return {"sent": True}

        return db.after_commit(session, callback)

    view = db.transactional(lambda fail: jsonify(answer(fail)))
    app.add_url_rule("/after-commit/<int:fail>", "after_commit", view)
    client = app.test_client()
    assert client.get("/after-commit/0").get_json() == {"sent": True}
    with pytest.raises(ValueError, match="no answer from Stripe"):
        client.get("/after-commit/1")
    # Each callback found its request's transaction committed, and the failure undid nothing.
    assert calls == [["request 0"], ["request 0", "request 1"]]
    assert keys_on_record(session_factory) == ["request 0", "request 1"]
