"""quality: standards, inspections and their photos, grades, certificates, brand minimum grades

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:14:31.816121
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quality_standards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('title_zh', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_quality_standards_category_id_categories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_standards')),
    sa.UniqueConstraint('code', 'version', name=op.f('uq_quality_standards_code_version'))
    )
    op.create_index(op.f('ix_quality_standards_category_id'), 'quality_standards', ['category_id'], unique=False)
    op.create_table('brand_minimum_grades',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('standard_code', sa.String(length=64), nullable=False),
    sa.Column('grade_code', sa.String(length=32), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_brand_minimum_grades_brand_id_brands')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brand_minimum_grades')),
    sa.UniqueConstraint('brand_id', 'standard_code', name=op.f('uq_brand_minimum_grades_brand_id_standard_code'))
    )
    op.create_index(op.f('ix_brand_minimum_grades_brand_id'), 'brand_minimum_grades', ['brand_id'], unique=False)
    op.create_table('inspections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('inspector_id', sa.Integer(), nullable=False),
    sa.Column('inspected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sample_size', sa.Integer(), nullable=False),
    sa.Column('sampling_plan', sa.JSON(), nullable=True),
    sa.Column('measurements', sa.JSON(), nullable=False),
    sa.Column('unit_classes', sa.JSON(), nullable=True),
    sa.Column('lab_results', sa.JSON(), nullable=False),
    sa.Column('sensory', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['inspector_id'], ['users.id'], name=op.f('fk_inspections_inspector_id_users')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_inspections_lot_id_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspections'))
    )
    op.create_index(op.f('ix_inspections_inspector_id'), 'inspections', ['inspector_id'], unique=False)
    op.create_index(op.f('ix_inspections_lot_id'), 'inspections', ['lot_id'], unique=False)
    op.create_table('grades',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('standard_id', sa.Integer(), nullable=False),
    sa.Column('grade_code', sa.String(length=32), nullable=True),
    sa.Column('grade_rank', sa.Integer(), nullable=True),
    sa.Column('residue_result', sa.String(length=16), nullable=False),
    sa.Column('explanation', sa.JSON(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('graded_by_id', sa.Integer(), nullable=False),
    sa.Column('graded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['graded_by_id'], ['users.id'], name=op.f('fk_grades_graded_by_id_users')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_grades_inspection_id_inspections')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_grades_lot_id_lots')),
    sa.ForeignKeyConstraint(['standard_id'], ['quality_standards.id'], name=op.f('fk_grades_standard_id_quality_standards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grades'))
    )
    op.create_index(op.f('ix_grades_graded_by_id'), 'grades', ['graded_by_id'], unique=False)
    op.create_index(op.f('ix_grades_inspection_id'), 'grades', ['inspection_id'], unique=False)
    op.create_index(op.f('ix_grades_lot_id'), 'grades', ['lot_id'], unique=False)
    op.create_index(op.f('ix_grades_standard_id'), 'grades', ['standard_id'], unique=False)
    op.create_table('inspection_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('media_type', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_inspection_photos_inspection_id_inspections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_photos'))
    )
    op.create_index(op.f('ix_inspection_photos_inspection_id'), 'inspection_photos', ['inspection_id'], unique=False)
    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('grade_id', sa.Integer(), nullable=False),
    sa.Column('product_name', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('origin', sa.String(length=300), nullable=False),
    sa.Column('producer', sa.String(length=200), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('basis', sa.JSON(), nullable=False),
    sa.Column('commitment', sa.Text(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grade_id'], ['grades.id'], name=op.f('fk_certificates_grade_id_grades')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_certificates_issued_by_id_users')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_certificates_lot_id_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('number', name=op.f('uq_certificates_number'))
    )
    op.create_index(op.f('ix_certificates_grade_id'), 'certificates', ['grade_id'], unique=False)
    op.create_index(op.f('ix_certificates_issued_by_id'), 'certificates', ['issued_by_id'], unique=False)
    op.create_index(op.f('ix_certificates_lot_id'), 'certificates', ['lot_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_certificates_lot_id'), table_name='certificates')
    op.drop_index(op.f('ix_certificates_issued_by_id'), table_name='certificates')
    op.drop_index(op.f('ix_certificates_grade_id'), table_name='certificates')
    op.drop_table('certificates')
    op.drop_index(op.f('ix_inspection_photos_inspection_id'), table_name='inspection_photos')
    op.drop_table('inspection_photos')
    op.drop_index(op.f('ix_grades_standard_id'), table_name='grades')
    op.drop_index(op.f('ix_grades_lot_id'), table_name='grades')
    op.drop_index(op.f('ix_grades_inspection_id'), table_name='grades')
    op.drop_index(op.f('ix_grades_graded_by_id'), table_name='grades')
    op.drop_table('grades')
    op.drop_index(op.f('ix_inspections_lot_id'), table_name='inspections')
    op.drop_index(op.f('ix_inspections_inspector_id'), table_name='inspections')
    op.drop_table('inspections')
    op.drop_index(op.f('ix_brand_minimum_grades_brand_id'), table_name='brand_minimum_grades')
    op.drop_table('brand_minimum_grades')
    op.drop_index(op.f('ix_quality_standards_category_id'), table_name='quality_standards')
    op.drop_table('quality_standards')
