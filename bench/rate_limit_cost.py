"""What a rate limit costs one request: counting a hit and reading its window's headers, in
limits' in-process storage (one budget per worker) and in the SQLite file every worker of a
server shares (the default without Redis); and finding whose budget a bearer token spends.

    .venv/bin/python bench/rate_limit_cost.py

One process, one thread, many keys (as phones are); prints microseconds per request.
Nothing here is a pass/fail test: the figures go into the README.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def per_call(function, count: int) -> float:
    started = time.perf_counter()
    for number in range(count):
        function(number)
    return (time.perf_counter() - started) / count * 1e6


def main() -> None:
    from fresh_database import migrated_engine
    from limits import parse
    from limits.storage import storage_from_string
    from limits.strategies import MovingWindowRateLimiter

    from marketplace.accounts import service as auth_service
    from marketplace.core import security
    from marketplace.core.db import make_session_factory
    from marketplace.parties.models import Role
    from tests import factories

    workdir = Path(tempfile.mkdtemp(prefix="shanhai-limits-"))
    limit = parse("300 per minute")
    count = 20_000
    for name, uri in (
        ("in-process memory (per worker)", "steady-memory://"),
        ("SQLite file (shared by workers)", f"shanhai-sqlite://{workdir / 'rate-limits.sqlite3'}"),
    ):
        strategy = MovingWindowRateLimiter(storage_from_string(uri))

        def hit(number: int, strategy=strategy) -> None:
            key = f"address:10.0.{number % 250}.{number % 199}"
            strategy.hit(limit, "shanhai", key, "resolver")
            strategy.get_window_stats(limit, "shanhai", key, "resolver")

        print(f"rate limit, {name}: {per_call(hit, count):.1f} µs a request (hit + window)")

    security.use_token_owner(auth_service.token_owner_id, shape=auth_service.TOKEN_SHAPE)
    engine = migrated_engine(f"sqlite:///{workdir / 'bench.sqlite3'}")
    factory = make_session_factory(engine)
    with factory() as session:
        organisation = factories.make_organisation(session)
        user = factories.make_user(session, role=Role.COOPERATIVE, organisation=organisation)
        raw, _ = auth_service.issue_token(
            session, email=user.email, password=factories.PASSWORD, lifetime=timedelta(hours=1)
        )
        session.commit()
    invented = [f"Bearer {secrets.token_urlsafe(32)}" for _ in range(2000)]
    cases = (
        ("no token", lambda n: "", count),
        (f"a valid token (remembered {security.IDENTITY_SECONDS:.0f} s)", lambda n: f"Bearer {raw}", count),
        ("garbage not shaped like a token (no read)", lambda n: f"Bearer x{n}", count),
        ("an invented token of the right shape (one indexed read)", lambda n: invented[n], 2000),
    )
    for name, header, times in cases:
        cost = per_call(
            lambda n, header=header: security.client_key(header(n), "10.0.0.1", session_factory=factory),
            times,
        )
        print(f"whose budget, {name}: {cost:.1f} µs a request")


if __name__ == "__main__":
    main()
