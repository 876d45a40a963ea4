"""orders payments ledger

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 13:45:29.660637
"""
import sqlalchemy as sa
from alembic import op

from marketplace.core.migrations import drop_append_only, make_append_only

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_records')),
    sa.UniqueConstraint('scope', 'key', name=op.f('uq_idempotency_records_scope_key'))
    )
    op.create_table('stripe_events',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_events'))
    )
    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('posting', sa.String(length=36), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source_type', sa.String(length=20), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=False),
    sa.Column('account', sa.String(length=40), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('income_category', sa.String(length=40), nullable=True),
    sa.Column('debit_fen', sa.BigInteger(), nullable=False),
    sa.Column('credit_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('memo', sa.String(length=200), nullable=False),
    sa.CheckConstraint('debit_fen >= 0 AND credit_fen >= 0 AND (debit_fen = 0) <> (credit_fen = 0)', name=op.f('ck_ledger_entries_one_sided')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_ledger_entries_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_ledger_entries_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries'))
    )
    op.create_index(op.f('ix_ledger_entries_organisation_id'), 'ledger_entries', ['organisation_id'], unique=False)
    op.create_index(op.f('ix_ledger_entries_posted_at'), 'ledger_entries', ['posted_at'], unique=False)
    op.create_index(op.f('ix_ledger_entries_posting'), 'ledger_entries', ['posting'], unique=False)
    op.create_index('ix_ledger_entries_source', 'ledger_entries', ['source_type', 'source_id'], unique=False)
    op.create_index(op.f('ix_ledger_entries_village_id'), 'ledger_entries', ['village_id'], unique=False)
    op.create_table('orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('status', sa.Enum('pending_payment', 'paid', 'fulfilled', 'completed', 'cancelled', 'refunded', 'partially_refunded', name='order_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('buyer_user_id', sa.Integer(), nullable=True),
    sa.Column('buyer_organisation_id', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('captured_fen', sa.BigInteger(), nullable=False),
    sa.Column('refunded_fen', sa.BigInteger(), nullable=False),
    sa.Column('reserved_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fulfilled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('carrier', sa.String(length=100), nullable=True),
    sa.Column('tracking_number', sa.String(length=100), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('refunded_fen >= 0 AND refunded_fen <= captured_fen', name=op.f('ck_orders_refunds_within_captured')),
    sa.CheckConstraint('total_fen >= 0', name=op.f('ck_orders_total_not_negative')),
    sa.ForeignKeyConstraint(['buyer_organisation_id'], ['organisations.id'], name=op.f('fk_orders_buyer_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['buyer_user_id'], ['users.id'], name=op.f('fk_orders_buyer_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('reference', name=op.f('uq_orders_reference'))
    )
    op.create_index(op.f('ix_orders_buyer_organisation_id'), 'orders', ['buyer_organisation_id'], unique=False)
    op.create_index(op.f('ix_orders_buyer_user_id'), 'orders', ['buyer_user_id'], unique=False)
    op.create_index(op.f('ix_orders_status'), 'orders', ['status'], unique=False)
    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('captured_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Enum('requires_payment', 'succeeded', 'failed', 'canceled', name='payment_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('failure_message', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payments_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('external_id', name=op.f('uq_payments_external_id'))
    )
    op.create_index(op.f('ix_payments_order_id'), 'payments', ['order_id'], unique=False)
    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_refunds_amount_positive')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refunds_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('external_id', name=op.f('uq_refunds_external_id'))
    )
    op.create_index(op.f('ix_refunds_payment_id'), 'refunds', ['payment_id'], unique=False)
    op.create_table('sharing_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('guaranteed_party', sa.Enum('village_collective', 'village_group', 'cooperative', 'farmers', 'operator', 'enterprise', name='guaranteed_party', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('guaranteed_fen', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(cluster_id IS NULL) <> (product_id IS NULL)', name=op.f('ck_sharing_rules_one_scope')),
    sa.CheckConstraint('guaranteed_fen >= 0', name=op.f('ck_sharing_rules_guarantee_not_negative')),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_sharing_rules_cluster_id_clusters')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_sharing_rules_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_rules'))
    )
    op.create_index(op.f('ix_sharing_rules_cluster_id'), 'sharing_rules', ['cluster_id'], unique=False)
    op.create_index(op.f('ix_sharing_rules_product_id'), 'sharing_rules', ['product_id'], unique=False)
    op.create_table('order_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_order_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_lines_order_id_orders')),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_order_lines_sku_id_skus')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_lines'))
    )
    op.create_index(op.f('ix_order_lines_order_id'), 'order_lines', ['order_id'], unique=False)
    op.create_index(op.f('ix_order_lines_sku_id'), 'order_lines', ['sku_id'], unique=False)
    op.create_table('sharing_shares',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('party', sa.Enum('village_collective', 'village_group', 'cooperative', 'farmers', 'operator', 'enterprise', name='share_party', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('basis_points', sa.Integer(), nullable=False),
    sa.CheckConstraint('basis_points > 0 AND basis_points <= 10000', name=op.f('ck_sharing_shares_basis_points_range')),
    sa.ForeignKeyConstraint(['rule_id'], ['sharing_rules.id'], name=op.f('fk_sharing_shares_rule_id_sharing_rules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_shares')),
    sa.UniqueConstraint('rule_id', 'party', name=op.f('uq_sharing_shares_rule_id_party'))
    )
    op.create_index(op.f('ix_sharing_shares_rule_id'), 'sharing_shares', ['rule_id'], unique=False)
    op.create_table('allocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('packs', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('state', sa.Enum('held', 'sold', 'released', name='allocation_state', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_allocations_quantity_positive')),
    sa.ForeignKeyConstraint(['line_id'], ['order_lines.id'], name=op.f('fk_allocations_line_id_order_lines')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_allocations_lot_id_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocations'))
    )
    op.create_index(op.f('ix_allocations_line_id'), 'allocations', ['line_id'], unique=False)
    op.create_index(op.f('ix_allocations_lot_id'), 'allocations', ['lot_id'], unique=False)
    with op.batch_alter_table('lots') as batch:
        batch.add_column(sa.Column('reserved', sa.Numeric(precision=14, scale=3), server_default='0', nullable=False))
        batch.create_check_constraint(op.f('ck_lots_reserved_within_stock'),
                                      'reserved >= 0 AND reserved <= stock_on_hand')
    make_append_only('ledger_entries')


def downgrade() -> None:
    drop_append_only('ledger_entries')
    with op.batch_alter_table('lots') as batch:
        batch.drop_constraint(op.f('ck_lots_reserved_within_stock'), type_='check')
        batch.drop_column('reserved')
    op.drop_index(op.f('ix_allocations_lot_id'), table_name='allocations')
    op.drop_index(op.f('ix_allocations_line_id'), table_name='allocations')
    op.drop_table('allocations')
    op.drop_index(op.f('ix_sharing_shares_rule_id'), table_name='sharing_shares')
    op.drop_table('sharing_shares')
    op.drop_index(op.f('ix_order_lines_sku_id'), table_name='order_lines')
    op.drop_index(op.f('ix_order_lines_order_id'), table_name='order_lines')
    op.drop_table('order_lines')
    op.drop_index(op.f('ix_sharing_rules_product_id'), table_name='sharing_rules')
    op.drop_index(op.f('ix_sharing_rules_cluster_id'), table_name='sharing_rules')
    op.drop_table('sharing_rules')
    op.drop_index(op.f('ix_refunds_payment_id'), table_name='refunds')
    op.drop_table('refunds')
    op.drop_index(op.f('ix_payments_order_id'), table_name='payments')
    op.drop_table('payments')
    op.drop_index(op.f('ix_orders_status'), table_name='orders')
    op.drop_index(op.f('ix_orders_buyer_user_id'), table_name='orders')
    op.drop_index(op.f('ix_orders_buyer_organisation_id'), table_name='orders')
    op.drop_table('orders')
    op.drop_index(op.f('ix_ledger_entries_village_id'), table_name='ledger_entries')
    op.drop_index('ix_ledger_entries_source', table_name='ledger_entries')
    op.drop_index(op.f('ix_ledger_entries_posting'), table_name='ledger_entries')
    op.drop_index(op.f('ix_ledger_entries_posted_at'), table_name='ledger_entries')
    op.drop_index(op.f('ix_ledger_entries_organisation_id'), table_name='ledger_entries')
    op.drop_table('ledger_entries')
    op.drop_table('stripe_events')
    op.drop_table('idempotency_records')
