"""exact quantities on SQLite (decimals stored as integers of their smallest unit); a guest
order's client address, which bounds what one anonymous buyer holds

SQLite's NUMERIC keeps a fraction as a binary float, so stock drifted (1.1000000000000014).
marketplace.core.db.ExactDecimal now stores NUMERIC(14, 3) values on SQLite as integer thousandths;
this turns the floats and integers already stored into those thousandths. PostgreSQL's NUMERIC
is exact already: nothing changes there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 05:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

SCALE = 1000
# Every NUMERIC(14, 3) column of the models, by table.
COLUMNS = {
    "skus": ("pack_size",),
    "lots": ("quantity", "stock_on_hand", "reserved"),
    "allocations": ("quantity",),
    "certificates": ("quantity",),
    "contracts": ("maximum_quantity", "accepted_quantity"),
    "call_offs": ("quantity",),
    "contract_deliveries": ("quantity", "received_quantity"),
}


def upgrade() -> None:
    op.add_column('orders', sa.Column('client_address', sa.String(length=45), nullable=True))
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in COLUMNS.items():
        # One UPDATE per table: checks such as reserved <= stock_on_hand hold row by row.
        assignments = ", ".join(f"{column} = CAST(round({column} * {SCALE}) AS INTEGER)"
                                for column in columns)
        op.execute(f"UPDATE {table} SET {assignments}")


def downgrade() -> None:
    op.execute("ALTER TABLE orders DROP COLUMN client_address")
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in COLUMNS.items():
        assignments = ", ".join(f"{column} = {column} / {SCALE}.0" for column in columns)
        op.execute(f"UPDATE {table} SET {assignments}")
