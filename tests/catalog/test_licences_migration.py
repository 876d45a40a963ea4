"""Migration 0012 keeps what was already on sale selling: growers get licences and villages for
what they had listed, so that an upgraded database behaves as before until the operator reviews."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from catalog.models import BrandLicence, LotStatus
from marketplace.core import migrations as schema
from marketplace.parties.models import CooperativeVillage
from tests import factories


def test_upgrading_licenses_every_grower_for_what_it_already_lists(connection):
    config = schema.alembic_config(connection)
    before = ScriptDirectory.from_config(config).get_revision("0012").down_revision
    command.downgrade(config, before)
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        grower = factories.make_organisation(session)
        product = factories.make_product(session, cooperative=grower, licensed=False)
        elsewhere = factories.make_village(session)
        factories.make_lot(
            session, product=product, village_id=elsewhere.id, status=LotStatus.ON_SALE, licensed=False
        )
        ids = grower.id, product.brand_id, product.category_id, product.village_id, elsewhere.id
        session.commit()

    command.upgrade(config, "head")

    grower_id, brand_id, category_id, village_id, elsewhere_id = ids
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        licence = session.scalars(sa.select(BrandLicence).where(BrandLicence.licensee_id == grower_id)).one()
        villages = set(
            session.scalars(
                sa.select(CooperativeVillage.village_id).where(
                    CooperativeVillage.organisation_id == grower_id
                )
            )
        )
    assert (licence.brand_id, licence.category_id) == (brand_id, category_id)
    assert licence.valid_until is None and licence.revoked_at is None
    assert licence.in_force_now
    assert villages == {village_id, elsewhere_id}
