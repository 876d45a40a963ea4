"""Two acceptances at the same moment on PostgreSQL, with real commits: never past the maximum."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from threading import Barrier

import sqlalchemy as sa

from marketplace.app import create_app
from marketplace.core.db import make_session_factory, unit_of_work
from marketplace.parties.models import OrganisationKind, Role
from orders.contracts import service
from orders.contracts.models import Contract, Delivery, DeliveryStatus
from tests.conftest import postgres_database
from tests.factories import (
    CELERY_GRADES,
    graded_definition,
    headers_for,
    make_category,
    make_contract,
    make_graded_lot,
    make_organisation,
    make_product,
    make_standard,
    make_user,
)

RACERS = 8


def test_concurrent_acceptances_never_exceed_the_contracted_quantity_plus_tolerance(settings):
    with postgres_database() as engine:
        factory = make_session_factory(engine)
        with unit_of_work(factory) as session:
            grower = make_user(
                session,
                role=Role.COOPERATIVE,
                organisation=make_organisation(session, OrganisationKind.COOPERATIVE),
            )
            enterprise = make_user(
                session,
                role=Role.ENTERPRISE,
                organisation=make_organisation(session, OrganisationKind.ENTERPRISE),
            )
            category = make_category(session)
            standard = make_standard(session, category=category, definition=graded_definition(*CELERY_GRADES))
            product = make_product(session, cooperative=grower.organisation, category=category)
            # 1,000 kg + 5 % = 1,050 kg at most; eight deliveries of 400 kg race for it.
            contract = make_contract(session, enterprise_user=enterprise, grower_user=grower, product=product)
            deliveries = []
            for _ in range(RACERS):
                lot = make_graded_lot(
                    session, product=product, grade="一级", quantity=Decimal("400"), standard=standard
                )
                deliveries.append(
                    service.deliver(
                        session,
                        actor=grower,
                        contract_id=contract.id,
                        lot_id=lot.id,
                        window=1,
                        quantity=Decimal("400"),
                        delivered_on=date(2026, 10, 2),
                    ).id
                )
            headers = headers_for(session, enterprise)
            contract_id = contract.id
        app = create_app(settings.with_overrides(write_rate_limit="1000 per minute"), session_factory=factory)
        start = Barrier(RACERS)

        def accept(delivery_id: int) -> int:
            client = app.test_client()
            start.wait()
            return client.post(
                f"/api/v1/contracts/{contract_id}/deliveries/{delivery_id}/acceptance",
                headers=headers,
                json={"received_quantity": "400", "receipt_grade": "一级"},
            ).status_code

        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            statuses = list(pool.map(accept, deliveries))

        assert sorted(statuses) == [200, 200] + [409] * (RACERS - 2)
        with engine.connect() as connection:
            accepted = connection.scalar(
                sa.select(Contract.accepted_quantity).where(Contract.id == contract_id)
            )
            summed = connection.scalar(
                sa.select(sa.func.sum(Delivery.received_quantity)).where(
                    Delivery.contract_id == contract_id, Delivery.status == DeliveryStatus.ACCEPTED
                )
            )
        assert accepted == summed == Decimal("800.000")
