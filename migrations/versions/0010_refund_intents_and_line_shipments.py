"""refunds are recorded as pending intents before Stripe is called; each line ships on its own

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

REFUND_STATUS = sa.Enum('pending', 'succeeded', 'failed', name='refund_status', native_enum=False,
                        create_constraint=True, length=32)


def upgrade() -> None:
    with op.batch_alter_table('refunds') as batch:
        batch.add_column(sa.Column('idempotency_key', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('status', REFUND_STATUS, nullable=True))
        batch.add_column(sa.Column('reverses_sale', sa.Boolean(), nullable=True))
        batch.add_column(sa.Column('failure_message', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True))
    # Every refund recorded so far was recorded after Stripe had made it.
    op.execute("UPDATE refunds SET idempotency_key = 'recorded:' || external_id, status = 'succeeded', "
               "reverses_sale = TRUE, settled_at = created_at")
    with op.batch_alter_table('refunds') as batch:
        batch.alter_column('idempotency_key', existing_type=sa.String(length=100), nullable=False)
        batch.alter_column('status', existing_type=REFUND_STATUS, nullable=False)
        batch.alter_column('reverses_sale', existing_type=sa.Boolean(), nullable=False)
        batch.alter_column('external_id', existing_type=sa.String(length=100), nullable=True)
        batch.create_unique_constraint(batch.f('uq_refunds_idempotency_key'), ['idempotency_key'])
        batch.create_index(batch.f('ix_refunds_status'), ['status'], unique=False)
    with op.batch_alter_table('order_lines') as batch:
        batch.add_column(sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('carrier', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('tracking_number', sa.String(length=100), nullable=True))
    # Lines of orders shipped before this migration went in the order's one parcel.
    parcel = "(SELECT {} FROM orders WHERE orders.id = order_lines.order_id)"
    op.execute(f"UPDATE order_lines SET shipped_at = {parcel.format('fulfilled_at')}, "
               f"carrier = {parcel.format('carrier')}, "
               f"tracking_number = {parcel.format('tracking_number')} "
               "WHERE order_id IN (SELECT id FROM orders WHERE fulfilled_at IS NOT NULL)")


def downgrade() -> None:
    with op.batch_alter_table('order_lines') as batch:
        batch.drop_column('tracking_number')
        batch.drop_column('carrier')
        batch.drop_column('shipped_at')
    op.execute("DELETE FROM refunds WHERE status <> 'succeeded'")
    with op.batch_alter_table('refunds') as batch:
        batch.drop_index(batch.f('ix_refunds_status'))
        batch.drop_constraint(batch.f('uq_refunds_idempotency_key'), type_='unique')
        batch.alter_column('external_id', existing_type=sa.String(length=100), nullable=False)
        batch.drop_column('settled_at')
        batch.drop_column('failure_message')
        batch.drop_column('reverses_sale')
        # SQLite's batch copy would keep the CHECK on the column it drops.
        batch.drop_constraint(batch.f('ck_refunds_refund_status'), type_='check')
        batch.drop_column('status')
        batch.drop_column('idempotency_key')
