"""Concurrent writers on the embedded default: gunicorn as `make run` starts it, on a SQLite file,
and 50 clients at once for each kind of write — guest orders, card-payment starts, Stripe
webhooks, refunds, and retries of one order under one Idempotency-Key.

    .venv/bin/python bench/sqlite_writers.py                  # 50 writers, make run's workers
    .venv/bin/python bench/sqlite_writers.py --writers 100 --workers 8

Stripe is localstripe (tests/localstripe_server.py) on loopback. Each guest comes from an
address of its own (X-Forwarded-For with TRUSTED_PROXIES=1, as behind a proxy). Prints, per
kind, the answers by status and the wall time of the 50, then the lots' stock. The test
tests/orders/test_sqlite_writers.py runs the same phases and asserts 0 × 5xx and exact stock.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WEBHOOK_SECRET = "whsec_bench_" + "w" * 24
GUEST_PACKS = 40  # 50 guests race for 40 packs: 40 orders, 10 refusals
BULK_PACKS = 60  # an operator buys 50 of these, pays, and is refunded 50 times


@dataclass
class Phase:
    statuses: Counter
    seconds: float
    latencies: list[float] = field(default_factory=list)
    # The order references answered, for the retries of one order.
    references: set = field(default_factory=set)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)


@dataclass
class Shop:
    database_url: str
    guest_sku: int
    guest_lot: int
    bulk_sku: int
    bulk_lot: int
    operator_token: str


def seed(directory: Path) -> Shop:
    """A migrated SQLite file with two SKUs on sale and an operator's token."""
    from marketplace.core import migrations as schema
    from marketplace.core.db import make_engine, make_session_factory, unit_of_work
    from marketplace.parties.models import OrganisationKind, Role
    from tests import factories

    database_url = f"sqlite:///{directory / 'shanhai.sqlite3'}"
    engine = make_engine(database_url)
    schema.upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        guest_sku, guest_lot = factories.make_shop(session, packs=GUEST_PACKS, pack_grams=100)
        bulk_sku, bulk_lot = factories.make_shop(session, packs=BULK_PACKS, pack_grams=100)
        operator = factories.make_user(
            session,
            role=Role.OPERATOR,
            organisation=factories.make_organisation(session, OrganisationKind.OPERATOR),
        )
        shop = Shop(
            database_url,
            guest_sku.id,
            guest_lot.id,
            bulk_sku.id,
            bulk_lot.id,
            factories.make_token(session, operator),
        )
    engine.dispose()
    return shop


@contextmanager
def localstripe() -> str:
    from tests.conftest import start_localstripe

    server, port = start_localstripe()
    if server is None:
        raise RuntimeError("localstripe did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def server_environment(shop: Shop, directory: Path, stripe_api_base: str, workers: int | None = None) -> dict:
    """`make run`'s environment on the shop's file, with Stripe at `stripe_api_base`."""
    from tests.conftest import server_environment as make_run_environment

    return make_run_environment(
        directory,
        shop.database_url,
        SECRET_KEY="bench-sqlite-writers",
        TRUSTED_PROXIES="1",
        RATE_LIMIT_WRITES="100000 per minute",
        STRIPE_SECRET_KEY="sk_test_shanhai",
        STRIPE_API_BASE=stripe_api_base,
        STRIPE_WEBHOOK_SECRETS=WEBHOOK_SECRET,
        REDIS_URL=None,
        **({"WEB_CONCURRENCY": str(workers)} if workers else {}),
    )


def call(
    base: str, path: str, body: dict | bytes, headers: dict | None = None, timeout: float = 60
) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        base + path, data=data, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"{}")
        except ValueError:
            return error.code, {}
    except OSError:
        return 599, {}  # no answer at all (a killed worker, a timeout): worse than a 5xx


def at_once(task, count: int) -> tuple[list, Phase]:
    """`task(n)` for n in range(count), all at once; each returns (status, anything)."""
    latencies: list[float] = []

    def timed(n: int):
        started = time.perf_counter()
        answer = task(n)
        latencies.append(time.perf_counter() - started)
        return answer

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=count) as pool:
        answers = list(pool.map(timed, range(count)))
    phase = Phase(Counter(status for status, _ in answers), time.perf_counter() - started, sorted(latencies))
    return answers, phase


def signed(payload: dict) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    at = int(time.time())
    digest = hmac.new(WEBHOOK_SECRET.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={at},v1={digest}"}


def succeeded(intent_id: str, amount: int, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount,
                "amount_received": amount,
                "status": "succeeded",
            }
        },
    }


def run_phases(base: str, shop: Shop, stripe_api_base: str, writers: int = 50) -> dict[str, Phase]:
    import stripe

    phases: dict[str, Phase] = {}
    guest = lambda n: {"X-Forwarded-For": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}  # noqa: E731

    # 1. Guests race for the last packs of one SKU, one pack each.
    orders, phases["guest orders"] = at_once(
        lambda n: call(
            base,
            "/api/v1/orders",
            {"lines": [{"sku_id": shop.guest_sku, "quantity": 1}], "email": f"guest{n}@example.test"},
            guest(n),
        ),
        writers,
    )
    references = [answer["reference"] for status, answer in orders if status == 201]

    # 2. Card payments start for every order; some orders are asked twice (one intent each).
    starts, phases["payment starts"] = at_once(
        lambda n: call(
            base, f"/api/v1/orders/{references[n % len(references)]}/payments", {"method": "card"}
        ),
        writers,
    )
    intents = {
        answer["payment_intent_id"]: answer["amount_fen"] for status, answer in starts if status == 201
    }

    # 3. Stripe says each was paid; a repeated delivery of an event changes nothing.
    events = [succeeded(intent_id, amount) for intent_id, amount in intents.items()]
    _, phases["webhooks"] = at_once(
        lambda n: call(base, "/api/v1/payments/stripe/webhook", *signed(events[n % len(events)])), writers
    )

    # 4. An operator's paid order of 50 packs is refunded 1 yuan at a time, 50 refunds at once.
    operator = {"Authorization": f"Bearer {shop.operator_token}"}
    _, bulk = call(base, "/api/v1/orders", {"lines": [{"sku_id": shop.bulk_sku, "quantity": 50}]}, operator)
    _, payment = call(base, f"/api/v1/orders/{bulk['reference']}/payments", {"method": "card"})
    client = stripe.StripeClient("sk_test_shanhai", base_addresses={"api": stripe_api_base})
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"},
        }
    )
    client.v1.payment_intents.update(payment["payment_intent_id"], params={"payment_method": method.id})
    client.v1.payment_intents.confirm(payment["payment_intent_id"])
    call(
        base,
        "/api/v1/payments/stripe/webhook",
        *signed(succeeded(payment["payment_intent_id"], payment["amount_fen"])),
    )
    _, phases["refunds"] = at_once(
        lambda n: call(
            base,
            f"/api/v1/orders/{bulk['reference']}/refunds",
            {"amount_fen": 100, "reason": f"refund {n}"},
            {**operator, "Idempotency-Key": f"refund-{n}"},
        ),
        writers,
    )

    # 5. One guest's order sent 50 times at once under one Idempotency-Key: one order.
    key = str(uuid.uuid4())
    retries, phases["idempotent retries"] = at_once(
        lambda n: call(
            base,
            "/api/v1/orders",
            {"lines": [{"sku_id": shop.bulk_sku, "quantity": 3}], "email": "retry@example.test"},
            {**guest(99_999), "Idempotency-Key": key},
        ),
        writers,
    )
    phases["idempotent retries"].references = {answer.get("reference") for _, answer in retries}
    return phases


def final_state(shop: Shop) -> dict:
    import sqlalchemy as sa

    from catalog.models import Lot
    from marketplace.core.db import make_engine
    from orders.models import Order, OrderStatus

    engine = make_engine(shop.database_url)
    with engine.connect() as connection:
        state = {
            "guest lot": tuple(
                connection.execute(
                    sa.select(Lot.stock_on_hand, Lot.reserved).where(Lot.id == shop.guest_lot)
                ).one()
            ),
            "bulk lot": tuple(
                connection.execute(
                    sa.select(Lot.stock_on_hand, Lot.reserved).where(Lot.id == shop.bulk_lot)
                ).one()
            ),
            "paid guest orders": connection.scalar(
                sa.select(sa.func.count())
                .select_from(Order)
                .where(Order.status == OrderStatus.PAID, Order.buyer_user_id.is_(None))
            ),
            "refunded fen": connection.scalar(sa.select(sa.func.max(Order.refunded_fen))),
        }
    engine.dispose()
    return state


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--workers", type=int, default=None, help="WEB_CONCURRENCY; make run's default")
    args = parser.parse_args()
    from tests.conftest import gunicorn_server

    with tempfile.TemporaryDirectory() as scratch, localstripe() as stripe_api_base:
        directory = Path(scratch)
        shop = seed(directory)
        env = server_environment(shop, directory, stripe_api_base, args.workers)
        with gunicorn_server(env) as base:
            phases = run_phases(base, shop, stripe_api_base, args.writers)
        for name, phase in phases.items():
            print(
                f"{name:>20}: {dict(sorted(phase.statuses.items()))}  {phase.seconds:6.2f} s for "
                f"{args.writers}, median {statistics.median(phase.latencies):.2f} s, "
                f"slowest {phase.latencies[-1]:.2f} s"
            )
        for name, value in final_state(shop).items():
            print(f"{name:>20}: {value}")


if __name__ == "__main__":
    main()
