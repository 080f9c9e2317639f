"""search events carry a random token for their result links

Revision ID: 3c9d2e7a41b0
Revises: a71cfec37a5d
Create Date: 2026-11-30 19:50:00

The search page records its event in the background (helpsite/analytics.py), so the page
cannot wait for the row's id: the result links carry a random token made up front instead.
"""
from alembic import op
import sqlalchemy as sa


revision = '3c9d2e7a41b0'
down_revision = 'a71cfec37a5d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('search_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_search_event_token'), ['token'], unique=True)


def downgrade():
    with op.batch_alter_table('search_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_event_token'))
        batch_op.drop_column('token')
