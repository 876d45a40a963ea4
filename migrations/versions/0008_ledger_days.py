"""ledger days: each village's ledger per local day, kept by a trigger, for the dashboard

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 15:42:36.643564
"""
from datetime import datetime

import sqlalchemy as sa
from alembic import op

from marketplace.core.config import Settings

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# What a line adds to its village's day; the same rules as the dashboard's figures.
INCOME = ("CASE WHEN {row}account = 'village_collective' AND {row}income_category = 'operating_income' "
          "THEN {row}credit_fen - {row}debit_fen ELSE 0 END")
SALES = "CASE WHEN {row}source_type IN ('order', 'sale') THEN {row}credit_fen - {row}debit_fen ELSE 0 END"
REFUNDS = "CASE WHEN {row}source_type = 'refund' THEN {row}debit_fen - {row}credit_fen ELSE 0 END"
FIRST_OF_ORDER = ("CASE WHEN {row}source_type = 'order' AND NOT EXISTS (SELECT 1 FROM ledger_entries AS earlier "
                  "WHERE earlier.source_type = 'order' AND earlier.source_id = {row}source_id "
                  "AND earlier.village_id = {row}village_id AND earlier.account <> 'payments_clearing' "
                  "AND earlier.id < {row}id) THEN 1 ELSE 0 END")
COUNTED = "{row}village_id IS NOT NULL AND {row}account <> 'payments_clearing'"
ADD = ("ON CONFLICT (village_id, day) DO UPDATE SET "
       "collective_income_fen = ledger_days.collective_income_fen + excluded.collective_income_fen, "
       "sales_fen = ledger_days.sales_fen + excluded.sales_fen, "
       "refunds_fen = ledger_days.refunds_fen + excluded.refunds_fen, "
       "orders_paid = ledger_days.orders_paid + excluded.orders_paid")


def upgrade() -> None:
    op.create_table('ledger_days',
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('collective_income_fen', sa.BigInteger(), nullable=False),
    sa.Column('sales_fen', sa.BigInteger(), nullable=False),
    sa.Column('refunds_fen', sa.BigInteger(), nullable=False),
    sa.Column('orders_paid', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_ledger_days_village_id_villages')),
    sa.PrimaryKeyConstraint('village_id', 'day', name=op.f('pk_ledger_days'))
    )
    op.create_index(op.f('ix_ledger_days_day'), 'ledger_days', ['day'], unique=False)
    zone = Settings.from_env().zone
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        day = f"CAST(timezone('{zone.key}', {{row}}posted_at) AS DATE)"
    else:
        hours = int(datetime.now(zone).utcoffset().total_seconds() // 3600)
        day = f"date({{row}}posted_at, '{hours:+d} hours')"
    values = ", ".join(part.format(row="NEW.")
                       for part in ("NEW.village_id", day, INCOME, SALES, REFUNDS, FIRST_OF_ORDER))
    add_line = (f"INSERT INTO ledger_days (village_id, day, collective_income_fen, sales_fen, "
                f"refunds_fen, orders_paid) VALUES ({values}) {ADD}")
    if postgresql:
        op.execute("CREATE FUNCTION ledger_entries_count_day() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   f"BEGIN IF {COUNTED.format(row='NEW.')} THEN {add_line}; END IF; RETURN NULL; END $$")
        op.execute("CREATE TRIGGER ledger_entries_count_day AFTER INSERT ON ledger_entries "
                   "FOR EACH ROW EXECUTE FUNCTION ledger_entries_count_day()")
    else:
        op.execute("CREATE TRIGGER ledger_entries_count_day AFTER INSERT ON ledger_entries "
                   f"WHEN {COUNTED.format(row='NEW.')} BEGIN {add_line}; END")
    # Lines posted before this migration.
    row_day = day.format(row="")
    first = FIRST_OF_ORDER.format(row="ledger_entries.")
    op.execute(f"INSERT INTO ledger_days (village_id, day, collective_income_fen, sales_fen, refunds_fen, "
               f"orders_paid) SELECT village_id, {row_day}, sum({INCOME.format(row='')}), "
               f"sum({SALES.format(row='')}), sum({REFUNDS.format(row='')}), sum({first}) "
               f"FROM ledger_entries WHERE {COUNTED.format(row='')} GROUP BY village_id, {row_day}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_count_day ON ledger_entries")
        op.execute("DROP FUNCTION IF EXISTS ledger_entries_count_day()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_count_day")
    op.drop_index(op.f('ix_ledger_days_day'), table_name='ledger_days')
    op.drop_table('ledger_days')
