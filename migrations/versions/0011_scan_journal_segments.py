"""scan journal segments: how much of each process's journal of answered scans is written

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 05:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scan_journal_segments',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('written_bytes', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scan_journal_segments'))
    )


def downgrade() -> None:
    op.drop_table('scan_journal_segments')
