from __future__ import annotations

import pytest
from blinker import Namespace

from marketplace.core.signals import NoReceiver, ask, send_required

signals = Namespace()


def test_a_required_signal_with_no_receiver_refuses_to_go_on(session):
    nobody_listens = signals.signal("nobody-listens")

    with pytest.raises(NoReceiver, match="nobody-listens"):
        send_required(nobody_listens, session, lot=None)


def test_a_required_signal_calls_each_receiver_with_the_session_and_its_arguments(session):
    heard = signals.signal("heard")
    calls = []

    def receiver(sender, *, lot):
        calls.append((sender, lot))
        return "done"

    heard.connect(receiver)
    assert send_required(heard, session, lot=7) == ["done"]
    assert calls == [(session, 7)]


def test_a_question_returns_its_one_answer_and_refuses_two(session):
    question = signals.signal("question")

    def no_answer(sender, **kwargs):
        return None

    def answer(sender, **kwargs):
        return 42

    def another(sender, **kwargs):
        return 43

    question.connect(no_answer)
    assert ask(question, session) is None
    question.connect(answer)
    assert ask(question, session) == 42
    question.connect(another)
    with pytest.raises(RuntimeError, match="2 answers"):
        ask(question, session)


def test_a_question_no_one_answers_refuses_to_go_on(session):
    with pytest.raises(NoReceiver):
        ask(signals.signal("unanswered"), session)
