"""brand licences and cooperative villages: who may use which brand, and where each grower works

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 04:49:19.481949

Existing products and lots keep working: every grower gets a licence, open-ended, for each
brand and category it already sells under, and membership of each village its products and lots
come from. The operator reviews them and revokes what it never granted.
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from marketplace.core.db import UtcDateTime

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cooperative_villages',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('since', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_cooperative_villages_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_cooperative_villages_village_id_villages')),
    sa.PrimaryKeyConstraint('organisation_id', 'village_id', name=op.f('pk_cooperative_villages'))
    )
    op.create_index(op.f('ix_cooperative_villages_village_id'), 'cooperative_villages', ['village_id'], unique=False)
    op.create_table('brand_licences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('licensee_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('valid_until IS NULL OR valid_until > valid_from', name=op.f('ck_brand_licences_period_not_empty')),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_brand_licences_brand_id_brands')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_brand_licences_category_id_categories')),
    sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'], name=op.f('fk_brand_licences_granted_by_id_users')),
    sa.ForeignKeyConstraint(['licensee_id'], ['organisations.id'], name=op.f('fk_brand_licences_licensee_id_organisations')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_brand_licences_revoked_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brand_licences'))
    )
    op.create_index(op.f('ix_brand_licences_brand_id'), 'brand_licences', ['brand_id'], unique=False)
    op.create_index(op.f('ix_brand_licences_licensee_id'), 'brand_licences', ['licensee_id'], unique=False)
    _carry_over_what_is_already_sold()


def _carry_over_what_is_already_sold() -> None:
    now = datetime.now(UTC)
    moment = sa.bindparam("now", now, type_=UtcDateTime())
    op.execute(sa.text(
        "INSERT INTO brand_licences (brand_id, licensee_id, category_id, valid_from, note, "
        "created_at, updated_at) "
        "SELECT brand_id, cooperative_id, category_id, MIN(created_at), "
        "'carried over by migration 0012 from the products already listed', :now, :now "
        "FROM products GROUP BY brand_id, cooperative_id, category_id").bindparams(moment))
    op.execute(sa.text(
        "INSERT INTO cooperative_villages (organisation_id, village_id, since, created_at) "
        "SELECT cooperative_id, village_id, :today, :now FROM "
        "(SELECT cooperative_id, village_id FROM products UNION "
        "SELECT cooperative_id, village_id FROM lots) AS worked")
        .bindparams(moment, sa.bindparam("today", now.date(), type_=sa.Date())))


def downgrade() -> None:
    op.drop_index(op.f('ix_brand_licences_licensee_id'), table_name='brand_licences')
    op.drop_index(op.f('ix_brand_licences_brand_id'), table_name='brand_licences')
    op.drop_table('brand_licences')
    op.drop_index(op.f('ix_cooperative_villages_village_id'), table_name='cooperative_villages')
    op.drop_table('cooperative_villages')
