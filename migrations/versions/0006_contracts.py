"""Order-farming contracts: versions, market prices, advances, deliveries, settlements;
call-offs against contracts; sharing rules may be scoped to a contract.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:05:22.938637
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

ONE_OF_THREE = ("(CASE WHEN cluster_id IS NULL THEN 0 ELSE 1 END)"
                " + (CASE WHEN product_id IS NULL THEN 0 ELSE 1 END)"
                " + (CASE WHEN contract_id IS NULL THEN 0 ELSE 1 END) = 1")


def upgrade() -> None:
    op.create_table('contracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('grower_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'active', 'fulfilled', 'terminated', name='contract_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=True),
    sa.Column('maximum_quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('accepted_quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('accepted_quantity >= 0 AND accepted_quantity <= maximum_quantity', name=op.f('ck_contracts_accepted_within_maximum')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['organisations.id'], name=op.f('fk_contracts_enterprise_id_organisations')),
    sa.ForeignKeyConstraint(['grower_id'], ['organisations.id'], name=op.f('fk_contracts_grower_id_organisations')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_contracts_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contracts'))
    )
    op.create_index(op.f('ix_contracts_enterprise_id'), 'contracts', ['enterprise_id'], unique=False)
    op.create_index(op.f('ix_contracts_grower_id'), 'contracts', ['grower_id'], unique=False)
    op.create_index(op.f('ix_contracts_product_id'), 'contracts', ['product_id'], unique=False)
    op.create_index(op.f('ix_contracts_status'), 'contracts', ['status'], unique=False)
    op.create_table('market_prices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('grade_code', sa.String(length=32), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('priced_on', sa.Date(), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('price_fen > 0', name=op.f('ck_market_prices_price_positive')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_market_prices_entered_by_id_users')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_market_prices_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market_prices')),
    sa.UniqueConstraint('product_id', 'grade_code', 'unit', 'priced_on', name=op.f('uq_market_prices_product_id_grade_code_unit_priced_on'))
    )
    op.create_index(op.f('ix_market_prices_product_id'), 'market_prices', ['product_id'], unique=False)
    op.create_table('contract_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('enterprise_signed_by_id', sa.Integer(), nullable=True),
    sa.Column('enterprise_signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('grower_signed_by_id', sa.Integer(), nullable=True),
    sa.Column('grower_signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_contract_versions_contract_id_contracts')),
    sa.ForeignKeyConstraint(['enterprise_signed_by_id'], ['users.id'], name=op.f('fk_contract_versions_enterprise_signed_by_id_users')),
    sa.ForeignKeyConstraint(['grower_signed_by_id'], ['users.id'], name=op.f('fk_contract_versions_grower_signed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_versions')),
    sa.UniqueConstraint('contract_id', 'number', name=op.f('uq_contract_versions_contract_id_number'))
    )
    op.create_index(op.f('ix_contract_versions_contract_id'), 'contract_versions', ['contract_id'], unique=False)
    op.create_table('settlements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('gross_fen', sa.BigInteger(), nullable=False),
    sa.Column('advances_fen', sa.BigInteger(), nullable=False),
    sa.Column('deposit_fen', sa.BigInteger(), nullable=False),
    sa.Column('total_due_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('issued', 'paid', name='settlement_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bank_reference', sa.String(length=100), nullable=True),
    sa.CheckConstraint('period_start <= period_end', name=op.f('ck_settlements_period_ordered')),
    sa.CheckConstraint('total_due_fen >= 0', name=op.f('ck_settlements_total_not_negative')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_settlements_contract_id_contracts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlements'))
    )
    op.create_index(op.f('ix_settlements_contract_id'), 'settlements', ['contract_id'], unique=False)
    op.create_table('contract_advances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('seedlings', 'feed', 'fertiliser', 'cash', 'other', name='advance_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('given_on', sa.Date(), nullable=False),
    sa.Column('settlement_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_contract_advances_amount_positive')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_contract_advances_contract_id_contracts')),
    sa.ForeignKeyConstraint(['settlement_id'], ['settlements.id'], name=op.f('fk_contract_advances_settlement_id_settlements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_advances'))
    )
    op.create_index(op.f('ix_contract_advances_contract_id'), 'contract_advances', ['contract_id'], unique=False)
    op.create_index(op.f('ix_contract_advances_settlement_id'), 'contract_advances', ['settlement_id'], unique=False)
    op.create_table('contract_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('window', sa.Integer(), nullable=False),
    sa.Column('delivered_on', sa.Date(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('lot_grade', sa.String(length=32), nullable=False),
    sa.Column('status', sa.Enum('delivered', 'accepted', 'rejected', name='delivery_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('received_quantity', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('receipt_grade', sa.String(length=32), nullable=True),
    sa.Column('reinspection_grade_id', sa.Integer(), nullable=True),
    sa.Column('settled_grade', sa.String(length=32), nullable=True),
    sa.Column('contract_version', sa.Integer(), nullable=True),
    sa.Column('unit_price_fen', sa.BigInteger(), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('price_basis', sa.String(length=500), nullable=True),
    sa.Column('rejection_reason', sa.String(length=500), nullable=True),
    sa.Column('delivered_by_id', sa.Integer(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settlement_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_contract_deliveries_quantity_positive')),
    sa.CheckConstraint('received_quantity IS NULL OR received_quantity > 0', name=op.f('ck_contract_deliveries_received_positive')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_contract_deliveries_contract_id_contracts')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_contract_deliveries_decided_by_id_users')),
    sa.ForeignKeyConstraint(['delivered_by_id'], ['users.id'], name=op.f('fk_contract_deliveries_delivered_by_id_users')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_contract_deliveries_lot_id_lots')),
    sa.ForeignKeyConstraint(['reinspection_grade_id'], ['grades.id'], name=op.f('fk_contract_deliveries_reinspection_grade_id_grades')),
    sa.ForeignKeyConstraint(['settlement_id'], ['settlements.id'], name=op.f('fk_contract_deliveries_settlement_id_settlements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_deliveries'))
    )
    op.create_index(op.f('ix_contract_deliveries_contract_id'), 'contract_deliveries', ['contract_id'], unique=False)
    op.create_index(op.f('ix_contract_deliveries_lot_id'), 'contract_deliveries', ['lot_id'], unique=False)
    op.create_index(op.f('ix_contract_deliveries_settlement_id'), 'contract_deliveries', ['settlement_id'], unique=False)
    op.create_index(op.f('ix_contract_deliveries_status'), 'contract_deliveries', ['status'], unique=False)
    op.create_table('call_offs',
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('payment', sa.Enum('invoice', 'card', name='call_off_payment', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_call_offs_quantity_positive')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_call_offs_contract_id_contracts')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_call_offs_order_id_orders')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_call_offs'))
    )
    op.create_index(op.f('ix_call_offs_contract_id'), 'call_offs', ['contract_id'], unique=False)
    # Batch mode: SQLite rebuilds the table to add the foreign key and swap the CHECK.
    with op.batch_alter_table('sharing_rules') as batch:
        batch.add_column(sa.Column('contract_id', sa.Integer(), nullable=True))
        batch.create_index(op.f('ix_sharing_rules_contract_id'), ['contract_id'], unique=False)
        batch.create_foreign_key(op.f('fk_sharing_rules_contract_id_contracts'), 'contracts',
                                 ['contract_id'], ['id'])
        batch.drop_constraint(op.f('ck_sharing_rules_one_scope'), type_='check')
        batch.create_check_constraint(op.f('ck_sharing_rules_one_scope'), ONE_OF_THREE)


def downgrade() -> None:
    op.execute("DELETE FROM sharing_shares WHERE rule_id IN "
               "(SELECT id FROM sharing_rules WHERE contract_id IS NOT NULL)")
    op.execute("DELETE FROM sharing_rules WHERE contract_id IS NOT NULL")
    with op.batch_alter_table('sharing_rules') as batch:
        batch.drop_constraint(op.f('ck_sharing_rules_one_scope'), type_='check')
        batch.create_check_constraint(op.f('ck_sharing_rules_one_scope'),
                                      '(cluster_id IS NULL) <> (product_id IS NULL)')
        batch.drop_constraint(op.f('fk_sharing_rules_contract_id_contracts'), type_='foreignkey')
        batch.drop_index(op.f('ix_sharing_rules_contract_id'))
        batch.drop_column('contract_id')
    op.drop_index(op.f('ix_call_offs_contract_id'), table_name='call_offs')
    op.drop_table('call_offs')
    op.drop_index(op.f('ix_contract_deliveries_status'), table_name='contract_deliveries')
    op.drop_index(op.f('ix_contract_deliveries_settlement_id'), table_name='contract_deliveries')
    op.drop_index(op.f('ix_contract_deliveries_lot_id'), table_name='contract_deliveries')
    op.drop_index(op.f('ix_contract_deliveries_contract_id'), table_name='contract_deliveries')
    op.drop_table('contract_deliveries')
    op.drop_index(op.f('ix_contract_advances_settlement_id'), table_name='contract_advances')
    op.drop_index(op.f('ix_contract_advances_contract_id'), table_name='contract_advances')
    op.drop_table('contract_advances')
    op.drop_index(op.f('ix_settlements_contract_id'), table_name='settlements')
    op.drop_table('settlements')
    op.drop_index(op.f('ix_contract_versions_contract_id'), table_name='contract_versions')
    op.drop_table('contract_versions')
    op.drop_index(op.f('ix_market_prices_product_id'), table_name='market_prices')
    op.drop_table('market_prices')
    op.drop_index(op.f('ix_contracts_status'), table_name='contracts')
    op.drop_index(op.f('ix_contracts_product_id'), table_name='contracts')
    op.drop_index(op.f('ix_contracts_grower_id'), table_name='contracts')
    op.drop_index(op.f('ix_contracts_enterprise_id'), table_name='contracts')
    op.drop_table('contracts')
