"""scan days: scans per village and local day, for the dashboard

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 15:24:29.907413
"""
from datetime import datetime

import sqlalchemy as sa
from alembic import op

from marketplace.core.config import Settings

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scan_days',
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('scans', sa.Integer(), nullable=False),
    sa.Column('codes_first_scanned', sa.Integer(), nullable=False),
    sa.CheckConstraint('scans >= codes_first_scanned AND codes_first_scanned >= 0', name=op.f('ck_scan_days_counts')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_scan_days_village_id_villages')),
    sa.PrimaryKeyConstraint('village_id', 'day', name=op.f('pk_scan_days'))
    )
    op.create_index(op.f('ix_scan_days_day'), 'scan_days', ['day'], unique=False)
    _count_existing_scans()


def _count_existing_scans() -> None:
    zone = Settings.from_env().zone
    if op.get_bind().dialect.name == "postgresql":
        day = "CAST(timezone('{zone}', {column}) AS DATE)"
    else:
        hours = int(datetime.now(zone).utcoffset().total_seconds() // 3600)
        day = "date({column}, '%+d hours')" % hours
    scan_day = day.format(zone=zone.key, column="scans.scanned_at")
    first_day = day.format(zone=zone.key, column="codes.first_scanned_at")
    op.execute(f"""
        INSERT INTO scan_days (village_id, day, scans, codes_first_scanned)
        SELECT lots.village_id, {scan_day}, count(*), 0
        FROM scans JOIN codes ON codes.id = scans.code_id JOIN lots ON lots.id = codes.lot_id
        GROUP BY lots.village_id, {scan_day}""")
    op.execute(f"""
        UPDATE scan_days SET codes_first_scanned = (
            SELECT count(*) FROM codes JOIN lots ON lots.id = codes.lot_id
            WHERE lots.village_id = scan_days.village_id AND {first_day} = scan_days.day)""")


def downgrade() -> None:
    op.drop_index(op.f('ix_scan_days_day'), table_name='scan_days')
    op.drop_table('scan_days')
