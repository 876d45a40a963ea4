"""How a lower domain tells a higher one that something happened, without importing it.

A domain defines its signals (blinker's, as Flask uses) in its own `signals.py`; the higher
domain connects its receivers where it defines them, so importing it wires them. The sender is
the session of the transaction the event happened in, and receivers take it first and the rest
keyword-only, like service functions: blinker calls them at once, inside that transaction, and
an exception a receiver raises reaches the sender's caller and rolls the transaction back.

Some signals carry a rule that must run (the brand gate, the trace chain): those are sent with
`send_required` or `ask`, which refuse to go on when nothing listens rather than skip the rule.
"""

from __future__ import annotations

from typing import Any

from blinker import NamedSignal
from sqlalchemy.orm import Session


class NoReceiver(RuntimeError):
    """A signal whose rule must run was sent with no receiver connected: the domain that
    answers it was never imported. A wiring fault, never the caller's: it fails closed."""


def send_required(signal: NamedSignal, session: Session, **kwargs: Any) -> list[Any]:
    """Send `signal` in this transaction; raise NoReceiver when nothing is connected to it."""
    if not signal.receivers:
        raise NoReceiver(f"nothing answers the {signal.name!r} signal: its rule would be skipped")
    return [answer for _, answer in signal.send(session, **kwargs)]


def ask(signal: NamedSignal, session: Session, **kwargs: Any) -> Any:
    """Send `signal` as a question: the one answer that is not None, or None when no receiver
    has one. Raises NoReceiver when nothing is connected, and RuntimeError on two answers."""
    answers = [answer for answer in send_required(signal, session, **kwargs) if answer is not None]
    if len(answers) > 1:
        raise RuntimeError(f"the {signal.name!r} signal had {len(answers)} answers where one was expected")
    return answers[0] if answers else None
